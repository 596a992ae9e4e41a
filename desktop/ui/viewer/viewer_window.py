"""The viewer window: the study's series on the left, the image in the middle, a slider below.

Opening a series (decrypting and decoding) runs in the background; the first frame shows as
soon as it is decoded. Frames after that come from :meth:`OpenSeries.frame`, which keeps the
neighbours decoded ahead, and are rendered on the UI thread (a few milliseconds).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QMenu, QSlider, QSplitter, QVBoxLayout, QWidget

from desktop.app.browsing import SeriesRow, StudyRow
from desktop.app.home import VeilHome
from desktop.app.viewing import OpenSeries, open_series
from desktop.core.errors import VeilError
from desktop.core.imaging.display import Window
from desktop.ui.background import run_in_background
from desktop.ui.errors import describe_unexpected, message_for
from desktop.ui.formatting import dicom_date, person_name
from desktop.ui.resources import app_icon
from desktop.ui.viewer.cine import Cine, frame_rate
from desktop.ui.viewer.series_list import SeriesList
from desktop.ui.viewer.overlays import Corners, display_text, patient_text, series_text, study_text
from desktop.ui.viewer.view_state import SeriesView, Shown, load_frame
from desktop.ui.viewer import view_commands
from desktop.ui.viewer.viewer_actions import build_viewer_menus, build_viewer_toolbar, create_viewer_actions
from desktop.ui.viewer.viewport import ZOOM_STEP, Viewport

log = logging.getLogger("veil.ui")

PAGE = 10
LOADING = "Loading…"


def _open(home: VeilHome, series_ref: int) -> tuple[OpenSeries, Shown | None]:
    """Worker thread: open the series (audited) and decode its first frame."""
    series = open_series(home, series_ref)
    return series, (load_frame(series, 0) if series.frames else None)


class ViewerWindow(QMainWindow):
    """Look at the series of one study."""

    #: A series is open and its first frame shown (its series_ref).
    series_opened = Signal(int)

    def __init__(self, home: VeilHome, study: StudyRow, series: list[SeriesRow],
                 series_ref: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("ViewerWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowIcon(app_icon())
        self.home = home
        self.study = study
        self.series_rows = list(series)
        self.view: SeriesView | None = None
        self.current_ref: int | None = None
        title = " · ".join(p for p in (person_name(study.patient_name), dicom_date(study.study_date),
                                       study.description) if p)
        self.setWindowTitle(f"{title or 'Study'} — Veil Viewer")
        self.commands = create_viewer_actions(self)
        self.menus = build_viewer_menus(self, self.commands)
        self._build()
        self._connect()
        self.resize(1280, 860)
        if self.series_rows:
            self.show_series(series_ref if series_ref is not None else self.series_rows[0].series_ref)
        else:
            self.viewport.set_message("This study holds no series.")

    # -- construction ------------------------------------------------------------------------
    def _build(self) -> None:
        self.series_list = SeriesList(self.series_rows, self)
        self.viewport = Viewport(self)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("ImageSlider")
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.setToolTip("Position in the series (wheel, Up/Down, PgUp/PgDown, Home/End)")
        self.slider.setEnabled(False)
        self.position_label = QLabel(self)
        self.position_label.setObjectName("ImagePosition")
        self.position_label.setMinimumWidth(110)
        self.position_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        image_area = QWidget(self)
        column = QVBoxLayout(image_area)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        column.addWidget(self.viewport, 1)
        row = QHBoxLayout()
        row.setContentsMargins(6, 0, 6, 4)
        row.addWidget(self.slider, 1)
        row.addWidget(self.position_label)
        column.addLayout(row)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.series_list)
        splitter.addWidget(image_area)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([240, 1040])
        splitter.setChildrenCollapsible(False)
        self.setCentralWidget(splitter)
        self.toolbar = build_viewer_toolbar(self, self.commands)
        self.presets_menu = QMenu("&Presets", self)
        self.presets_menu.setToolTipsVisible(True)
        self.menus["Window"].insertMenu(self.commands.invert, self.presets_menu)
        self.preset_actions: list[QAction] = []
        self.commands.overlays.setChecked(True)
        self.commands.cine.setEnabled(False)
        self.cine = Cine(lambda: self.go_to((self.view.index + 1) % self.view.count) if self.view else None, self)
        self.statusBar().addPermanentWidget(QLabel("Drag: window (contrast) · wheel: images · "
                                                   "Ctrl+wheel: zoom · middle drag: pan", self))

    def _connect(self) -> None:
        c = self.commands
        c.next_image.triggered.connect(lambda: self.step(1))
        c.previous_image.triggered.connect(lambda: self.step(-1))
        c.page_forward.triggered.connect(lambda: self.step(PAGE))
        c.page_back.triggered.connect(lambda: self.step(-PAGE))
        c.first_image.triggered.connect(lambda: self.go_to(0))
        c.last_image.triggered.connect(lambda: self.go_to(self.view.count - 1 if self.view else 0))
        c.next_series.triggered.connect(lambda: self._step_series(1))
        c.previous_series.triggered.connect(lambda: self._step_series(-1))
        c.default_window.triggered.connect(self.default_window)
        c.invert.toggled.connect(self.set_invert)
        c.pan_tool.toggled.connect(lambda on: setattr(self.viewport, "left_pans", on))
        c.fit.triggered.connect(self.viewport.fit)
        c.actual_size.triggered.connect(self.viewport.actual_size)
        c.zoom_in.triggered.connect(lambda: self.viewport.zoom_by(ZOOM_STEP))
        c.zoom_out.triggered.connect(lambda: self.viewport.zoom_by(1 / ZOOM_STEP))
        c.overlays.toggled.connect(self.viewport.set_overlays_visible)
        c.reset.triggered.connect(self.reset_view)
        c.close.triggered.connect(self.close)
        c.rotate_right.triggered.connect(lambda: view_commands.rotate(self, 1))
        c.rotate_left.triggered.connect(lambda: view_commands.rotate(self, -1))
        c.flip_h.triggered.connect(lambda: view_commands.flip(self, horizontal=True))
        c.flip_v.triggered.connect(lambda: view_commands.flip(self, horizontal=False))
        c.export_png.triggered.connect(lambda: view_commands.export_png(self))
        c.cine.toggled.connect(self.play)
        c.tags.triggered.connect(lambda: view_commands.show_tags(self))
        self.series_list.series_chosen.connect(self.show_series)
        self.slider.valueChanged.connect(self.go_to)
        self.viewport.scroll_requested.connect(self.step)
        self.viewport.window_dragged.connect(self.drag_window)
        self.viewport.view_changed.connect(self._update_corners)

    # -- series ------------------------------------------------------------------------------
    def show_series(self, series_ref: int) -> None:
        """Open ``series_ref`` in the background; its first frame shows when decoded."""
        if series_ref == self.current_ref:
            return
        self._close_view()
        self.current_ref = series_ref
        self.series_list.select(series_ref)
        self.viewport.set_image(None)
        self.viewport.set_message(LOADING)
        self.viewport.setCursor(Qt.CursorShape.BusyCursor)
        self.slider.setEnabled(False)
        self._update_corners()
        home = self.home
        run_in_background(lambda _progress: _open(home, series_ref), self._on_opened, self._on_open_failed,
                          key=f"viewer-open-{id(self)}", context=self)

    def _on_opened(self, result: tuple[OpenSeries, Shown | None]) -> None:
        series, first = result
        if self.current_ref != series.series_ref:  # closed meanwhile
            series.close()
            return
        self.viewport.unsetCursor()
        self.view = SeriesView(series, first)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, self.view.count - 1))
        self.slider.setValue(0)
        self.slider.setPageStep(PAGE)
        self.slider.blockSignals(False)
        self.slider.setEnabled(self.view.count > 1)
        self.commands.cine.setEnabled(self.view.count > 1)
        row = self.current_series_row()
        self.preset_actions = view_commands.fill_presets_menu(self.presets_menu, row.modality if row else "",
                                                              self.set_window)
        self.viewport.fit()
        self._show()
        self.series_opened.emit(series.series_ref)

    def _on_open_failed(self, exc: BaseException) -> None:
        self.viewport.unsetCursor()
        if not isinstance(exc, VeilError):
            log.error("Unexpected error opening a series: %s", describe_unexpected(exc))
        self.viewport.set_message(f"This series cannot be opened.\n{message_for(exc)}")
        self.current_ref = None  # clicking it again tries again

    def _step_series(self, delta: int) -> None:
        refs = [row.series_ref for row in self.series_rows]
        if not refs:
            return
        at = refs.index(self.current_ref) if self.current_ref in refs else 0
        self.show_series(refs[max(0, min(len(refs) - 1, at + delta))])

    def current_series_row(self) -> SeriesRow | None:
        return next((r for r in self.series_rows if r.series_ref == self.current_ref), None)

    # -- images ------------------------------------------------------------------------------
    def step(self, delta: int) -> None:
        if self.view is not None:
            self.go_to(self.view.index + delta)

    def go_to(self, number: int) -> None:
        """Show frame ``number`` of the series (clamped to the series)."""
        if self.view is not None and self.view.go_to(number):
            self._show()

    def drag_window(self, dx: float, dy: float) -> None:
        if self.view is not None and self.view.drag_window(dx, dy):
            self._show()

    def set_window(self, window: Window | None) -> None:
        """Show the series through ``window`` (a preset; None: the header's)."""
        if self.view is not None and not self.view.shown().color and self.view.shown().pixels is not None:
            self.view.set_window(window)
            self._show()

    def default_window(self) -> None:
        """Back to the window the header asks for."""
        if self.view is not None:
            self.view.set_window(None)
            self._show()

    def set_invert(self, on: bool) -> None:
        if self.view is not None:
            self.view.invert = on
            self._show()

    def reset_view(self) -> None:
        """Fit, the header's window, not inverted."""
        self.commands.invert.setChecked(False)
        if self.view is not None:
            self.view.set_window(None)
            self.view.reset_orientation()
        self.viewport.fit()
        self._show()

    def refresh_image(self) -> None:
        """Show the current frame again (after a change of how it is displayed)."""
        self._show()

    def _show(self) -> None:
        view = self.view
        if view is None:
            return
        view.invert = self.commands.invert.isChecked()
        shown = view.shown()
        self.viewport.set_image(view.displayed())
        self.viewport.set_message(shown.error or "")
        self.slider.blockSignals(True)
        self.slider.setValue(view.index)
        self.slider.blockSignals(False)
        self.position_label.setText(f"Image {view.index + 1} / {view.count}")
        self._update_corners()

    def _update_corners(self) -> None:
        view = self.view
        series_row = self.current_series_row()
        if view is None or view.count == 0:
            bottom_left = series_text(series_row, None, 0, 0, 0, 0) if series_row else ""
            self.viewport.set_corners(Corners(patient_text(self.study), study_text(self.study), bottom_left))
            return
        position, frame = view.position()
        image = view.series.images[position]
        pixels = self.viewport.array
        self.viewport.set_corners(Corners(
            patient_text(self.study), study_text(self.study),
            series_text(series_row, image.instance_number, frame, image.number_of_frames, view.index, view.count),
            display_text(view.window_label(), self.viewport.scale(), view.invert,
                         pixels.shape[:2] if pixels is not None else None)))

    # -- closing -----------------------------------------------------------------------------
    def play(self, on: bool) -> None:
        """Start or stop cine at the header's frame rate."""
        if not on or self.view is None or self.view.count < 2:
            self.cine.stop()
            self.commands.cine.setChecked(False)
            return
        try:
            ds = self.view.series.dataset(self.view.position()[0])
        except Exception:  # noqa: BLE001 - an unreadable header plays at the default rate
            ds = None
        self.cine.play(frame_rate(ds))
        self.statusBar().showMessage(f"Playing at {self.cine.fps:g} images a second (C to stop).", 4000)

    def _close_view(self) -> None:
        self.commands.cine.setChecked(False)
        self.commands.cine.setEnabled(False)
        if self.view is not None:
            self.view.close()
            self.view = None

    def closeEvent(self, event: QCloseEvent) -> None:
        self._close_view()
        self.current_ref = None
        super().closeEvent(event)
