"""Bits outside Bits Stored: find them, clear them, say so (PS3.5 8.1.1).

Of a pixel cell's Bits Allocated bits only Bits Stored, ending at High Bit, carry the sample
value (PS3.5 8.1.1). Old equipment put overlay planes in the rest (the retired overlays in the
pixel data, PS3.5 8.1.2, PS3.3 C.9.2): an angiogram with the name, ID and date in bit 13 of
12-bit samples while its Overlay Bit Position points elsewhere. Most viewers mask those bits,
so the text stays unseen until one does not. :func:`clear_hidden_bits` returns the Pixel Data
with them cleared, or ``None`` when there are none (the usual case; the caller then copies the
original bytes unchanged).

The unused bits become zero for unsigned samples. For signed ones (Pixel Representation 1)
the sign bit is the High Bit (PS3.5 8.1.1) and the bits above it become copies of it, so the
cell read as a two's complement integer is the stored value, as pydicom reads it. A signed
cell whose unused bits are all zero or all the sign carries nothing and is clean (writers use
both, some mix them); once anything changes, every cell is written sign-extended, so the two
conventions cannot outline the overlay. Bits below the stored bits (High Bit > Bits Stored -
1, PS3.5 8.1.1's old example) become zero.

Native data is checked in place with numpy reductions on the raw buffer (no copy unless
something must change); the new element keeps its header, length and trailing bytes, and the
transfer syntax stays. Data shorter than the attributes say is checked over the whole cells it
holds. Encapsulated data (PS3.5 A.4) is decoded frame by frame with pydicom, raw: no colour
conversion and no masking, so a JPEG Lossless or JPEG-LS codestream of precision 16 under Bits
Stored 12 shows its high bits. Nothing is decoded when Bits Stored equals Bits Allocated (no bit
can be outside: 8-bit JPEG never is). To change a frame, a lossless source is re-encoded
losslessly in its own syntax where pydicom encodes it (RLE, JPEG-LS, JPEG 2000 Lossless; a
reversible JPEG 2000 codestream as JPEG 2000 Lossless), keeping the original bytes of frames
that do not change, else as RLE Lossless, else Explicit VR Little Endian. A lossy source (PS3.5
8.2: JPEG baseline/extended, JPEG-LS NEAR > 0, irreversible JPEG 2000) is written uncompressed,
Explicit VR Little Endian, never lossy-encoded again, with Lossy Image Compression "01" (PS3.3
C.7.6.1.1.5). JPEG-LS has no sign: signed cells are coded whole, sign-extended. Every
re-encoded frame is decoded again and compared before it is used.

Left alone (``None``): Float / Double Float Pixel Data, Bits Allocated 1 or other than 8, 16,
32, attributes that make no valid layout, an element that cannot be split. Raised
(:class:`HiddenBitsError`, messages without patient data, for the engine to refuse the file):
:class:`HiddenBitsBudgetError` when an encapsulated source would decode more than
``max_megapixels``, :class:`HiddenBitsDecodeError` when its frames cannot be decoded.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pydicom.encaps
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import get_decoder, get_encoder
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    JPEG2000MC,
    UID,
    ExplicitVRLittleEndian,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    JPEG2000Lossless,
    JPEG2000MCLossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from desktop.core.common.errors import VeilError
from desktop.core.deid.pixel_layout import PixelLayout, pixel_layout
from desktop.core.dicom.codestream_size import CodestreamTooLarge, check_frames
from desktop.core.redaction.burn_in import _j2k_reversible, _jls_near

__all__ = ["HiddenBits", "HiddenBitsBudgetError", "HiddenBitsDecodeError", "HiddenBitsError",
           "MAX_DECODE_MEGAPIXELS", "clear_hidden_bits"]

#: An encapsulated source with more pixels than this (Rows x Columns x frames, in millions) is
#: not decoded: :class:`HiddenBitsBudgetError`. 500 million 16-bit samples is 1 GB decoded.
MAX_DECODE_MEGAPIXELS = 500.0
#: Decoded frames are kept for the re-encode up to this many bytes; past it, frames that must
#: change are decoded a second time instead.
KEEP_DECODED_BYTES = 256 << 20

_UNDEFINED = 0xFFFFFFFF
#: pydicom decoding as the codestream holds the samples: no masking, no colour conversion.
_RAW: dict[str, Any] = dict(raw=True, correct_unused_bits=False, apply_jls_sign_correction=False,
                            apply_j2k_sign_correction=False)
_LONG_VRS = {b"OB", b"OW", b"OL", b"OV", b"OF", b"OD", b"UN"}
_LOSSLESS = {JPEGLossless, JPEGLosslessSV1, JPEGLSLossless, JPEG2000Lossless, JPEG2000MCLossless,
             HTJ2KLossless, HTJ2KLosslessRPCL, RLELossless}
_REENCODE_AS = {RLELossless: RLELossless, JPEGLSLossless: JPEGLSLossless,
                JPEGLSNearLossless: JPEGLSNearLossless, JPEG2000Lossless: JPEG2000Lossless,
                JPEG2000: JPEG2000Lossless}  # a reversible .91 codestream is lossless (PS3.5 A.4.4)
_LOSSY_METHOD = {JPEGBaseline8Bit: "ISO_10918_1", JPEGExtended12Bit: "ISO_10918_1",
                 JPEGLSNearLossless: "ISO_14495_1", JPEG2000: "ISO_15444_1",
                 JPEG2000MC: "ISO_15444_2", HTJ2K: "ISO_15444_15"}


class HiddenBitsError(VeilError):
    """The pixel data could not be checked; the file must not be written as de-identified."""


class HiddenBitsBudgetError(HiddenBitsError):
    """Checking would mean decoding more than the budget allows."""


class HiddenBitsDecodeError(HiddenBitsError):
    """The encapsulated frames cannot be decoded (no decoder, or a damaged codestream)."""


@dataclass(frozen=True)
class HiddenBits:
    """Pixel Data with the bits outside Bits Stored cleared.

    ``pixel_element`` is the complete element (tag, VR, length, value; items and delimiter
    when encapsulated), encoded as the output's transfer syntax requires: the source's
    encoding for native sources, Explicit VR Little Endian otherwise. ``attributes`` are the
    header changes that must go with it, by keyword: a value to set, or ``None`` to remove.
    ``description`` is for the change record (no patient data).
    """

    pixel_element: bytes
    transfer_syntax: str
    attributes: dict[str, object] = field(default_factory=dict)
    description: str = ""
    pixels: int = 0          # pixels with a bit set outside the stored bits
    frames: int = 0          # frames holding such pixels
    reencoded: bool = False  # the codestream was decoded and written again
    lossy_source: bool = False


# -- the bits -------------------------------------------------------------------------------------
def _unsigned(arr: np.ndarray) -> np.ndarray:
    """The same cells as unsigned integers of the same width and byte order (a view)."""
    return arr if arr.dtype.kind == "u" else arr.view(arr.dtype.str.replace("i", "u"))


def _hidden(cells: np.ndarray, lay: PixelLayout) -> bool:
    """Whether any cell has a bit outside the stored bits that is not the sign convention.
    ``cells``: unsigned, any byte order. Reductions only, in the usual cases."""
    if cells.size == 0:
        return False
    if lay.low == 0:
        if int(cells.max()) < (1 << lay.stored):
            return False  # every unused bit is zero
        if not lay.signed:
            return True
        signed = cells.view(cells.dtype.str.replace("u", "i"))
        half = 1 << (lay.stored - 1)
        if int(signed.min()) >= -half and int(signed.max()) < half:
            return False  # every cell sign-extended
    return bool(_anomalous(cells, lay).any())


def _anomalous(cells: np.ndarray, lay: PixelLayout) -> np.ndarray:
    """Per cell: a bit outside the stored bits is set, and (signed) the bits above High Bit
    are neither all zero nor all copies of it."""
    width = cells.dtype.itemsize * 8
    bad = np.zeros(cells.shape, dtype=bool)
    if lay.low:
        bad |= np.bitwise_and(cells, cells.dtype.type((1 << lay.low) - 1)) != 0
    if lay.high < width - 1:
        above = np.right_shift(cells, lay.high + 1) != 0
        if lay.signed:
            above &= np.right_shift(cells.view(cells.dtype.str.replace("u", "i")), lay.high) != -1
        bad |= above
    return bad


def _sign_extended(cells: np.ndarray, lay: PixelLayout) -> np.ndarray:
    """Bits above High Bit copy it, bits below the stored bits are zero (native order)."""
    width = cells.dtype.itemsize * 8
    signed = cells.view(cells.dtype.str.replace("u", "i"))
    shift = width - 1 - lay.high
    out = np.left_shift(signed, shift) if shift else signed.copy()
    if shift:
        np.right_shift(out, shift, out=out)
    if lay.low:
        np.bitwise_and(out, out.dtype.type(~((1 << lay.low) - 1)), out=out)
    return out.view(cells.dtype)


def _canonical(cells: np.ndarray, lay: PixelLayout) -> np.ndarray:
    """The cells as written: unused bits zero, or the sign (native byte order)."""
    native = cells.astype(cells.dtype.newbyteorder("="), copy=False)
    if lay.signed:
        return _sign_extended(native, lay)
    masked: np.ndarray = np.bitwise_and(native, native.dtype.type(((1 << lay.stored) - 1) << lay.low))
    return masked


def _count(bad: np.ndarray, lay: PixelLayout, start_frame: int = 0) -> tuple[int, set[int]]:
    """How many pixels (any sample) are ``bad``, and in which frames (cells run frame by frame,
    a frame's samples interleaved or, Planar Configuration 1, plane by plane)."""
    flat, per, planar = bad.ravel(), lay.frame_cells, lay.planar == 1 and lay.samples > 1
    pixels, frames = 0, set[int]()
    for first in range(0, flat.size, per):
        part = flat[first:first + per]
        if lay.samples > 1 and part.any():
            part = part[:part.size // lay.samples * lay.samples]
            by_pixel = part.reshape(lay.samples, -1) if planar else part.reshape(-1, lay.samples)
            part = np.any(by_pixel, axis=0 if planar else 1)
        hits = int(np.count_nonzero(part))
        if hits:
            pixels, frames = pixels + hits, frames | {start_frame + first // per}
    return pixels, frames


# -- the element ----------------------------------------------------------------------------------
def _split(element: memoryview, implicit: bool, little: bool) -> tuple[int, int] | None:
    """(header length, value length or _UNDEFINED) of a Pixel Data element, else ``None``."""
    e = "<" if little else ">"
    if len(element) < 8 or struct.unpack_from(e + "HH", element, 0) != (0x7FE0, 0x0010):
        return None
    if implicit:
        return 8, struct.unpack_from(e + "I", element, 4)[0]
    if bytes(element[4:6]) not in _LONG_VRS or len(element) < 12:
        return None
    return 12, struct.unpack_from(e + "I", element, 8)[0]


def _native_element(data: bytes, allocated: int) -> bytes:
    """Pixel Data, Explicit VR Little Endian, defined length (PS3.5 7.1.2, A.2)."""
    if len(data) % 2:
        data += b"\x00"
    vr = b"OW" if allocated > 8 else b"OB"
    return struct.pack("<HH", 0x7FE0, 0x0010) + vr + b"\x00\x00" + struct.pack("<I", len(data)) + data


def _encapsulated_element(fragments: list[bytes]) -> tuple[bytes, dict[str, object]]:
    """Pixel Data, encapsulated (PS3.5 A.4), with an offset table; extended when it must be."""
    if sum(len(f) + 8 for f in fragments) > 0xFFFFFFF0:
        value, offsets, lengths = pydicom.encaps.encapsulate_extended(fragments)
        extra: dict[str, object] = {"ExtendedOffsetTable": offsets, "ExtendedOffsetTableLengths": lengths}
    else:
        value, extra = pydicom.encaps.encapsulate(fragments, has_bot=True), {}
    delimiter = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"  # Sequence Delimitation Item (PS3.5 A.4)
    return struct.pack("<HH", 0x7FE0, 0x0010) + b"OB\x00\x00\xff\xff\xff\xff" + value + delimiter, extra


# -- native ---------------------------------------------------------------------------------------
def _native(element: memoryview, header: int, length: int, lay: PixelLayout, syntax: str,
            little: bool) -> HiddenBits | None:
    value = element[header:header + length]
    width = lay.allocated // 8
    count = min(len(value) // width, lay.frame_cells * lay.frames)
    if count <= 0:
        return None
    dtype = np.dtype(("<" if little else ">") + f"u{width}") if width > 1 else np.dtype(np.uint8)
    cells = np.frombuffer(value, dtype=dtype, count=count)
    if not _hidden(cells, lay):
        return None
    clean = _canonical(cells, lay)
    pixels, frames = _count(_anomalous(cells, lay), lay)
    data = clean.astype(dtype, copy=False).tobytes()
    new = bytes(element[:header]) + data + bytes(value[len(data):])
    return HiddenBits(new, syntax, {}, _describe(lay, pixels, len(frames), ""), pixels, len(frames))


# -- encapsulated ---------------------------------------------------------------------------------
def _lossy(syntax: UID, first: bytes) -> bool:
    """Whether the codestream is lossy (PS3.5 8.2, A.4); a lossless one re-encodes losslessly
    whatever the compression history says."""
    if syntax == JPEGLSNearLossless:
        return _jls_near(first) != 0
    if syntax in (JPEG2000, JPEG2000MC, HTJ2K):
        return _j2k_reversible(first) is not True
    return syntax not in _LOSSLESS


def _view(ds: Dataset, syntax: UID, value: bytes) -> Dataset:
    view = Dataset()
    view.file_meta = FileMetaDataset()
    view.file_meta.TransferSyntaxUID = syntax
    for keyword in ("Rows", "Columns", "SamplesPerPixel", "BitsAllocated", "BitsStored", "HighBit",
                    "PixelRepresentation", "PhotometricInterpretation", "PlanarConfiguration",
                    "NumberOfFrames", "ExtendedOffsetTable", "ExtendedOffsetTableLengths"):
        if ds.get(keyword) is not None:
            setattr(view, keyword, ds.get(keyword))
    view.PixelData = value
    view["PixelData"].VR, view["PixelData"].is_undefined_length = "OB", True
    return view


def _decode(view: Dataset, syntax: UID,
            indices: list[int] | None = None) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
    """Frames as the codestream holds them: no colour conversion, no masking of unused bits."""
    try:
        check_frames(view, indices, syntax)
    except CodestreamTooLarge as exc:
        raise HiddenBitsDecodeError(f"the pixel data cannot be decoded to check the bits above High Bit: "
                                    f"{exc}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield from get_decoder(syntax).iter_array(view, indices=indices, **_RAW)
    except Exception as exc:  # noqa: BLE001 - a third-party decoder may raise anything on a hostile codestream
        raise HiddenBitsDecodeError(f"the pixel data cannot be decoded to check the bits above High Bit "
                                    f"({syntax.name}: {type(exc).__name__})") from None


def _encapsulated(ds: Dataset, element: memoryview, header: int, lay: PixelLayout, syntax: UID,
                  max_megapixels: float) -> HiddenBits | None:
    megapixels = lay.rows * lay.columns * lay.frames / 1e6
    if megapixels > max_megapixels:
        raise HiddenBitsBudgetError(f"checking the bits above High Bit would decode {megapixels:,.1f} "
                                    f"megapixels; the limit is {max_megapixels:,.1f}")
    value = bytes(element[header:])
    view = _view(ds, syntax, value)
    keep = lay.frame_cells * lay.frames * (lay.allocated // 8) <= KEEP_DECODED_BYTES
    decoded: dict[int, np.ndarray] = {}
    hidden, count = False, 0
    props: dict[str, Any] = {}  # the last frame's decoding properties, for the re-encoding
    for index, (arr, frame_props) in enumerate(_decode(view, syntax)):
        count += 1
        props = frame_props
        if arr.dtype.kind not in "ui" or arr.dtype.itemsize != lay.allocated // 8:
            raise HiddenBitsDecodeError(f"the frames decode to {arr.dtype} samples, not the "
                                        f"{lay.allocated}-bit cells the attributes say ({syntax.name})")
        hidden = hidden or _hidden(_unsigned(arr), lay)
        if keep:
            decoded[index] = arr
    if count != lay.frames:
        raise HiddenBitsDecodeError(f"the pixel data holds {count} frames, Number of Frames says {lay.frames}")
    if not hidden:
        return None
    return _reencode(ds, view, value, lay, syntax, decoded, props)


def _frame_arrays(view: Dataset, syntax: UID, lay: PixelLayout,
                  decoded: dict[int, np.ndarray]) -> Iterator[tuple[np.ndarray, bool, int, set[int]]]:
    """Per frame: the cleared samples (the decoded dtype), whether any cell changed, and the
    pixels and frame with hidden bits; frames not kept from the check are decoded again."""
    missing = [i for i in range(lay.frames) if i not in decoded]
    again = _decode(view, syntax, missing) if missing else iter(())
    interleaved = replace(lay, planar=0)  # decoded frames are always interleaved
    for index in range(lay.frames):
        arr = decoded.pop(index) if index in decoded else next(again)[0]
        cells = _unsigned(arr)
        clean = _canonical(cells, lay)
        pixels, frames = _count(_anomalous(cells, lay), interleaved, index)
        yield clean.view(arr.dtype), not np.array_equal(clean, cells), pixels, frames


def _reencode(ds: Dataset, view: Dataset, value: bytes, lay: PixelLayout, syntax: UID,
              decoded: dict[int, np.ndarray], props: dict[str, Any]) -> HiddenBits:
    offsets, lengths = ds.get("ExtendedOffsetTable"), ds.get("ExtendedOffsetTableLengths")
    # The tables are OV (PS3.3 C.7.6.3.1.8): bytes. A hostile file may give them another VR, and
    # bytes(n) of a number would allocate n zero bytes.
    extended = (offsets, lengths) if isinstance(offsets, bytes) and isinstance(lengths, bytes) and offsets else None
    try:
        originals = list(pydicom.encaps.generate_frames(
            value, number_of_frames=lay.frames, extended_offsets=extended))
    except Exception:  # noqa: BLE001 - hostile offsets and items (struct.error, OverflowError...)
        originals = []
    lossy = _lossy(syntax, originals[0] if originals else b"")
    photometric = str(props.get("photometric_interpretation") or ds.get("PhotometricInterpretation") or "").strip()
    if photometric == "YBR_FULL_422":
        photometric = "YBR_FULL"  # decoded full resolution: not the subsampled layout (PS3.3 C.7.6.3.1.2)
    source_photometric = str(ds.get("PhotometricInterpretation") or "").strip()
    targets: list[UID] = []
    if not lossy:
        same = _REENCODE_AS.get(syntax)
        if same is not None and get_encoder(same).is_available:
            targets.append(same)
        if RLELossless not in targets and get_encoder(RLELossless).is_available:
            targets.append(RLELossless)
    targets.append(ExplicitVRLittleEndian)
    for target in targets:
        encode_as = "YBR_RCT" if target == JPEG2000Lossless and source_photometric == "YBR_RCT" else photometric
        try:
            element, extra, pixels, frames = _write(view, syntax, lay, decoded, originals, target,
                                                    encode_as, keep_original=target == syntax)
            break
        except HiddenBitsError:
            raise
        except Exception:  # noqa: BLE001 - a third-party encoder may raise anything: try the next target
            if target == ExplicitVRLittleEndian:
                raise HiddenBitsDecodeError("the cleared pixel data could not be written") from None
    attributes: dict[str, object] = {name: None for name in ("ExtendedOffsetTable", "ExtendedOffsetTableLengths")
                                     if ds.get(name) is not None}
    attributes.update(extra)
    if encode_as != source_photometric:
        attributes["PhotometricInterpretation"] = encode_as
    if lay.samples > 1:
        attributes["PlanarConfiguration"] = 1 if target == RLELossless else 0  # PS3.5 G.2, 8.2
    if lossy and str(ds.get("LossyImageCompression", "") or "").strip() != "01":
        attributes["LossyImageCompression"] = "01"  # PS3.3 C.7.6.1.1.5: once lossy, always "01"
        if not ds.get("LossyImageCompressionMethod") and syntax in _LOSSY_METHOD:
            attributes["LossyImageCompressionMethod"] = _LOSSY_METHOD[syntax]
    how = (f"the lossy {syntax.name} source was decoded and written uncompressed ({target.name})" if lossy
           else f"the changed frames were re-encoded losslessly ({target.name})" if target == syntax
           else f"decoded and written uncompressed ({target.name})" if not target.is_encapsulated
           else f"decoded and re-encoded losslessly as {target.name} (no {syntax.name} encoder)")
    return HiddenBits(element, str(target), attributes, _describe(lay, pixels, frames, how), pixels,
                      frames, True, lossy)


def _write(view: Dataset, syntax: UID, lay: PixelLayout, decoded: dict[int, np.ndarray],
           originals: list[bytes], target: UID, photometric: str,
           keep_original: bool) -> tuple[bytes, dict[str, object], int, int]:
    pixels, frames = 0, set[int]()
    if target.is_encapsulated:
        # RLE codes whole cells (and pydicom packs samples of at most 8 stored bits into single
        # bytes, which breaks 16-bit RLE). JPEG-LS has no sign: signed cells are coded whole,
        # sign-extended, so no decoder finds unused bits that differ from the sign bit.
        whole = target == RLELossless or (lay.signed and target in (JPEGLSLossless, JPEGLSNearLossless))
        stored = lay.allocated if whole else lay.stored
        options = dict(rows=lay.rows, columns=lay.columns, samples_per_pixel=lay.samples,
                       number_of_frames=1, bits_allocated=lay.allocated, bits_stored=stored,
                       pixel_representation=int(lay.signed), photometric_interpretation=photometric,
                       planar_configuration=0)
        fragments: list[bytes] = []
        for index, (clean, changed, count, hit) in enumerate(_frame_arrays(view, syntax, lay, dict(decoded))):
            pixels, frames = pixels + count, frames | hit
            if keep_original and not changed and len(originals) == lay.frames:
                fragments.append(originals[index])
            else:
                fragments.append(_encode_verified(target, clean, lay, options))
        element, extra = _encapsulated_element(fragments)
        return element, extra, pixels, len(frames)
    out = bytearray()
    for clean, _changed, count, hit in _frame_arrays(view, syntax, lay, dict(decoded)):
        pixels, frames = pixels + count, frames | hit
        out += clean.astype(clean.dtype.newbyteorder("<"), copy=False).tobytes()
    return _native_element(bytes(out), lay.allocated), {}, pixels, len(frames)


def _encode_verified(target: UID, clean: np.ndarray, lay: PixelLayout, options: dict[str, Any]) -> bytes:
    """One frame encoded, then decoded again: the stored bits must come back, and nothing
    outside them (a lossless re-encode is checked, not assumed)."""
    extra: dict[str, Any] = {"jls_error": 0} if target == JPEGLSNearLossless else {}
    encoded = get_encoder(target).encode(clean, **options, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back, _ = get_decoder(target).as_array(pydicom.encaps.encapsulate([encoded]), **_RAW, **options)
    cells, expected = _unsigned(back).reshape(-1), _unsigned(clean).reshape(-1)
    if (cells.dtype.itemsize != expected.dtype.itemsize or _hidden(cells, lay)
            or not np.array_equal(_canonical(cells, lay), _canonical(expected, lay))):
        raise ValueError("the re-encoded frame does not decode to the same samples")
    return encoded


def _describe(lay: PixelLayout, pixels: int, frames: int, how: str) -> str:
    outside = f"bits outside the {lay.stored} stored bits (High Bit {lay.high})"
    became = "set to the sign bit (signed samples)" if lay.signed else "zeroed"
    text = (f"{outside} were set in {pixels:,} pixel{'s' if pixels != 1 else ''} of {frames:,} "
            f"frame{'s' if frames != 1 else ''}: {became} (PS3.5 8.1.1)")
    return f"{text}; {how}" if how else text


# -- the entry point ------------------------------------------------------------------------------
def clear_hidden_bits(ds: Dataset, pixel_element: bytes | memoryview, transfer_syntax: str,
                      implicit: bool, little: bool, *,
                      max_megapixels: float = MAX_DECODE_MEGAPIXELS) -> HiddenBits | None:
    """The Pixel Data element with every bit outside Bits Stored cleared, or ``None`` when no
    cell has one (then the original bytes are to be copied unchanged). PS3.5 8.1.1.

    ``ds`` holds the Image Pixel attributes (PS3.3 C.7.6.3; raw elements are fine),
    ``pixel_element`` the whole raw element as read (tag, VR, length, value, and for
    encapsulated data its items and delimiter), ``transfer_syntax``/``implicit``/``little``
    how it is encoded. Raises :class:`HiddenBitsBudgetError` or :class:`HiddenBitsDecodeError`
    (both :class:`HiddenBitsError`) when an encapsulated source cannot be checked.
    """
    lay = pixel_layout(ds)
    if lay is None:
        return None
    element = memoryview(pixel_element).cast("B")
    split = _split(element, implicit, little)
    if split is None:
        return None
    header, length = split
    if length != _UNDEFINED:
        try:
            return _native(element, header, length, lay, str(transfer_syntax), little)
        except (ValueError, TypeError):  # a layout numpy cannot view: left alone
            return None
    return _encapsulated(ds, element, header, lay, UID(str(transfer_syntax)), max_megapixels)
