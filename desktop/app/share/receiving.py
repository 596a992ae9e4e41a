"""Use case: open a share package someone sent: decrypt it with the user's identity
or a passphrase, verify the signature, every size and hash, show who sent it (known and
verified in the address book, or not) and what it says (purpose, consent basis,
de-identification, redaction), and import its images into the library.

A tampered, truncated or wrongly addressed package is refused by the reader with a message for
a person, and nothing is imported. Nothing of the package is ever written in clear: each image
is verified in memory and staged sealed in the object store (:mod:`desktop.app.share.package_import`),
then indexed once the whole package verified; DICOMDIR and README are not kept.

Who receives is bound: a package that did not reach this user the way its signer
sent it (decrypted and re-encrypted to someone else, re-encrypted with a passphrase, a plain
archive, or a manifest too old to say whom it was for) is *forwarded*. It is refused, with who
signed it and whom it was for, unless the person confirms (``confirm_forwarded``); the refusal
or the confirmation goes to the audit log, and the accounting of what was received says the
images came forwarded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from desktop.app.cases.received import adopt_received_cases
from desktop.app.common.formatting import megabytes
from desktop.app.common.tasks import CancelToken, Progress, no_progress
from desktop.app.consent.disclosing import record_receipt
from desktop.app.keys.contacts import Contact, find_sender
from desktop.app.keys.identity import my_identity
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import ImportReport
from desktop.app.share.package_import import PackageMembers, import_members
from desktop.core.common.disk_full import DiskFullError, is_disk_full
from desktop.core.share.manifest import Manifest
from desktop.core.share.reader import Arrival, ForwardedPackageError, forwarded_explanation, open_package


@dataclass
class Received:
    """An opened package."""

    manifest: Manifest
    sender: Contact | None  # None: not in the address book
    imported: ImportReport
    arrival: Arrival  # how it reached this user: as its signer sent it, or forwarded (confirmed)
    #: The titles of the teaching cases it brought (IHE TCE reports), now in the Cases list.
    cases: list[str] = field(default_factory=list)

    @property
    def forwarded(self) -> bool:
        """True when it did not reach this user the way its signer sent it (and they confirmed)."""
        return self.arrival.forwarded

    @property
    def forwarded_text(self) -> str:
        """Why it counts as forwarded, who signed it and whom it was for; "" when it is not."""
        return forwarded_explanation(self.manifest, self.arrival) if self.forwarded else ""

    @property
    def sender_text(self) -> str:
        card = self.manifest.sender
        who = f"{card.name}" + (f", {card.institution}" if card.institution else "")
        if self.sender is None:
            return f"{who} [{card.fingerprint}]: NOT in your address book; check the fingerprint with them"
        if self.sender.verified_at is None:
            return (f"{who} [{card.fingerprint}]: in your address book as {self.sender.name}, "
                    "fingerprint not yet verified")
        return f"{who} [{card.fingerprint}]: in your address book as {self.sender.name}, verified"


def open_received(home: VeilHome, package: str | Path, passphrase: str | None = None,
                  progress: Progress = no_progress, cancel: CancelToken | None = None,
                  confirm_forwarded: bool = False) -> Received:
    """Verify and import ``package``; raises a PackageError (nothing imported) when it is not
    whole, not signed by its sender card, or not addressed to this user. A forwarded package
    raises ForwardedPackageError (its message says who signed it and whom it was for) unless
    ``confirm_forwarded``: the person accepts importing it anyway. Either is audited."""
    cancel = cancel or CancelToken()
    members = PackageMembers(home, Path(package))
    try:
        identities = [] if passphrase is not None else [my_identity(home)]
        try:
            opened = open_package(Path(package), identities=identities, passphrase=passphrase,
                                  progress=progress, cancelled=lambda: cancel.cancelled,
                                  accept_forwarded=confirm_forwarded, keep=members.keep)
        except ForwardedPackageError as exc:
            _audit_forwarded(home, exc.manifest, exc.arrival, confirmed=False)
            raise
    except BaseException as exc:
        members.discard()
        if is_disk_full(exc, home.path):
            raise _library_full(home, package) from None
        raise
    if opened.arrival.forwarded:
        _audit_forwarded(home, opened.manifest, opened.arrival, confirmed=True)
    try:
        imported, sent = import_members(home, members, cancel)
    except DiskFullError:
        raise
    except Exception as exc:
        if is_disk_full(exc, home.path):
            raise _library_full(home, package) from None
        raise
    sender = find_sender(home, opened.sender)
    manifest, arrival = opened.manifest, opened.arrival
    conn = home.connect()
    try:
        home.record(conn, "share.opened", package=manifest.package_id, sender=opened.sender.fingerprint,
                    sender_known=sender is not None, sender_verified=bool(sender and sender.verified_at),
                    purpose=manifest.details.purpose, files=len(manifest.files), imported=imported.imported,
                    studies=[home.audit.pseudonym(u) for u in sorted(imported.study_uids)],
                    forwarded=arrival.forwarded)
    finally:
        conn.close()
    who = f"{opened.sender.name} [{opened.sender.fingerprint}]"
    if arrival.forwarded:
        who += ", forwarded by someone else (not sent to you by the signer; you confirmed the import)"
    if not _received_before(home, manifest.package_id):  # once per package, even if a first open failed late
        record_receipt(home, manifest.package_id, who, manifest.details.purpose, sent, str(Path(package).resolve()))
    cases = adopt_received_cases(home, [f.sha256 for f in manifest.files])
    return Received(manifest, sender, imported, arrival, cases)


def _received_before(home: VeilHome, package_id: str) -> bool:
    conn = home.connect()
    try:
        return conn.execute("SELECT 1 FROM disclosures WHERE kind = 'share.received' AND package_id = ? LIMIT 1",
                            (package_id,)).fetchone() is not None
    finally:
        conn.close()


def _library_full(home: VeilHome, package: str | Path) -> DiskFullError:
    try:
        size = Path(package).stat().st_size
    except OSError:
        size = 0
    return DiskFullError(f"The disk holding the Veil library ({home.path}) is full: opening this package needs "
                         f"about {megabytes(size + (size >> 3))}. Nothing was imported; free some room and open "
                         "it again.")


def _audit_forwarded(home: VeilHome, manifest: Manifest, arrival: Arrival, confirmed: bool) -> None:
    """``share.forwarded``: which package, signed by whom (fingerprint), why it counts as forwarded,
    and whether the person confirmed the import. No names, no patient identifiers."""
    conn = home.connect()
    try:
        home.record(conn, "share.forwarded", package=manifest.package_id, sender=manifest.sender.fingerprint,
                    reasons=list(arrival.reasons), sent_as=manifest.encryption,
                    recipients=[r.fingerprint or "" for r in manifest.recipients], received_as=arrival.layer,
                    stanzas=arrival.stanzas, confirmed=confirmed)
    finally:
        conn.close()

