"""Pass 1 over one source: its hashes and, for a DICOM file, its DICOMDIR entry.

The source is read once, front to back, in 1 MiB blocks; SHA-256 and CRC-32 are computed as
the blocks arrive, unless the source gives them (with both given, only the header is read: a
source that can peek gives its first 16 KiB, which pass 2 then checks it streams).
The header is read from the first block held in memory (the common case: a header is a few
KiB), by :mod:`header_scan` or else pydicom; a longer one is parsed by pydicom from a window
that slides over the same read, so the file is never read twice in this pass and memory stays
bounded: values over 1 MiB before the pixel data are skipped, never kept. Runs on worker
threads: hashing releases the GIL on large buffers; reading a header holds it for a tenth of a
millisecond (a few tenths when pydicom does it).
"""

from __future__ import annotations

import hashlib
import io
import threading
from dataclasses import dataclass
from typing import BinaryIO
from zlib import crc32

import pydicom
from pydicom.dataset import Dataset

from desktop.core.share.dicomdir import DirectoryEntry, directory_entry, quick_directory_entry
from desktop.core.share.errors import ExportError
from desktop.core.share.sources import PackageSource, PrefixCheck, changed, read_error

BUFFER = 1 << 20
#: Header values larger than this are skipped by the parser (they are not needed for records).
DEFER = 1 << 20
#: Bytes peeked at for a header (most are 1-4 KiB); a longer one is read the usual way.
PEEK = 16 << 10
_KEEP = 64 << 10  # bytes kept behind the parser's position, for its short backward seeks


class Counter:
    """Bytes hashed so far by all workers, and the flag that stops them."""

    def __init__(self) -> None:
        self.value = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def add(self, size: int) -> None:
        with self._lock:
            self.value += size


@dataclass(frozen=True)
class Scanned:
    """One source after pass 1."""

    source: PackageSource
    size: int
    sha256: str
    crc32: int
    #: What pass 2 must find at the start of the stream (the header was peeked at), or None.
    prefix: PrefixCheck | None = None


class _Reader:
    """Reads a stream front to back in blocks, hashing each block as it arrives."""

    def __init__(self, fh: BinaryIO, sha: bool, crc: bool, counter: Counter) -> None:
        self._fh, self._counter = fh, counter
        self.digest = hashlib.sha256() if sha else None
        self.crc = 0 if crc else None
        self.size = 0
        self.at_end = False

    def fetch(self, full: bool = False) -> bytes:
        """The next block (``full``: BUFFER bytes unless the stream ends first); b"" at the end."""
        data = self._fh.read(BUFFER)
        if full and data and len(data) < BUFFER:
            parts, have = [data], len(data)
            while have < BUFFER:
                more = self._fh.read(BUFFER - have)
                if not more:
                    self.at_end = True
                    break
                parts.append(more)
                have += len(more)
            data = b"".join(parts) if len(parts) > 1 else data
        if not data:
            self.at_end = True
            return b""
        if self.digest is not None:
            self.digest.update(data)
        if self.crc is not None:
            self.crc = crc32(data, self.crc)
        self.size += len(data)
        if self.digest is not None or self.crc is not None:
            self._counter.add(len(data))
        return data


class _HeaderStream:
    """What pydicom needs of a file (read, seek, tell) over a :class:`_Reader`, keeping only a
    window of the bytes: 64 KiB behind the position, and what the last read asked for."""

    def __init__(self, reader: _Reader, first: bytes) -> None:
        self._reader = reader
        self._buffer = bytearray(first)
        self._base = 0
        self._pos = 0

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        target = offset + (self._pos if whence == 1 else 0)
        if whence not in (0, 1) or target < self._base:
            raise OSError("the header is read forward only")
        self._pos = target
        return target

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            raise OSError("the header is read in bounded parts")
        end = self._pos + size
        while self._base + len(self._buffer) < end:
            cut = min(len(self._buffer), max(0, self._pos - _KEEP - self._base))
            del self._buffer[:cut]
            self._base += cut
            block = self._reader.fetch()
            if not block:
                break
            self._buffer += block
        start = max(0, self._pos - self._base)
        data = bytes(self._buffer[start:start + size])
        self._pos += len(data)
        return data


def _parse(stream: io.BytesIO | _HeaderStream) -> Dataset:
    return pydicom.dcmread(stream, stop_before_pixels=True, defer_size=DEFER)


def _not_dicom(name: str) -> ExportError:
    return ExportError(f"{name} is not a DICOM file with a PS3.10 header (File Meta, SOP "
                       "Class and Instance UIDs); it cannot go in a DICOM file-set.")


def read_header(name: str, reader: _Reader, first: bytes) -> Dataset:
    """The header of the DICOM file whose first block is ``first`` (without its pixel data),
    checked to be a PS3.10 file."""
    header = None
    window = io.BytesIO(first)
    try:
        header = _parse(window)
        if window.tell() >= len(first) and not reader.at_end:
            header = None  # it may go on past the first block
    except Exception:  # noqa: BLE001 - pydicom raises many kinds on a file that is not DICOM
        if reader.at_end:
            raise _not_dicom(name) from None
    try:
        if header is None:
            header = _parse(_HeaderStream(reader, first))
        header.file_meta.TransferSyntaxUID  # noqa: B018 - a PS3.10 file has File Meta
        header.SOPClassUID  # noqa: B018
        header.SOPInstanceUID  # noqa: B018
    except (ExportError, OSError):
        raise
    except Exception:  # noqa: BLE001 - pydicom raises many kinds on a file that is not DICOM
        raise _not_dicom(name) from None
    return header


def _entry(name: str, reader: _Reader, first: bytes) -> DirectoryEntry:
    """The DICOMDIR entry of a DICOM file: from its raw header if that suffices (the common
    case, a tenth of the time), else from the header pydicom reads."""
    entry = quick_directory_entry(name, first, reader.at_end)
    return entry or directory_entry(name, read_header(name, reader, first))


def _peeked(source: PackageSource) -> tuple[Scanned, DirectoryEntry] | None:
    """Pass 1 over a DICOM source that gives both hashes, from the bytes it peeks at: None if
    it cannot peek or its header goes on past them (then it is read the usual way)."""
    peek = getattr(source, "peek", None)
    try:
        peeked = None if peek is None else peek(PEEK)
    except BaseException as exc:  # noqa: BLE001 - read_error names the file; it re-raises what it cannot
        raise read_error(source.name, exc) from None
    if peeked is None:
        return None
    entry = quick_directory_entry(source.name, peeked, len(peeked) == source.size)
    if entry is None:
        return None
    return (Scanned(source, source.size, source.sha256 or "", source.crc32 or 0,
                    PrefixCheck.of(source.name, peeked)), entry)


def scan(source: PackageSource, dicom: bool, counter: Counter
         ) -> tuple[Scanned, DirectoryEntry | None]:
    """Pass 1 over ``source``: hashes (unless given) and, if ``dicom``, its DICOMDIR entry."""
    need_sha, need_crc = source.sha256 is None, source.crc32 is None
    entry = None
    if not (dicom or need_sha or need_crc):
        return Scanned(source, source.size, source.sha256 or "", source.crc32 or 0), None
    if not (need_sha or need_crc):
        peeked = _peeked(source)
        if peeked is not None:
            return peeked
    try:
        with source.open() as fh:
            reader = _Reader(fh, need_sha, need_crc, counter)
            first = reader.fetch(full=True)
            if dicom:
                entry = _entry(source.name, reader, first)
            if need_sha or need_crc:
                while not counter.stop.is_set() and reader.fetch():
                    pass
    except BaseException as exc:  # noqa: BLE001 - read_error names the file; it re-raises what it cannot
        raise read_error(source.name, exc) from None
    if (need_sha or need_crc) and reader.size != source.size and not counter.stop.is_set():
        raise changed(source.name)
    sha256 = source.sha256 or (reader.digest.hexdigest() if reader.digest else "")
    crc = source.crc32 if source.crc32 is not None else (reader.crc or 0)
    return Scanned(source, source.size, sha256, crc), entry
