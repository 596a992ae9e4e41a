"""What an encapsulated frame says its own size is, checked before any decoder sees it.

A decoder allocates what the codestream asks for, not what the DICOM header says: an 8 KB
JPEG 2000 frame that claims 20000 x 20000 samples makes OpenJPEG allocate gigabytes although
Rows and Columns say 64. PS3.5 8.2 requires the codestream to match the Image Pixel Module, so a
frame whose declared size is larger than Rows x Columns is refused here:

- JPEG (ISO 10918-1 B.2.2) and JPEG-LS (ISO 14495-1 C.2.2): the frame header SOFn / SOF55
  gives Y (lines) and X (samples per line);
- JPEG 2000 and HTJ2K (ISO 15444-1 A.5.1): the SIZ marker right after SOC gives Xsiz - XOsiz
  by Ysiz - YOsiz; in a JP2 file (I.4) the boxes are walked to the image header and the
  codestream, and the larger size counts.

Headers are walked by their lengths, however far the frame header is (padding segments do not
hide it), and SOC/SIZ only counts at the start of a codestream (a decoy in a metadata box does
not). Headers that do not hold together are refused too: their size cannot be known.

RLE (PS3.5 G) decodes to exactly Rows x Columns and needs no check.
"""

from __future__ import annotations

import struct

import pydicom.encaps
from pydicom.dataset import Dataset
from pydicom.uid import UID

#: JPEG frame headers: SOF0-3, 5-7, 9-11, 13-15 (not DHT C4, JPG C8, DAC CC), and JPEG-LS SOF55.
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7})
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_SOC_SIZ = b"\xff\x4f\xff\x51"


class CodestreamTooLarge(ValueError):
    """A frame's codestream declares more samples than the DICOM header allows."""


class _Unreadable(ValueError):
    """The frame's headers do not hold together (a decoder would fail on them too)."""


def declared_size(frame: bytes | memoryview) -> tuple[int, int] | None:
    """(rows, columns) that a JPEG, JPEG-LS or JPEG 2000 frame declares (for a JP2 file, the
    larger of its image header box and its codestream), or None when it is none of those.
    Raises :class:`CodestreamTooLarge` for headers that do not hold together: a decoder would
    be handed something Veil cannot size."""
    data = memoryview(frame)
    try:
        if bytes(data[:4]) == _SOC_SIZ:
            return _siz(data, 0)
        if bytes(data[:12]) == _JP2_SIGNATURE:
            return _jp2(data)
        if bytes(data[:2]) == b"\xff\xd8":
            return _jpeg(data)
    except (_Unreadable, struct.error):
        raise CodestreamTooLarge("its compressed data's headers are damaged or inconsistent, so its size cannot "
                                 "be known before decoding: refused") from None
    return None


def _siz(data: memoryview, at: int) -> tuple[int, int]:
    """ISO 15444-1 A.5.1: SOC, then SIZ with Xsiz, Ysiz, XOsiz, YOsiz after Lsiz and Rsiz."""
    if bytes(data[at:at + 4]) != _SOC_SIZ:
        raise _Unreadable("no SIZ marker at the start of the codestream")
    xsiz, ysiz, xo, yo = struct.unpack_from(">IIII", data, at + 8)
    return max(0, ysiz - yo), max(0, xsiz - xo)


def _jp2(data: memoryview) -> tuple[int, int]:
    """ISO 15444-1 I.4: walk the boxes; the image header ('ihdr' in 'jp2h') and the first
    contiguous codestream ('jp2c') both say the size; the larger counts."""
    sizes: list[tuple[int, int]] = []

    def walk(start: int, end: int, depth: int) -> None:
        pos = start
        while pos + 8 <= end:
            length, kind = struct.unpack_from(">I4s", data, pos)
            header = 8
            if length == 1:
                (length,), header = struct.unpack_from(">Q", data, pos + 8), 16
            elif length == 0:
                length = end - pos
            if length < header or pos + length > end:
                raise _Unreadable("a box runs past the end of the file")
            if kind == b"jp2h" and depth == 0:
                walk(pos + header, pos + length, 1)
            elif kind == b"ihdr":
                height, width = struct.unpack_from(">II", data, pos + header)
                sizes.append((height, width))
            elif kind == b"jp2c" and depth == 0:
                sizes.append(_siz(data, pos + header))
                return
            pos += length

    walk(0, len(data), 0)
    if not sizes:
        raise _Unreadable("a JP2 file without its image header or codestream")
    return max(r for r, _ in sizes), max(c for _, c in sizes)


def _jpeg(data: memoryview) -> tuple[int, int] | None:
    """ISO 10918-1 B.2: walk the marker segments (their lengths skip them) to the frame header;
    scan data before one is not a valid stream."""
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            raise _Unreadable("bytes between marker segments")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if marker in _SOF:
            lines, samples = struct.unpack_from(">HH", data, pos + 5)
            return lines, samples
        if marker in (0xDA, 0xD9):
            raise _Unreadable("scan data or the end of the image before any frame header")
        pos += 2 + length
    raise _Unreadable("no frame header")


def check_frames(ds: Dataset, indices: list[int] | None = None, syntax: UID | None = None) -> None:
    """Refuse (:class:`CodestreamTooLarge`) a frame of ``ds``'s encapsulated Pixel Data whose
    codestream declares more rows or columns than ``ds`` has (``syntax``: its transfer syntax
    UID, when ``ds`` has no file meta)."""
    syntax = syntax or getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is None or not syntax.is_encapsulated or "PixelData" not in ds:
        return
    rows, columns = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
    count = int(ds.get("NumberOfFrames") or 1)
    wanted = None if indices is None else set(indices)
    try:
        frames = pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=count)
        for index, frame in enumerate(frames):
            if wanted is not None and index not in wanted:
                continue
            size = declared_size(frame)
            if size is not None and (size[0] > rows or size[1] > columns or not size[0] or not size[1]):
                raise CodestreamTooLarge(
                    f"frame {index + 1}'s compressed data says it is {size[1]} x {size[0]}, but the image is "
                    f"{columns} x {rows} (PS3.5 8.2): refused, as decoding it could take "
                    f"{size[0] * size[1] >> 20} M samples of memory")
            if wanted is not None and index >= max(wanted):
                break
    except CodestreamTooLarge:
        raise
    except Exception:  # noqa: BLE001 - a damaged encapsulation is the decoder's to report
        return
