"""Text inside compressed Pixel Data: find it, drop it, keep the pixels (PS3.5 A.4).

Codestreams in encapsulated Pixel Data have room for text no decoder needs: JPEG COM (ISO/IEC
10918-1 B.2.4.5) and APPn segments (B.2.4.6; EXIF in APP1 holds dates and names), the same in
JPEG-LS (ISO/IEC 14495-1 uses the JPEG marker syntax), JPEG 2000 COM marker segments (ISO/IEC
15444-1 A.9.2) in the main and tile-part headers, JP2 boxes (15444-1 Annex I: 'xml ', 'uuid'),
bytes after EOI / EOC. Dropping them changes no decoded sample. :func:`strip_codestream_text`
returns the raw Pixel Data element without them, or ``None`` when there is nothing to remove
(the usual case: the caller keeps the original bytes).

Kept, as decoding or colour interpretation uses them: APP0 "JFIF"/"JFXX", APP2 "ICC_PROFILE",
APP8 "mrfx" (JPEG-LS colour transform) and "SPIFF" with its directory entries that hold no
text (end of directory, transfer characteristics, registration, orientation; ITU-T T.84 F.2),
APP14 "Adobe"; in a JP2 file the 'jP  ', 'ftyp', 'jp2h', 'jp2c' boxes. Dropped: COM, any other
APPn or box, anything after EOI / EOC but padding (00 or FF bytes: left alone unless the
fragment changes anyway, then one 00 keeps it even). Segments after a scan (DHT, DNL, the next
SOS of a progressive frame, B.2.4, G.1) are found by a regular expression over the entropy-coded
data, where only a marker puts C0-CF or D8-FE after an FF (B.1.1.5; 14495-1 bit stuffing keeps
bytes after FF below 80). JPEG 2000 tile-parts are walked by Psot (A.4.2); a changed Psot and
its TLM entry (A.7.1) are rewritten.

Frames come from a non-empty Basic Offset Table, else each fragment starting with SOI, SOC or
the JP2 signature starts one. A frame over several fragments is cleaned as one codestream and
cut again near the old boundaries at even offsets: fragments stay even (PS3.5 A.4; the last gets
one 00 when needed). The Basic Offset Table is recomputed; an Extended Offset Table (7FE0,0001)/
(7FE0,0002) is then wrong: the caller removes it (:attr:`StrippedPixelData.stale_attributes`).

Limits: a frame that cannot be parsed (truncated lengths, no EOI / EOC, no scan, RLE, more
steps than the budget) is left as it was, the whole element when its items or a non-empty offset
table do not add up; the leak check then decides. Kept segments and boxes are kept whole (a
JFIF thumbnail, an ICC profile). Nothing is decoded; results name kinds, never content.
"""

from __future__ import annotations

import bisect
import itertools
import re
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["StrippedPixelData", "strip_codestream_text"]

_Buffer = bytes | memoryview
_UNDEFINED = 0xFFFFFFFF
_LONG_VRS = {b"OB", b"OW", b"OL", b"OV", b"OF", b"OD", b"UN"}
#: Segments, tile-parts, boxes visited per element (+ per fragment) before the rest is left as
#: it is: hostile data can hold millions of tiny segments (3 us each); real codestreams 5 to 50.
_MAX_MARKERS, _MARKERS_PER_FRAGMENT = 1 << 16, 64
_SOI, _SOC = b"\xff\xd8", b"\xff\x4f\xff\x51"
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"  # ISO/IEC 15444-1 I.5.1
_FILL = re.compile(rb"\xff+")  # fill bytes before a marker (ISO/IEC 10918-1 B.1.1.2)
#: A marker in entropy-coded data: FF followed by C0-CF or D8-FE (not 00 stuffing, not RSTn,
#: not a JPEG-LS data byte below 80). One literal FF first keeps the search at memchr speed.
_SCAN_MARKER = re.compile(rb"\xff[\xc0-\xcf\xd8-\xfe]")
#: Fill bytes (FF) before a marker after a scan that go with a dropped segment, at most.
_MAX_FILL_BACK = 64
_EOC = re.compile(rb"\xff\xd9")
#: Padding after EOI / EOC: 00 (PS3.5 A.4) or FF (some encoders); one carries no text.
_NOT_PAD = re.compile(rb"[^\x00\xff]")
#: APPn identifiers that decoding or colour interpretation needs (ISO/IEC 10918-1 B.2.4.6).
_KEEP_APP = {0: (b"JFIF\x00", b"JFXX\x00"), 2: (b"ICC_PROFILE\x00",), 8: (b"mrfx", b"SPIFF\x00"),
             14: (b"Adobe",)}
#: Encoders' comments about themselves, kept (real files pass byte for byte) only when whole.
_ENCODER_BANNER = re.compile(rb"(?:Kakadu-v?[\d.]+|Created by (?:GDCM/)?OpenJPEG version [\d.]+"
                             rb"|Creator: JasPer Versi?on [\d.]+|MITRA_DICOM_STANDARD)[\x00 ]*")
_SPIFF_KEEP_TAGS = {1, 2, 3, 4}  # EOD, transfer characteristics, registration, orientation
_JP2_KEEP = {b"jP  ", b"ftyp", b"jp2h", b"jp2c"}
_JP2_NAMED = {b"xml ", b"uuid", b"uinf", b"rreq", b"jp2i", b"asoc", b"lbl ", b"res ", b"free"}


@dataclass(frozen=True)
class StrippedPixelData:
    """Pixel Data without the text its codestreams carried: the complete element, encoded as it
    came; ``removed``: segments dropped by kind ("JPEG COM", "JPEG APP1", "JPEG 2000 COM", "JP2 xml
    box", "JPEG data after EOI", ...), never content; ``offset_table_recomputed``: the Basic
    Offset Table was rewritten; ``fragment_sizes_changed``: an Extended Offset Table no longer
    fits (:attr:`stale_attributes`)."""

    pixel_element: bytes
    removed: dict[str, int]
    fragments_changed: int
    offset_table_recomputed: bool
    fragment_sizes_changed: bool

    @property
    def segments(self) -> int:
        """How many segments, boxes and trailers were removed."""
        return sum(self.removed.values())

    @property
    def stale_attributes(self) -> tuple[str, ...]:
        """Keywords the caller must remove from the dataset (PS3.3 C.7.6.3.1.8)."""
        return ("ExtendedOffsetTable", "ExtendedOffsetTableLengths") if self.fragment_sizes_changed else ()

    def describe(self) -> str:
        """One line for the change record (kinds and counts, no content)."""
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.removed.items()))
        text = (f"removed from the compressed pixel data: {kinds} ({self.fragments_changed} "
                "fragment(s); decoded pixels unchanged")
        return text + (", Basic Offset Table recomputed)" if self.offset_table_recomputed else ")")


@dataclass
class _Cleaned:
    """What to do to one codestream: byte ranges to delete and same-length patches (absolute
    offsets in its buffer), the kinds removed, and where the meaningful bytes end."""

    deletions: list[tuple[int, int]]
    patches: list[tuple[int, bytes]]
    kinds: Counter[str]
    tail: int

    def drop(self, start: int, end: int, kind: str) -> None:
        self.deletions.append((start, end))
        self.kinds[kind] += 1


@dataclass
class _Budget:
    """Steps left for the whole element (bounded loops, no recursion)."""

    left: int

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


def _u16(buf: _Buffer, at: int) -> int:
    return (buf[at] << 8) | buf[at + 1]


def _u32(buf: _Buffer, at: int) -> int:
    return (_u16(buf, at) << 16) | _u16(buf, at + 2)


def _has_text(buf: _Buffer, start: int, end: int) -> bool:
    """Whether ``buf[start:end]`` holds anything but 00 / FF padding."""
    return start < end and _NOT_PAD.search(buf, start, end) is not None


# -- JPEG and JPEG-LS (ISO/IEC 10918-1 B.2, ISO/IEC 14495-1 C.2) ---------------------------------
def _jpeg_drop(buf: _Buffer, code: int, body: int, end: int, spiff: bool) -> str | None:
    """The kind of a marker segment to drop, or ``None`` to keep it (B.2.4.5, B.2.4.6)."""
    if code == 0xFE:
        return None if _ENCODER_BANNER.fullmatch(bytes(buf[body:end])) else "JPEG COM"
    if not 0xE0 <= code <= 0xEF:
        return None
    n = code - 0xE0
    ident = bytes(buf[body:min(body + 12, end)])
    if any(ident.startswith(k) for k in _KEEP_APP.get(n, ())):
        return None
    if n == 8 and spiff and len(ident) >= 4 and struct.unpack_from(">I", ident)[0] in _SPIFF_KEEP_TAGS:
        return None
    return f"JPEG APP{n}"


def _clean_jpeg(buf: _Buffer, start: int, end: int, budget: _Budget) -> _Cleaned | None:
    """Walk SOI .. EOI: header segments, scans (skipped by regex), segments between scans."""
    out = _Cleaned([], [], Counter(), end)
    pos, spiff = start + 2, False
    while budget.spend():
        fill = _FILL.match(buf, pos, end)
        if fill is None or fill.end() >= end:
            return None
        run, pos = pos, fill.end() - 1
        code = buf[pos + 1]
        if code == 0xD9:  # EOI
            out.tail = pos + 2
            if _has_text(buf, out.tail, end):
                out.kinds["JPEG data after EOI"] += 1
            return out
        if code == 0x01 or 0xD0 <= code <= 0xD7:  # TEM, RSTn: no length
            pos += 2
            continue
        if code == 0xD8 or pos + 4 > end:
            return None
        seg_end = pos + 2 + _u16(buf, pos + 2)
        if seg_end < pos + 4 or seg_end > end:
            return None
        kind = _jpeg_drop(buf, code, pos + 4, seg_end, spiff)
        if kind is not None:
            out.drop(run, seg_end, kind)
        elif code == 0xE8 and bytes(buf[pos + 4:pos + 10]) == b"SPIFF\x00":
            spiff = True
        pos = seg_end
        if code == 0xDA:  # SOS: entropy-coded data up to the next marker
            found = _SCAN_MARKER.search(buf, pos, end)
            if found is None:
                return None
            at = found.start()  # back over fill bytes: scan data never ends in FF (B.1.1.5)
            while at > max(pos, found.start() - _MAX_FILL_BACK) and buf[at - 1] == 0xFF:
                at -= 1
            pos = at
    return None


# -- JPEG 2000 codestream (ISO/IEC 15444-1 Annex A) ----------------------------------------------
def _fix_tlm(buf: _Buffer, out: _Cleaned, tlms: list[tuple[int, int]], parts: list[tuple[int, int]]) -> bool:
    """Rewrite the TLM entries (A.7.1) of tile-parts that shrank; ``False`` if they do not fit."""
    if not tlms or not any(removed for _, removed in parts):
        return True
    entries: list[tuple[int, int, int]] = []  # (Ztlm, offset of Ptlm, Ptlm size)
    for seg, seg_end in tlms:
        if seg_end < seg + 6:
            return False
        z, s = buf[seg + 4], buf[seg + 5]
        t_size, p_size = (s >> 4) & 3, 4 if s & 0x40 else 2
        if t_size == 3 or (seg_end - seg - 6) % (t_size + p_size):
            return False
        at = seg + 6
        while at < seg_end:
            entries.append((z, at + t_size, p_size))
            at += t_size + p_size
    entries.sort(key=lambda e: e[0])  # stable: order within a segment kept
    if len(entries) != len(parts):
        return False
    for (_, at, size), (length, removed) in zip(entries, parts):
        if removed:
            out.patches.append((at, (length - removed).to_bytes(size, "big")))
    return True


def _j2k_segments(buf: _Buffer, pos: int, end: int, stop: int, out: _Cleaned,
                  tlms: list[tuple[int, int]] | None, budget: _Budget) -> tuple[int, int] | None:
    """Walk marker segments from ``pos`` up to the ``stop`` marker; drop COM (A.9.2).
    Returns (position of the stop marker, bytes dropped)."""
    removed = 0
    while budget.spend():
        if pos + 2 > end or buf[pos] != 0xFF:
            return None
        code = buf[pos + 1]
        if code == stop:
            return pos, removed
        if code in (0x4F, 0x90, 0x93, 0xD9) or pos + 4 > end:
            return None
        seg_end = pos + 2 + _u16(buf, pos + 2)
        if seg_end < pos + 4 or seg_end > end:
            return None
        if code == 0x64 and not (seg_end >= pos + 6 and _u16(buf, pos + 4) == 1
                                 and _ENCODER_BANNER.fullmatch(bytes(buf[pos + 6:seg_end]))):
            out.drop(pos, seg_end, "JPEG 2000 COM")
            removed += seg_end - pos
        elif code == 0x55 and tlms is not None:
            tlms.append((pos, seg_end))
        pos = seg_end
    return None


def _clean_j2k(buf: _Buffer, start: int, end: int, budget: _Budget) -> _Cleaned | None:
    """Main header (A.4.1), tile-parts by Psot (A.4.2), EOC (A.4.4), then the trailer."""
    out = _Cleaned([], [], Counter(), end)
    tlms: list[tuple[int, int]] = []
    head = _j2k_segments(buf, start + 2, end, 0x90, out, tlms, budget)
    if head is None:
        return None
    pos, parts = head[0], []
    while budget.spend():
        if pos + 2 > end or buf[pos] != 0xFF:
            return None
        if buf[pos + 1] == 0xD9:
            out.tail = pos + 2
            break
        if buf[pos + 1] != 0x90 or pos + 14 > end or _u16(buf, pos + 2) != 10:
            return None
        psot = _u32(buf, pos + 6)
        part_end = pos + psot if psot else end
        if (psot and psot < 14) or part_end > end:
            return None
        walked = _j2k_segments(buf, pos + 12, part_end, 0x93, out, None, budget)
        if walked is None:
            return None
        if not psot:  # the last tile-part runs to EOC (A.4.2); FFD9 cannot occur in its data
            eoc = _EOC.search(buf, walked[0] + 2, end)
            if eoc is None:
                return None
            part_end = eoc.start()
        elif walked[1]:
            out.patches.append((pos + 6, struct.pack(">I", psot - walked[1])))
        parts.append((part_end - pos, walked[1]))
        pos = part_end
    else:
        return None
    if not _fix_tlm(buf, out, tlms, parts):
        return None
    if _has_text(buf, out.tail, end):
        out.kinds["JPEG 2000 data after EOC"] += 1
    return out


# -- JP2 file format (ISO/IEC 15444-1 Annex I) ---------------------------------------------------
def _clean_jp2(buf: _Buffer, start: int, end: int, budget: _Budget) -> _Cleaned | None:
    """Keep the signature, 'ftyp', 'jp2h' and 'jp2c' boxes (I.4); clean the codestream."""
    out = _Cleaned([], [], Counter(), end)
    pos = start
    while budget.spend():
        if end - pos < 8 or not _has_text(buf, pos, end):
            out.tail = pos
            if _has_text(buf, pos, end):
                out.kinds["JP2 data after the last box"] += 1
            return out
        length, kind, header = _u32(buf, pos), bytes(buf[pos + 4:pos + 8]), 8
        if length == 1:
            if pos + 16 > end:
                return None
            length, header = int(struct.unpack_from(">Q", buf, pos + 8)[0]), 16
        box_end = end if length == 0 else pos + length
        if box_end > end or box_end < pos + header:
            return None
        if kind == b"jp2c":
            inner = _clean_j2k(buf, pos + header, box_end, budget)
            if inner is None:
                return None
            if _has_text(buf, inner.tail, box_end):
                inner.deletions.append((inner.tail, box_end))
            out.deletions += inner.deletions
            out.patches += inner.patches
            out.kinds.update(inner.kinds)
            shrink = sum(b - a for a, b in inner.deletions)
            if shrink and length:
                field_at, size = (pos + 8, 8) if header == 16 else (pos, 4)
                out.patches.append((field_at, (length - shrink).to_bytes(size, "big")))
        elif kind not in _JP2_KEEP:
            name = kind.decode("ascii").strip() if kind in _JP2_NAMED else "other"
            out.drop(pos, box_end, f"JP2 {name} box")
        pos = box_end
    return None


# -- fragments and the element (PS3.5 A.4) -------------------------------------------------------
def _cleaner(buf: _Buffer, start: int) -> Callable[[_Buffer, int, int, _Budget], _Cleaned | None] | None:
    """How to clean the codestream starting at ``start``, if one does."""
    head = bytes(buf[start:start + 12])
    if head == _JP2_SIGNATURE:
        return _clean_jp2
    return _clean_jpeg if head.startswith(_SOI) else _clean_j2k if head.startswith(_SOC) else None


def _mapping(start: int, deletions: list[tuple[int, int]]) -> Callable[[int], int]:
    """Where an offset of the old codestream lands in the new one (sorted, disjoint deletions)."""
    starts = [a for a, _ in deletions]
    before = list(itertools.accumulate((b - a for a, b in deletions), initial=0))

    def where(at: int) -> int:
        k = bisect.bisect_left(starts, at)  # deletions starting before ``at``
        return at - start - before[k] + (max(0, deletions[k - 1][1] - at) if k else 0)
    return where


def _rebuilt(buf: _Buffer, start: int, end: int, cleaned: _Cleaned) -> tuple[bytes, Callable[[int], int]]:
    """The codestream without its deletions and trailer, patched, padded to even length."""
    deletions = sorted(d for d in cleaned.deletions + [(cleaned.tail, end)] if d[1] > d[0])
    out, pos = bytearray(), start
    for a, b in deletions:
        out += buf[pos:a]
        pos = b
    out += buf[pos:end]
    where = _mapping(start, deletions)
    for at, data in cleaned.patches:
        new_at = where(at)
        out[new_at:new_at + len(data)] = data
    if len(out) % 2:
        out.append(0)  # PS3.5 A.4: an item value has an even length
    return bytes(out), where


def _items(buf: _Buffer, pos: int, e: str) -> tuple[list[tuple[int, int]], int] | None:
    """(value start, value end) of every item, and the end of the Sequence Delimitation Item."""
    items, n = list[tuple[int, int]](), len(buf)
    while pos + 8 <= n:
        group, elem, length = struct.unpack_from(e + "HHI", buf, pos)
        if (group, elem) == (0xFFFE, 0xE0DD):
            return items, pos + 8
        if (group, elem) != (0xFFFE, 0xE000) or length == _UNDEFINED or pos + 8 + length > n:
            return None
        items.append((pos + 8, pos + 8 + length))
        pos += 8 + length
    return None


def _frames(buf: _Buffer, items: list[tuple[int, int]], e: str) -> list[list[int]] | None:
    """Fragment indices (into ``items[1:]``) of each frame, from the Basic Offset Table when
    it has entries (PS3.5 A.4), else from where codestreams start."""
    bot_start, bot_end = items[0]
    frags = items[1:]
    if bot_end > bot_start:
        count, rest = divmod(bot_end - bot_start, 4)
        offsets = struct.unpack_from(f"{e}{count}I", buf, bot_start)
        first_item = frags[0][0] - 8
        index = {start - 8 - first_item: i for i, (start, _) in enumerate(frags)}
        firsts = [index.get(offset, -1) for offset in offsets]
        if rest or not firsts or firsts[0] != 0 or any(b <= a for a, b in zip(firsts, firsts[1:])):
            return None
        return [list(range(a, b)) for a, b in zip(firsts, [*firsts[1:], len(frags)])]
    groups: list[list[int]] = []
    for i, (start, _) in enumerate(frags):
        if not groups or _cleaner(buf, start) is not None:
            groups.append([i])
        else:
            groups[-1].append(i)
    return groups


def _clean_frame(buf: _Buffer, frags: list[tuple[int, int]], group: list[int],
                 budget: _Budget) -> tuple[list[bytes], Counter[str]] | None:
    """New fragments of one frame, or ``None`` when it stays as it was."""
    clean = _cleaner(buf, frags[group[0]][0])
    if clean is None:
        return None
    try:
        if len(group) == 1:
            start, end = frags[group[0]]
            cleaned = clean(buf, start, end, budget)
            if cleaned is None or not cleaned.kinds:
                return None
            return [_rebuilt(buf, start, end, cleaned)[0]], cleaned.kinds
        joined = b"".join(buf[frags[i][0]:frags[i][1]] for i in group)
        cleaned = clean(joined, 0, len(joined), budget)
        if cleaned is None or not cleaned.kinds:
            return None
        new, where = _rebuilt(joined, 0, len(joined), cleaned)
    except (IndexError, ValueError, struct.error, OverflowError):
        return None
    pieces, cut, boundary = [], 0, 0
    for i in group[:-1]:  # cut again near the old boundaries, at even offsets
        boundary += frags[i][1] - frags[i][0]
        at = min(where(boundary) & ~1, len(new))
        if at > cut:
            pieces.append(new[cut:at])
            cut = at
    pieces.append(new[cut:])
    return [p for p in pieces if p], cleaned.kinds


def _split(buf: _Buffer, implicit: bool, little: bool) -> int | None:
    """The header length of an encapsulated Pixel Data element (undefined length), else ``None``."""
    e, header = "<" if little else ">", 8 if implicit else 12
    if len(buf) < 16 or struct.unpack_from(e + "HH", buf, 0) != (0x7FE0, 0x0010):
        return None
    if not implicit and bytes(buf[4:6]) not in _LONG_VRS:
        return None
    return header if struct.unpack_from(e + "I", buf, header - 4)[0] == _UNDEFINED else None


def strip_codestream_text(pixel_element: bytes | memoryview, implicit: bool,
                          little: bool) -> StrippedPixelData | None:
    """Pixel Data without COM/APPn segments, JP2 boxes and trailers that decoding does not need.

    ``pixel_element``: the raw element (7FE0,0010), tag to Sequence Delimitation Item (PS3.5
    A.4, 7.5), encoded as ``implicit`` / ``little`` say. ``None`` when it is not encapsulated,
    its items do not add up, or no codestream holds anything to remove; else the new element,
    same encoding, even fragments, Basic Offset Table recomputed when it had entries. Never
    raises on malformed data (a codestream it cannot parse is left as it was)."""
    try:
        buf: _Buffer = pixel_element if isinstance(pixel_element, bytes) else memoryview(pixel_element).cast("B")
    except (TypeError, ValueError):  # not contiguous, odd format
        buf = bytes(pixel_element)
    header = _split(buf, implicit, little)
    if header is None:
        return None
    e = "<" if little else ">"
    parsed = _items(buf, header, e)
    if parsed is None or len(parsed[0]) < 2:
        return None
    items, delimiter_end = parsed
    frags = items[1:]
    groups = _frames(buf, items, e)
    if groups is None:
        return None
    removed: Counter[str] = Counter()
    budget = _Budget(_MAX_MARKERS + _MARKERS_PER_FRAGMENT * len(frags))
    new_groups: list[list[bytes] | None] = []
    for group in groups:
        result = _clean_frame(buf, frags, group, budget)
        new_groups.append(result[0] if result else None)
        removed.update(result[1] if result else {})
    if not removed:
        return None
    view, offsets, size, changed, resized = memoryview(buf), [], 0, 0, False
    item = struct.Struct(e + "HHI")
    body: list[bytes | memoryview] = []
    for group, new in zip(groups, new_groups):
        offsets.append(size)
        old = [view[frags[i][0]:frags[i][1]] for i in group] if new is None else new
        if new is not None:
            changed += len(group)
            resized = resized or [len(f) for f in new] != [frags[i][1] - frags[i][0] for i in group]
        for fragment in old:
            body += [item.pack(0xFFFE, 0xE000, len(fragment)), fragment]
            size += 8 + len(fragment)
    bot_start, bot_end = items[0]
    recompute = bot_end > bot_start and resized
    bot = struct.pack(f"{e}{len(offsets)}I", *offsets) if recompute else bytes(buf[bot_start:bot_end])
    out = [view[:header], item.pack(0xFFFE, 0xE000, len(bot)), bot, *body, item.pack(0xFFFE, 0xE0DD, 0),
           view[delimiter_end:]]
    return StrippedPixelData(b"".join(out), dict(removed), changed, recompute, resized)
