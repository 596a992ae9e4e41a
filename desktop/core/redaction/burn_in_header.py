"""The header of a redacted instance (:mod:`desktop.core.redaction.burn_in`): every element
of the source but its pixel data, overlays (60xx, PS3.3 C.9) and icons (Icon Image Sequence,
PS3.3 C.7.6.1.1.6), big-endian words swapped, a new file meta (PS3.10 7.1), the lossy
compression history completed (PS3.3 C.7.6.1.1.5) and the pixel value bounds kept true
(PS3.3 C.7.6.3.1)."""

from __future__ import annotations

import copy
import math

import pydicom
import pydicom.datadict
import pydicom.encaps
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import correct_ambiguous_vr_element
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    JPEG2000MC,
    UID,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLSNearLossless,
)

from desktop.core.redaction.darkest import BurnInError, _int, _swap

IMPLEMENTATION_CLASS_UID = "2.25.186146457613937622331906834785384127873"
IMPLEMENTATION_VERSION = "VEIL_1"

_PIXEL_DATA = 0x7FE00010
_EXTENDED_OFFSETS = (0x7FE00001, 0x7FE00002)
_ICON_IMAGE_SEQUENCE = 0x00880200
_UNSUPPORTED_PIXELS = {0x7FE00008: "Float Pixel Data", 0x7FE00009: "Double Float Pixel Data"}

# Lossy Image Compression Method defined terms (PS3.3 C.7.6.1.1.5.1).
_LOSSY_METHOD = {
    JPEGBaseline8Bit: "ISO_10918_1", JPEGExtended12Bit: "ISO_10918_1",
    JPEGLSNearLossless: "ISO_14495_1", JPEG2000: "ISO_15444_1", JPEG2000MC: "ISO_15444_2",
    HTJ2K: "ISO_15444_15",
}


def _drop(tag: int) -> bool:
    return (0x6000 <= tag >> 16 <= 0x60FF) or tag == _ICON_IMAGE_SEQUENCE


def _clean_nested(ds: Dataset, swap_words: bool) -> None:
    """Remove overlays and icons at every level; swap OW/OL/OF/OD words of a big-endian source."""
    for tag in list(ds.keys()):
        if _drop(tag):
            del ds[tag]
            continue
        if not swap_words and _raw_not_sequence(ds.get_item(tag, keep_deferred=True), tag):
            continue  # nothing to do in it, and decoding it would only cost time
        elem = ds[tag]
        if elem.VR == "SQ":
            for item in elem.value:
                _clean_nested(item, swap_words)
        elif swap_words and isinstance(elem.value, (bytes, bytearray)):
            width = {"OW": 2, "OL": 4, "OF": 4, "OD": 8, "OV": 8}.get(elem.VR)
            if width:
                elem.value = _swap(bytes(elem.value), width)


def _raw_not_sequence(raw: DataElement | RawDataElement, tag: int) -> bool:
    """``raw`` (the element at ``tag``) is still raw and holds no items."""
    if not isinstance(raw, RawDataElement):
        return False
    vr = raw.VR
    if not vr:
        try:
            vr = pydicom.datadict.dictionary_VR(tag)
        except KeyError:
            return False
    return "SQ" not in vr and vr != "UN"


def _copy_header(ds: Dataset, swap_words: bool) -> Dataset:
    """Every element but the pixel data, overlays and icons: still-raw elements are shared
    (immutable), the others deep-copied (the caller's dataset is never changed)."""
    kept: dict[BaseTag, DataElement | RawDataElement] = {}
    copied: list[DataElement] = []
    for tag in list(ds.keys()):
        if tag == _PIXEL_DATA or tag in _EXTENDED_OFFSETS or tag in _UNSUPPORTED_PIXELS or _drop(tag):
            continue
        if not swap_words and _raw_not_sequence(elem := ds.get_item(tag, keep_deferred=True), tag):
            kept[tag] = elem
            continue
        try:
            copied.append(copy.deepcopy(ds[tag]))
        except Exception as exc:  # noqa: BLE001 - a hostile value may raise any kind on conversion
            raise BurnInError(f"element {tag:08X} cannot be read ({type(exc).__name__})") from None
    out = Dataset(kept)  # as they are: Dataset.__setitem__ would decode raw private elements
    for elem in copied:
        out.add(elem)
    _clean_nested(out, swap_words)
    return out


def _file_meta(ds: Dataset, out: Dataset, syntax: UID, uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    source = getattr(ds, "file_meta", None)
    if source is not None:
        for elem in source:
            if elem.tag not in (0x00020000,):
                meta.add(copy.deepcopy(elem))
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = UID(str(out.get("SOPClassUID") or meta.get("MediaStorageSOPClassUID") or ""))
    meta.MediaStorageSOPInstanceUID = UID(uid)
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    return meta


def _lossy_history(out: Dataset, source: UID, codestream_lossy: bool, frames: int, ds: Dataset) -> None:
    """Keep "01" and its method/ratio history; complete it when the source syntax was lossy and
    the header did not say so (PS3.3 C.7.6.1.1.5)."""
    if not codestream_lossy or str(out.get("LossyImageCompression", "")).strip() == "01":
        return
    out.LossyImageCompression = "01"
    method = _LOSSY_METHOD.get(source)
    methods = [str(v) for v in _as_list(out.get("LossyImageCompressionMethod"))]
    ratios = [str(v) for v in _as_list(out.get("LossyImageCompressionRatio"))]
    compressed = _encapsulated_size(ds)
    native = (frames * _int(ds.get("Rows")) * _int(ds.get("Columns")) * _int(ds.get("SamplesPerPixel"), 1)
              * math.ceil(_int(ds.get("BitsAllocated"), 8) / 8))
    if method:
        out.LossyImageCompressionMethod = methods + [method]
    if compressed:
        out.LossyImageCompressionRatio = ratios + [f"{native / compressed:.2f}"[:16]]


def _as_list(value: object) -> list[object]:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple, MultiValue)):
        return list(value)
    return [value]


def _encapsulated_size(ds: Dataset) -> int:
    try:
        return sum(len(f) for f in pydicom.encaps.generate_fragments(ds.PixelData))
    except Exception:  # noqa: BLE001 - hostile Pixel Data: no ratio is recorded
        return 0


def _set_extreme_values(out: Dataset, darkest: list[int]) -> None:
    """Smallest/Largest Image Pixel Value (PS3.3 C.7.6.3.1) must still bound the pixels."""
    if not darkest:
        return
    for keyword, pick in (("SmallestImagePixelValue", min), ("LargestImagePixelValue", max),
                          ("SmallestPixelValueInSeries", min), ("LargestPixelValueInSeries", max)):
        value = out.get(keyword)
        if isinstance(value, int):
            setattr(out, keyword, int(pick([value, *darkest])))


def _resolve_ambiguous_vrs(ds: Dataset) -> None:
    """Give every decoded element with an ambiguous VR its real one (raw ones keep theirs)."""
    for elem in list(ds.values()):
        if isinstance(elem, RawDataElement):
            continue
        if elem.VR == "SQ":
            for item in elem.value or []:
                _resolve_ambiguous_vrs(item)
        elif elem.VR and len(elem.VR) != 2:
            correct_ambiguous_vr_element(elem, ds, True)
