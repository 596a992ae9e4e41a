"""What the viewer shows of one open series: which frame, through which window, inverted or not.

No Qt here: the window drives a :class:`SeriesView` and the viewport paints what
:meth:`SeriesView.rendered` returns, so the tests can check pixels without a screen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from desktop.app.common.log_policy import describe_unexpected
from desktop.app.viewer.viewing import OpenSeries
from desktop.core.common.errors import VeilError
from desktop.core.imaging.display import DisplayParams, Window, default_window, modality_values, render
from desktop.core.imaging.transform import apply_view, source_pixel

log = logging.getLogger("veil.ui")

#: Dragging across this many screen pixels changes the window by its own width (OHIF and Horos
#: scale the drag by the window width): a brain window (W 80) moves about 0.3 HU a pixel, a bone
#: window (W 2000) about 8, so a narrow window can be set by hand.
DRAG_PIXELS_PER_WIDTH = 256
#: However narrow the window, a pixel moves it at least this share of the frame's value range
#: (a window of width 1 can still be widened by dragging).
MIN_STEP_OF_RANGE = 1 / 25_600
UNEXPECTED = "This image cannot be shown (an unexpected error; the log says where it failed)."


@dataclass
class Shown:
    """One frame as decoded, or why it cannot be shown."""

    pixels: np.ndarray | None = None
    params: DisplayParams | None = None
    error: str | None = None
    _values: np.ndarray | None = field(default=None, repr=False)

    @property
    def color(self) -> bool:
        return self.pixels is not None and self.pixels.ndim == 3

    def values(self) -> np.ndarray:
        """Modality values (e.g. Hounsfield units) of a grey frame, computed once."""
        assert self.pixels is not None and self.params is not None
        if self._values is None:
            self._values = modality_values(self.pixels, self.params)
        return self._values


def cannot_show(reason: str) -> str:
    """The viewport's message for a frame that cannot be shown."""
    reason = reason.strip().rstrip(".")
    if not reason:
        return "This image cannot be shown."
    return f"This image cannot be shown:\n{reason[:1].upper()}{reason[1:]}."


def load_frame(series: OpenSeries, number: int) -> Shown:
    """Frame ``number`` of ``series``; a frame that cannot be decoded carries its reason."""
    try:
        pixels, params = series.frame(number)
    except VeilError as exc:
        return Shown(error=cannot_show(str(exc)))
    except Exception as exc:  # noqa: BLE001 - a bad file must not take the viewer down
        log.error("Unexpected error showing a frame: %s", describe_unexpected(exc))
        return Shown(error=UNEXPECTED)
    return Shown(pixels, params)


def format_value(value: float) -> str:
    """A window value as a radiologist reads it: whole numbers unless the range is tiny."""
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.3g}"


class SeriesView:
    """The frame on screen, the user's window (None: the header's) and invert."""

    def __init__(self, series: OpenSeries, first: Shown | None = None) -> None:
        self.series = series
        self.index = 0
        self.window: Window | None = None
        self.invert = False
        self.rotation = 0  # quarter turns clockwise
        self.flip_h = False
        self.flip_v = False
        self._shown = first
        self._rendered: tuple[tuple[object, ...], np.ndarray] | None = None

    @property
    def count(self) -> int:
        return len(self.series.frames)

    def go_to(self, number: int) -> bool:
        """Show frame ``number`` (clamped); True if it changed."""
        number = max(0, min(self.count - 1, number))
        if number == self.index:
            return False
        self.index = number
        self._shown = None
        return True

    def shown(self) -> Shown:
        if self.count == 0:
            return Shown(error="This series holds no images.")
        if self._shown is None:
            self._shown = load_frame(self.series, self.index)
        return self._shown

    def position(self) -> tuple[int, int]:
        """(image position, frame index) of the frame on screen."""
        return self.series.frames[self.index]

    # -- window ------------------------------------------------------------------------------
    def header_window(self) -> Window | None:
        """The window the header asks for (or one spanning the data); None for colour."""
        shown = self.shown()
        if shown.pixels is None or shown.color:
            return None
        assert shown.params is not None
        return default_window(shown.values(), shown.params)

    def window_label(self) -> str:
        """``W 400 L 40`` for the window in use; empty for colour or no image."""
        shown = self.shown()
        if shown.pixels is None or shown.color:
            return ""
        assert shown.params is not None
        if self.window is None and shown.params.voi_lut is not None:
            return "VOI LUT"
        window = self.window or self.header_window()
        assert window is not None
        return f"W {format_value(window.width)} L {format_value(window.center)}"

    def drag_window(self, dx: float, dy: float) -> bool:
        """Widen (right) or narrow (left) the window, raise (down) or lower (up) its centre,
        in proportion to the window's own width (see :data:`DRAG_PIXELS_PER_WIDTH`). False for
        colour or no image."""
        start = self.window or self.header_window()
        if start is None:
            return False
        values = self.shown().values()
        span = max(float(np.max(values) - np.min(values)), 1.0)
        step = max(start.width / DRAG_PIXELS_PER_WIDTH, span * MIN_STEP_OF_RANGE)
        self.window = Window(start.center + dy * step, max(1.0, start.width + dx * step),
                             start.function, "")
        return True

    def set_window(self, window: Window | None) -> None:
        """Use ``window`` (None: the header's) for every frame of the series."""
        self.window = window

    def rendered(self) -> np.ndarray | None:
        """The frame on screen as 8-bit display values, or None if it cannot be shown."""
        shown = self.shown()
        if shown.pixels is None or shown.params is None:
            return None
        key = (self.index, id(shown.pixels), self.window, self.invert)
        if self._rendered is None or self._rendered[0] != key:
            self._rendered = (key, render(shown.pixels, shown.params, self.window, self.invert))
        return self._rendered[1]

    def displayed(self) -> np.ndarray | None:
        """:meth:`rendered`, rotated and flipped as the person asked: what the screen shows."""
        image = self.rendered()
        if image is None or not (self.rotation % 4 or self.flip_h or self.flip_v):
            return image
        return apply_view(image, self.rotation, self.flip_h, self.flip_v)

    def value_at(self, x: int, y: int, unit: str = "") -> str | None:
        """What the pixel shown at (``x``, ``y``) of :meth:`displayed` holds, for the overlay:
        its position in the stored image and its modality value (Hounsfield units on CT: the
        rescale applied, PS3.3 C.11.1.1.2) or its colour; None outside the image."""
        shown = self.shown()
        if shown.pixels is None or shown.params is None:
            return None
        rows, columns = shown.pixels.shape[:2]
        if self.rotation % 2:
            if not (0 <= x < rows and 0 <= y < columns):
                return None
        elif not (0 <= x < columns and 0 <= y < rows):
            return None
        col, row = source_pixel(x, y, rows, columns, self.rotation, self.flip_h, self.flip_v)
        if shown.color:
            r, g, b = (int(v) for v in shown.pixels[row, col][:3])
            return f"X {col} Y {row}: R {r} G {g} B {b}"
        value = float(shown.values()[row, col])
        text = f"{value:.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.4g}"
        return f"X {col} Y {row}: {text}{' ' + unit if unit else ''}"

    def reset_orientation(self) -> None:
        self.rotation, self.flip_h, self.flip_v = 0, False, False

    def close(self) -> None:
        self.series.close()
