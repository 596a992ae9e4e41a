"""Burn a redaction mask into the pixels of a new instance, exactly.

:func:`burn_in` decodes the source one frame at a time, sets every pixel under the mask to the
darkest value the image can display (:func:`darkest_stored_value`), and builds a new dataset
whose pixel attributes, transfer syntax and compression history agree with its new pixel data:

- Grey images (PS3.3 C.7.6.3.1.2): MONOCHROME2 shows its lowest modality value darkest,
  MONOCHROME1 its highest; the modality value comes from the Modality LUT or the rescale
  (PS3.3 C.11.1, per frame for enhanced images, C.7.6.16.2.9), so a negative slope turns the
  stored range round. Stored values stay within Bits Stored and Pixel Representation.
- RGB and YBR: pydicom decodes YBR_FULL / YBR_FULL_422 / YBR_ICT / YBR_RCT to RGB, so the
  output is RGB (PS3.3 C.7.6.3.1.2) and masked pixels are (0, 0, 0). The one exception is a
  JPEG 2000 lossless re-encode of a YBR_RCT source, which keeps YBR_RCT (the reversible
  component transform, PS3.5 8.2.4); it decodes to the same RGB.
- PALETTE COLOR: the index whose palette colour is darkest (luma), always an index the palette
  maps (PS3.3 C.7.6.3.1.5, C.7.9 for segmented palettes).
- Every pixel has the bits above Bits Stored cleared (sign-extended for signed data): old
  files kept overlays in those bits (PS3.5 8.1.2, retired overlays in pixel data), and they
  could carry burned-in text. Overlay groups 60xx (PS3.3 C.9.2) and every Icon Image Sequence
  (0088,0200) are removed.
- Transfer syntax: a lossless source is written losslessly in its own syntax when pydicom can
  encode it (RLE Lossless, JPEG-LS, JPEG 2000 Lossless; checked at run time), in its own
  uncompressed syntax when it is Implicit VR Little Endian or Deflated, and otherwise Explicit
  VR Little Endian (retired big-endian included, PS3.5 A.3). Nothing is ever lossy-encoded. A
  lossy source (Lossy Image Compression "01" or a lossy codestream) is written uncompressed:
  its history stays, and is completed when the source syntax was lossy but the header did not
  say so (PS3.3 C.7.6.1.1.5: "01", method and ratio).
- A new SOP Instance UID in the dataset and its file meta; Burned In Annotation "NO"
  (PS3.3 C.7.6.1.1.4 / C.8.x modules).

Memory: the source's pixel data is never copied whole. Frames are decoded one at a time from
the caller's dataset and written into the output buffer (uncompressed) or encoded one by one
(compressed), so the peak is the source, the output, and one frame; turning the uncompressed
output array into the ``bytes`` pydicom needs makes one transient second copy of the output.
The caller's dataset is not modified.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pydicom
import pydicom.datadict
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate, encapsulate_extended
from pydicom.pixels import get_decoder, get_encoder, pack_bits
from pydicom.pixels.utils import get_nr_frames
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    JPEG2000MC,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEG2000MCLossless,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    MPEGTransferSyntaxes,
    RLELossless,
)

from desktop.core.dicom.codestream_size import check_frames
from desktop.core.redaction.burn_in_header import (
    _EXTENDED_OFFSETS,
    _PIXEL_DATA,
    _UNSUPPORTED_PIXELS,
    _copy_header,
    _file_meta,
    _lossy_history,
    _resolve_ambiguous_vrs,
    _set_extreme_values,
)
from desktop.core.redaction.darkest import (  # noqa: F401 - BurnInError, darkest_stored_value: this API
    BurnInError,
    _functional_item,
    _int,
    _syntax,
    darkest_stored_value,
)
from desktop.core.redaction.record import (  # noqa: F401 - part of this API
    CLEAN_PIXEL_DATA_CODE,
    REDACTION_MARK,
    is_redacted,
    mark_redacted,
    record_clean_pixel_data,
)

__all__ = [
    "CLEAN_PIXEL_DATA_CODE",
    "REDACTION_MARK",
    "BurnInError",
    "BurnInResult",
    "burn_in",
    "darkest_stored_value",
    "is_redacted",
    "mark_redacted",
    "record_clean_pixel_data",
]


#: Veil writes these instances; the same identity as the de-identification engine's output.


# Source syntaxes whose codestreams are always lossless (PS3.5 8.2, A.4).
_LOSSLESS_ENCAPSULATED = {
    JPEGLossless, JPEGLosslessSV1, JPEGLSLossless, JPEG2000Lossless, JPEG2000MCLossless,
    HTJ2KLossless, HTJ2KLosslessRPCL, RLELossless,
}
# Lossy or lossless depending on the codestream (JPEG-LS NEAR, the JPEG 2000 wavelet).
_MAYBE_LOSSY = {JPEGLSNearLossless, JPEG2000, JPEG2000MC, HTJ2K}
# The syntaxes Veil re-encodes losslessly in, with what pydicom can encode.
_REENCODABLE = {RLELossless, JPEGLSLossless, JPEGLSNearLossless, JPEG2000Lossless}
_NATIVE_KEPT = {ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian}




@dataclass(frozen=True)
class BurnInResult:
    """A redacted instance, ready to be written with ``dcmwrite``."""

    dataset: Dataset          # the new instance (file_meta consistent with it)
    frames_redacted: list[int]  # 0-based frames that had mask pixels
    transfer_syntax: str      # the syntax it will be written with
    note: str                 # how it was written, e.g. "re-encoded RLE Lossless"


# -- the source: syntax, lossiness, frames --------------------------------------------------------


def _first_fragment(ds: Dataset, frames: int) -> bytes:
    try:
        return next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=frames))
    except Exception:  # noqa: BLE001 - hostile Pixel Data raises many kinds: treated as lossy
        return b""


def _jls_near(codestream: bytes) -> int | None:
    """JPEG-LS NEAR of the first scan (ISO/IEC 14495-1 C.2.3); 0 is lossless."""
    offset = 2 if codestream[:2] == b"\xff\xd8" else -1
    while 0 <= offset < len(codestream) - 4:
        marker, length = codestream[offset: offset + 2], int.from_bytes(codestream[offset + 2: offset + 4], "big")
        if marker == b"\xff\xda":
            components = codestream[offset + 4]
            position = offset + 5 + 2 * components
            return codestream[position] if position < len(codestream) else None
        if marker[0] != 0xFF:
            return None
        offset += 2 + length
    return None


def _j2k_reversible(codestream: bytes) -> bool | None:
    """Whether the JPEG 2000 COD marker names the reversible 5/3 wavelet (ISO/IEC 15444-1 A.6.1)."""
    offset = 0
    if codestream.startswith(b"\x00\x00\x00\x0cjP  "):  # a JP2 wrapper: find the jp2c box
        offset = 12
        while offset < len(codestream) - 8:
            length = int.from_bytes(codestream[offset: offset + 4], "big")
            if codestream[offset + 4: offset + 8] == b"jp2c":
                offset += 8
                break
            if length < 8:
                return None
            offset += length
    if codestream[offset: offset + 2] != b"\xff\x4f":
        return None
    offset += 2
    while offset < len(codestream) - 4:
        marker = codestream[offset: offset + 2]
        if marker == b"\xff\x52":  # COD
            position = offset + 13
            return codestream[position] == 1 if position < len(codestream) else None
        if marker in (b"\xff\x90", b"\xff\x93") or marker[0] != 0xFF:  # tile data before any COD
            return None
        offset += 2 + int.from_bytes(codestream[offset + 2: offset + 4], "big")
    return None


def _codestream_lossy(ds: Dataset, syntax: UID, frames: int) -> bool:
    """Whether the encoded pixel data itself is lossy (PS3.5 8.2)."""
    if not syntax.is_encapsulated or syntax in _LOSSLESS_ENCAPSULATED:
        return False
    if syntax in _MAYBE_LOSSY:
        first = _first_fragment(ds, frames)
        if syntax == JPEGLSNearLossless:
            return _jls_near(first) != 0
        return _j2k_reversible(first) is not True  # the 9/7 wavelet (or unreadable): lossy
    return True  # JPEG baseline/extended, MPEG and anything unknown: assume lossy


@dataclass(frozen=True)
class _Plan:
    target: UID
    photometric: str
    note: str


def _plan(ds: Dataset, source: UID, lossy: bool, decoded_photometric: str) -> list[_Plan]:
    """Output plans to try in order; the last one is always uncompressed."""
    uncompressed = source if source in _NATIVE_KEPT else ExplicitVRLittleEndian
    rgb_like = decoded_photometric
    if lossy:
        return [_Plan(uncompressed, rgb_like, f"lossy source written uncompressed ({uncompressed.name}), "
                                              "its lossy compression history kept")]
    plans = []
    if source.is_encapsulated and source in _REENCODABLE and get_encoder(source).is_available:
        photometric = rgb_like
        original = str(ds.get("PhotometricInterpretation", "")).strip()
        if source == JPEG2000Lossless and original == "YBR_RCT" and rgb_like == "RGB":
            photometric = "YBR_RCT"  # the reversible colour transform, decoded back to RGB
        plans.append(_Plan(source, photometric, f"re-encoded {source.name}"))
    if source.is_encapsulated:
        why = "no lossless encoder in pydicom" if not plans else "lossless re-encoding failed"
        plans.append(_Plan(uncompressed, rgb_like, f"{source.name} source written uncompressed "
                                                   f"({uncompressed.name}; {why})"))
    elif source == ExplicitVRBigEndian:
        plans.append(_Plan(uncompressed, rgb_like, "retired big-endian source written Explicit VR Little Endian"))
    else:
        plans.append(_Plan(uncompressed, rgb_like, f"written in its own syntax ({uncompressed.name})"))
    return plans


def _decode_view(ds: Dataset, syntax: UID) -> Dataset:
    """The pixel attributes and Pixel Data of ``ds`` (shared, not copied), with a syntax."""
    view = Dataset()
    view.file_meta = FileMetaDataset()
    view.file_meta.TransferSyntaxUID = syntax
    for tag in list(ds.keys()):
        if tag >> 16 == 0x0028 or tag in (_PIXEL_DATA, *_EXTENDED_OFFSETS):
            view[tag] = ds[tag]
    return view


def _frames(view: Dataset, syntax: UID) -> Iterator[np.ndarray]:
    """Decoded frames, one at a time (colour comes out as RGB, interleaved)."""
    try:
        check_frames(view, None, syntax)
        frames = get_decoder(syntax).iter_array(view, as_rgb=True)
        while True:
            try:
                arr, _props = next(frames)
            except StopIteration:
                return
            yield arr
    except Exception as exc:  # noqa: BLE001 - a third-party decoder may raise anything
        raise BurnInError(f"the pixel data cannot be decoded ({syntax.name}: {type(exc).__name__})") from None


def _clear_high_bits(arr: np.ndarray, bits_stored: int, signed: bool) -> np.ndarray:
    """Only the Bits Stored bits carry the value; the rest are cleared (unsigned) or the sign
    (signed), so overlays stored in the high bits (PS3.5 8.1.2) are gone."""
    width = arr.dtype.itemsize * 8
    if bits_stored >= width or bits_stored <= 0:
        return arr
    shift = width - bits_stored
    if signed:
        np.left_shift(arr, shift, out=arr)
        np.right_shift(arr, shift, out=arr)
    else:
        np.bitwise_and(arr, arr.dtype.type((1 << bits_stored) - 1), out=arr)
    return arr


class _EncodeFailed(Exception):
    pass


def burn_in(ds: Dataset, mask_for_frame: Callable[[int], np.ndarray | None],
            new_sop_instance_uid: str) -> BurnInResult:
    """A new instance with the pixels under each frame's mask set to the darkest value.

    ``mask_for_frame(i)`` gives a boolean (Rows, Columns) array for frame ``i`` (0-based), or
    ``None`` to leave the frame as it is; it may be called twice for a frame if a lossless
    re-encode fails and the image is written uncompressed instead. ``ds`` is not modified.
    """
    for tag, name in _UNSUPPORTED_PIXELS.items():
        if tag in ds:
            raise BurnInError(f"{name} (parametric maps) cannot be redacted by Veil")
    if _PIXEL_DATA not in ds:
        raise BurnInError("this instance holds no image (no Pixel Data)")
    source = _syntax(ds)
    if source in MPEGTransferSyntaxes:
        raise BurnInError(f"{source.name} video cannot be redacted frame by frame by Veil")
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
        samples = _int(ds.get("SamplesPerPixel"), 1)
        bits_allocated, bits_stored = int(ds.BitsAllocated), int(ds.get("BitsStored") or ds.BitsAllocated)
        signed = _int(ds.get("PixelRepresentation")) == 1
        frames = int(get_nr_frames(ds, warn=False))  # an invalid IS value stays a str (PS3.5 6.2)
    except (AttributeError, TypeError, ValueError):
        raise BurnInError("the image pixel attributes (Rows, Columns, Bits, Number of Frames) are missing "
                          "or invalid") from None

    if bits_allocated not in (1, 8, 16, 32, 64) or not 0 < bits_stored <= bits_allocated:
        raise BurnInError(f"Bits Allocated {bits_allocated} / Bits Stored {bits_stored} is not a valid "
                          "pixel layout (PS3.5 8.1.1)")
    lossy = str(ds.get("LossyImageCompression", "")).strip() == "01"
    codestream_lossy = _codestream_lossy(ds, source, frames)
    view = _decode_view(ds, source)
    swap = source == ExplicitVRBigEndian

    out = _copy_header(ds, swap)
    out.file_meta = FileMetaDataset()
    out.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian  # how ``out`` reads, for its palette
    decoded_photometric = _peek_photometric(view, source, ds)
    plans = _plan(ds, source, lossy or codestream_lossy, decoded_photometric)
    for attempt, plan in enumerate(plans):
        try:
            pixel_elements, redacted, darkest = _write_pixels(
                view, source, plan, out, mask_for_frame, frames, rows, columns, samples,
                bits_allocated, bits_stored, signed)
            break
        except _EncodeFailed:
            if attempt == len(plans) - 1:
                raise BurnInError("the pixels could not be written in any transfer syntax") from None

    for keyword, value in pixel_elements.items():
        if value is None:
            if keyword in out:
                delattr(out, keyword)
        else:
            setattr(out, keyword, value)
    elem = out["PixelData"]
    if plan.target.is_encapsulated:
        elem.VR, elem.is_undefined_length = "OB", True
    else:
        elem.VR = "OW" if plan.target == ImplicitVRLittleEndian or bits_allocated > 8 else "OB"
        elem.is_undefined_length = False

    _lossy_history(out, source, codestream_lossy, frames, ds)
    _set_extreme_values(out, [d for d in darkest if isinstance(d, int)])
    out.SOPInstanceUID = new_sop_instance_uid
    out.BurnedInAnnotation = "NO"
    meta = _file_meta(ds, out, plan.target, new_sop_instance_uid)
    del out.file_meta
    implicit = plan.target == ImplicitVRLittleEndian
    for tag in [t for t, e in out.items() if isinstance(e, RawDataElement)
                and (e.is_implicit_VR != implicit or not e.is_little_endian)]:
        out[tag]  # decoded now: written in the target's encoding, not copied as it was read
    result = FileDataset("", out, preamble=b"\x00" * 128, file_meta=meta,
                         is_implicit_VR=plan.target == ImplicitVRLittleEndian, is_little_endian=True)
    # Same encoding and character set as the elements kept raw: pydicom writes them as read,
    # so it no longer resolves "US or SS" style VRs itself (PS3.5 A.1, C.7.6.3 rules).
    result.set_original_encoding(implicit, True, ds.original_character_set)
    if not implicit:
        _resolve_ambiguous_vrs(result)
    return BurnInResult(result, redacted, str(plan.target), plan.note)


def _peek_photometric(view: Dataset, source: UID, ds: Dataset) -> str:
    """The colour space pydicom decodes this image to (RGB for every YBR it converts)."""
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    if photometric in ("MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB"):
        return photometric
    try:
        check_frames(view, [0], source)
        # pydicom 3.0 annotates as_array's **kwargs as DecodeOptions, meaning Unpack[DecodeOptions]
        _, props = get_decoder(source).as_array(view, index=0, as_rgb=True)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - a third-party decoder may raise anything
        raise BurnInError(f"the pixel data cannot be decoded ({source.name}: {type(exc).__name__})") from None
    decoded = str(props.get("photometric_interpretation", photometric))
    if decoded != "RGB":
        raise BurnInError(f"photometric interpretation {photometric} cannot be converted to RGB")
    return "RGB"


def _write_pixels(view: Dataset, source: UID, plan: _Plan, out: Dataset,
                  mask_for_frame: Callable[[int], np.ndarray | None], frames: int, rows: int,
                  columns: int, samples: int, bits_allocated: int, bits_stored: int,
                  signed: bool) -> tuple[dict[str, object], list[int], list[object]]:
    """Decode, burn and store every frame; the Image Pixel attributes that go with them."""
    encapsulated = plan.target.is_encapsulated
    planar = (1 if plan.target == RLELossless else 0) if samples > 1 else None  # PS3.5 G.2, 8.2
    dtype = np.dtype(f"<{'i' if signed else 'u'}{max(1, bits_allocated // 8)}")
    shape = (rows, columns, samples) if samples > 1 else (rows, columns)
    if encapsulated:
        encoder = get_encoder(plan.target)
        options: dict[str, Any] = dict(  # the encoder's keyword arguments
            rows=rows, columns=columns, samples_per_pixel=samples, number_of_frames=1,
            bits_allocated=bits_allocated, bits_stored=bits_stored, pixel_representation=int(signed),
            photometric_interpretation=plan.photometric, planar_configuration=0)
        if plan.target == JPEGLSNearLossless:
            options["jls_error"] = 0
        try:  # the PS3.5 8.2 profile and the encoder's limits, before any mask is asked for
            encoder.encode(np.zeros(shape, dtype=dtype), **options)
        except Exception:  # noqa: BLE001 - a third-party encoder may raise anything
            raise _EncodeFailed() from None
        fragments: list[bytes] = []
    elif bits_allocated == 1:
        bits = np.empty((frames, *shape), dtype=np.uint8)
    else:
        buffer = np.empty((frames, *shape), dtype=dtype)

    darkest_cache: dict[tuple[object, ...], object] = {}
    darkest_used: list[object] = []
    redacted: list[int] = []
    decoded = 0
    for index, arr in enumerate(_frames(view, source)):
        if index >= frames:
            break
        decoded += 1
        if arr.shape != shape:
            raise BurnInError(f"frame {index + 1} decodes to {arr.shape}, not {shape}")
        if not arr.flags.writeable:
            arr = arr.copy()
        if samples == 1 and bits_allocated > 1:
            arr = _clear_high_bits(arr, bits_stored, signed)
        elif samples > 1:
            arr = _clear_high_bits(arr, bits_stored, False)
        mask = mask_for_frame(index)
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (rows, columns):
                raise BurnInError(f"the mask for frame {index + 1} is {mask.shape[1::-1]} pixels, "
                                  f"the image is {columns} x {rows}")
            if mask.any():
                value = _darkest_for(out, index, darkest_cache)
                arr[mask] = value
                redacted.append(index)
                if value not in darkest_used:
                    darkest_used.append(value)
        if encapsulated:
            try:
                fragments.append(encoder.encode(arr, **options))
            except Exception:  # noqa: BLE001 - a third-party encoder may raise anything
                raise _EncodeFailed() from None
        elif bits_allocated == 1:
            bits[index] = arr
        else:
            buffer[index] = arr
    if decoded < frames:
        raise BurnInError(f"the pixel data holds {decoded} frames, Number of Frames says {frames}")

    if encapsulated:
        total = sum(len(f) for f in fragments) + 8 * len(fragments)
        if total > 0xFFFFFFFF:
            data, offsets, lengths = encapsulate_extended(fragments)
            out.ExtendedOffsetTable, out.ExtendedOffsetTableLengths = offsets, lengths
        else:
            data = encapsulate(fragments, has_bot=True)
        del fragments
    elif bits_allocated == 1:
        data = pack_bits(bits.reshape(-1))  # frames run on without padding (PS3.5 8.1.1)
    else:
        data = buffer.tobytes()
        del buffer
        if len(data) % 2:
            data += b"\x00"
    photometric = plan.photometric
    elements: dict[str, object] = {
        "PixelData": data,
        "PhotometricInterpretation": photometric,
        "SamplesPerPixel": samples,
        "PlanarConfiguration": planar,
        "BitsAllocated": bits_allocated,
        "BitsStored": bits_stored,
        "HighBit": bits_stored - 1,
        "PixelRepresentation": int(signed),
    }
    return elements, redacted, darkest_used


def _darkest_for(out: Dataset, frame: int, cache: dict[tuple[object, ...], object]) -> object:
    """darkest_stored_value, once per distinct rescale (enhanced images carry it per frame)."""
    item = _functional_item(out, frame, "PixelValueTransformationSequence")
    key = (str(item.get("RescaleSlope")), str(item.get("RescaleIntercept"))) if item is not None else ()
    if key not in cache:
        cache[key] = darkest_stored_value(out, frame)
    return cache[key]

