"""Write a share package: a signed DICOM file-set in a ZIP, streamed into an age file.

The files come as sources (:mod:`sources`): plaintext files, or sealed objects decrypted as
they are read. Two passes over them. The first (:mod:`selection`) hashes each source (SHA-256
for the manifest, CRC-32 for the ZIP; either is skipped when the source gives it) and reads
DICOM headers for the DICOMDIR, so the signed manifest can come first in the package and a
reader can check everything against it as it goes. The second (:mod:`streaming`) streams the
sources through the ZIP writer into the age encryptor. Nothing but ciphertext reaches disk
(``NAME.veil.partial``, renamed when complete; deleted on cancel or failure). Memory holds a
1 MiB block or two per scanning thread, six reused 1 MiB buffers read ahead, one age chunk,
three 4 MiB buffers of ciphertext for the writer thread (:mod:`file_sink`), the DICOMDIR records
and the small in-memory entries (manifest, DICOMDIR, README); it does not grow with the size of
the files. A source that gives both hashes and can peek (a sealed object) costs pass 1 only its
first 16 KiB, decrypted without the rest of its first chunk; pass 2 checks those bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.core.common.faults import fault_point
from desktop.core.share import member_names as names
from desktop.core.share.age_header import DEFAULT_SCRYPT_LOG_N
from desktop.core.share.age_stream import AgeWriter
from desktop.core.share.errors import CardError, ExportError, UnsafePackageError
from desktop.core.share.file_sink import PartialFile
from desktop.core.share.identity import Identity, KeyCard
from desktop.core.share.manifest import (
    MAX_FOR_CHARS,
    FileRecord,
    Manifest,
    PackageDetails,
    RecipientRecord,
    new_package_id,
    sign_manifest,
    utc_now,
)
from desktop.core.share.readme import readme_text
from desktop.core.share.scan import Scanned
from desktop.core.share.selection import CancelCheck, Meter, Progress, hashed_bytes, survey
from desktop.core.share.sources import PackageSource, as_source
from desktop.core.share.streaming import stream_sources
from desktop.core.share.zip_writer import BinarySink, ZipStreamWriter

PACKAGE_SUFFIX = ".veil"
ARCHIVE_SUFFIX = ".zip"
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class WrittenPackage:
    """A package on disk and the manifest it carries."""

    path: Path
    manifest: Manifest
    size: int


def _recipient_records(recipients: Sequence[KeyCard | str]) -> tuple[RecipientRecord, ...]:
    """One record per distinct age key (the first card or key given for it wins): the
    manifest lists exactly the keys the age header has a stanza for."""
    records: dict[str, RecipientRecord] = {}
    for recipient in recipients:
        try:
            record = RecipientRecord.of(recipient)
        except CardError as exc:
            raise ExportError(f"A recipient's key is invalid: {exc}") from None
        records.setdefault(record.age_recipient, record)
    return tuple(records.values())


def _check_for(addressed_for: str) -> None:
    if len(addressed_for) > MAX_FOR_CHARS or not addressed_for.isprintable():
        raise ExportError(f"Say whom the package is for in at most {MAX_FOR_CHARS} characters "
                          "of plain text (one line).")


def _check_members(sources: Sequence[PackageSource]) -> None:
    seen: set[str] = set()
    if not any(s.name.startswith(names.DICOM_FOLDER + "/") for s in sources):
        raise ExportError("Choose at least one DICOM image to share.")
    for name in (source.name for source in sources):
        try:
            names.check_member_name(name)
        except UnsafePackageError as exc:
            raise ExportError(str(exc)) from None
        in_dicom = name.startswith(names.DICOM_FOLDER + "/") and names.is_dicom_file_id(name)
        if not (in_dicom or name.startswith(names.PREVIEWS_FOLDER + "/") or name == names.CASE_PAGE):
            raise ExportError(f"{name} cannot go in a package: DICOM files go under DICOM/ with "
                              f"PS3.10 names (see dicom_member_name), pictures under previews/, a teaching "
                              f"case's page as {names.CASE_PAGE}.")
        if names.collision_key(name) in seen:
            raise ExportError(f"{name} is in the selection twice.")
        seen.add(names.collision_key(name))
    for source in sources:
        if source.sha256 is not None and not _SHA256.fullmatch(source.sha256):
            raise ExportError(f"The SHA-256 given for {source.name} is not 64 lowercase hex "
                              "digits.")
        if source.crc32 is not None and not 0 <= source.crc32 <= 0xFFFFFFFF:
            raise ExportError(f"The CRC-32 given for {source.name} is out of range.")


def _check_sender(sender: Identity, sender_card: KeyCard) -> None:
    if (sender_card.age_recipient, sender_card.signing_key) != (
            sender.age_recipient, sender.signing_public_key):
        raise ExportError("The sender's card does not belong to the sender's identity.")


def _check_output(output: Path, suffix: str) -> None:
    if not output.name.endswith(suffix) or not output.parent.is_dir():
        raise ExportError(f"Write it as NAME{suffix} in an existing folder.")
    if output.exists():
        raise ExportError(f"{output.name} already exists; choose another name.")


def write_package(output: Path, files: Sequence[PackageSource | tuple[str, Path | str]],
                  details: PackageDetails, sender: Identity, sender_card: KeyCard, *,
                  recipients: Sequence[KeyCard | str] = (), passphrase: str | None = None,
                  progress: Progress | None = None, cancelled: CancelCheck | None = None,
                  scrypt_log_n: int = DEFAULT_SCRYPT_LOG_N, addressed_for: str = "",
                  package_id: str | None = None) -> WrittenPackage:
    """Write ``output`` (``NAME.veil``) holding ``files``: sources, or (name in package, path)
    pairs of plaintext files.

    Encrypted to ``recipients`` (key cards, or bare ``age1...`` keys) or with ``passphrase``;
    the signed manifest says so (method, and each recipient's name and fingerprint), with
    ``addressed_for``, whom it is for in words (optional). Raises ExportError for bad inputs,
    Cancelled when ``cancelled()`` turns True; either way no file is left behind.
    """
    output = Path(output)
    if bool(recipients) == (passphrase is not None):
        raise ExportError("Choose the recipients of the package, or a passphrase (not both).")
    if passphrase is not None and not passphrase:
        raise ExportError("The passphrase is empty.")
    _check_sender(sender, sender_card)
    _check_output(output, PACKAGE_SUFFIX)
    _check_for(addressed_for)
    recipient_records = _recipient_records(recipients)
    sources = [as_source(item) for item in files]
    _check_members(sources)

    meter = _meter(sources, progress, cancelled)
    with PartialFile(output) as target:
        # The encryptor first: its scrypt (256 MiB at 2**18) is done and freed before pass 1.
        encryptor = AgeWriter(target.sink, passphrase=passphrase, scrypt_log_n=scrypt_log_n,
                              recipients=[r.age_recipient for r in recipient_records])
        method = "x25519" if recipient_records else "passphrase"
        manifest = _write_zip(encryptor, sources, meter, details, sender, sender_card, method,
                              recipient_records, addressed_for, package_id)
        encryptor.close()
        fault_point("package.written-partial")  # every byte written, not yet renamed into place
    return WrittenPackage(output, manifest, encryptor.ciphertext_size)


def write_archive(output: Path, files: Sequence[PackageSource | tuple[str, Path | str]],
                  details: PackageDetails, sender: Identity, sender_card: KeyCard, *,
                  progress: Progress | None = None, cancelled: CancelCheck | None = None,
                  addressed_for: str = "", package_id: str | None = None) -> WrittenPackage:
    """Write ``output`` (``NAME.zip``): the package's ZIP without its age layer, for what may
    leave unencrypted (de-identified images for a journal). The same signed manifest, DICOM
    file-set and DICOMDIR (its method ``none``, for ``addressed_for``: whom, in words; the
    README says how to check the signature). The caller decides that the content may leave in
    clear; written atomically like a package.
    """
    output = Path(output)
    _check_sender(sender, sender_card)
    _check_output(output, ARCHIVE_SUFFIX)
    _check_for(addressed_for)
    sources = [as_source(item) for item in files]
    _check_members(sources)
    meter = _meter(sources, progress, cancelled)
    with PartialFile(output) as target:
        manifest = _write_zip(target.sink, sources, meter, details, sender, sender_card, "none",
                              (), addressed_for, package_id)
    return WrittenPackage(output, manifest, output.stat().st_size)


def _meter(sources: Sequence[PackageSource], progress: Progress | None,
           cancelled: CancelCheck | None) -> Meter:
    return Meter(sum(hashed_bytes(source) + source.size for source in sources), progress,
                 cancelled)


def _write_zip(out: BinarySink, sources: Sequence[PackageSource], meter: Meter,
               details: PackageDetails, sender: Identity, sender_card: KeyCard, method: str,
               recipients: tuple[RecipientRecord, ...], addressed_for: str,
               package_id: str | None = None) -> Manifest:
    """Both passes: the sources surveyed, then the ZIP (manifest first) streamed to ``out``.
    ``package_id``: one the caller minted (:func:`new_package_id`) to record before writing."""
    scanned, dicomdir = survey(sources, meter)
    manifest, entries = _manifest_entries(scanned, dicomdir, details, sender, sender_card,
                                          method, recipients, addressed_for, package_id)
    archive = ZipStreamWriter(out, check_crc=False)  # sources check themselves
    for name, data in entries:
        archive.add_bytes(name, data)
    stream_sources(scanned, archive, meter)
    archive.close()
    return manifest


def _manifest_entries(sources: list[Scanned], dicomdir: bytes, details: PackageDetails,
                      sender: Identity, sender_card: KeyCard, method: str,
                      recipients: tuple[RecipientRecord, ...], addressed_for: str,
                      package_id: str | None = None) -> tuple[Manifest, list[tuple[str, bytes]]]:
    """The manifest, and the in-memory entries that open the ZIP (manifest first)."""
    package_id, created = package_id or new_package_id(), utc_now()
    fixed = [(names.README, readme_text(package_id, created, sender_card, method == "none")),
             (names.DICOMDIR, dicomdir)]
    records = tuple([FileRecord(name, len(data), hashlib.sha256(data).hexdigest())
                     for name, data in fixed]
                    + [FileRecord(s.source.name, s.size, s.sha256) for s in sources])
    manifest = Manifest(package_id, created, sender_card, method, recipients, details, records,
                        addressed_for=addressed_for)
    manifest_bytes = manifest.to_bytes()
    return manifest, [(names.MANIFEST, manifest_bytes),
                      (names.SIGNATURE, sign_manifest(manifest_bytes, sender)), *fixed]
