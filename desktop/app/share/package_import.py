"""Importing the images of a share package without writing them anywhere in clear.

The package reader hands over each member once its SHA-256 matched the signed manifest
(:data:`desktop.core.share.reader.MemberSink`); :class:`PackageMembers` parses a DICOM member
and stages it sealed in the object store's temp folder, exactly as an import from a folder does
(:func:`desktop.core.library.ingest.ingest`). Nothing is indexed until the whole package
verified; if it does not, :meth:`PackageMembers.discard` removes the sealed temps (a crash
leaves only sealed temps, which the next start sweeps). DICOMDIR, README and the manifest are
never written: Veil does not need them once the package verified.

An archive inside a package (a ZIP, gzip, 7z or RAR member) is never expanded: it is named and
left out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from desktop.app.common.tasks import CancelToken
from desktop.app.consent.disclosing import Sent
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import ImportReport, _index_batch, _record_end
from desktop.core.audit.log import os_user
from desktop.core.common.disk_full import DiskFullError, is_disk_full
from desktop.core.common.faults import fault_point
from desktop.core.dicom.header import InvalidInstance
from desktop.core.library import index
from desktop.core.library.database import Connection
from desktop.core.library.ingest import Ingested, _ingest_bytes
from desktop.core.library.sources import Rejected

#: The first bytes of archive formats Veil will not open inside a package.
ARCHIVE_MAGIC = {b"PK\x03\x04": "ZIP", b"PK\x05\x06": "ZIP", b"\x1f\x8b": "gzip",
                 b"7z\xbc\xaf\x27\x1c": "7z", b"Rar!\x1a\x07": "RAR", b"BZh": "bzip2",
                 b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd"}
DICOM_FOLDER = "DICOM/"


@dataclass(frozen=True)
class _Member:
    """A package member as an import source (its label is what the library shows as its origin)."""

    label: str
    size: int


def archive_kind(data: bytes | memoryview) -> str | None:
    """The archive format ``data`` starts with, or None. A DICOM file has a 128-byte preamble
    that may hold anything, so only a file that starts with a magic number counts."""
    head = bytes(data[:8])
    return next((kind for magic, kind in ARCHIVE_MAGIC.items() if head.startswith(magic)), None)


class StagedMembers:
    """Receives DICOM objects in memory (from a package, or the network) and stages each sealed
    in the object store, as an import from a folder does; indexed by :func:`import_members`.
    Each is labelled ``ORIGIN::NAME`` (what the library shows as where it came from)."""

    def __init__(self, home: VeilHome, origin: str) -> None:
        self.home = home
        self.origin = origin
        self.results: list[Ingested | Rejected] = []

    def keep(self, name: str, data: memoryview | bytes) -> None:
        self._stage(f"{self.origin}::{name}", data)

    def _stage(self, label: str, data: memoryview | bytes) -> None:
        kind = archive_kind(data)
        if kind is not None:
            self.results.append(Rejected(label, f"a {kind} archive inside the package: Veil never opens an "
                                                "archive inside a package; it was not imported"))
            return
        try:
            self.results.append(_ingest_bytes(_Member(label, len(data)), data, self.home.objects))  # type: ignore[arg-type]
        except InvalidInstance as exc:
            self.results.append(Rejected(label, str(exc)))
        fault_point("open.member-staged")

    @property
    def staged(self) -> int:
        return sum(isinstance(r, Ingested) for r in self.results)

    def discard(self) -> None:
        """Remove every sealed temp staged so far (the package did not verify, or was cancelled)."""
        for item in self.results:
            if isinstance(item, Ingested) and item.staged:
                try:
                    os.unlink(item.staged)
                except FileNotFoundError:
                    pass
        self.results.clear()


class PackageMembers(StagedMembers):
    """Receives verified members of a package: stages each DICOM image sealed; keeps nothing
    else (README, manifest, DICOMDIR, case.html)."""

    def __init__(self, home: VeilHome, package: Path) -> None:
        super().__init__(home, str(Path(package).resolve()))
        self.package = self.origin

    def keep(self, name: str, data: memoryview | bytes) -> None:
        if name.startswith(DICOM_FOLDER):
            self._stage(f"{self.package}::{name}", data)


def import_members(home: VeilHome, members: StagedMembers, cancel: CancelToken,
                   source: str = "package") -> tuple[ImportReport, list[Sent]]:
    """Index what :class:`PackageMembers` staged, as one import (audited like any import); the
    report and the package's images now in the library (whose, which study and series)."""
    report = ImportReport()
    ingested = [r for r in members.results if isinstance(r, Ingested)]
    report.rejected.extend(r for r in members.results if isinstance(r, Rejected))
    report.total = len(members.results)
    conn = home.connect()
    outcome, import_id = "failed", None
    try:
        import_id = index.start_import(conn, os_user())
        home.record(conn, "import.started", import_id=import_id, files=report.total, source=source)
        for start in range(0, len(ingested), 200):
            if cancel.cancelled:
                report.cancelled = True
                break
            _index_batch(home, conn, ingested[start:start + 200], import_id, report)
            report.bytes_read += sum(i.size for i in ingested[start:start + 200])
        outcome = "cancelled" if report.cancelled else "completed"
        fault_point("open.indexed")
    finally:
        try:
            if import_id is not None:
                _record_end(home, conn, import_id, outcome, report)
        except Exception as exc:
            if report.imported and is_disk_full(exc, home.path):  # the images are in; their record is not
                raise DiskFullError(
                    f"The disk holding the Veil library ({home.path}) is full: the package's {report.imported} new "
                    "image(s) were imported, but the end of the import and the record of what was received could "
                    "not be written. Free some room, then open the package again: Veil then records what was "
                    "received.") from None
            raise
        finally:
            sent = _in_library(conn, [i.header.sop_instance_uid for i in ingested])
            conn.close()
            members.discard()  # what was not committed (cancelled, or a failure) goes
    return report, sent


def _in_library(conn: Connection, sop_uids: list[str]) -> list[Sent]:
    """The package's images now in the library (added by this import, or there already)."""
    out: list[Sent] = []
    for start in range(0, len(sop_uids), 500):
        chunk = sop_uids[start:start + 500]
        rows = conn.execute(
            f"""SELECT p.patient_key, st.study_uid, se.series_uid, i.sop_instance_uid FROM instances i
               JOIN series se ON i.series_ref = se.id JOIN studies st ON se.study_ref = st.id
               JOIN patients p ON st.patient_ref = p.id
               WHERE i.sop_instance_uid IN ({",".join("?" * len(chunk))})""", chunk).fetchall()
        out.extend(Sent(*row) for row in rows)
    return out
