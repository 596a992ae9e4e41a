"""Open a share package: decrypt as a stream, verify everything, extract into staging.

Order of checks: the age header (is it addressed to this key or passphrase, is it intact),
then the first two ZIP entries, ``manifest.json`` and ``manifest.sig`` (signature valid, by the
key on the sender card inside the manifest), then the limits (total size, file count, free
space) against the signed manifest, then each entry as it streams by (listed, not twice, a
safe name, exactly its listed size, within the compression ratio, its SHA-256), then the ZIP's
central directory and the age file's authenticated end, then that nothing listed is missing.
Every age chunk is authenticated before its bytes are used. On any failure, or a cancel,
everything extracted so far is removed.

Right after the signature, :func:`check_arrival` compares how the file is encrypted (its age
header's stanzas, or no age layer: a plain ZIP) and to whom with what the signed manifest says.
A package that someone decrypted and re-encrypted to another person, a plain archive (never
addressed to anyone), or a manifest too old to say whom it was for, is *forwarded*: it is
refused with :class:`ForwardedPackageError` (before anything is extracted) unless the caller
accepts that, and :attr:`OpenedPackage.arrival` says so.
"""

from __future__ import annotations

import hashlib
import io
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from desktop.core.common.errors import Cancelled
from desktop.core.share import member_names as names
from desktop.core.share.age_header import MAX_SCRYPT_LOG_N, read_header, stanza_types
from desktop.core.share.age_stream import AgeReader
from desktop.core.share.errors import (
    ManifestError,
    PackageContentError,
    PackageError,
    PackageTooLargeError,
    UnsafePackageError,
)
from desktop.core.share.identity import Identity, KeyCard, age_recipient_of
from desktop.core.share.manifest import (
    MAX_MANIFEST_BYTES,
    MAX_SIGNATURE_BYTES,
    Manifest,
    check_signed_by_sender,
    key_fingerprint,
    verify_signature,
)
from desktop.core.share.staging import Staging
from desktop.core.share.zip_reader import ZipStreamReader

#: Called with (bytes extracted so far, bytes the manifest lists).
Progress = Callable[[int, int], None]
CancelCheck = Callable[[], bool]
_ZIP_START = b"PK\x03\x04"

#: Why a package counts as forwarded (the codes the audit log records).
UNRECORDED = "unrecorded"  # the manifest predates saying whom it was for (format version 1)
UNENCRYPTED = "unencrypted"  # a plain archive, as its signer made it: addressed to no one
LAYER = "layer"  # encrypted otherwise than the manifest says (keys, passphrase, none)
COUNT = "count"  # not the number or kind of age recipients the manifest lists
NOT_LISTED = "not-listed"  # this user is not among the manifest's recipients


@dataclass(frozen=True)
class Arrival:
    """How the file that was opened is encrypted, compared with its signed manifest."""

    layer: str  # what the file is: "x25519", "passphrase", or "none" (a plain ZIP)
    stanzas: int  # recipient stanzas in its age header (0 for a plain ZIP)
    reasons: tuple[str, ...] = ()  # empty: it reached this user as its signer sent it

    @property
    def forwarded(self) -> bool:
        """True when it did not reach this user the way its signer sent it (see ``reasons``)."""
        return bool(self.reasons)


class ForwardedPackageError(PackageError):
    """The package was forwarded, re-encrypted, or is a plain archive: refused unless the
    person accepts it. Carries the verified manifest and the :class:`Arrival`."""

    def __init__(self, manifest: Manifest, arrival: Arrival) -> None:
        super().__init__(forwarded_explanation(manifest, arrival) + " Nothing was opened.")
        self.manifest = manifest
        self.arrival = arrival


def _mine(identities: Sequence[Identity | str]) -> dict[str, set[str] | None]:
    """This user's age recipients, each with the fingerprints that may stand for it in a
    manifest (its card's and its bare key's); None where only the secret is known."""
    mine: dict[str, set[str] | None] = {}
    for identity in identities:
        if isinstance(identity, Identity):
            recipient = identity.age_recipient
            mine[recipient] = {identity.fingerprint, key_fingerprint(recipient)}
        else:
            mine.setdefault(age_recipient_of(identity), None)
    return mine


def _listed(recipient: str, fingerprint: str | None, mine: dict[str, set[str] | None]) -> bool:
    """A manifest's recipient is this user: the same age key, and the same card where both
    sides know one."""
    if recipient not in mine:
        return False
    fingerprints = mine[recipient]
    return fingerprints is None or fingerprint is None or fingerprint in fingerprints


def check_arrival(manifest: Manifest, layer: str, types: Sequence[str],
                  identities: Sequence[Identity | str] = ()) -> Arrival:
    """Compare the file's encryption (``layer``, the age header's stanza ``types``) and the
    user (``identities``, for key-encrypted files) with what the signed ``manifest`` says."""
    reasons = [] if manifest.says_addressee else [UNRECORDED]
    if layer != manifest.encryption:
        reasons.append(LAYER)
    elif layer == "none":
        reasons.append(UNENCRYPTED)
    else:
        keys = layer == "x25519"
        expected = len(manifest.recipients) if keys else 1
        if len(types) != expected or any(t != ("X25519" if keys else "scrypt") for t in types):
            reasons.append(COUNT)
        mine = _mine(identities)
        if keys and not any(_listed(r.age_recipient, r.fingerprint, mine) for r in manifest.recipients):
            reasons.append(NOT_LISTED)
    return Arrival(layer, len(types), tuple(reasons))


def _how_sent(manifest: Manifest) -> str:
    if manifest.encryption == "x25519":
        count = len(manifest.recipients)
        return f"encrypted it to {count} recipient key{'s' if count != 1 else ''}"
    return ("protected it with a passphrase" if manifest.encryption == "passphrase"
            else "left it unencrypted")


def _how_found(arrival: Arrival) -> str:
    if arrival.layer == "none":
        return "is not encrypted"
    if arrival.layer == "passphrase":
        return "is protected by a passphrase"
    return f"is encrypted to {arrival.stanzas} key{'s' if arrival.stanzas != 1 else ''}"


def forwarded_reasons(manifest: Manifest, arrival: Arrival) -> list[str]:
    """What a forwarded package is and what does not match, sentence by sentence (the first
    says what happened; the signer and addressee are left to :func:`forwarded_explanation`)."""
    reasons = set(arrival.reasons)
    if reasons == {UNRECORDED}:
        parts = ["Veil treats this package as forwarded: it cannot confirm that it was encrypted "
                 "to you by the person who signed it, rather than forwarded or re-encrypted by "
                 "someone else."]
    elif reasons <= {UNENCRYPTED, UNRECORDED}:
        parts = ["This is an unencrypted archive, not a package addressed to you: anyone with a "
                 "copy can open it and pass it on, so whoever gave it to you is not necessarily "
                 "the person who signed it."]
    else:
        parts = ["This package was forwarded or re-encrypted by someone other than the person "
                 "who signed it: it was not encrypted to you the way its sender said."]
    if LAYER in reasons:
        parts.append(f"Its signer {_how_sent(manifest)}, but this file {_how_found(arrival)}.")
    if COUNT in reasons:
        entries = "entry" if arrival.stanzas == 1 else "entries"
        parts.append(f"Its signer {_how_sent(manifest)}, but this file's encryption header has "
                     f"{arrival.stanzas} recipient {entries} of another number or kind.")
    if NOT_LISTED in reasons:
        parts.append("You are not among the recipients its signer chose.")
    if UNRECORDED in reasons:
        parts.append("It was made by an older version of Veil, which did not record whom it "
                     "was for, so Veil cannot confirm that it reached you as its signer sent it.")
    return parts


def forwarded_explanation(manifest: Manifest, arrival: Arrival) -> str:
    """Why a package counts as forwarded, for a person: who signed it, whom it was for, and
    what does not match. Names are the sender's and recipients' (never a patient's)."""
    card = manifest.sender
    signer = card.name + (f", {card.institution}" if card.institution else "")
    first, *rest = forwarded_reasons(manifest, arrival)
    return " ".join([first, f"Signed by {signer} [{card.fingerprint}]. It was for: "
                            f"{manifest.addressee_text}.", *rest,
                     "Import it only if you know where it came from."])


@dataclass(frozen=True)
class OpenLimits:
    """What a package may ask of this machine before it is refused."""

    max_total_bytes: int = 64 << 30
    max_files: int = 200_000
    max_compression_ratio: int = 100
    max_scrypt_log_n: int = MAX_SCRYPT_LOG_N
    #: The largest member handed to a ``keep`` callback (it is held in memory to be verified).
    max_member_bytes: int = 1 << 30


#: Receives one member (its name and its bytes) once its SHA-256 matched the signed manifest.
#: It must not write them anywhere in clear: the caller seals them (Open Package imports them
#: into the sealed object store).
MemberSink = Callable[[str, memoryview], None]


@dataclass(frozen=True)
class OpenedPackage:
    """A verified package: its manifest, sender, and the extracted files by member name
    (none when the members were handed to a ``keep`` callback instead of written).

    A package whose signature does not verify, or was made by a key other than the sender
    card's, is refused; so ``sender`` is always the card whose key signed. Whether that card
    is known and verified is for the address book to say.
    """

    manifest: Manifest
    manifest_bytes: bytes
    sender: KeyCard
    folder: Path | None
    files: dict[str, Path]
    arrival: Arrival  # forwarded (and accepted by the caller), or as its signer sent it

    @property
    def sender_fingerprint(self) -> str:
        """The fingerprint of the key that signed the manifest."""
        return self.sender.fingerprint


def _small_entry(archive: ZipStreamReader, name: str, limit: int) -> bytes:
    entry = archive.next_entry()
    if entry is None or entry.name != name:
        raise ManifestError(f"The package does not start with its {name}; it was not made by "
                            "Veil or was altered. Nothing was opened.")
    if entry.size > limit:
        raise PackageTooLargeError(f"The package's {name} is too large to be genuine.")
    return b"".join(archive.read_data())


def _check_limits(manifest: Manifest, limits: OpenLimits, folder: Path | None) -> None:
    total = manifest.total_size
    if total > limits.max_total_bytes or len(manifest.files) > limits.max_files:
        raise PackageTooLargeError(
            f"The package would unpack to {total / 1e9:.1f} GB in {len(manifest.files)} files, "
            f"more than allowed ({limits.max_total_bytes / 1e9:.1f} GB, {limits.max_files} "
            "files). It was refused.")
    if folder is None:
        big = [r for r in manifest.files if r.size > limits.max_member_bytes]
        if big:
            raise PackageTooLargeError(f"{big[0].path} is {big[0].size / 1e9:.1f} GB, more than one image may be "
                                       f"({limits.max_member_bytes / 1e9:.1f} GB). The package was refused.")
        return
    free = shutil.disk_usage(folder).free
    if total > free:
        raise PackageError(f"There is not enough free space to open this package "
                           f"({total / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free).")


def _extract(archive: ZipStreamReader, manifest: Manifest, staging: Staging | None,
             progress: Progress | None, cancelled: CancelCheck | None,
             keep: MemberSink | None = None) -> dict[str, Path]:
    expected = {record.path: record for record in manifest.files}
    extracted: dict[str, Path] = {}
    seen: set[str] = set()
    done, total = 0, manifest.total_size
    while (entry := archive.next_entry()) is not None:
        names.check_member_name(entry.name)
        record = expected.get(entry.name)
        if entry.name in extracted or entry.name in seen:
            raise UnsafePackageError(f"The package holds {entry.name} twice; nothing was kept.")
        if record is None:
            raise PackageContentError(f"The package holds a file its signed manifest does not "
                                      f"list ({entry.name}); nothing was kept.")
        if entry.size != record.size:
            raise PackageContentError(f"{entry.name} is not the size its signed manifest says; "
                                      "nothing was kept.")
        if staging is None:
            seen.add(entry.name)
            held = _held(archive, entry.name, record.sha256, done, total, progress, cancelled)
            done += len(held)
            if keep is not None:
                keep(entry.name, memoryview(held))
            continue
        path, out = staging.create(entry.name)
        digest = hashlib.sha256()
        with out:
            for chunk in archive.read_data():
                if cancelled is not None and cancelled():
                    raise Cancelled("Opening the package was cancelled; nothing was kept.")
                digest.update(chunk)
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        if digest.hexdigest() != record.sha256:
            raise PackageContentError(f"{entry.name} does not match its SHA-256 in the signed "
                                      "manifest: it was altered. Nothing was kept.")
        extracted[entry.name] = path
    archive.finish()
    missing = sorted(set(expected) - set(extracted) - seen)
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise PackageContentError(f"The package lacks {len(missing)} file(s) its manifest lists "
                                  f"({shown}); nothing was kept.")
    return extracted


def _held(archive: ZipStreamReader, name: str, sha256: str, done: int, total: int,
          progress: Progress | None, cancelled: CancelCheck | None) -> bytearray:
    """One member's bytes, in memory only, once they match their SHA-256 in the manifest."""
    held = bytearray()
    digest = hashlib.sha256()
    for chunk in archive.read_data():
        if cancelled is not None and cancelled():
            raise Cancelled("Opening the package was cancelled; nothing was kept.")
        digest.update(chunk)
        held += chunk
        if progress is not None:
            progress(done + len(held), total)
    if digest.hexdigest() != sha256:
        raise PackageContentError(f"{name} does not match its SHA-256 in the signed manifest: it "
                                  "was altered. Nothing was kept.")
    return held


def _layer(source: io.BufferedReader) -> tuple[str, tuple[str, ...]]:
    """What ``source`` (a buffered file at its start, left there) is: a plain ZIP (``none``),
    or an age file with its stanza types (``passphrase`` if one is scrypt, else ``x25519``)."""
    if source.peek(len(_ZIP_START))[:len(_ZIP_START)] == _ZIP_START:
        return "none", ()
    types = stanza_types(read_header(source))
    source.seek(0)
    return ("passphrase" if "scrypt" in types else "x25519"), types


def open_package(package: Path, staging_folder: Path | None = None, *,
                 identities: Sequence[Identity | str] = (), passphrase: str | None = None,
                 limits: OpenLimits = OpenLimits(), progress: Progress | None = None,
                 cancelled: CancelCheck | None = None,
                 accept_forwarded: bool = False, keep: MemberSink | None = None) -> OpenedPackage:
    """Verify ``package`` and extract it into ``staging_folder`` (empty or new), or, with no
    staging folder, hand each member to ``keep`` as soon as its hash matched: nothing is then
    written anywhere by this function, and the caller undoes what ``keep`` did if this raises
    (a member that verified does not mean the package will: its end is checked last).

    Give the user's identities (or ``AGE-SECRET-KEY-1...`` strings), or a passphrase; a plain
    archive (``NAME.zip`` from ``write_archive``) needs neither but takes either. Raises a
    PackageError child with a message for the user (or Cancelled); then nothing is left in
    the staging folder. A forwarded package (:func:`check_arrival`) raises
    ForwardedPackageError before anything is extracted, unless ``accept_forwarded``.
    """
    if bool(identities) == (passphrase is not None):
        raise PackageError("Open a package with your identity or with a passphrase.")
    secrets = [i.age_secret if isinstance(i, Identity) else i for i in identities]
    try:
        source = cast(io.BufferedReader, open(package, "rb", buffering=1 << 20))  # buffered: a BufferedReader
    except OSError as exc:
        raise PackageError(f"The package cannot be read ({exc.strerror}).") from None
    with source:
        try:
            layer, types = _layer(source)
            decrypted: BinaryIO | AgeReader = source
            if layer != "none":
                decrypted = AgeReader(source, identities=secrets, passphrase=passphrase,
                                      max_scrypt_log_n=limits.max_scrypt_log_n)
            archive = ZipStreamReader(decrypted, limits.max_compression_ratio)
            manifest_bytes = _small_entry(archive, names.MANIFEST, MAX_MANIFEST_BYTES)
            signature = _small_entry(archive, names.SIGNATURE, MAX_SIGNATURE_BYTES)
        except OSError as exc:
            raise PackageError(f"The package cannot be read ({exc.strerror}).") from None
        signer = verify_signature(manifest_bytes, signature)
        manifest = Manifest.from_bytes(manifest_bytes)
        check_signed_by_sender(manifest, signer)
        arrival = check_arrival(manifest, layer, types, identities)
        if arrival.forwarded and not accept_forwarded:
            raise ForwardedPackageError(manifest, arrival)
        staging = None if staging_folder is None else Staging(staging_folder)
        try:
            _check_limits(manifest, limits, None if staging is None else staging.folder)
            files = _extract(archive, manifest, staging, progress, cancelled, keep)
        except BaseException as exc:
            if staging is not None:
                staging.discard()
            if isinstance(exc, OSError):  # the disk is full, or the staging folder went away
                raise PackageError(f"The package could not be extracted ({exc.strerror}); "
                                   "nothing was kept.") from None
            raise
    return OpenedPackage(manifest, manifest_bytes, manifest.sender,
                         None if staging is None else staging.folder, files, arrival)
