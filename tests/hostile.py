"""Hostile DICOM files made by the tests (issue 15): nothing large is committed.

Everything is explicit VR little endian (PS3.5 A.2) after a valid preamble and File Meta
(PS3.10 7.1) unless said otherwise. Builders return bytes; the writers of large files write
them sparse.
"""

from __future__ import annotations

import struct
from pathlib import Path

EXPLICIT_LE = "1.2.840.10008.1.2.1"
UNDEFINED = 0xFFFFFFFF
LONG = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}


def element(tag: int, vr: str, value: bytes, length: int | None = None) -> bytes:
    """One explicit VR element; ``length`` overrides the length written (to lie)."""
    if len(value) % 2:
        value += b"\x00" if vr == "UI" else b" "
    size = len(value) if length is None else length
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode()
    head += struct.pack("<HI", 0, size) if vr in LONG else struct.pack("<H", size)
    return head + value


def item(body: bytes, defined: bool = False) -> bytes:
    if defined:
        return struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body
    return struct.pack("<HHI", 0xFFFE, 0xE000, UNDEFINED) + body + struct.pack("<HHI", 0xFFFE, 0xE00D, 0)


def sequence(tag: int, items: bytes, delimited: bool = True) -> bytes:
    """A sequence of undefined length holding ``items`` (ended by its delimiter if ``delimited``)."""
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + b"SQ" + struct.pack("<HI", 0, UNDEFINED)
    return head + items + (struct.pack("<HHI", 0xFFFE, 0xE0DD, 0) if delimited else b"")


def meta(syntax: str = EXPLICIT_LE) -> bytes:
    body = (element(0x00020001, "OB", b"\x00\x01") + element(0x00020002, "UI", b"1.2.840.10008.5.1.4.1.1.7")
            + element(0x00020003, "UI", b"1.2.3.4.5.6") + element(0x00020010, "UI", syntax.encode()))
    return b"\x00" * 128 + b"DICM" + element(0x00020000, "UL", struct.pack("<I", len(body))) + body


def head(n: int = 1) -> bytes:
    """The elements of an image every reader asks for, up to (0020,000E)."""
    return (element(0x00080016, "UI", b"1.2.840.10008.5.1.4.1.1.7") + element(0x00080018, "UI", f"1.2.3.4.{n}".encode())
            + element(0x00100010, "PN", b"Hostile^Test") + element(0x00100020, "LO", b"HOSTILE-1")
            + element(0x0020000D, "UI", b"1.2.3.4.100") + element(0x0020000E, "UI", b"1.2.3.4.200"))


def valid(n: int = 1) -> bytes:
    return meta() + head(n)


CONTENT_SEQUENCE = 0x0040A730


def deep(depth: int) -> bytes:
    """Content Sequences nested ``depth`` deep."""
    inner = b""
    for _ in range(depth):
        inner = sequence(CONTENT_SEQUENCE, item(inner))
    return valid() + inner


def deep_unknown(depth: int) -> bytes:
    """Content Sequences nested ``depth`` deep, all of defined length, inside an element whose
    VR says UN: a reader that knows the tag parses it as the sequence it is, in implicit VR."""
    inner = b""
    for _ in range(depth - 1):
        inner = struct.pack("<HHI", 0x0040, 0xA730, len(inner) + 8) + item(inner, defined=True)
    return valid() + element(CONTENT_SEQUENCE, "UN", item(inner, defined=True))


def many_items(count: int) -> bytes:
    """One sequence of ``count`` empty items of defined length."""
    return valid() + sequence(CONTENT_SEQUENCE, struct.pack("<HHI", 0xFFFE, 0xE000, 0) * count)


def many_elements(count: int) -> bytes:
    """``count`` empty LO elements in private groups 0x0009, 0x000B, ... (ascending)."""
    out = bytearray(meta() + element(0x00080016, "UI", b"1.2.840.10008.5.1.4.1.1.7")
                    + element(0x00080018, "UI", b"1.2.3.9"))
    pack = struct.Struct("<HH2sH").pack
    group, number = 0x0009, 0x1000
    for _ in range(count):
        out += pack(group, number, b"LO", 0)
        number += 1
        if number > 0xFFFF:
            group, number = group + 2, 0x1000
    return bytes(out)


def lying_pixel_data(claim: int = 4294967294) -> bytes:
    """Pixel Data that claims ``claim`` bytes, followed by only 12."""
    return valid() + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, claim) + b"\x01" * 12


def undelimited_sequence() -> bytes:
    """A sequence of undefined length whose delimiter never comes (the file just ends)."""
    return valid() + sequence(CONTENT_SEQUENCE, item(element(0x0040A010, "CS", b"CONTAINS")), delimited=False)


def out_of_order() -> bytes:
    return meta() + element(0x00100010, "PN", b"B^A") + element(0x00080018, "UI", b"1.2.3")


def unknown_vr() -> bytes:
    return valid() + struct.pack("<HH", 0x0028, 0x0010) + b"QZ" + struct.pack("<H", 2) + b"\x00\x02"


def write_sparse(path: Path, prefix: bytes, size: int) -> bool:
    """``prefix`` then zeros to ``size`` bytes, as a sparse file; whether it came out sparse."""
    with open(path, "wb") as fh:
        fh.write(prefix)
        fh.truncate(size)
    return path.stat().st_blocks * 512 < size // 2
