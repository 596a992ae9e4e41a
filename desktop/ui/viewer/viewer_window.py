"""The viewer window: the study's series on the left, the image panes in the middle (1x1, 1x2
or 2x2, see :mod:`layout`), a slider below. The series list, slider, keys and menus act on the
active pane (:mod:`pane`), which opens its series in the background.

A series opens on its current versions: where Veil redacted an image, its redacted version.
View ▸ Show Original shows the active pane's series as imported (under a banner saying exports
send the redacted versions); Redact mode always shows the originals, which the masks belong to.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QMenu, QSlider, QSplitter, QVBoxLayout, QWidget

from desktop.app.browsing.catalogue import SeriesRow, StudyRow
from desktop.app.common.formatting import dicom_date, person_name
from desktop.app.library.home import VeilHome
from desktop.app.viewer.mouse_scheme import right_button_zooms, set_right_button_zooms
from desktop.app.viewer.view_state import SeriesView
from desktop.app.viewer.viewing import series_thumbnails
from desktop.core.imaging.display import Window
from desktop.ui.common.background import run_in_background
from desktop.ui.common.resources import app_icon
from desktop.ui.redaction.mode import RedactMode
from desktop.ui.viewer import view_commands
from desktop.ui.viewer.cine import Cine, frame_rate
from desktop.ui.viewer.layout import PaneGrid
from desktop.ui.viewer.pane import LOADING, Pane  # noqa: F401 - LOADING is the viewer's word too
from desktop.ui.viewer.series_list import THUMBNAIL, SeriesList
from desktop.ui.viewer.viewer_actions import build_viewer_menus, build_viewer_toolbar, create_viewer_actions
from desktop.ui.viewer.viewport import ZOOM_STEP, Viewport

log = logging.getLogger("veil.ui")

PAGE = 10
ORIGINALS_SHOWN = "Showing the originals, as imported: every export sends the redacted versions."
CURRENT_SHOWN = "Showing the redacted versions (what exports send)."


class ViewerWindow(QMainWindow):
    """Look at the series of one study, in one to four panes."""

    #: A series is open and its first frame shown (its series_ref).
    series_opened = Signal(int)
    #: The library changed from here (redacted versions were written): the browser reloads.
    library_changed = Signal()
    #: Share This Image as Package…: (series_ref, SOP Instance UID) of the image on screen.
    share_image_requested = Signal(int, str)
    #: Mark as Key Image (K): (SOP Instance UID, frame, KeyView) of the image on screen.
    key_image_requested = Signal(str, int, object)

    def _mark_key(self) -> None:
        view = self.view
        if view is None or not view.series.images or self.redacting:
            self.statusBar().showMessage("There is no image to mark here.", 5000)
            return
        position, frame = view.position()
        self.key_image_requested.emit(view.series.current_uid(position), frame,
                                      view_commands.key_view(view, self.viewport.zoom))

    def show_image(self, sop_uid: str, frame: int) -> None:
        """Go to ``frame`` of the image ``sop_uid`` (a key image), opening its series."""
        series_ref = view_commands.series_of_image(self.home, sop_uid)
        if series_ref is None:
            self.statusBar().showMessage("That image is no longer in the library.", 5000)
            return
        self._pending_image: tuple[str, int] | None = (sop_uid, frame)
        if series_ref == self.current_ref:
            self._go_to_pending()
        else:
            self.show_series(series_ref)

    def _go_to_pending(self) -> None:
        pending: tuple[str, int] | None = getattr(self, "_pending_image", None)
        self._pending_image = None
        if pending is None or self.view is None:
            return
        number = view_commands.frame_number(self.view, *pending)
        if number is not None:
            self.go_to(number)

    def _share_image(self) -> None:
        view = self.view
        if view is None or not view.series.images:
            self.statusBar().showMessage("There is no image to share.", 5000)
            return
        # the image's current version: the redacted one, even when its original is on screen
        self.share_image_requested.emit(view.series.series_ref, view.series.current_uid(view.position()[0]))

    def __init__(self, home: VeilHome, study: StudyRow, series: list[SeriesRow],
                 series_ref: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("ViewerWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowIcon(app_icon())
        self.home = home
        self.study = study
        self.series_rows = list(series)
        title = " · ".join(p for p in (person_name(study.patient_name), dicom_date(study.study_date),
                                       study.description) if p)
        self.setWindowTitle(f"{title or 'Study'} — Veil Viewer")
        self.commands = create_viewer_actions(self)
        self.menus = build_viewer_menus(self, self.commands)
        self._build()
        self._connect()
        self.redact = RedactMode(self, self)  # the window holds its menu and toolbar, and shows the series
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.redact.actions.redact)
        self.redact.actions.redact.setIconText("Redact")
        self.resize(1280, 860)
        if self.series_rows:
            self.show_series(series_ref if series_ref is not None else self.series_rows[0].series_ref)
        else:
            self.viewport.set_message("This study holds no series.")

    # -- the active pane ---------------------------------------------------------------------
    @property
    def pane(self) -> Pane:
        """The active pane: what the series list, slider, keys and menus act on."""
        return self.grid.active

    @property
    def view(self) -> SeriesView | None:
        return self.grid.active.view

    @property
    def viewport(self) -> Viewport:
        return self.grid.active.viewport

    @property
    def current_ref(self) -> int | None:
        return self.grid.active.current_ref

    @property
    def layout_name(self) -> str:
        """The panes on screen: "1x1", "1x2" or "2x2"."""
        return self.grid.layout_name

    # -- construction ------------------------------------------------------------------------
    def _new_pane(self) -> Pane:
        pane = Pane(self.home, self.study, self.series_rows, self)
        pane.viewport.left_pans = self.commands.pan_tool.isChecked()
        pane.viewport.right_zooms = self.commands.right_zooms.isChecked()
        pane.viewport.set_overlays_visible(self.commands.overlays.isChecked())
        pane.shown.connect(lambda p: self._sync_position() if p is self.pane else None)
        pane.opened.connect(self._on_opened)
        return pane

    def _build(self) -> None:
        self.series_list = SeriesList(self.series_rows, self)
        self.commands.overlays.setChecked(True)
        self.grid = PaneGrid(self._new_pane, self)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("ImageSlider")
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.setToolTip("Position in the series (wheel, Up/Down, PgUp/PgDown, Home/End)")
        self.slider.setEnabled(False)
        self.slider.setPageStep(PAGE)
        self.position_label = QLabel(self)
        self.position_label.setObjectName("ImagePosition")
        self.position_label.setMinimumWidth(110)
        self.position_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        image_area = QWidget(self)
        column = QVBoxLayout(image_area)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        column.addWidget(self.grid, 1)
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
        self.commands.cine.setEnabled(False)
        self.commands.show_original.setEnabled(False)
        self.cine = Cine(lambda: self.go_to((self.view.index + 1) % self.view.count) if self.view else None, self)
        self.hint = QLabel("Drag: window (contrast) · wheel: images · Ctrl+wheel: zoom · middle drag: pan", self)
        self.statusBar().addPermanentWidget(self.hint)

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
        c.pan_tool.toggled.connect(self._set_pan_tool)
        c.right_zooms.setChecked(right_button_zooms(self.home))  # the panes made so far follow it
        for pane in self.grid.panes:
            pane.viewport.right_zooms = c.right_zooms.isChecked()
        c.right_zooms.toggled.connect(self._set_right_zooms)
        c.fit.triggered.connect(lambda: self.viewport.fit())
        c.actual_size.triggered.connect(lambda: self.viewport.actual_size())
        c.zoom_in.triggered.connect(lambda: self.viewport.zoom_by(ZOOM_STEP))
        c.zoom_out.triggered.connect(lambda: self.viewport.zoom_by(1 / ZOOM_STEP))
        c.overlays.toggled.connect(lambda on: self.viewport.set_overlays_visible(on))
        c.show_original.toggled.connect(self.show_original)
        c.reset.triggered.connect(self.reset_view)
        c.close.triggered.connect(self.close)
        c.rotate_right.triggered.connect(lambda: view_commands.rotate(self, 1))
        c.rotate_left.triggered.connect(lambda: view_commands.rotate(self, -1))
        c.flip_h.triggered.connect(lambda: view_commands.flip(self, horizontal=True))
        c.flip_v.triggered.connect(lambda: view_commands.flip(self, horizontal=False))
        c.export_png.triggered.connect(lambda: view_commands.export_png(self))
        c.share_image.triggered.connect(self._share_image)
        c.mark_key.triggered.connect(self._mark_key)
        c.cine.toggled.connect(self.play)
        c.tags.triggered.connect(lambda: view_commands.show_tags(self))
        for action, name in ((c.layout_1x1, "1x1"), (c.layout_1x2, "1x2"), (c.layout_2x2, "2x2")):
            action.triggered.connect(lambda _checked=False, n=name: self.set_layout(n))
        self.series_list.series_chosen.connect(self.show_series)
        self._load_thumbnails()
        self.slider.valueChanged.connect(self.go_to)
        self.grid.active_changed.connect(self._on_active_changed)

    def _load_thumbnails(self) -> None:
        home, refs = self.home, [row.series_ref for row in self.series_rows]
        run_in_background(lambda _progress: series_thumbnails(home, refs, THUMBNAIL),
                          self.series_list.set_thumbnails, lambda _exc: None,
                          key=f"viewer-thumbnails-{id(self)}", context=self)

    def set_series_rows(self, rows: list[SeriesRow]) -> None:
        """The study's series changed (redacted versions were written): list them again."""
        self.series_rows[:] = rows  # the panes hold this same list
        self.series_list.set_rows(self.series_rows)
        if self.current_ref is not None:
            self.series_list.select(self.current_ref)
        self._load_thumbnails()

    # -- layout ------------------------------------------------------------------------------
    def set_layout(self, name: str) -> None:
        """Show 1x1, 1x2 or 2x2 panes; new panes show the next series not on screen, if any."""
        self.commands.cine.setChecked(False)
        action = {"1x1": self.commands.layout_1x1, "1x2": self.commands.layout_1x2,
                  "2x2": self.commands.layout_2x2}[name]
        action.setChecked(True)
        added = self.grid.set_layout(name)
        refs = [row.series_ref for row in self.series_rows]
        at = refs.index(self.current_ref) + 1 if self.current_ref in refs else 0
        on_screen = {p.current_ref for p in self.grid.panes}
        free = [r for r in refs[at:] + refs[:at] if r not in on_screen]
        for pane in added:
            if free:
                pane.show_series(free.pop(0))
            else:
                pane.set_empty()
        self._on_active_changed(self.pane)

    def _on_active_changed(self, pane: Pane) -> None:
        """The series list, slider, invert, overlays, presets and cine follow the active pane."""
        self.commands.cine.setChecked(False)
        if pane.current_ref is not None:
            self.series_list.select(pane.current_ref)
        else:
            self.series_list.clearSelection()
        c = self.commands
        for action, on in ((c.invert, pane.invert), (c.overlays, pane.viewport.overlays_visible)):
            action.blockSignals(True)
            action.setChecked(on)
            action.blockSignals(False)
        self._fill_presets()
        self._sync_position()
        self.sync_original()

    def _set_pan_tool(self, on: bool) -> None:
        for pane in self.grid.panes:
            pane.viewport.left_pans = on

    def _set_right_zooms(self, on: bool) -> None:
        for pane in self.grid.panes:
            pane.viewport.right_zooms = on
        set_right_button_zooms(self.home, on)

    # -- series ------------------------------------------------------------------------------
    def show_series(self, series_ref: int) -> None:
        """Open ``series_ref`` in the active pane, in the background."""
        if series_ref == self.current_ref:
            return
        self.commands.cine.setChecked(False)
        self.series_list.select(series_ref)
        self.pane.show_series(series_ref, "originals" if self.redacting else "current")

    def _on_opened(self, pane: Pane, series_ref: int) -> None:
        if pane is self.pane:
            self._fill_presets()
            self._sync_position()
            self.sync_original()
            self._go_to_pending()
        self.series_opened.emit(series_ref)

    # -- versions: the redacted ones (what exports send) or the originals -------------------
    @property
    def redacting(self) -> bool:
        redact = getattr(self, "redact", None)  # None while the window is being built
        return redact is not None and redact.active

    def show_original(self, on: bool) -> None:
        """Show the active pane's series as imported (``on``) or its current, redacted versions."""
        pane = self.pane
        if pane.current_ref is not None and not self.redacting and (self.has_redacted_versions() or not on):
            pane.show_series(pane.current_ref, "originals" if on else "current")
            self.statusBar().showMessage(ORIGINALS_SHOWN if on else CURRENT_SHOWN, 8000)
        self.sync_original()

    def has_redacted_versions(self) -> bool:
        """The active pane's series has images Veil redacted (their originals can be shown)."""
        pane, view = self.pane, self.pane.view
        if view is not None and view.series.series_ref == pane.current_ref:
            return view.series.has_redacted_versions
        row = pane.current_series_row()
        return bool(row is not None and row.redacted_count)

    def sync_original(self) -> None:
        """Show Original: checked while the active pane shows originals of a redacted series;
        available only for such a series, and not in Redact mode (which shows the originals)."""
        action, redacted = self.commands.show_original, self.has_redacted_versions()
        action.blockSignals(True)
        action.setChecked(self.pane.versions == "originals" and redacted)
        action.blockSignals(False)
        action.setEnabled(redacted and not self.redacting)

    def _fill_presets(self) -> None:
        row = self.current_series_row() if self.view is not None else None
        self.preset_actions = view_commands.fill_presets_menu(self.presets_menu, row.modality if row else "",
                                                              self.set_window)

    def _step_series(self, delta: int) -> None:
        refs = [row.series_ref for row in self.series_rows]
        if not refs:
            return
        at = refs.index(self.current_ref) if self.current_ref in refs else 0
        self.show_series(refs[max(0, min(len(refs) - 1, at + delta))])

    def current_series_row(self) -> SeriesRow | None:
        return self.pane.current_series_row()

    # -- images (the active pane) ------------------------------------------------------------
    def step(self, delta: int) -> None:
        self.pane.step(delta)

    def go_to(self, number: int) -> None:
        """Show frame ``number`` of the series (clamped to the series)."""
        self.pane.go_to(number)

    def drag_window(self, dx: float, dy: float) -> None:
        self.pane.drag_window(dx, dy)

    def set_window(self, window: Window | None) -> None:
        """Show the series through ``window`` (a preset; None: the header's)."""
        self.pane.set_window(window)

    def default_window(self) -> None:
        """Back to the window the header asks for."""
        self.pane.default_window()

    def set_invert(self, on: bool) -> None:
        self.pane.set_invert(on)

    def reset_view(self) -> None:
        """Fit, the header's window, not inverted."""
        self.commands.invert.blockSignals(True)
        self.commands.invert.setChecked(False)
        self.commands.invert.blockSignals(False)
        self.pane.reset_view()

    def refresh_image(self) -> None:
        """Show the current frame again (after a change of how it is displayed)."""
        self.pane.refresh()

    def _sync_position(self) -> None:
        """The slider, 'Image n / N' and cine show the active pane's series."""
        view = self.view
        count = view.count if view is not None else 0
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, count - 1))
        self.slider.setValue(view.index if view is not None else 0)
        self.slider.blockSignals(False)
        self.slider.setEnabled(count > 1)
        self.commands.cine.setEnabled(count > 1)
        self.position_label.setText(f"Image {view.index + 1} / {count}" if view is not None and count else "")

    # -- cine and closing --------------------------------------------------------------------
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

    def closeEvent(self, event: QCloseEvent) -> None:
        self.commands.cine.setChecked(False)
        self.redact.close()
        self.grid.close_all()
        super().closeEvent(event)
