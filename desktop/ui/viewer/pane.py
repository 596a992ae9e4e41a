"""One pane of the viewer's layout: a viewport with its own series, frame, window, zoom and pan,
invert and overlays. The window drives the active pane; clicking a pane makes it the active one.

Opening a series (decrypting and decoding) runs in the background; the first frame shows as
soon as it is decoded. Frames after that come from :meth:`OpenSeries.frame`, which keeps the
neighbours decoded ahead, and are rendered on the UI thread (a few milliseconds).

A pane shows the series' current versions (each image once: the redacted version where Veil
made one), or its originals (Show Original, Redact mode): then a banner above the image says
so, and what an export sends instead.
"""

from __future__ import annotations

import logging
from dataclasses import astuple

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop.app.browsing.catalogue import SeriesRow, StudyRow
from desktop.app.library.home import VeilHome
from desktop.app.viewer.image_facts import ImageFacts, image_facts, scale_bar
from desktop.app.viewer.view_state import SeriesView, Shown, load_frame
from desktop.app.viewer.viewing import OpenSeries, open_series
from desktop.core.common.errors import VeilError
from desktop.core.imaging.display import Window
from desktop.ui.common import theme
from desktop.ui.common.background import run_in_background
from desktop.ui.common.errors import describe_unexpected, message_for
from desktop.ui.viewer.overlays import REDACTED_NOTE, Corners, display_text, patient_text, series_text, study_text
from desktop.ui.viewer.viewport import Viewport

log = logging.getLogger("veil.ui")

LOADING = "Loading…"
#: Where a pane was in a series: frame number, window, quarter turns, flipped left-right, top-bottom.
Place = tuple[int, Window | None, int, bool, bool]
EMPTY = "Select a series on the left to show it here."
ACTIVE_BORDER = QColor("#3d8ee6")
INACTIVE_BORDER = QColor("#2a2a2a")
BORDER = 2
#: Above an original that a redacted version replaces (Show Original, Redact mode).
ORIGINAL_BANNER = "ORIGINAL — not redacted; exports send the redacted version"
#: The same, in Redact mode (the masks are drawn on the originals).
EDITING_BANNER = "ORIGINAL — masks are drawn on it; exports send the redacted version written at the last Apply"
ORIGINAL_TIP = ("This is the image as it was imported, before Veil redacted it. The library keeps it "
                "untouched; every export (package, folder, journal, slides) sends its redacted version. "
                "View ▸ Show Original (Ctrl+Shift+O) again shows the redacted version.")
EDITING_TIP = ("Redact mode shows the originals: the masks belong to them, never to the redacted versions. "
               "Every export sends the redacted version written at the last Apply; Apply writes new ones "
               "from these masks.")
#: Above an original of the same series that Veil did not redact (it is its own current version).
UNREDACTED_BANNER = "Original — Veil did not redact this image"
UNREDACTED_TIP = "No mask applied to this image: it is its own current version, and exports send it."
_BANNER_STYLE = {
    "replaced": (f"background: {theme.WARNING}; color: #1b1d21; font-weight: 700; font-size: 11pt; "
                 "padding: 6px 8px; border-bottom: 2px solid #a87a22;"),
    "plain": f"background: #3a3f46; color: {theme.TEXT}; padding: 5px 8px;",
}


def _open(home: VeilHome, series_ref: int, versions: str = "current",
          start: int = 0) -> tuple[OpenSeries, Shown | None, int]:
    """Worker thread: open the series (audited) and decode its frame ``start`` (clamped)."""
    series = open_series(home, series_ref, versions=versions)
    start = max(0, min(start, len(series.frames) - 1))
    return series, (load_frame(series, start) if series.frames else None), start


class Pane(QWidget):
    """A viewport and what it shows; a coloured border marks the active pane (when there are several)."""

    #: The pane was clicked (or scrolled with the wheel): make it the active one.
    activated = Signal(object)
    #: The frame or its display changed (the window follows its active pane's position).
    shown = Signal(object)
    #: A series is open and its first frame shown (the pane; its series_ref).
    opened = Signal(object, int)

    def __init__(self, home: VeilHome, study: StudyRow, series_rows: list[SeriesRow],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ViewerPane")
        self.home = home
        self.study = study
        self.series_rows = series_rows
        self.view: SeriesView | None = None
        self.current_ref: int | None = None
        #: The versions shown (or being opened): "current" or "originals" (see :func:`open_series`).
        self.versions = "current"
        self.invert = False
        self._keep: Place | None = None  # the place to keep when the same series opens again
        self.active = False
        self.editing = False  # Redact mode draws on this pane (the banner says so)
        self.framed = False  # draw the border (only when the layout has several panes)
        self.viewport = Viewport(self)
        self.banner = QLabel(self)
        self.banner.setObjectName("OriginalBanner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setWordWrap(True)
        self.banner.hide()
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.banner)
        box.addWidget(self.viewport)
        self.viewport.installEventFilter(self)
        self.viewport.scroll_requested.connect(self.step)
        self.viewport.window_dragged.connect(self.drag_window)
        self.viewport.view_changed.connect(self.update_corners)
        self.viewport.hovered.connect(self._hovered)
        self.hover_text = ""
        self._letters: dict[tuple[int, int, int], ImageFacts] = {}
        self.update_corners()

    # -- active ------------------------------------------------------------------------------
    def set_active(self, active: bool, framed: bool) -> None:
        self.active, self.framed = active, framed
        layout = self.layout()
        if layout is not None:
            layout.setContentsMargins(*([BORDER] * 4 if framed else [0] * 4))
        self.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.viewport and event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.Wheel,
                                                          QEvent.Type.FocusIn):
            if not self.active:
                self.activated.emit(self)
        return False

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.framed:
            painter = QPainter(self)
            painter.fillRect(self.rect(), ACTIVE_BORDER if self.active else INACTIVE_BORDER)
            painter.end()

    # -- series ------------------------------------------------------------------------------
    def show_series(self, series_ref: int, versions: str = "current", reload: bool = False) -> None:
        """Open ``versions`` of ``series_ref`` in the background; its first frame shows when
        decoded. The same series again (other versions, or ``reload``: they changed) keeps the
        place, window, zoom and orientation."""
        if series_ref == self.current_ref and versions == self.versions and not reload:
            return
        view = self.view
        keep: Place | None = ((view.index, view.window, view.rotation, view.flip_h, view.flip_v)
                              if view is not None and series_ref == self.current_ref else None)
        if view is None and series_ref == self.current_ref:
            keep = self._keep  # asked again while still opening: the place kept then
        start = keep[0] if keep else 0
        self.close_view()
        self.current_ref, self.versions = series_ref, versions
        self._keep = keep
        self.viewport.set_image(None)
        self.viewport.set_message(LOADING)
        self.viewport.setCursor(Qt.CursorShape.BusyCursor)
        self.update_corners()
        self.shown.emit(self)
        home, pane = self.home, self
        window = self.window()

        def delivered(result: tuple[OpenSeries, Shown | None, int]) -> None:
            if shiboken6.isValid(pane) and pane.current_ref is not None:
                pane._on_opened(result)
            else:  # the pane is gone or closed meanwhile
                result[0].close()

        def failed(exc: BaseException) -> None:
            if shiboken6.isValid(pane):
                pane._on_open_failed(exc)

        run_in_background(lambda _progress: _open(home, series_ref, versions, start), delivered, failed,
                          key=f"viewer-open-{id(self)}", context=window,
                          on_dropped=lambda result: result[0].close())

    def _on_opened(self, result: tuple[OpenSeries, Shown | None, int]) -> None:
        series, first, start = result
        if self.current_ref != series.series_ref or self.versions != series.versions:  # another asked for meanwhile
            series.close()
            return
        self.viewport.unsetCursor()
        self.view = SeriesView(series, first)
        keep, self._keep = self._keep, None
        if keep is not None:
            self.view.index = start
            _index, self.view.window, self.view.rotation, self.view.flip_h, self.view.flip_v = keep
        else:
            self.viewport.fit()
        self.refresh()
        self.opened.emit(self, series.series_ref)

    def _on_open_failed(self, exc: BaseException) -> None:
        self.viewport.unsetCursor()
        if not isinstance(exc, VeilError):
            log.error("Unexpected error opening a series: %s", describe_unexpected(exc))
        self.viewport.set_message(f"This series cannot be opened.\n{message_for(exc)}")
        self.current_ref = None  # clicking it again tries again
        self._keep = None
        self.shown.emit(self)

    def current_series_row(self) -> SeriesRow | None:
        return next((r for r in self.series_rows if r.series_ref == self.current_ref), None)

    def set_empty(self) -> None:
        """No series: the pane asks for one."""
        self.viewport.set_message(EMPTY)
        self.update_corners()

    # -- images ------------------------------------------------------------------------------
    def step(self, delta: int) -> None:
        if self.view is not None:
            self.go_to(self.view.index + delta)

    def go_to(self, number: int) -> None:
        """Show frame ``number`` of the series (clamped to the series)."""
        if self.view is not None and self.view.go_to(number):
            self.refresh()

    def drag_window(self, dx: float, dy: float) -> None:
        if self.view is not None and self.view.drag_window(dx, dy):
            self.refresh()

    def set_window(self, window: Window | None) -> None:
        """Show the series through ``window`` (a preset; None: the header's)."""
        if self.view is not None and not self.view.shown().color and self.view.shown().pixels is not None:
            self.view.set_window(window)
            self.refresh()

    def default_window(self) -> None:
        """Back to the window the header asks for."""
        if self.view is not None:
            self.view.set_window(None)
            self.refresh()

    def set_invert(self, on: bool) -> None:
        self.invert = on
        self.refresh()

    def reset_view(self) -> None:
        """Fit, the header's window, not inverted."""
        self.invert = False
        if self.view is not None:
            self.view.set_window(None)
            self.view.reset_orientation()
        self.viewport.fit()
        self.refresh()

    def refresh(self) -> None:
        """Show the current frame again (after a change of frame or of how it is displayed)."""
        view = self.view
        if view is None:
            return
        view.invert = self.invert
        shown = view.shown()
        self.viewport.set_image(view.displayed())
        self.viewport.set_message(shown.error or "")
        self.update_corners()
        self.shown.emit(self)

    def _facts(self, position: int, frame: int) -> ImageFacts:
        """Where an image of the series on screen is (orientation letters, pixel spacing, slice
        location and thickness), read once from its header."""
        view = self.view
        if view is None:
            return ImageFacts()
        key = (view.series.series_ref, position, frame)
        if key not in self._letters:
            try:
                self._letters[key] = image_facts(view.series.dataset(position), frame)
            except Exception:  # noqa: BLE001 - a header that cannot be read has no facts; the image says why
                self._letters[key] = ImageFacts()
        return self._letters[key]

    def _hovered(self, x: int, y: int) -> None:
        view = self.view
        row = self.current_series_row()
        unit = "HU" if row is not None and row.modality == "CT" else ""
        text = (view.value_at(x, y, unit) if view is not None and view.count and x >= 0 else None) or ""
        if text != self.hover_text:
            self.hover_text = text
            self.update_corners()

    def update_corners(self) -> None:
        view = self.view
        series_row = self.current_series_row()
        if view is None or view.count == 0:
            bottom_left = series_text(series_row, None, 0, 0, 0, 0) if series_row else ""
            self.viewport.set_corners(Corners(patient_text(self.study), study_text(self.study), bottom_left))
            self._set_banner(None)
            return
        position, frame = view.position()
        image = view.series.images[position]
        pixels = self.viewport.array
        where = series_text(series_row, image.instance_number, frame, image.number_of_frames, view.index, view.count)
        facts = self._facts(position, frame)
        letters = facts.letters
        edges = ("", "", "", "") if letters is None else astuple(letters.viewed(view.rotation, view.flip_h,
                                                                                view.flip_v))
        if facts.slice_text:
            where += "\n" + facts.slice_text
        bar = scale_bar(facts.spacing, self.viewport.scale(), self.viewport.width(), bool(view.rotation % 2))
        self.viewport.set_corners(Corners(
            patient_text(self.study), study_text(self.study),
            where + ("\n" + REDACTED_NOTE if image.redacted_version else ""),
            "\n".join(p for p in (self.hover_text, display_text(view.window_label(), self.viewport.scale(), view.invert,
                                                                 pixels.shape[:2] if pixels is not None else None))
                      if p), edges, bar))
        originals = view.series.versions == "originals" and view.series.has_redacted_versions
        self._set_banner(None if not originals else "replaced" if view.series.replaced(position) else "plain")

    def set_editing(self, on: bool) -> None:
        """Redact mode draws on this pane (on) or not: the banner over an original says which."""
        self.editing = on
        self.update_corners()

    def _set_banner(self, kind: str | None) -> None:
        """The banner above an original: None (not an original of a redacted series), "replaced"
        (a redacted version replaces it) or "plain" (Veil did not redact this image)."""
        if kind is None:
            self.banner.hide()
            return
        text, tip = (ORIGINAL_BANNER, ORIGINAL_TIP) if kind == "replaced" else (UNREDACTED_BANNER, UNREDACTED_TIP)
        if kind == "replaced" and self.editing:
            text, tip = EDITING_BANNER, EDITING_TIP
        if self.banner.text() != text:
            self.banner.setText(text)
            self.banner.setToolTip(tip)
            self.banner.setStyleSheet(_BANNER_STYLE[kind])
        self.banner.show()

    # -- closing -----------------------------------------------------------------------------
    def close_view(self) -> None:
        if self.view is not None:
            self.view.close()
            self.view = None

    def close_pane(self) -> None:
        """Close the series (a result still loading is closed when it arrives)."""
        self.close_view()
        self.current_ref = None
        self.versions = "current"
