"""The grey-scale display pipeline, as pure numpy steps (PS3.3 C.11, PS3.4 N.2).

stored values -> Modality LUT (rescale slope/intercept, or a Modality LUT Sequence)
              -> VOI (a window: LINEAR, LINEAR_EXACT or SIGMOID; or a VOI LUT Sequence)
              -> MONOCHROME1 inverted -> 8-bit display values

:func:`display_params` reads what the pipeline needs from a dataset once (per frame for an
enhanced multi-frame image, whose functional groups carry rescale and window per frame,
PS3.3 C.7.6.16); :func:`render` runs it. Colour frames pass through, scaled to 8 bits. A
grey frame whose header gives no window is shown through :func:`auto_window` (the viewer, the
series thumbnails and the slide images alike).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.dataset import Dataset


@dataclass(frozen=True)
class Window:
    """A VOI window (PS3.3 C.11.2.1.2): centre and width in modality units."""

    center: float
    width: float
    function: str = "LINEAR"  # LINEAR, LINEAR_EXACT or SIGMOID (C.11.2.1.3)
    name: str = ""


@dataclass(frozen=True)
class LookupTable:
    """A LUT (PS3.3 C.11.1.1): input values below ``first_mapped`` take entry 0."""

    first_mapped: int
    bits: int
    table: np.ndarray

    def apply(self, values: np.ndarray) -> np.ndarray:
        rounded = np.rint(np.nan_to_num(np.asarray(values, dtype=np.float64)))
        index = np.clip(rounded.astype(np.int64) - self.first_mapped, 0, len(self.table) - 1)
        return self.table[index]


@dataclass(frozen=True)
class DisplayParams:
    """Everything the pipeline needs for one frame, read once from the header."""

    photometric: str = "MONOCHROME2"
    slope: float = 1.0
    intercept: float = 0.0
    modality_lut: LookupTable | None = None
    windows: tuple[Window, ...] = ()
    voi_lut: LookupTable | None = None
    bits_stored: int = 8

    @property
    def monochrome1(self) -> bool:
        return self.photometric == "MONOCHROME1"


# -- reading the parameters -------------------------------------------------------------------
def numbers(value: Any) -> list[float]:
    """A DS or IS value as pydicom gives it (a number, a string, or a MultiValue of them)."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [float(v) for v in value]
    return [float(value)]


def _lut(item: Dataset, data_keyword: str, signed: bool, little_endian: bool = True) -> LookupTable | None:
    try:
        descriptor = [int(v) for v in item.LUTDescriptor]
        data = item.get(data_keyword)
        if data is None:
            return None
        entries = descriptor[0] or 65536
        bits = descriptor[2]
        if isinstance(data, (bytes, bytearray)):
            if bits <= 8 and len(data) in (entries, entries + 1):  # 8-bit entries, OW-padded
                table = np.frombuffer(data, dtype=np.uint8)[:entries].astype(np.float32)
            else:  # one 16-bit word per entry, in the file's byte order
                words = np.frombuffer(data[: len(data) // 2 * 2], dtype="<u2" if little_endian else ">u2")
                table = words.astype(np.float32)
        else:
            table = np.asarray(list(data), dtype=np.float32)
        first = descriptor[1]
        if signed and first >= 32768:  # SS when the image's pixels are signed (C.11.1.1)
            first -= 65536
        return LookupTable(first, bits, table[:entries])
    except Exception:  # noqa: BLE001 - a hostile LUT (lazy conversion, numpy) is ignored
        return None


def _windows(item: Dataset) -> tuple[Window, ...]:
    try:
        centers = numbers(item.get("WindowCenter"))
        widths = numbers(item.get("WindowWidth"))
    except (TypeError, ValueError):
        return ()
    names = item.get("WindowCenterWidthExplanation") or []
    if isinstance(names, str):
        names = [names]
    function = str(item.get("VOILUTFunction", "LINEAR") or "LINEAR").strip().upper()
    out = []
    for i, (c, w) in enumerate(zip(centers, widths)):
        if w > 0:
            out.append(Window(c, w, function, str(names[i]) if i < len(names) else ""))
    return tuple(out)


def functional_group(ds: Dataset, index: int, keyword: str) -> Dataset | None:
    """A functional group macro for frame ``index``: per-frame first, then shared."""
    for seq_keyword, i in (("PerFrameFunctionalGroupsSequence", index), ("SharedFunctionalGroupsSequence", 0)):
        seq = ds.get(seq_keyword)
        if seq and len(seq) > i and keyword in seq[i] and len(seq[i][keyword].value):
            item: Dataset = seq[i][keyword].value[0]
            return item
    return None


def display_params(ds: Dataset, index: int = 0) -> DisplayParams:
    """Rescale, Modality LUT, windows and VOI LUT for frame ``index`` of ``ds``."""
    rescale_source: Dataset = ds
    voi_source: Dataset = ds
    transform = functional_group(ds, index, "PixelValueTransformationSequence")
    if transform is not None:
        rescale_source = transform
    frame_voi = functional_group(ds, index, "FrameVOILUTSequence")
    if frame_voi is not None:
        voi_source = frame_voi
    slope = numbers(rescale_source.get("RescaleSlope")) or [1.0]
    intercept = numbers(rescale_source.get("RescaleIntercept")) or [0.0]
    signed = int(ds.get("PixelRepresentation") or 0) == 1
    little = ds.is_little_endian is not False
    modality_lut = None
    if "ModalityLUTSequence" in ds and ds.ModalityLUTSequence:
        modality_lut = _lut(ds.ModalityLUTSequence[0], "LUTData", signed, little)
    voi_lut = None
    if "VOILUTSequence" in voi_source and voi_source.VOILUTSequence:
        # The VOI LUT's input is the modality output: signed when a rescale can make it
        # negative, whatever the stored pixels are (PS3.3 C.11.2.1.1).
        voi_signed = signed or (intercept[0] < 0 if modality_lut is None else modality_lut.first_mapped < 0)
        voi_lut = _lut(voi_source.VOILUTSequence[0], "LUTData", voi_signed, little)
    return DisplayParams(
        photometric=str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip(),
        slope=slope[0] or 1.0,
        intercept=intercept[0],
        modality_lut=modality_lut,
        windows=_windows(voi_source),
        voi_lut=voi_lut,
        bits_stored=int(ds.get("BitsStored") or 8),
    )


# -- the steps ------------------------------------------------------------------------------------
def modality_values(stored: np.ndarray, params: DisplayParams) -> np.ndarray:
    """Stored values to modality values (e.g. Hounsfield units), PS3.3 C.11.1."""
    if params.modality_lut is not None:
        return params.modality_lut.apply(stored).astype(np.float32)
    values = stored.astype(np.float32)
    if params.slope != 1.0:
        values *= np.float32(params.slope)
    if params.intercept != 0.0:
        values += np.float32(params.intercept)
    return values


def apply_window(values: np.ndarray, window: Window) -> np.ndarray:
    """Modality values to 0..255 through a window (PS3.3 C.11.2.1.2.1 and C.11.2.1.3)."""
    c, w = float(window.center), float(window.width)
    if window.function == "SIGMOID":
        out = 255.0 / (1.0 + np.exp(-4.0 * (values - c) / w))
    elif window.function == "LINEAR_EXACT":
        out = np.clip((values - c) / w + 0.5, 0.0, 1.0) * 255.0
    elif w <= 1.0:  # LINEAR with width 1 is a threshold at c - 0.5
        out = np.where(values > c - 0.5, 255.0, 0.0)
    else:
        out = np.clip((values - (c - 0.5)) / (w - 1.0) + 0.5, 0.0, 1.0) * 255.0
    return np.rint(np.nan_to_num(out)).astype(np.uint8)


def full_range_window(values: np.ndarray) -> Window:
    """A window spanning the data, for images whose header gives none."""
    if values.size == 0 or not np.isfinite(values).any():
        return Window(0.5, 2.0, "LINEAR", "full range")
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    return Window((lo + hi) / 2.0 + 0.5, max(hi - lo + 1.0, 2.0), "LINEAR", "full range")


#: The automatic window spans the data from this percentile to its mirror (0.5th to 99.5th).
AUTO_PERCENTILE = 0.5
#: The automatic window reads at most about this many values (an even sample of larger frames:
#: plenty for a 0.5th percentile, and a few milliseconds even for a 4,000 x 4,000 radiograph).
AUTO_SAMPLE = 1 << 16
#: The pixels other than those at the two extreme values must be at least this share of the
#: frame for the extremes to be left out of the automatic window.
AUTO_REST_SHARE = 0.01


def auto_window(values: np.ndarray) -> Window:
    """A window over the bulk of the data, for images whose header gives none.

    The pixels at exactly the lowest and the highest value are left out first (when the others
    are at least :data:`AUTO_REST_SHARE` of the frame and have a range): a redaction burned with
    the darkest stored value (-32768 on a signed CT, the highest value on MONOCHROME1), a
    padding value outside the scanned field, or a saturated area would otherwise stretch the
    grey scale over nothing and wash the picture out. The window then spans the 0.5th to the
    99.5th percentile of the rest, so a few stray bright or dark pixels do not either; the left
    out pixels show black (or white), as they should. Frames larger than :data:`AUTO_SAMPLE`
    are read through an even sample. Falls back to :func:`full_range_window` for flat data.
    """
    flat = np.asarray(values).ravel()
    if flat.size > AUTO_SAMPLE:
        flat = flat[:: -(-flat.size // AUTO_SAMPLE)]
    finite = flat[np.isfinite(flat)] if flat.dtype.kind == "f" else flat
    if finite.size == 0:
        return full_range_window(values)
    lo, hi = float(finite.min()), float(finite.max())
    rest = finite[(finite > lo) & (finite < hi)]
    if rest.size >= max(1, AUTO_REST_SHARE * finite.size) and float(rest.max()) - float(rest.min()) >= 1.0:
        finite = rest
    low, high = (float(v) for v in np.percentile(finite, [AUTO_PERCENTILE, 100.0 - AUTO_PERCENTILE]))
    if high - low < 1.0:
        return full_range_window(values)
    # the same convention as full_range_window: ``low`` shows black and ``high`` white (LINEAR)
    return Window((low + high) / 2.0 + 0.5, high - low + 1.0, "LINEAR", "auto")


def default_window(values: np.ndarray, params: DisplayParams) -> Window:
    """The header's first window, else :func:`auto_window` of the frame."""
    return params.windows[0] if params.windows else auto_window(values)


def _color_to_8bit(frame: np.ndarray, bits_stored: int) -> np.ndarray:
    if frame.dtype == np.uint8:
        return frame
    top = float((1 << bits_stored) - 1) if bits_stored else float(frame.max() or 1)
    scaled: np.ndarray = np.rint(np.clip(frame.astype(np.float32) / top, 0.0, 1.0) * 255.0).astype(np.uint8)
    return scaled


def render(frame: np.ndarray, params: DisplayParams, window: Window | None = None,
           invert: bool = False) -> np.ndarray:
    """One decoded frame to display values: uint8 (rows, cols) or (rows, cols, 3).

    ``window`` overrides the header's VOI (a user dragging); ``invert`` is the user's
    invert toggle, on top of MONOCHROME1's own inversion.
    """
    if frame.ndim == 3:  # RGB (YBR and palette were converted when decoding)
        out = _color_to_8bit(frame, params.bits_stored if frame.dtype != np.uint8 else 8)
        return 255 - out if invert else out
    values = modality_values(frame, params)
    if window is None and params.voi_lut is not None:
        top = float((1 << params.voi_lut.bits) - 1)
        shown = np.rint(params.voi_lut.apply(values) / top * 255.0).clip(0, 255).astype(np.uint8)
    else:
        shown = apply_window(values, window or default_window(values, params))
    if params.monochrome1 != invert:
        shown = 255 - shown
    return shown
