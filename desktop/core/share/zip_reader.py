"""Read a ZIP front to back from a forward-only stream, trusting nothing.

The decrypted package is a stream (it is never written to disk whole), so entries are read by
their local headers, which must carry sizes and CRC-32 (no data descriptors: the writer knows
them in advance). Once the entries are read, the central directory must describe exactly the
same entries at the same offsets, and the end records must match it; anything hidden, extra
or inconsistent is refused. Stored and deflated entries are accepted; a deflated entry that
claims an extreme compression ratio is refused before it is inflated, and inflation never
produces more than the entry's declared size.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from desktop.core.share.errors import PackageContentError, PackageTooLargeError, UnsafePackageError

_LOCAL_REST = struct.Struct("<HHHHHIIIHH")
_CENTRAL_REST = struct.Struct("<HHHHHHIIIHHHHHII")
_END_REST = struct.Struct("<HHHHIIH")
_END64_REST = struct.Struct("<QHHIIQQQQ")
_LOCATOR_REST = struct.Struct("<IQI")
_LOCAL_SIG, _CENTRAL_SIG = b"PK\x03\x04", b"PK\x01\x02"
_END_SIG, _END64_SIG, _LOCATOR_SIG = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"
_MAX32, _MAX16 = 0xFFFFFFFF, 0xFFFF
_REFUSED_FLAGS = 0x0001 | 0x0008 | 0x0040 | 0x2000  # encrypted, data descriptor, strong, masked
_STORED, _DEFLATED = 0, 8
_CHUNK = 1 << 20
#: Deflated entries below this size are not ratio-checked (small text compresses very well).
_RATIO_FLOOR = 1 << 20


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


@dataclass(frozen=True)
class ZipEntry:
    """One entry as its local header describes it."""

    name: str
    method: int
    flags: int
    crc: int
    compressed_size: int
    size: int
    offset: int


def _malformed(reason: str) -> UnsafePackageError:
    return UnsafePackageError(f"The inside of this package is not a well-formed Veil ZIP "
                              f"({reason}); it was refused and nothing was kept.")


def _zip64(extra: bytes, values: list[int], wanted: list[bool]) -> list[int]:
    """Replace the 0xFFFFFFFF ``values`` flagged in ``wanted`` from the ZIP64 extra field."""
    pos, found = 0, None
    while pos < len(extra):
        if pos + 4 > len(extra):
            raise _malformed("a truncated extra field")
        kind, size = struct.unpack_from("<HH", extra, pos)
        if pos + 4 + size > len(extra):
            raise _malformed("a truncated extra field")
        if kind == 1:
            if found is not None:
                raise _malformed("two ZIP64 fields")
            found = extra[pos + 4:pos + 4 + size]
        pos += 4 + size
    needed = sum(wanted)
    if not needed:
        return values
    if found is None or len(found) != 8 * needed:
        raise _malformed("a ZIP64 field that does not match its header")
    large = iter(struct.unpack(f"<{needed}Q", found))
    return [next(large) if want else value for value, want in zip(values, wanted)]


class ZipStreamReader:
    """Entries in order (:meth:`next_entry`, :meth:`read_data`), then :meth:`finish`."""

    def __init__(self, stream: _Readable, max_ratio: int = 100) -> None:
        self._stream = stream
        self._max_ratio = max_ratio
        self._offset = 0
        self._entries: list[ZipEntry] = []
        self._pending: ZipEntry | None = None
        self._in_central = False

    def _read(self, size: int) -> bytes:
        parts, have = [], 0
        while have < size:
            part = self._stream.read(min(size - have, _CHUNK))
            if not part:
                raise _malformed("it ends in the middle of a record")
            parts.append(part)
            have += len(part)
        self._offset += size
        return b"".join(parts)

    def next_entry(self) -> ZipEntry | None:
        """The next entry's header, or None once the central directory starts."""
        if self._pending is not None:
            raise RuntimeError("read the previous entry's data first")
        if self._in_central:
            return None
        offset = self._offset
        signature = self._read(4)
        if signature == _CENTRAL_SIG:
            self._in_central = True
            return None
        if signature != _LOCAL_SIG:
            raise _malformed("an unknown record where a file should start")
        (version, flags, method, _time, _date, crc, csize, size, name_length,
         extra_length) = _LOCAL_REST.unpack(self._read(_LOCAL_REST.size))
        if version > 45 or flags & _REFUSED_FLAGS or method not in (_STORED, _DEFLATED):
            raise _malformed("an encrypted, streamed or unsupported entry")
        raw_name, extra = self._read(name_length), self._read(extra_length)
        size, csize = _zip64(extra, [size, csize], [size == _MAX32, csize == _MAX32])
        try:
            name = raw_name.decode("utf-8" if flags & 0x0800 else "cp437")
        except UnicodeDecodeError:
            raise _malformed("a file name that is not UTF-8") from None
        if method == _STORED and csize != size:
            raise _malformed("a stored entry whose two sizes differ")
        entry = ZipEntry(name, method, flags, crc, csize, size, offset)
        self._pending = entry
        return entry

    def read_data(self) -> Iterator[bytes]:
        """The pending entry's bytes, inflated if need be, CRC-32 and size checked."""
        entry = self._pending
        if entry is None:
            raise RuntimeError("no entry to read")
        if (entry.method == _DEFLATED and entry.size > _RATIO_FLOOR
                and entry.size > max(entry.compressed_size, 1) * self._max_ratio):
            raise PackageTooLargeError(
                f"{entry.name} would inflate more than {self._max_ratio} times (a 'zip bomb'); "
                "the package was refused and nothing was kept.")
        crc = 0
        chunks = self._stored(entry) if entry.method == _STORED else self._inflated(entry)
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            yield chunk
        if crc != entry.crc:
            raise PackageContentError(f"{entry.name} in the package is corrupt (its CRC-32 does "
                                      "not match); nothing was kept.")
        self._entries.append(entry)
        self._pending = None

    def _stored(self, entry: ZipEntry) -> Iterator[bytes]:
        left = entry.size
        while left:
            chunk = self._read(min(left, _CHUNK))
            left -= len(chunk)
            yield chunk

    def _inflated(self, entry: ZipEntry) -> Iterator[bytes]:
        inflater = zlib.decompressobj(-15)
        left, produced, tail = entry.compressed_size, 0, b""
        while not inflater.eof:
            if not tail:
                if not left:
                    raise _malformed(f"{entry.name} ends before its compressed data does")
                tail = self._read(min(left, 1 << 16))
                left -= len(tail)
            try:
                chunk = inflater.decompress(tail, _CHUNK)
            except zlib.error:
                raise _malformed(f"{entry.name} has corrupt compressed data") from None
            tail = inflater.unconsumed_tail
            produced += len(chunk)
            if produced > entry.size:
                raise PackageTooLargeError(f"{entry.name} inflates to more than its declared "
                                           "size (a 'zip bomb'); nothing was kept.")
            if chunk:
                yield chunk
        if left or inflater.unused_data or tail or produced != entry.size:
            raise _malformed(f"{entry.name}'s compressed data does not match its sizes")

    def finish(self) -> None:
        """Check the central directory and end records against the entries, and the end."""
        if self._pending is not None or not self._in_central:
            raise _malformed("the central directory is missing or out of place")
        start = self._offset - 4
        for index, entry in enumerate(self._entries):
            if index and self._read(4) != _CENTRAL_SIG:
                raise _malformed("a central directory that does not list every file")
            self._check_central(entry)
        size = self._offset - start
        signature = self._read(4)
        count = len(self._entries)
        zip64 = signature == _END64_SIG
        if zip64:
            self._check_end64(count, size, start)
            signature = self._read(4)
        if signature != _END_SIG:
            raise _malformed("the central directory lists more files than the ZIP holds")
        disk, cd_disk, on_disk, total, cd_size, cd_offset, comment = _END_REST.unpack(
            self._read(_END_REST.size))
        if zip64:
            ok = (disk == cd_disk == 0 and on_disk in (count, _MAX16) and total in (count, _MAX16)
                  and cd_size in (size, _MAX32) and cd_offset in (start, _MAX32))
        else:
            ok = (disk, cd_disk, on_disk, total, cd_size, cd_offset) == (0, 0, count, count,
                                                                          size, start)
        if not ok:
            raise _malformed("end records that do not match the central directory")
        self._read(comment)
        if self._stream.read(1):
            raise _malformed("data after the end of the ZIP")

    def _check_central(self, entry: ZipEntry) -> None:
        (_made_by, version, flags, method, _time, _date, crc, csize, size, name_length,
         extra_length, comment_length, disk, _internal, _external, offset
         ) = _CENTRAL_REST.unpack(self._read(_CENTRAL_REST.size))
        raw_name, extra = self._read(name_length), self._read(extra_length)
        self._read(comment_length)
        size, csize, offset, disk = _zip64(
            extra, [size, csize, offset, disk],
            [size == _MAX32, csize == _MAX32, offset == _MAX32, disk == _MAX16])
        try:
            name = raw_name.decode("utf-8" if flags & 0x0800 else "cp437")
        except UnicodeDecodeError:
            raise _malformed("a file name that is not UTF-8") from None
        if (name, method, flags, crc, csize, size, offset, disk) != (
                entry.name, entry.method, entry.flags, entry.crc, entry.compressed_size,
                entry.size, entry.offset, 0) or version > 45:
            raise _malformed("a central directory that differs from the files")

    def _check_end64(self, count: int, size: int, start: int) -> None:
        record_offset = self._offset - 4
        (record_size, _made_by, _version, disk, cd_disk, on_disk, total, cd_size, cd_offset
         ) = _END64_REST.unpack(self._read(_END64_REST.size))
        if record_size < 44 or record_size - 44 > 1 << 16:
            raise _malformed("a malformed ZIP64 end record")
        self._read(record_size - 44)
        if (disk, cd_disk, on_disk, total, cd_size, cd_offset) != (0, 0, count, count, size,
                                                                    start):
            raise _malformed("a ZIP64 end record that does not match the central directory")
        if self._read(4) != _LOCATOR_SIG:
            raise _malformed("a ZIP64 end record without its locator")
        locator_disk, located, disks = _LOCATOR_REST.unpack(self._read(_LOCATOR_REST.size))
        if (locator_disk, located, disks) != (0, record_offset, 1):
            raise _malformed("a ZIP64 locator that points elsewhere")
