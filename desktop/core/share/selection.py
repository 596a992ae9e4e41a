"""Reading the files of an export: pass 1 (hash, headers) and pass 2 (stream into the ZIP).

Pass 1 hashes every file (SHA-256 for the manifest, CRC-32 for the ZIP) on a few threads
(hashlib and zlib release the GIL), then parses the DICOM headers for the DICOMDIR. Each file's identity and change stamp (size, mtime, ctime, inode) is kept; pass 2
refuses a file whose stamp moved, so the bytes packaged are the bytes that were hashed without
computing the CRC twice. Progress and cancel callbacks run on the calling thread only.
"""

from __future__ import annotations

import hashlib
import os
import threading
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from desktop.core.errors import Cancelled
from desktop.core.share import member_names as names
from desktop.core.share.dicomdir import DicomdirBuilder
from desktop.core.share.errors import ExportError
from desktop.core.share.zip_writer import ZipStreamWriter

#: Called with (bytes read so far, bytes to read in all) over both passes (2 x the sources).
Progress = Callable[[int, int], None]
#: Returns True when the person asked to stop.
CancelCheck = Callable[[], bool]
BUFFER = 1 << 20
_HASH_THREADS = max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class SourceFile:
    """One file of the selection after pass 1."""

    name: str
    path: Path
    size: int
    sha256: str
    crc: int
    stamp: tuple[int, ...]


class Meter:
    """Progress and cancel checks (on the calling thread)."""

    def __init__(self, total: int, progress: Progress | None, cancelled: CancelCheck | None):
        self.total, self.done = total, 0
        self._progress, self._cancelled = progress, cancelled

    def step(self, size: int) -> None:
        """``size`` more bytes were read; Cancelled if the person asked to stop."""
        if self._cancelled is not None and self._cancelled():
            raise Cancelled("The export was cancelled; no package was written.")
        self.done += size
        if self._progress is not None:
            self._progress(self.done, self.total)


def _unreadable(name: str, exc: OSError) -> ExportError:
    return ExportError(f"The source of {name} cannot be read ({exc.strerror}).")


def _changed(name: str) -> ExportError:
    return ExportError(f"{name} changed while it was being packaged; export again.")


def _stamp(fd: int) -> tuple[int, ...]:
    info = os.fstat(fd)
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev


def source_size(name: str, path: Path) -> int:
    """The size of a source file, or ExportError naming the member (never the path)."""
    try:
        return path.stat().st_size
    except OSError as exc:
        raise _unreadable(name, exc) from None


def read_header(name: str, path: Path) -> Dataset:
    """The DICOM header of a source (no pixel data), checked to be a PS3.10 file."""
    try:
        header = pydicom.dcmread(path, stop_before_pixels=True)
        header.file_meta.TransferSyntaxUID  # noqa: B018 - a PS3.10 file has File Meta
        header.SOPClassUID  # noqa: B018
        header.SOPInstanceUID  # noqa: B018
    except OSError as exc:
        raise _unreadable(name, exc) from None
    except Exception:  # pydicom raises many kinds on a file that is not DICOM
        raise ExportError(f"{name} is not a DICOM file with a PS3.10 header (File Meta, SOP "
                          "Class and Instance UIDs); it cannot go in a DICOM file-set.") from None
    return header


class _Counter:
    def __init__(self) -> None:
        self.value = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def add(self, size: int) -> None:
        with self._lock:
            self.value += size


def _hash(name: str, path: Path, counter: _Counter) -> SourceFile:
    digest, crc, size = hashlib.sha256(), 0, 0
    buffer = bytearray(BUFFER)
    view = memoryview(buffer)
    try:
        with open(path, "rb", buffering=0) as fh:
            before = _stamp(fh.fileno())
            while not counter.stop.is_set() and (count := fh.readinto(buffer)):
                digest.update(view[:count])
                crc = zlib.crc32(view[:count], crc)
                size += count
                counter.add(count)
            after = _stamp(fh.fileno())
    except OSError as exc:
        raise _unreadable(name, exc) from None
    if not counter.stop.is_set() and (before != after or size != before[0]):
        raise _changed(name)
    return SourceFile(name, path, size, digest.hexdigest(), crc, before)


def survey(files: Sequence[tuple[str, Path]], meter: Meter) -> tuple[list[SourceFile], bytes]:
    """Pass 1: every source hashed, and the DICOMDIR of the DICOM ones."""
    counter, reported = _Counter(), 0
    with ThreadPoolExecutor(_HASH_THREADS, thread_name_prefix="veil-hash") as pool:
        futures: list[Future[SourceFile]] = [pool.submit(_hash, n, Path(p), counter)
                                             for n, p in files]
        try:
            while True:
                done, pending = wait(futures, timeout=0.05, return_when=FIRST_EXCEPTION)
                meter.step(counter.value - reported)
                reported = counter.value
                if not pending or any(f.exception() for f in done):
                    break
            sources = [future.result() for future in futures]
        finally:  # on an error or a cancel: queued files are skipped, running ones stop
            counter.stop.set()  # within 1 MiB
            for future in futures:
                future.cancel()
    # Headers after hashing: pydicom holds the GIL, and hashing threads waiting for it to
    # hand over every 1 MiB ran slower side by side than one after the other.
    dicomdir = DicomdirBuilder()
    seen_uids: set[str] = set()
    for name, path in files:
        if name.startswith(names.DICOM_FOLDER + "/"):
            header = read_header(name, Path(path))
            if header.SOPInstanceUID in seen_uids:
                raise ExportError(f"{name} is the same DICOM instance as another file of the "
                                  "selection.")
            seen_uids.add(header.SOPInstanceUID)
            dicomdir.add(name, header)
            meter.step(0)
    return sources, dicomdir.encode()


def copy_into(source: SourceFile, archive: ZipStreamWriter, meter: Meter) -> None:
    """Pass 2: stream one source into the archive, refusing it if it changed since pass 1."""
    archive.start_entry(source.name, source.size, source.crc)
    buffer = bytearray(BUFFER)
    view = memoryview(buffer)
    left = source.size
    try:
        with open(source.path, "rb", buffering=0) as fh:
            if _stamp(fh.fileno()) != source.stamp:
                raise _changed(source.name)
            while left and (count := fh.readinto(view[:min(left, BUFFER)])):
                archive.write(view[:count])
                left -= count
                meter.step(count)
            grown = fh.read(1)
            after = _stamp(fh.fileno())
    except OSError as exc:
        raise _unreadable(source.name, exc) from None
    if left or grown or after != source.stamp:
        raise _changed(source.name)
    archive.end_entry()
