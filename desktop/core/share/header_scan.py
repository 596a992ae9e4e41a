"""A fast reader of the few header elements a DICOMDIR record needs, for common files.

pydicom takes most of a millisecond to read a header and convert its values; at a thousand CT
slices per gigabyte that is as long as encrypting them. This reader walks the elements of a
header held in memory without converting anything (explicit or implicit VR little endian,
sequences of defined or undefined length at any depth) and keeps the raw values of the
top-level elements the records need, up to the pixel data. Anything else (big endian or
deflated transfer syntaxes, a header that goes on past the bytes given, an element it cannot
frame) gives None, and pydicom reads that file instead.
"""

from __future__ import annotations

import struct
from collections.abc import Collection
from dataclasses import dataclass

IMPLICIT_VR_LE = "1.2.840.10008.1.2"
_NOT_LE = frozenset({"1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"})  # big endian, deflate
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN",
                       b"UR", b"UT", b"UV"})
_SHORT_VRS = frozenset({b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS",
                        b"LO", b"LT", b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL",
                        b"US"})
_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_MAX_DEPTH = 16
_TAG = struct.Struct("<HH")
_SHORT = struct.Struct("<HH2sH")
_LONG = struct.Struct("<HH2s2xI")
_IMPLICIT = struct.Struct("<HHI")


class _Unreadable(Exception):
    """The bytes end early or an element cannot be framed here."""


@dataclass(frozen=True)
class RawHeader:
    """The raw top-level elements found (tag -> (VR or None if implicit, value as stored))."""

    transfer_syntax: str
    implicit: bool
    elements: dict[int, tuple[str | None, bytes]]

    def text(self, tag: int) -> str | None:
        """The value as text without its padding; None if absent."""
        found = self.elements.get(tag)
        return None if found is None else found[1].decode("latin-1").strip(" \0")


def _element_head(buf: bytes, pos: int, implicit: bool) -> tuple[int, bytes | None, int, int]:
    """(tag, VR, value length, value position) of the element at ``pos``."""
    if pos + 8 > len(buf):
        raise _Unreadable
    if implicit:
        group, element, length = _IMPLICIT.unpack_from(buf, pos)
        return group << 16 | element, None, length, pos + 8
    group, element, vr, length = _SHORT.unpack_from(buf, pos)
    if vr in _SHORT_VRS:
        return group << 16 | element, vr, length, pos + 8
    if group == 0xFFFE:  # item and delimiters: no VR, a 4-byte length
        return group << 16 | element, None, _IMPLICIT.unpack_from(buf, pos)[2], pos + 8
    if vr not in _LONG_VRS or pos + 12 > len(buf):
        raise _Unreadable
    return group << 16 | element, vr, _LONG.unpack_from(buf, pos)[3], pos + 12


def _items(buf: bytes, pos: int, implicit: bool, depth: int) -> int:
    """Skip the items of a sequence of undefined length; the position after its end."""
    while True:
        if pos + 8 > len(buf):
            raise _Unreadable
        group, element, length = _IMPLICIT.unpack_from(buf, pos)
        tag, pos = group << 16 | element, pos + 8
        if tag == _SEQUENCE_END:
            return pos
        if tag != _ITEM:
            raise _Unreadable
        if length == _UNDEFINED:
            pos = _skip_item(buf, pos, implicit, depth + 1)
        elif pos + length > len(buf):
            raise _Unreadable
        else:
            pos += length


def _skip_item(buf: bytes, pos: int, implicit: bool, depth: int) -> int:
    """Skip the elements of an item of undefined length; the position after its end."""
    if depth > _MAX_DEPTH:
        raise _Unreadable
    while True:
        tag, vr, length, pos = _element_head(buf, pos, implicit)
        if tag == _ITEM_END:
            return pos
        pos = _skip_value(buf, pos, tag, vr, length, implicit, depth)


def _skip_value(buf: bytes, pos: int, tag: int, vr: bytes | None, length: int, implicit: bool,
                depth: int) -> int:
    """The position after the value at ``pos`` (a sequence of undefined length is walked)."""
    if tag >> 16 == 0xFFFE:
        raise _Unreadable  # an item or delimiter where an element belongs
    if length != _UNDEFINED:
        if pos + length > len(buf):
            raise _Unreadable
        return pos + length
    if not (vr is None or vr in (b"SQ", b"UN")):
        raise _Unreadable
    return _items(buf, pos, implicit or vr == b"UN", depth)


def _walk(buf: bytes, pos: int, implicit: bool, keep: Collection[int], note: Collection[int]
          ) -> dict[int, tuple[str | None, bytes]]:
    """The top-level elements from ``pos`` to the pixel data or the end: the values of those in
    ``keep``, an empty value for those in ``note``."""
    found: dict[int, tuple[str | None, bytes]] = {}
    while pos < len(buf):
        tag, vr, length, value = _element_head(buf, pos, implicit)
        if tag in _PIXEL_TAGS:
            return found
        pos = _skip_value(buf, value, tag, vr, length, implicit, 0)
        if tag in keep or tag in note:
            stored = buf[value:pos] if tag in keep else b""
            found[tag] = (vr.decode("ascii") if vr else None, stored)
    raise _AtEnd(found)


class _AtEnd(Exception):
    """The bytes ended at an element boundary, before any pixel data."""

    def __init__(self, found: dict[int, tuple[str | None, bytes]]) -> None:
        super().__init__()
        self.found = found


def read_raw_header(block: bytes, whole: bool, keep: Collection[int],
                    note: Collection[int] = ()) -> RawHeader | None:
    """The raw header of a PS3.10 file whose first bytes are ``block`` (``whole``: the whole
    file): the top-level elements in ``keep`` with their values, those in ``note`` with none.
    None when pydicom must read it."""
    if len(block) < 132 or block[128:132] != b"DICM":
        return None
    meta: dict[int, bytes] = {}
    pos = 132
    try:
        while pos + 4 <= len(block) and _TAG.unpack_from(block, pos)[0] == 2:
            tag, _, length, pos = _element_head(block, pos, False)
            if length == _UNDEFINED or pos + length > len(block):
                return None
            meta[tag] = block[pos:pos + length]
            pos += length
        syntax = meta.get(0x00020010, b"").decode("ascii").strip(" \0")
        if not syntax or syntax in _NOT_LE:
            return None
        implicit = syntax == IMPLICIT_VR_LE
        try:
            elements = _walk(block, pos, implicit, keep, note)
        except _AtEnd as end:
            if not whole:
                return None  # the header may go on past the block
            elements = end.found
    except (_Unreadable, UnicodeError, RecursionError):
        return None
    return RawHeader(syntax, implicit, elements)
