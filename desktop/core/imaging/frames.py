"""Decode one frame of an instance with pydicom's pixel backends (pylibjpeg, pillow, RLE).

Colour comes out as RGB: YBR_FULL / YBR_FULL_422 / YBR_ICT / YBR_RCT are converted by pydicom
(PS3.3 C.7.6.3.1.2), planar configuration 1 is interleaved, and PALETTE COLOR is looked up
through its palette (PS3.3 C.7.6.3.1.5). Anything that cannot be decoded raises
:class:`DecodeError` with a reason a person can act on, never a patient identifier.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pydicom
import pydicom.pixels
from pydicom.dataset import Dataset
from pydicom.uid import UID

from desktop.core.common.errors import VeilError
from desktop.core.dicom.codestream_size import CodestreamTooLarge, check_frames
from desktop.core.dicom.encoding import implied_transfer_syntax

#: A frame claiming more than this is refused before any decoder allocates it (a 65535 x 65535
#: header on a few bytes of data would otherwise ask for gigabytes).
MAX_FRAME_BYTES = 1 << 30


class DecodeError(VeilError):
    """The pixels of this image cannot be shown; the message says why."""


def read_image(data: bytes) -> Dataset:
    """The full dataset of a stored original (pixel data included)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data), force=True)
    except Exception as exc:  # noqa: BLE001 - pydicom on a hostile file raises many kinds: refuse it
        raise DecodeError(f"the file cannot be read ({type(exc).__name__})") from None
    if "TransferSyntaxUID" not in ds.file_meta and ds.is_little_endian is not None:
        # No File Meta Information (ACR-NEMA style): the syntax is how it was read.
        ds.file_meta.TransferSyntaxUID = implied_transfer_syntax(ds)
    return ds


def frame_count(ds: Dataset) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames") or 1))
    except (TypeError, ValueError):
        return 1


def _syntax_name(ds: Dataset) -> str:
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    return UID(uid).name if uid else "unknown transfer syntax"


def _palette_to_rgb8(rgb: np.ndarray, ds: Dataset) -> np.ndarray:
    """Palette entries are 8 or 16 bits (the descriptor's third value, PS3.3 C.7.6.3.1.5)."""
    try:
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    except (AttributeError, IndexError, TypeError, ValueError):
        bits = 16 if rgb.dtype != np.uint8 else 8
    if bits <= 8:
        return rgb.astype(np.uint8)
    scaled: np.ndarray = np.rint(rgb.astype(np.float32) * (255.0 / ((1 << bits) - 1))).astype(np.uint8)
    return scaled


def _stored_bits(arr: np.ndarray, ds: Dataset) -> np.ndarray:
    """Only the Bits Stored bits carry the sample value (PS3.5 8.1.1); the others are cleared,
    or copy the sign bit for signed samples. pydicom does this for native, RLE and JPEG data
    but not for a JPEG-LS or JPEG 2000 codestream whose precision exceeds Bits Stored, where
    a retired overlay (PS3.5 8.1.2) could otherwise show, text included, in views and exports."""
    width = arr.dtype.itemsize * 8
    try:
        bits = int(ds.get("BitsStored") or width)
    except (TypeError, ValueError):
        return arr
    if arr.dtype.kind in "ui" and 0 < bits < width:
        arr = arr if arr.flags.writeable else arr.copy()
        np.left_shift(arr, width - bits, out=arr)
        np.right_shift(arr, width - bits, out=arr)  # arithmetic for signed dtypes
    return arr


def decode_frame(ds: Dataset, index: int) -> np.ndarray:
    """Frame ``index`` as stored values: (rows, cols) for grey, (rows, cols, 3) RGB for colour."""
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise DecodeError("this instance holds no image (no Pixel Data)")
    count = frame_count(ds)
    if not 0 <= index < count:
        raise DecodeError(f"frame {index + 1} does not exist (the image has {count})")
    try:
        size = (int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel") or 1)
                * max(1, int(ds.get("BitsAllocated") or 8) // 8))
    except (AttributeError, TypeError, ValueError):
        raise DecodeError("the image size attributes (Rows, Columns) are missing or invalid") from None
    if size > MAX_FRAME_BYTES:
        raise DecodeError(f"one frame would take {size >> 20} MiB of memory; Veil refuses frames "
                          f"over {MAX_FRAME_BYTES >> 20} MiB")
    try:
        check_frames(ds, [index])
    except CodestreamTooLarge as exc:
        raise DecodeError(f"the pixel data cannot be decoded: {exc}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = _stored_bits(pydicom.pixels.pixel_array(ds, index=index), ds)
            if str(ds.get("PhotometricInterpretation", "")).strip() == "PALETTE COLOR":
                arr = _palette_to_rgb8(pydicom.pixels.apply_color_lut(arr, ds), ds)
    except Exception as exc:  # noqa: BLE001 - a third-party decoder may raise anything
        raise DecodeError(
            f"the pixel data cannot be decoded ({_syntax_name(ds)}: {type(exc).__name__})"
        ) from None
    if arr.ndim == 3 and arr.shape[-1] != 3:
        raise DecodeError(f"unexpected pixel layout {arr.shape} for one frame")
    return arr
