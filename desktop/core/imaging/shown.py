"""A frame as Veil shows it, as plain pixels: what a slide, a PNG or a key image starts from."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

from desktop.core.common.errors import VeilError
from desktop.core.imaging.display import Window, display_params, render
from desktop.core.imaging.frames import decode_frame


def slide_pixels(ds: Dataset, frame: int, covered: np.ndarray | None = None, window: Window | None = None,
                 invert: bool = False) -> np.ndarray:
    """Frame ``frame`` as Veil displays it (by default, or through ``window``, inverted or
    not), 8-bit grey or RGB, with the ``covered`` pixels (a bool array, rows x columns) black.
    Nothing but pixels: no overlay, no text."""
    pixels = decode_frame(ds, frame)
    params = display_params(ds, frame)
    if pixels.ndim == 2 and pixels.dtype.kind == "u" and 0 < params.bits_stored < pixels.dtype.itemsize * 8:
        pixels = pixels & ((1 << params.bits_stored) - 1)  # bits above Bits Stored (old overlays) never show
    shown = render(pixels, params, window, invert)  # no window in its header: the viewer's auto window
    if covered is not None:
        if covered.shape != shown.shape[:2]:
            raise VeilError("its redaction mask does not fit the image")
        shown = shown.copy()
        shown[covered] = 0
    return np.ascontiguousarray(shown)
