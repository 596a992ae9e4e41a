"""Write a share package: a signed DICOM file-set in a ZIP, streamed into an age file.

Two passes over the sources. The first hashes each file (SHA-256 for the manifest, CRC-32 for
the ZIP) and reads DICOM headers for the DICOMDIR, so the signed manifest can come first in
the package and a reader can check everything against it as it goes. The second streams the
files through the ZIP writer into the age encryptor (:mod:`selection` reads the sources).
Nothing but ciphertext reaches disk (``NAME.veil.partial``, renamed when complete; deleted on
cancel or failure). Memory holds a 1 MiB read buffer per hashing thread, one age chunk, a few
1 MiB batches queued for the writer thread (:mod:`file_sink`) and the small in-memory entries
(manifest, DICOMDIR, README); it does not grow with the size of the files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.core.share import member_names as names
from desktop.core.share.age_header import DEFAULT_SCRYPT_LOG_N
from desktop.core.share.age_stream import AgeWriter
from desktop.core.share.errors import CardError, ExportError, UnsafePackageError
from desktop.core.share.file_sink import PartialFile
from desktop.core.share.identity import Identity, KeyCard, age_recipient_key
from desktop.core.share.manifest import (
    FileRecord,
    Manifest,
    PackageDetails,
    RecipientRecord,
    new_package_id,
    sign_manifest,
    utc_now,
)
from desktop.core.share.readme import readme_text
from desktop.core.share.selection import (
    CancelCheck,
    Meter,
    Progress,
    SourceFile,
    copy_into,
    source_size,
    survey,
)
from desktop.core.share.zip_writer import ZipStreamWriter

PACKAGE_SUFFIX = ".veil"


@dataclass(frozen=True)
class WrittenPackage:
    """A package on disk and the manifest it carries."""

    path: Path
    manifest: Manifest
    size: int


def _recipient_records(recipients: Sequence[KeyCard | str]) -> tuple[RecipientRecord, ...]:
    records: dict[str, RecipientRecord] = {}
    for recipient in recipients:
        if isinstance(recipient, KeyCard):
            record = RecipientRecord(recipient.age_recipient, recipient.fingerprint)
        else:
            try:
                age_recipient_key(recipient)
            except CardError as exc:
                raise ExportError(f"A recipient's key is invalid: {exc}") from None
            record = RecipientRecord(recipient, None)
        records.setdefault(record.age_recipient, record)
    return tuple(records.values())


def _check_members(files: Sequence[tuple[str, Path]]) -> None:
    seen: set[str] = set()
    if not any(name.startswith(names.DICOM_FOLDER + "/") for name, _ in files):
        raise ExportError("Choose at least one DICOM image to share.")
    for name, _ in files:
        try:
            names.check_member_name(name)
        except UnsafePackageError as exc:
            raise ExportError(str(exc)) from None
        in_dicom = name.startswith(names.DICOM_FOLDER + "/") and names.is_dicom_file_id(name)
        if not (in_dicom or name.startswith(names.PREVIEWS_FOLDER + "/")):
            raise ExportError(f"{name} cannot go in a package: DICOM files go under DICOM/ with "
                              "PS3.10 names (see dicom_member_name), pictures under previews/.")
        if names.collision_key(name) in seen:
            raise ExportError(f"{name} is in the selection twice.")
        seen.add(names.collision_key(name))


def write_package(output: Path, files: Sequence[tuple[str, Path]], details: PackageDetails,
                  sender: Identity, sender_card: KeyCard, *,
                  recipients: Sequence[KeyCard | str] = (), passphrase: str | None = None,
                  progress: Progress | None = None, cancelled: CancelCheck | None = None,
                  scrypt_log_n: int = DEFAULT_SCRYPT_LOG_N) -> WrittenPackage:
    """Write ``output`` (``NAME.veil``) holding ``files`` ((name in package, source) pairs).

    Encrypted to ``recipients`` (key cards, or bare ``age1...`` keys) or with ``passphrase``.
    Raises ExportError for bad inputs, Cancelled when ``cancelled()`` turns True; either way
    no file is left behind.
    """
    output = Path(output)
    if bool(recipients) == (passphrase is not None):
        raise ExportError("Choose the recipients of the package, or a passphrase (not both).")
    if passphrase is not None and not passphrase:
        raise ExportError("The passphrase is empty.")
    if (sender_card.age_recipient, sender_card.signing_key) != (
            sender.age_recipient, sender.signing_public_key):
        raise ExportError("The sender's card does not belong to the sender's identity.")
    if not output.name.endswith(PACKAGE_SUFFIX) or not output.parent.is_dir():
        raise ExportError(f"Packages are written as NAME{PACKAGE_SUFFIX} in an existing folder.")
    if output.exists():
        raise ExportError(f"{output.name} already exists; choose another name.")
    recipient_records = _recipient_records(recipients)
    _check_members(files)

    total = 2 * sum(source_size(name, Path(path)) for name, path in files)
    meter = Meter(total, progress, cancelled)
    with PartialFile(output) as target:
        # The encryptor first: its scrypt (256 MiB at 2**18) is done and freed before pass 1.
        encryptor = AgeWriter(target.sink, passphrase=passphrase, scrypt_log_n=scrypt_log_n,
                              recipients=[r.age_recipient for r in recipient_records])
        sources, dicomdir = survey(files, meter)
        manifest, entries = _manifest_entries(sources, dicomdir, details, sender, sender_card,
                                              recipient_records)
        archive = ZipStreamWriter(encryptor, check_crc=False)  # pass 2 checks change stamps
        for name, data in entries:
            archive.add_bytes(name, data)
        for source in sources:
            copy_into(source, archive, meter)
        archive.close()
        encryptor.close()
    return WrittenPackage(output, manifest, encryptor.ciphertext_size)


def _manifest_entries(sources: list[SourceFile], dicomdir: bytes, details: PackageDetails,
                      sender: Identity, sender_card: KeyCard,
                      recipients: tuple[RecipientRecord, ...]
                      ) -> tuple[Manifest, list[tuple[str, bytes]]]:
    """The manifest, and the in-memory entries that open the ZIP (manifest first)."""
    package_id, created = new_package_id(), utc_now()
    fixed = [(names.README, readme_text(package_id, created, sender_card)),
             (names.DICOMDIR, dicomdir)]
    records = tuple([FileRecord(name, len(data), hashlib.sha256(data).hexdigest())
                     for name, data in fixed]
                    + [FileRecord(s.name, s.size, s.sha256) for s in sources])
    manifest = Manifest(package_id, created, sender_card,
                        "x25519" if recipients else "passphrase", recipients, details, records)
    manifest_bytes = manifest.to_bytes()
    return manifest, [(names.MANIFEST, manifest_bytes),
                      (names.SIGNATURE, sign_manifest(manifest_bytes, sender)), *fixed]
