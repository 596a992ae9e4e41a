"""The darkest displayable value of an image, as a stored value (PS3.3 C.11.1 Modality LUT,
C.7.6.3.1.2 MONOCHROME1/2, C.7.6.3.1.5 palette colour): what redacted pixels become."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_color_lut
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian

from desktop.core.common.errors import VeilError
from desktop.core.dicom.encoding import implied_transfer_syntax


class BurnInError(VeilError):
    """The pixels of this image cannot be redacted; the message says why."""


def _swap(data: bytes, width: int) -> bytes:
    usable = len(data) // width * width
    swapped = np.frombuffer(data[:usable], dtype=f">u{width}").astype(f"<u{width}").tobytes()
    return swapped + data[usable:]


def _int(value: Any, default: int = 0) -> int:
    """An IS or US value as pydicom gives it, as an int; ``default`` when absent or no number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _stored_range(ds: Dataset) -> tuple[int, int]:
    """The values Bits Stored and Pixel Representation allow (PS3.5 8.1.1)."""
    bits = _int(ds.get("BitsStored"), 0) or _int(ds.get("BitsAllocated"), 8)
    if _int(ds.get("PixelRepresentation")) == 1:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _syntax(ds: Dataset) -> UID:
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if uid:
        return UID(str(uid))
    return implied_transfer_syntax(ds)  # no File Meta Information (ACR-NEMA style)


def _little_endian(ds: Dataset) -> bool:
    return _syntax(ds) != ExplicitVRBigEndian


def _functional_item(ds: Dataset, frame: int, keyword: str) -> Dataset | None:
    """A functional group macro item for ``frame``: per-frame first, then shared (C.7.6.16)."""
    for seq_keyword, index in (("PerFrameFunctionalGroupsSequence", frame),
                               ("SharedFunctionalGroupsSequence", 0)):
        seq = ds.get(seq_keyword)
        if seq and len(seq) > index:
            inner = seq[index].get(keyword)
            if inner:
                item: Dataset = inner[0]
                return item
    return None


def _modality_lut(ds: Dataset) -> tuple[int, np.ndarray] | None:
    """(first stored value mapped, entries) of a Modality LUT Sequence (PS3.3 C.11.1.1)."""
    seq = ds.get("ModalityLUTSequence")
    if not seq:
        return None
    item = seq[0]
    try:
        entries, first = int(item.LUTDescriptor[0]) or 65536, int(item.LUTDescriptor[1])
        bits = int(item.LUTDescriptor[2])
        data = item.LUTData
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return None
    if _int(ds.get("PixelRepresentation")) == 1 and first >= 32768:
        first -= 65536  # SS when the pixels are signed (C.11.1.1.1)
    if isinstance(data, (bytes, bytearray)):
        if bits <= 8 and len(data) in (entries, entries + 1):
            table = np.frombuffer(bytes(data), dtype=np.uint8)[:entries]
        else:
            order = "<" if _little_endian(ds) else ">"
            table = np.frombuffer(bytes(data)[: len(data) // 2 * 2], dtype=f"{order}u2")[:entries]
    else:
        table = np.asarray(list(data) if not isinstance(data, int) else [data], dtype=np.int64)
    if table.size == 0:
        return None
    return first, table.astype(np.int64)


def _grey_darkest(ds: Dataset, frame: int) -> int:
    """MONOCHROME2: the lowest modality value is darkest; MONOCHROME1: the highest (C.7.6.3.1.2)."""
    lo, hi = _stored_range(ds)
    want_high = str(ds.get("PhotometricInterpretation", "")).strip() == "MONOCHROME1"
    lut = _modality_lut(ds)
    if lut is not None:
        first, table = lut
        n = len(table)
        lo_i, hi_i = (min(max(v - first, 0), n - 1) for v in (lo, hi))
        reachable = table[lo_i: hi_i + 1]
        k = int(np.argmax(reachable) if want_high else np.argmin(reachable))
        return min(max(first + lo_i + k, lo), hi)  # stored values beyond the LUT take its ends
    source = _functional_item(ds, frame, "PixelValueTransformationSequence") or ds
    try:
        slope = float(source.get("RescaleSlope", 1.0) or 1.0)
    except (TypeError, ValueError):
        slope = 1.0
    increasing = slope >= 0
    return hi if increasing == want_high else lo


def _palette_view(ds: Dataset) -> Dataset:
    """The palette attributes as a little-endian dataset pydicom reads correctly.

    pydicom reads non-segmented 16-bit palette data in the machine's order whatever the
    transfer syntax, so big-endian palettes are swapped here first.
    """
    view = Dataset()
    view.file_meta = FileMetaDataset()
    view.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    big = not _little_endian(ds)
    for elem in ds:
        if elem.tag >> 16 != 0x0028 or not (0x1100 <= (elem.tag & 0xFFFF) <= 0x1224):
            continue
        elem = copy.deepcopy(elem)
        if big and elem.VR == "OW" and isinstance(elem.value, (bytes, bytearray)):
            elem.value = _swap(bytes(elem.value), 2)
        view.add(elem)
    for keyword in ("PixelRepresentation", "BitsStored", "BitsAllocated"):
        if keyword in ds:
            view[keyword] = copy.deepcopy(ds[keyword])
    return view


def _palette_darkest(ds: Dataset) -> int:
    """The index the palette maps to its darkest colour (Rec. 601 luma), PS3.3 C.7.6.3.1.5."""
    try:
        entries = int(ds.RedPaletteColorLookupTableDescriptor[0]) or 65536
        first = int(ds.RedPaletteColorLookupTableDescriptor[1])
    except (AttributeError, IndexError, TypeError, ValueError):
        raise BurnInError("the palette colour image has no usable palette descriptor") from None
    lo, hi = _stored_range(ds)
    start, stop = max(first, lo), min(first + entries - 1, hi)
    if start > stop:
        raise BurnInError("no stored pixel value of this palette colour image maps into its palette")
    indices = np.arange(start, stop + 1, dtype=np.int64)
    try:
        rgb = apply_color_lut(indices.astype(np.uint16 if hi < 65536 else np.int64), _palette_view(ds))
    except Exception as exc:  # noqa: BLE001 - pydicom on a hostile palette raises many kinds
        raise BurnInError(f"the palette cannot be read ({type(exc).__name__})") from None
    rgb = rgb[..., :3].astype(np.float64)
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    return int(indices[int(np.argmin(luma))])


def darkest_stored_value(ds: Dataset, frame: int = 0) -> int | tuple[int, int, int]:
    """The stored value that displays darkest in frame ``frame`` of ``ds``.

    MONOCHROME2 and MONOCHROME1 use the Modality LUT or rescale of that frame (PS3.3 C.11.1,
    C.7.6.16.2.9) within the Bits Stored range (PS3.5 8.1.1); a negative slope or MONOCHROME1's
    inversion (PS3.3 C.7.6.3.1.2) picks the high end. Colour gives RGB (0, 0, 0) — YBR sources
    are decoded to RGB. PALETTE COLOR gives the mapped index with the darkest palette colour.
    The VOI LUT and windows are monotonic in practice and are not consulted.
    """
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if photometric in ("MONOCHROME1", "MONOCHROME2"):
        return _grey_darkest(ds, frame)
    if photometric == "PALETTE COLOR":
        return _palette_darkest(ds)
    if _int(ds.get("SamplesPerPixel"), 1) == 3:
        return (0, 0, 0)
    raise BurnInError(f"photometric interpretation {photometric or 'missing'} is not supported")


