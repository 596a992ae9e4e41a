"""What an encapsulated frame says its own size is, checked before any decoder sees it.

A decoder allocates what the codestream asks for, not what the DICOM header says: an 8 KB
JPEG 2000 frame that claims 20000 x 20000 samples makes OpenJPEG allocate gigabytes although
Rows and Columns say 64. PS3.5 8.2 requires the codestream to match the Image Pixel Module, so a
frame whose declared size is larger than Rows x Columns is refused here:

- JPEG (ISO 10918-1 B.2.2) and JPEG-LS (ISO 14495-1 C.2.2): the frame header SOFn / SOF55
  gives Y (lines) and X (samples per line);
- JPEG 2000 and HTJ2K (ISO 15444-1 A.5.1): the SIZ marker right after SOC gives Xsiz - XOsiz
  by Ysiz - YOsiz.

RLE (PS3.5 G) decodes to exactly Rows x Columns and needs no check.
"""

from __future__ import annotations

import struct

import pydicom.encaps
from pydicom.dataset import Dataset

#: JPEG frame headers: SOF0-3, 5-7, 9-11, 13-15 (not DHT C4, JPG C8, DAC CC), and JPEG-LS SOF55.
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7})
_HEAD = 1 << 16  # where a frame header must be found


class CodestreamTooLarge(ValueError):
    """A frame's codestream declares more samples than the DICOM header allows."""


def declared_size(frame: bytes) -> tuple[int, int] | None:
    """(rows, columns) that a JPEG, JPEG-LS or JPEG 2000 frame declares, or None when it is
    none of those (or its header cannot be found in its first 64 KB)."""
    head = bytes(frame[:_HEAD])
    siz = head.find(b"\xff\x4f\xff\x51")
    if siz != -1 and siz < 512 and len(head) >= siz + 24:  # J2K: SOC then SIZ (a JP2 box may precede)
        xsiz, ysiz, xo, yo = struct.unpack_from(">IIII", head, siz + 8)
        return max(0, ysiz - yo), max(0, xsiz - xo)
    if not head.startswith(b"\xff\xd8"):
        return None
    pos = 2
    while pos + 4 <= len(head):
        if head[pos] != 0xFF:
            return None
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", head, pos + 2)
        if marker in _SOF and pos + 9 <= len(head):
            lines, samples = struct.unpack_from(">HH", head, pos + 5)
            return lines, samples
        if marker == 0xDA:  # scan data before any frame header: not a valid stream
            return None
        pos += 2 + length
    return None


def check_frames(ds: Dataset, indices: list[int] | None = None, syntax: object = None) -> None:
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
            if size is not None and (size[0] > rows or size[1] > columns):
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
