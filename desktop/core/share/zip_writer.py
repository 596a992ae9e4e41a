"""A ZIP writer for a forward-only stream, with sizes and CRC in every local header.

The stdlib ``zipfile`` writing to an unseekable stream sets the data-descriptor flag and
leaves sizes out of the local headers; a stored entry is then impossible to find the end of
without the central directory, which a streaming reader only sees at the very end. The package
writer knows each file's size and CRC-32 before it writes it (its first pass hashes the
sources), so this writer puts them in the local header, as PKWARE's APPNOTE allows, and a
reader can walk the archive front to back. Entries are stored (method 0): DICOM pixel data is
often compressed already, and storing keeps packaging as fast as encrypting. ZIP64 extra fields
and end records are written where sizes, offsets or counts need them (or always, for tests).
"""

from __future__ import annotations

import struct
import zlib
from typing import Protocol

from desktop.core.share.errors import ExportError

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_END64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<IIQI")
_MAX32 = 0xFFFFFFFF
_UTF8_FLAG = 0x0800
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01: entries carry no export time
_MADE_BY = (3 << 8) | 45  # Unix, APPNOTE 4.5
_FILE_ATTRIBUTES = 0o100644 << 16


class BinarySink(Protocol):
    def write(self, data: bytes | bytearray | memoryview, /) -> int | None: ...


class ZipStreamWriter:
    """Writes stored entries, one after the other, then the central directory."""

    def __init__(self, out: BinarySink, force_zip64: bool = False, check_crc: bool = True) -> None:
        """``check_crc=False`` trusts the CRC-32 given to :meth:`start_entry` (the caller
        checks by other means that the bytes did not change since it was computed)."""
        self._out = out
        self._check_crc = check_crc
        self._force_zip64 = force_zip64
        self._offset = 0
        self._central: list[bytes] = []
        self._entry: tuple[str, int, int, int] | None = None  # name, size, crc, header offset
        self._written = 0
        self._crc = 0

    def _emit(self, data: bytes | bytearray | memoryview) -> None:
        self._out.write(data)
        self._offset += len(data)

    def start_entry(self, name: str, size: int, crc: int) -> None:
        """Begin a stored entry whose ``size`` and CRC-32 are known in advance."""
        if self._entry is not None:
            raise ValueError("the previous entry is not finished")
        raw_name = name.encode("utf-8")
        zip64 = self._force_zip64 or size >= _MAX32
        extra = struct.pack("<HHQQ", 1, 16, size, size) if zip64 else b""
        stored_size = _MAX32 if zip64 else size
        self._entry = (name, size, crc, self._offset)
        self._emit(_LOCAL.pack(0x04034B50, 45 if zip64 else 20, _UTF8_FLAG, 0, 0, _DOS_DATE, crc,
                               stored_size, stored_size, len(raw_name), len(extra))
                   + raw_name + extra)
        self._written, self._crc = 0, 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Bytes of the current entry."""
        if self._check_crc:
            self._crc = zlib.crc32(data, self._crc)
        self._written += len(data)
        self._emit(data)

    def end_entry(self) -> None:
        """Finish the current entry; ExportError if its bytes are not what was announced."""
        if self._entry is None:
            raise ValueError("no entry to finish")
        name, size, crc, offset = self._entry
        if self._written != size or (self._check_crc and self._crc != crc):
            raise ExportError(f"{name} changed while it was being packaged; export again.")
        self._central.append(self._central_record(name, size, crc, offset))
        self._entry = None

    def add_bytes(self, name: str, data: bytes) -> None:
        """A whole entry from memory."""
        self.start_entry(name, len(data), zlib.crc32(data))
        self.write(data)
        self.end_entry()

    def _central_record(self, name: str, size: int, crc: int, offset: int) -> bytes:
        raw_name = name.encode("utf-8")
        size64 = self._force_zip64 or size >= _MAX32
        offset64 = self._force_zip64 or offset >= _MAX32
        fields = ([size, size] if size64 else []) + ([offset] if offset64 else [])
        extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if fields else b""
        stored_size = _MAX32 if size64 else size
        return _CENTRAL.pack(0x02014B50, _MADE_BY, 45 if fields else 20, _UTF8_FLAG, 0, 0,
                             _DOS_DATE, crc, stored_size, stored_size, len(raw_name), len(extra),
                             0, 0, 0, _FILE_ATTRIBUTES, _MAX32 if offset64 else offset
                             ) + raw_name + extra

    def close(self) -> None:
        """Write the central directory and the end records."""
        if self._entry is not None:
            raise ValueError("the last entry is not finished")
        start = self._offset
        for record in self._central:
            self._emit(record)
        size, count = self._offset - start, len(self._central)
        zip64 = self._force_zip64 or count >= 0xFFFF or start >= _MAX32 or size >= _MAX32
        if zip64:
            end64 = self._offset
            self._emit(_END64.pack(0x06064B50, 44, _MADE_BY, 45, 0, 0, count, count, size, start))
            self._emit(_LOCATOR64.pack(0x07064B50, 0, end64, 1))
        short_count = 0xFFFF if zip64 else count
        self._emit(_END.pack(0x06054B50, 0, 0, short_count, short_count,
                             _MAX32 if zip64 else size, _MAX32 if zip64 else start, 0))
