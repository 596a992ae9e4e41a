"""Open a share package: decrypt as a stream, verify everything, extract into staging.

Order of checks: the age header (is it addressed to this key or passphrase, is it intact),
then the first two ZIP entries, ``manifest.json`` and ``manifest.sig`` (signature valid, by the
key on the sender card inside the manifest), then the limits (total size, file count, free
space) against the signed manifest, then each entry as it streams by (listed, not twice, a
safe name, exactly its listed size, within the compression ratio, its SHA-256), then the ZIP's
central directory and the age file's authenticated end, then that nothing listed is missing.
Every age chunk is authenticated before its bytes are used. On any failure, or a cancel,
everything extracted so far is removed.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.core.errors import Cancelled
from desktop.core.share import member_names as names
from desktop.core.share.age_header import MAX_SCRYPT_LOG_N
from desktop.core.share.age_stream import AgeReader
from desktop.core.share.errors import (
    ManifestError,
    PackageContentError,
    PackageError,
    PackageTooLargeError,
    UnsafePackageError,
)
from desktop.core.share.identity import Identity, KeyCard
from desktop.core.share.manifest import (
    MAX_MANIFEST_BYTES,
    MAX_SIGNATURE_BYTES,
    Manifest,
    check_signed_by_sender,
    verify_signature,
)
from desktop.core.share.staging import Staging
from desktop.core.share.zip_reader import ZipStreamReader

#: Called with (bytes extracted so far, bytes the manifest lists).
Progress = Callable[[int, int], None]
CancelCheck = Callable[[], bool]


@dataclass(frozen=True)
class OpenLimits:
    """What a package may ask of this machine before it is refused."""

    max_total_bytes: int = 64 << 30
    max_files: int = 200_000
    max_compression_ratio: int = 100
    max_scrypt_log_n: int = MAX_SCRYPT_LOG_N


@dataclass(frozen=True)
class OpenedPackage:
    """A verified package: its manifest, sender, and the extracted files by member name.

    A package whose signature does not verify, or was made by a key other than the sender
    card's, is refused; so ``sender`` is always the card whose key signed. Whether that card
    is known and verified is for the address book to say.
    """

    manifest: Manifest
    manifest_bytes: bytes
    sender: KeyCard
    folder: Path
    files: dict[str, Path]

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


def _check_limits(manifest: Manifest, limits: OpenLimits, folder: Path) -> None:
    total = manifest.total_size
    if total > limits.max_total_bytes or len(manifest.files) > limits.max_files:
        raise PackageTooLargeError(
            f"The package would unpack to {total / 1e9:.1f} GB in {len(manifest.files)} files, "
            f"more than allowed ({limits.max_total_bytes / 1e9:.1f} GB, {limits.max_files} "
            "files). It was refused.")
    free = shutil.disk_usage(folder).free
    if total > free:
        raise PackageError(f"There is not enough free space to open this package "
                           f"({total / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free).")


def _extract(archive: ZipStreamReader, manifest: Manifest, staging: Staging,
             progress: Progress | None, cancelled: CancelCheck | None) -> dict[str, Path]:
    expected = {record.path: record for record in manifest.files}
    extracted: dict[str, Path] = {}
    done, total = 0, manifest.total_size
    while (entry := archive.next_entry()) is not None:
        names.check_member_name(entry.name)
        record = expected.get(entry.name)
        if entry.name in extracted:
            raise UnsafePackageError(f"The package holds {entry.name} twice; nothing was kept.")
        if record is None:
            raise PackageContentError(f"The package holds a file its signed manifest does not "
                                      f"list ({entry.name}); nothing was kept.")
        if entry.size != record.size:
            raise PackageContentError(f"{entry.name} is not the size its signed manifest says; "
                                      "nothing was kept.")
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
    missing = sorted(set(expected) - set(extracted))
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise PackageContentError(f"The package lacks {len(missing)} file(s) its manifest lists "
                                  f"({shown}); nothing was kept.")
    return extracted


def open_package(package: Path, staging_folder: Path, *,
                 identities: Sequence[Identity | str] = (), passphrase: str | None = None,
                 limits: OpenLimits = OpenLimits(), progress: Progress | None = None,
                 cancelled: CancelCheck | None = None) -> OpenedPackage:
    """Verify ``package`` and extract it into ``staging_folder`` (empty or new).

    Give the user's identities (or ``AGE-SECRET-KEY-1...`` strings), or a passphrase. Raises a
    PackageError child with a message for the user (or Cancelled); then nothing is left in
    the staging folder.
    """
    if bool(identities) == (passphrase is not None):
        raise PackageError("Open a package with your identity or with a passphrase.")
    secrets = [i.age_secret if isinstance(i, Identity) else i for i in identities]
    try:
        source = open(package, "rb", buffering=1 << 20)
    except OSError as exc:
        raise PackageError(f"The package cannot be read ({exc.strerror}).") from None
    with source:
        try:
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
        staging = Staging(staging_folder)
        try:
            _check_limits(manifest, limits, staging.folder)
            files = _extract(archive, manifest, staging, progress, cancelled)
        except BaseException as exc:
            staging.discard()
            if isinstance(exc, OSError):  # the disk is full, or the staging folder went away
                raise PackageError(f"The package could not be extracted ({exc.strerror}); "
                                   "nothing was kept.") from None
            raise
    return OpenedPackage(manifest, manifest_bytes, manifest.sender, staging.folder, files)
