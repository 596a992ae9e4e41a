"""Budgets for every input file: what Veil reads before it trusts a file's structure.

A DICOM file says how long each of its values is, how deep its sequences go and how many
items they hold; pydicom believes it. A hostile or broken file can therefore make a reader
allocate gigabytes or spin for hours (a sparse 4 GiB file of zeros after a valid File Meta
parses as five hundred million empty elements). :func:`check_structure` walks the framing of a
whole file *before* pydicom parses it, in one pass over the element headers (values are
skipped, never read), and refuses it early, with a one-line reason naming the limit, when:

- the file is larger than :attr:`InputBudget.max_file_size`;
- the data set after the File Meta Information (PS3.10 7.1) starts with zeros: no data set
  begins with the tag (0000,0000);
- a value length is larger than what remains of the file or of its enclosing item (a lie,
  PS3.5 7.1.1 and 7.5), or an undefined length (PS3.5 7.1.3) has no delimiter before the end;
- a value other than the Pixel Data holds more than :attr:`InputBudget.max_value_length`;
- a data set's elements are not in ascending tag order, or a tag repeats (PS3.5 7.1: "Data
  Elements in a Data Set shall be ordered by increasing Data Element Tag Number and shall occur
  at most once"), or an explicit VR is one DICOM does not define (PS3.5 6.2);
- sequences nest deeper than :attr:`InputBudget.max_depth`, or the file holds more elements,
  items and fragments than :attr:`InputBudget.max_elements`;
- the walk runs past :attr:`InputBudget.max_seconds` (a deadline checked as it goes).

Every refusal is an :class:`OverBudget` (an :class:`InvalidInstance`, so every reader that
already turns a bad file into a rejection does so for these too). Messages carry tags, sizes
and limits, never a value of the file.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
import time
import zlib
from dataclasses import dataclass

from pydicom.datadict import DicomDictionary

from desktop.core.common.portable import BINARY
from desktop.core.dicom.header import DEFLATED, MAX_INFLATED, Buffer, InvalidInstance

GiB = 1 << 30
MiB = 1 << 20

UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
#: Pixel Data, Float Pixel Data, Double Float Pixel Data: encapsulated, they hold fragments.
PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
IMPLICIT_LE, EXPLICIT_BE = "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"
#: The VRs of PS3.5 6.2 (Table 6.2-1).
KNOWN_VRS = frozenset(b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV "
                      b"TM UC UI UL UN UR US UT UV".split())
#: VRs whose explicit header has 2 reserved bytes and a 4-byte length (PS3.5 7.1.2).
LONG_VRS = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
#: Tags the dictionary says are sequences: in implicit VR their defined-length values are items.
SQ_TAGS = frozenset(tag for tag, entry in DicomDictionary.items() if entry[0] == "SQ")
#: Zero padding after the last element that is still accepted (a few media pad to a sector).
MAX_ZERO_TAIL = 64 << 10
#: How much of a run of zeros is read to tell a person how far it goes (a sparse file's holes
#: are found with SEEK_DATA without reading them).
ZERO_SCAN = 64 * MiB
PROBE = 4096
_ZEROS = bytes(MiB)


class OverBudget(InvalidInstance):
    """A file refused before it is parsed: too large, too deep, too many elements, a body of
    zeros, or too slow to walk (the message names the limit); or :class:`Malformed`."""


class Malformed(OverBudget):
    """A file whose framing makes no sense: a length that lies, a missing delimiter, elements
    out of order, a VR DICOM does not define."""


@dataclass(frozen=True)
class InputBudget:
    """Per-file limits for reading an input (import, de-identification, redaction).

    The defaults pass every real file we know of by a wide margin: the largest enhanced
    multi-frame objects hold some 10^5 elements and items, nest 4 to 6 deep, and only the
    Pixel Data (or a private raw-data blob) comes near 10^8 bytes.
    """

    max_file_size: int = 2 * GiB
    #: Elements, items and fragments of a file, at every nesting level.
    max_elements: int = 500_000
    #: Sequence items of a file (pydicom holds each as a data set of its own, about 1 KB).
    max_items: int = 100_000
    max_depth: int = 32
    #: The longest value other than the Pixel Data (it is read into memory by the parser).
    max_value_length: int = 256 * MiB
    max_seconds: float = 60.0
    # Archives (.zip): read in place, never extracted, never an archive inside an archive.
    max_zip_entries: int = 50_000
    max_zip_total: int = 32 * GiB
    max_zip_ratio: int = 200
    #: An entry smaller than this once inflated is never a bomb, whatever its ratio.
    zip_ratio_floor: int = 16 * MiB

    def size_reason(self, size: int) -> str | None:
        """Why a file of ``size`` bytes is refused, or None when it is not too large."""
        if size <= self.max_file_size:
            return None
        return f"the file is {human_size(size)}, larger than the {human_size(self.max_file_size)} limit for one file"

    def check_size(self, size: int) -> None:
        """:class:`OverBudget` if a file of ``size`` bytes is larger than allowed."""
        reason = self.size_reason(size)
        if reason:
            raise OverBudget(reason)


DEFAULT_BUDGET = InputBudget()


def human_size(size: int) -> str:
    """Bytes for a person, in binary units as the limits are set: "4.0 GiB", "12 KiB"."""
    for unit, scale in (("GiB", GiB), ("MiB", MiB)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    if size >= 1024:
        return f"{size // 1024} KiB"
    return f"{size} bytes"


def parse_size(text: str) -> int:
    """``"2G"``, ``"512M"``, ``"4GiB"``, ``"1000000"`` as bytes (binary units); ValueError if not."""
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    scale = {"K": 1 << 10, "M": MiB, "G": GiB, "T": 1 << 40}.get(value[-1:], 1)
    number = float(value[:-1] if scale != 1 else value)
    if number <= 0:
        raise ValueError(text)
    return int(number * scale)


#: POSIX open flags that Windows's ``os.open`` lacks: 0 there, where the S_ISREG check below still
#: refuses what is not a regular file (and ``os.set_blocking`` is POSIX-only on Python 3.11).
_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)
_NOCTTY: int = getattr(os, "O_NOCTTY", 0)


def open_regular(path: str | os.PathLike[str]) -> int:
    """Open ``path`` for reading without ever blocking (a FIFO or a device put where a file was
    seen would block a plain ``open`` forever) and return the descriptor of a regular file;
    :class:`OverBudget` for anything else. OSError as ``open`` raises it."""
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | _NOCTTY | getattr(os, "O_CLOEXEC", 0) | BINARY)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OverBudget("not a regular file (device, FIFO or socket): not read")
        if _NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _tag(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _zeros(data: Buffer, start: int, end: int) -> bool:
    """Whether ``data[start:end]`` holds only zeros (compared a MiB at a time)."""
    at = start
    while at < end:
        step = min(MiB, end - at)
        if data[at:at + step] != _ZEROS[:step]:
            return False
        at += step
    return True


def _zero_run(data: Buffer, start: int, fd: int | None) -> bool:
    """Whether everything from ``start`` to the end is zeros, as far as can be told cheaply:
    the holes of a sparse file are skipped with SEEK_DATA/SEEK_HOLE (never read), and at most
    ZERO_SCAN bytes of written data are compared."""
    end = len(data)
    if fd is None or not hasattr(os, "SEEK_DATA"):
        return end - start <= ZERO_SCAN and _zeros(data, start, end)
    at, scanned = start, 0
    while at < end:
        try:
            first = os.lseek(fd, at, os.SEEK_DATA)
            hole = min(os.lseek(fd, first, os.SEEK_HOLE), end)
        except OSError as exc:
            if exc.errno == errno.ENXIO:
                return True  # nothing but holes from here to the end
            first, hole = at, end  # no hole information: read it (within ZERO_SCAN)
        scanned += hole - first
        if first >= end:
            return True
        if scanned > ZERO_SCAN or not _zeros(data, first, hole):
            return False
        at = hole
    return True


#: Element headers by byte order: explicit VR with a 2-byte length, implicit VR (PS3.5 7.1.2-3).
_HEADERS = {e: (struct.Struct(e + "HH2sH").unpack_from, struct.Struct(e + "HHI").unpack_from) for e in "<>"}
_LONG_LENGTH = {e: struct.Struct(e + "I").unpack_from for e in "<>"}


class _Walk:
    """One pass over the element headers of a file (values skipped), refusing what breaks
    the budget. Positions are absolute offsets into ``data``."""

    def __init__(self, data: Buffer, budget: InputBudget, deadline: float, fd: int | None) -> None:
        self.data, self.budget, self.deadline, self.fd = data, budget, deadline, fd
        self.count = self.items_seen = 0

    def tick(self) -> None:
        self.count += 1
        if self.count > self.budget.max_elements:
            raise OverBudget(f"more than {self.budget.max_elements:,} elements, items and fragments "
                             f"(limit {self.budget.max_elements:,})")
        if not self.count & 0x3FF and time.monotonic() > self.deadline:
            raise OverBudget(f"its structure took longer than {self.budget.max_seconds:g} s to read "
                             f"(limit {self.budget.max_seconds:g} s)")

    def header(self, pos: int, end: int, explicit: bool, e: str) -> tuple[int, bytes | None, int, int]:
        """(tag, VR or None, length, where the value starts) of the element at ``pos``."""
        data = self.data
        if pos + 8 > end:
            raise Malformed(f"truncated: an element header at byte {pos} is cut off by the end of "
                            f"{'the file' if end == len(data) else 'its item'}")
        group, element = struct.unpack_from(e + "HH", data, pos)
        tag = group << 16 | element
        vr = bytes(data[pos + 4:pos + 6])
        if explicit and group != 0xFFFE and 0x40 < vr[0] < 0x5B and 0x40 < vr[1] < 0x5B:
            if vr not in KNOWN_VRS:
                raise Malformed(f"malformed: element {_tag(tag)} has the VR {vr.decode('ascii')!r}, which DICOM "
                                "does not define (PS3.5 6.2): its length cannot be trusted")
            if vr in LONG_VRS:
                if pos + 12 > end:
                    raise Malformed(f"truncated: an element header at byte {pos} is cut off by the end of the file")
                return tag, vr, struct.unpack_from(e + "I", data, pos + 8)[0], pos + 12
            return tag, vr, struct.unpack_from(e + "H", data, pos + 6)[0], pos + 8
        return tag, None, struct.unpack_from(e + "I", data, pos + 4)[0], pos + 8

    def dataset(self, pos: int, end: int, explicit: bool, e: str, depth: int, *, delimited: bool = False,
                top: bool = False) -> int:
        """Walk the elements of one data set from ``pos`` to ``end``, or to its Item Delimitation
        Item (PS3.5 7.5.2) when ``delimited``; return where it ends. ``top``: the file's own.
        (The loop is written for speed: half a million elements take about a second.)"""
        data = self.data
        if explicit and pos + 6 <= end:
            first_vr = bytes(data[pos + 4:pos + 6])
            if not (0x40 < first_vr[0] < 0x5B and 0x40 < first_vr[1] < 0x5B) and data[pos:pos + 2] != b"\xfe\xff":
                explicit = False  # as pydicom reads it: the writer used implicit VR here
        short_header, implicit_header = _HEADERS[e]
        long_length = _LONG_LENGTH[e]
        max_elements, max_value = self.budget.max_elements, self.budget.max_value_length
        previous = -1
        start = pos
        count = self.count
        vr: bytes | None
        while pos < end:
            if pos + 12 > end:
                tag, vr, length, value = self.header(pos, end, explicit, e)  # the exact messages near the end
                group = tag >> 16
            elif explicit:
                group, element, vr, length = short_header(data, pos)
                tag, value = group << 16 | element, pos + 8
                if group == 0xFFFE or not (0x40 < vr[0] < 0x5B and 0x40 < vr[1] < 0x5B):
                    vr, (length,) = None, long_length(data, pos + 4)
                elif vr in LONG_VRS:
                    (length,), value = long_length(data, pos + 8), pos + 12
                elif vr not in KNOWN_VRS:
                    self.header(pos, end, explicit, e)  # raises, naming the VR
            else:
                group, element, length = implicit_header(data, pos)
                tag, vr, value = group << 16 | element, None, pos + 8
            if not tag and top and not length:
                self.zeros(pos, start)
                return end
            count += 1
            if count > max_elements or not count & 0x3FF:
                self.count = count - 1
                self.tick()
            if tag == ITEM_END and not top:  # pydicom ends an item there, whatever its length
                self.count = count
                return value
            if tag <= previous:
                raise Malformed(f"malformed: element {_tag(tag)} comes after {_tag(previous)}: the elements of a "
                                "data set must be in ascending tag order, each once (PS3.5 7.1)")
            previous = tag
            if group == 0xFFFE:
                raise Malformed(f"malformed: an item tag {_tag(tag)} where a data element belongs (byte {pos})")
            if (length <= end - value and length <= max_value and length != UNDEFINED and vr != b"SQ"
                    and (tag not in SQ_TAGS or vr not in (None, b"UN"))):
                pos = value + length  # the common case: a plain value that fits
            else:
                self.count = count
                pos = self.element(tag, vr, length, value, end, explicit, e, depth)
                count = self.count
        self.count = count
        if delimited:
            raise Malformed("truncated: an item of undefined length ends without its delimiter (PS3.5 7.5.2)")
        return pos

    def element(self, tag: int, vr: bytes | None, length: int, value: int, end: int, explicit: bool,
                e: str, depth: int) -> int:
        """Check one element's value against the budget and walk it if it holds items."""
        if length != UNDEFINED:
            if length > end - value:
                name = "Pixel Data" if tag in PIXEL_TAGS else "element"
                raise Malformed(f"truncated: {name} {_tag(tag)} declares {length} bytes but only {end - value} "
                                f"remain {'in the file' if end == len(self.data) else 'in its item'}")
            if length > self.budget.max_value_length and tag not in PIXEL_TAGS:
                raise OverBudget(f"element {_tag(tag)} holds {human_size(length)}, more than the "
                                 f"{human_size(self.budget.max_value_length)} limit for one value other "
                                 "than the Pixel Data")
            if vr == b"SQ" or (vr is None and tag in SQ_TAGS):
                self.items(tag, value, value + length, explicit, e, depth + 1, defined=True)
            elif vr == b"UN" and tag in SQ_TAGS:  # parsed as the sequence it is, in implicit VR (PS3.5 6.2.2)
                self.items(tag, value, value + length, False, "<", depth + 1, defined=True)
            return value + length
        if vr == b"UN":  # a sequence of unknown VR: its items are implicit VR (PS3.5 6.2.2)
            explicit, e = False, "<"
        return self.items(tag, value, end, explicit, e, depth + 1, defined=False,
                          fragments=tag in PIXEL_TAGS)

    def items(self, tag: int, pos: int, end: int, explicit: bool, e: str, depth: int, *, defined: bool,
              fragments: bool = False) -> int:
        """Walk the items of a sequence (or the fragments of encapsulated Pixel Data, PS3.5
        A.4) from ``pos``: to ``end`` when the length is defined, else to the delimiter."""
        if depth > self.budget.max_depth and not fragments:
            raise OverBudget(f"sequences nested more than {self.budget.max_depth} deep "
                             f"(limit {self.budget.max_depth})")
        data = self.data
        item_header = _HEADERS[e][1]
        while pos < end:
            if pos + 8 > end:
                raise Malformed(f"truncated: an item header of {_tag(tag)} is cut off at byte {pos}")
            group, element, length = item_header(data, pos)
            item = group << 16 | element
            pos += 8
            self.tick()
            if item == SEQ_END and not defined:
                return pos
            if item != ITEM:
                raise Malformed(f"malformed: element {_tag(tag)} holds {_tag(item)} where an item belongs "
                                "(PS3.5 7.5)")
            if not fragments:
                self.items_seen += 1
                if self.items_seen > self.budget.max_items:
                    raise OverBudget(f"more than {self.budget.max_items:,} sequence items "
                                     f"(limit {self.budget.max_items:,})")
            if length == UNDEFINED:
                if fragments:
                    raise Malformed(f"malformed: a fragment of {_tag(tag)} has an undefined length (PS3.5 A.4)")
                pos = self.dataset(pos, end, explicit, e, depth, delimited=True)
                continue
            if length > end - pos:
                raise Malformed(f"truncated: an item of {_tag(tag)} declares {length} bytes but only {end - pos} "
                                "remain")
            if not fragments:
                self.dataset(pos, pos + length, explicit, e, depth)
            pos += length
        if not defined:
            raise Malformed(f"truncated: element {_tag(tag)} has an undefined length and no delimiter before "
                            "the end of the file (PS3.5 7.1.3)")
        return pos

    def zeros(self, pos: int, start: int) -> None:
        """Eight zero bytes where an element should begin: a body of zeros is refused, a short
        zero padding after the last element is not."""
        size = len(self.data)
        if pos == start:
            if _zero_run(self.data, pos, self.fd):
                where = "after the header " if pos else ""
                raise OverBudget(f"the file is {human_size(size)} of which the data {where}is all zeros")
            raise OverBudget(f"the data set starts with {min(PROBE, size - pos)} bytes of zeros where its "
                             "first element belongs: not a DICOM data set"
                             if _zeros(self.data, pos, min(size, pos + PROBE)) else
                             "the data set starts with zeros where its first element belongs")
        if size - pos <= MAX_ZERO_TAIL and _zeros(self.data, pos, size):
            return
        if _zero_run(self.data, pos, self.fd):
            raise OverBudget(f"{human_size(size - pos)} of zeros follow the last element (from byte {pos})")
        raise Malformed(f"malformed: zeros where an element belongs at byte {pos}")


def _meta_end(walk: _Walk, data: Buffer) -> tuple[int, str]:
    """Where the File Meta Information (PS3.10 7.1; group 0002, explicit VR little endian)
    ends, and its Transfer Syntax UID ("" when there is none)."""
    pos = 132 if len(data) >= 132 and data[128:132] == b"DICM" else 0
    syntax = ""
    end = len(data)
    while pos + 8 <= end and data[pos:pos + 2] == b"\x02\x00":
        vr = bytes(data[pos + 4:pos + 6])
        tag, _, length, value = walk.header(pos, end, 0x40 < vr[0] < 0x5B and 0x40 < vr[1] < 0x5B, "<")
        walk.tick()
        if length == UNDEFINED or length > end - value:
            raise Malformed(f"truncated: File Meta element {_tag(tag)} declares "
                            f"{'an undefined length' if length == UNDEFINED else f'{length} bytes'} but only "
                            f"{end - value} remain in the file")
        if tag == 0x00020010:
            syntax = bytes(data[value:value + min(length, 64)]).rstrip(b"\x00 ").decode("ascii", "replace")
        pos = value + length
    return pos, syntax


def check_structure(data: Buffer, budget: InputBudget = DEFAULT_BUDGET, *, fd: int | None = None) -> None:
    """Walk the framing of a whole DICOM file (PS3.10 File Meta, then the data set, PS3.5 7)
    and raise :class:`OverBudget` naming the first limit it breaks; see the module docstring.

    ``fd``, the open file behind an mmap'ed ``data``, lets the holes of a sparse file be found
    without reading them. A file that passes may still be refused by the parser (no SOP
    Instance UID, say): this bounds what the parser is given, it does not validate content.
    """
    budget.check_size(len(data))
    walk = _Walk(data, budget, time.monotonic() + budget.max_seconds, fd)
    pos, syntax = _meta_end(walk, data)
    prefixed = len(data) >= 132 and data[128:132] == b"DICM"
    if pos >= len(data):
        return
    try:
        _walk_data_set(walk, data, pos, syntax)
    except Malformed:
        if prefixed and not syntax:  # the likely cause, named as the parser names it
            raise Malformed("malformed: 'DICM' prefix present but the File Meta Information (group 0002) "
                            "has no Transfer Syntax UID") from None
        if prefixed or pos:
            raise
        # No preamble and no File Meta: most likely not DICOM at all (a text file, a picture).
        raise Malformed("not a DICOM file: no 'DICM' prefix and the data does not parse as a DICOM "
                        "dataset") from None


def _walk_data_set(walk: _Walk, data: Buffer, pos: int, syntax: str) -> None:
    """Walk the data set that starts at ``pos``, encoded as ``syntax`` says (PS3.5 A.1-A.5)."""
    body: Buffer = data
    if syntax == DEFLATED:  # PS3.5 A.5: walk the inflated data set, bounded as the parser bounds it
        try:
            body = zlib.decompressobj(-zlib.MAX_WBITS).decompress(bytes(data[pos:]), MAX_INFLATED + 1)
        except zlib.error:
            raise Malformed("corrupt: the deflated data set cannot be inflated (PS3.5 A.5)") from None
        if len(body) > MAX_INFLATED:
            raise OverBudget(f"the deflated data set inflates past {human_size(MAX_INFLATED)} (a deflate bomb?)")
        walk = _Walk(body, walk.budget, walk.deadline, None)
        pos = 0
    explicit, big = syntax != IMPLICIT_LE, syntax == EXPLICIT_BE
    if not syntax and len(body) - pos >= 6:  # no Transfer Syntax: guess as pydicom does
        (group,) = struct.unpack_from("<H", body, pos)
        explicit = bytes(body[pos + 4:pos + 6]) in KNOWN_VRS
        big = explicit and group >= 1024  # a big endian group 0x0004.. read as little endian
    walk.dataset(pos, len(body), explicit, ">" if big else "<", 0, top=True)
