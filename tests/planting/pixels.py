"""Planting the identity in pixel data: burned-in banners, bits above High Bit, codestream
comments; and :func:`plant_file`, which plants everything.

Part of :mod:`tests.planting`.
"""


from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import pydicom.config
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.pixels.utils import get_nr_frames
from pydicom.uid import (
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from tests.planting.graphics import (
    plant_curve,
    plant_icons,
    plant_overlays,
    plant_pixel_overlay_header,
    text_alpha,
    text_bitmap,
)
from tests.planting.header import plant_file_meta, plant_header
from tests.planting.identity import FONT_MONO, PATIENT, Identity, written

LOSSLESS_ENCODABLE = {RLELossless, JPEGLSLossless, JPEG2000Lossless}
_NATIVE = {ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian}
_JPEG_FAMILY = {JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLossless, JPEGLosslessSV1, JPEGLSLossless,
                JPEGLSNearLossless}
_J2K_FAMILY = {JPEG2000, JPEG2000Lossless}


def _syntax(ds: Dataset) -> UID:
    return UID(str(ds.file_meta.TransferSyntaxUID))


def decoded_frames(ds: Dataset) -> np.ndarray:
    """Every frame as stored values (colour as RGB), shape (frames, rows, cols[, 3])."""
    arr = pydicom.pixels.pixel_array(ds)
    frames = get_nr_frames(ds)
    if frames == 1:
        arr = arr[np.newaxis]
    return arr


def _write_pixels(ds: Dataset, arr: np.ndarray, photometric: str | None = None,
                  bits_stored: int | None = None, encode_bits: int | None = None) -> None:
    """Write ``arr`` (frames, rows, cols[, 3]) back: losslessly re-encoded in the file's own
    syntax when pydicom can, else native (Explicit VR Little Endian for a compressed source, the
    source's own syntax for a native one). ``encode_bits``: encode with this Bits Stored (room for
    planted high bits), then write ``bits_stored`` in the header."""
    syntax = _syntax(ds)
    frames = arr.shape[0]
    if photometric:
        ds.PhotometricInterpretation = photometric
    if arr.ndim == 4:
        ds.SamplesPerPixel = 3
        ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = int(arr.shape[1]), int(arr.shape[2])
    if frames > 1 or "NumberOfFrames" in ds:
        ds.NumberOfFrames = frames
    final_bits = bits_stored if bits_stored is not None else int(ds.BitsStored)
    single = arr[0] if frames == 1 else arr
    if syntax in LOSSLESS_ENCODABLE and not (syntax == JPEG2000Lossless and arr.ndim == 4):
        ds.BitsStored = encode_bits or final_bits
        ds.HighBit = ds.BitsStored - 1
        ds.compress(syntax, single, generate_instance_uid=False)
    elif syntax in _NATIVE:
        big = syntax == ExplicitVRBigEndian
        data = single.astype(single.dtype.newbyteorder(">")).tobytes() if big else single.tobytes()
        if len(data) % 2:
            data += b"\x00"
        ds.PixelData = data
        ds["PixelData"].VR = "OW" if int(ds.BitsAllocated) > 8 else "OB"
        ds["PixelData"].is_undefined_length = False
    else:  # no lossless encoder for this syntax (JPEG baseline/extended/process 14, lossy J2K)
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.PixelData = single.tobytes() + (b"\x00" if single.nbytes % 2 else b"")
        ds["PixelData"].VR = "OW" if int(ds.BitsAllocated) > 8 else "OB"
        ds["PixelData"].is_undefined_length = False
        for kw in ("ExtendedOffsetTable", "ExtendedOffsetTableLengths"):
            if kw in ds:
                del ds[kw]
        if syntax in (JPEGBaseline8Bit, JPEGExtended12Bit, JPEG2000, JPEGLSNearLossless):
            ds.LossyImageCompression = "01"
    ds.BitsStored = final_bits
    ds.HighBit = final_bits - 1


def _luma_palette_extremes(ds: Dataset) -> tuple[int, int]:
    """The palette indices that show darkest and brightest."""
    from pydicom.pixels import apply_color_lut

    first = int(ds.RedPaletteColorLookupTableDescriptor[1])
    entries = int(ds.RedPaletteColorLookupTableDescriptor[0]) or 65536
    indices = np.arange(first, first + entries, dtype=np.uint16 if int(ds.BitsAllocated) > 8 else np.uint8)
    rgb = apply_color_lut(indices.astype(np.uint16 if int(ds.BitsAllocated) > 8 else np.uint8), ds).astype(float)
    luma = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    return int(indices[int(np.argmin(luma))]), int(indices[int(np.argmax(luma))])


BANNER_FONT_SIZE = 14
BANNER_LINE = 19


def burn_banner(ds: Dataset, lines: Iterable[str] | None = None, p: Identity = PATIENT,
                min_columns: int = 420, max_frames: int | None = None) -> None:
    """Burn ``lines`` (by default the identity's banner) into every frame, on a plain band at the
    top, the way consoles do: bright anti-aliased text on the darkest value. Images too small to
    hold the banner get a band added above them (the picture below is kept as it was).
    ``max_frames``: keep only the first frames of a long cine (a faster test, the same kind)."""
    lines = tuple(lines or p.banner_lines())
    band = 8 + BANNER_LINE * len(lines)
    frames = decoded_frames(ds)
    if max_frames is not None and frames.shape[0] > max_frames:
        frames = frames[:max_frames]
        if "FrameTimeVector" in ds:  # would no longer match the frames (PS3.3 C.7.6.5)
            del ds.FrameTimeVector
    photometric = str(ds.PhotometricInterpretation)
    colour = frames.ndim == 4
    if colour and photometric != "RGB":
        photometric = "RGB"  # pydicom decodes YBR to RGB
    count, rows, columns = frames.shape[:3]
    dark = _dark_value(ds, frames)
    if rows < band + 32 or columns < min_columns:
        new_cols = max(columns, min_columns)
        shape = (count, band + rows, new_cols) + frames.shape[3:]
        canvas = np.empty(shape, frames.dtype)
        canvas[...] = dark
        canvas[:, band:, :columns] = frames
        frames = canvas
    else:
        frames = frames.copy()
        frames[:, :band] = dark
    rows, columns = frames.shape[1:3]
    alpha = text_alpha(lines, rows, columns, size=BANNER_FONT_SIZE, top=4, left=6, line_height=BANNER_LINE,
                       font=FONT_MONO)
    bright = _bright_value(ds, frames)
    if photometric == "PALETTE COLOR":  # indices cannot be blended
        frames[:, alpha >= 0.5] = bright
    else:
        a = alpha[np.newaxis, ..., np.newaxis] if colour else alpha[np.newaxis]
        blended = frames.astype(np.float64) * (1 - a) + np.asarray(bright, np.float64) * a
        frames = np.rint(blended).astype(frames.dtype)
    _write_pixels(ds, frames, photometric=photometric)
    ds.BurnedInAnnotation = "NO"  # as many consoles write it: only the pixels tell


def _dark_value(ds: Dataset, frames: np.ndarray) -> object:
    photometric = str(ds.PhotometricInterpretation)
    if photometric == "PALETTE COLOR":
        return _luma_palette_extremes(ds)[0]
    if frames.ndim == 4:
        return np.zeros(3, frames.dtype)
    return frames.max() if photometric == "MONOCHROME1" else frames.min()


def _bright_value(ds: Dataset, frames: np.ndarray) -> object:
    photometric = str(ds.PhotometricInterpretation)
    if photometric == "PALETTE COLOR":
        return _luma_palette_extremes(ds)[1]
    if frames.ndim == 4:
        return np.full(3, np.iinfo(frames.dtype).max >> (8 * frames.dtype.itemsize - int(ds.BitsStored)),
                       frames.dtype)
    return frames.min() if photometric == "MONOCHROME1" else frames.max()


HIDDEN_BIT = 13
HIDDEN_BITS_STORED = 12


def can_hide_bits(ds: Dataset) -> bool:
    """Grey 16-bit pixels, native or in a syntax pydicom re-encodes losslessly."""
    return (int(ds.get("BitsAllocated") or 0) == 16 and int(ds.get("SamplesPerPixel") or 1) == 1
            and str(ds.get("PhotometricInterpretation", "")).startswith("MONOCHROME")
            and (_syntax(ds) in _NATIVE or _syntax(ds) in LOSSLESS_ENCODABLE))


def hidden_bitmap(rows: int, columns: int, p: Identity = PATIENT) -> np.ndarray:
    size = max(6, min(18, columns // 22))
    lines = [f"{p.family.upper()} {p.given.upper()}", p.patient_id, f"DOB {written(p.birth, 'dd-MON-yy')}"]
    return text_bitmap(lines, rows, columns, size=size, line_height=size + 3)


def plant_hidden_bits(ds: Dataset, p: Identity = PATIENT, bit: int = HIDDEN_BIT,
                      bits_stored: int = HIDDEN_BITS_STORED) -> None:
    """A bitmap of the patient's name and ID in bit ``bit`` of every 16-bit sample, Bits Stored
    ``bits_stored`` (values clipped into it), written natively or losslessly re-encoded (the
    codestream keeps all 16 bits). A retired overlay header points at the bit plane."""
    if not can_hide_bits(ds):
        raise ValueError("hidden bits are planted in grey 16-bit native or losslessly encodable images")
    frames = decoded_frames(ds).astype(np.int32)
    signed = int(ds.PixelRepresentation) == 1
    lo, hi = (-(1 << (bits_stored - 1)), (1 << (bits_stored - 1)) - 1) if signed else (0, (1 << bits_stored) - 1)
    # Keep the picture: scale the stored range into the new one when it does not fit.
    fmin, fmax = int(frames.min()), int(frames.max())
    if fmin < lo or fmax > hi:
        span = max(1, fmax - fmin)
        frames = lo + (frames - fmin) * (hi - lo) // span
    count, rows, columns = frames.shape
    mark = hidden_bitmap(rows, columns, p).astype(np.int32) << bit
    words = (frames & 0xFFFF) ^ mark[np.newaxis]  # sign-extension bits flipped, or zero bits set
    dtype = np.int16 if signed else np.uint16
    out = words.astype(np.uint16).view(dtype)
    _write_pixels(ds, out, bits_stored=bits_stored, encode_bits=16)
    if "SmallestImagePixelValue" in ds:
        del ds.SmallestImagePixelValue
    if "LargestImagePixelValue" in ds:
        del ds.LargestImagePixelValue
    plant_pixel_overlay_header(ds, bit, p)


def _jpeg_comment(text: bytes) -> bytes:
    return b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text


def _j2k_comment(text: bytes) -> bytes:
    return b"\xff\x64" + struct.pack(">HH", len(text) + 4, 1) + text


def plant_codestream_comments(ds: Dataset, p: Identity = PATIENT) -> bool:
    """A comment segment with the identity in every frame's codestream (JPEG / JPEG-LS COM
    after SOI, JPEG 2000 COM before the first tile); False for other syntaxes."""
    syntax = _syntax(ds)
    if syntax not in _JPEG_FAMILY and syntax not in _J2K_FAMILY:
        return False
    text = f"Patient {p.dicom_name} ID {p.patient_id} DOB {p.dob}".encode("ascii")
    frames = []
    for frame in generate_frames(ds.PixelData, number_of_frames=get_nr_frames(ds)):
        if syntax in _JPEG_FAMILY:
            if not frame.startswith(b"\xff\xd8"):
                raise ValueError("not a JPEG codestream")
            frame = frame[:2] + _jpeg_comment(text) + frame[2:]
        else:
            start = frame.find(b"\xff\x4f\xff\x51")  # SOC SIZ (a JP2 file: the codestream box)
            sot = frame.find(b"\xff\x90", start)
            if start < 0 or sot < 0:
                raise ValueError("not a JPEG 2000 codestream")
            frame = frame[:sot] + _j2k_comment(text) + frame[sot:]
        frames.append(frame)
    ds.PixelData = encapsulate(frames)
    ds["PixelData"].is_undefined_length = True
    for kw in ("ExtendedOffsetTable", "ExtendedOffsetTableLengths"):
        if kw in ds:
            del ds[kw]
    return True


# =============================================================================================
# A whole planted file
# =============================================================================================
@dataclass
class Planted:
    path: Path
    source: Path
    planted: list[str]  # what was planted, for the reports


def plant_file(source: Path, out_dir: Path, p: Identity = PATIENT, *, header: bool = True,
               overlays: bool = True, icons: bool = True, curves: bool = True, hidden_bits: bool = True,
               comments: bool = True, banner: bool = False, name: str | None = None,
               max_frames: int | None = None) -> Planted:
    """Read ``source``, plant what is asked (what the file can take), write it to ``out_dir``."""
    ds = pydicom.dcmread(source)
    done = []
    has_pixels = "PixelData" in ds
    if banner and has_pixels:
        burn_banner(ds, p=p, max_frames=max_frames)
        done.append("banner")
    if hidden_bits and has_pixels and can_hide_bits(ds):
        plant_hidden_bits(ds, p)
        done.append("hidden-bits")
    if comments and has_pixels and _syntax(ds).is_encapsulated and plant_codestream_comments(ds, p):
        done.append("codestream-comment")
    if header:
        plant_header(ds, p)
        plant_file_meta(ds, p)
        done.append("header")
    if overlays and has_pixels:
        plant_overlays(ds, p)
        done.append("overlays")
    if curves:
        plant_curve(ds, p)
        done.append("curve")
    if icons:
        plant_icons(ds, p)
        done.append("icons")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / (name or f"{source.stem}.planted.dcm")
    if header:
        ds.preamble = f"{p.dicom_name} {p.patient_id} {p.dob}".encode("ascii").ljust(128, b" ")
    ds.save_as(path, enforce_file_format=True)
    return Planted(path, source, done)


# =============================================================================================
# The scanner
# =============================================================================================
