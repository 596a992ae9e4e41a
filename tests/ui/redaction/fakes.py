"""Small stand-ins for what Redact mode works with, so its widgets are built alone: a viewer
window with one pane (:class:`desktop.ui.redaction.host.RedactViewer`), a series of blank
images, and a mask store that keeps the masks in memory."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QWidget

from desktop.app.browsing.catalogue import SeriesRow
from desktop.app.redaction.mask_store import MaskStore, Pending, SeriesMasks
from desktop.app.redaction.session import Slot
from desktop.app.viewer.view_state import SeriesView
from desktop.app.viewer.viewing import OpenSeries
from desktop.core.library.index import InstanceRow
from desktop.core.redaction.mask import Mask
from desktop.ui.redaction.mode import RedactMode
from desktop.ui.viewer.viewer_actions import create_viewer_actions
from desktop.ui.viewer.viewport import Viewport

SERIES_REF = 7
STUDY_REF = 3
ROWS, COLUMNS = 60, 80
LOAD_TIMEOUT_MS = 5_000


def blank_images(count: int = 3, rows: int = ROWS, columns: int = COLUMNS) -> list[InstanceRow]:
    """``count`` single-frame images of one size (instance refs 101, 102, ...)."""
    return [InstanceRow(101 + i, f"1.2.3.{i}", i + 1, 1, rows, columns, "MONOCHROME2", f"{i:064x}")
            for i in range(count)]


def series_view(images: list[InstanceRow]) -> SeriesView:
    """The originals of series SERIES_REF on screen, at its first frame (nothing is decoded)."""
    frames = [(position, f) for position, image in enumerate(images) for f in range(image.number_of_frames)]
    series = OpenSeries(None, SERIES_REF, images, frames=frames, versions="originals")  # type: ignore[arg-type]
    return SeriesView(series)


class MemoryStore(MaskStore):
    """The masks in memory; every write is kept in ``saved`` (newest version wins, as in the
    library)."""

    def __init__(self, images: list[InstanceRow], stored: dict[int, list[Mask]] | None = None) -> None:
        self.images = images
        self.stored = stored or {}
        self.saved: dict[Slot, Mask] = {}
        self.loads: list[int] = []
        self._lock = threading.Lock()
        self._written: dict[Slot, int] = {}

    def load(self, series_ref: int) -> SeriesMasks:
        self.loads.append(series_ref)
        return list(self.images), {owner: list(masks) for owner, masks in self.stored.items()}

    def write(self, items: Pending) -> None:
        with self._lock:
            for slot, (version, mask) in items.items():
                if self._written.get(slot, 0) < version:
                    self.saved[slot] = mask
                    self._written[slot] = version


class FakePane(QWidget):
    """One pane showing the series' originals, a blank frame at a time."""

    shown = Signal(object)
    opened = Signal(object, int)

    def __init__(self, images: list[InstanceRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewport = Viewport(self)
        self.viewport.resize(400, 300)
        self.images = images
        self.current_ref: int | None = SERIES_REF
        self.versions = "originals"
        self.invert = False
        self.editing = False
        self.opened_again: list[tuple[int, str, bool]] = []
        self.view: SeriesView | None = series_view(images)
        self._paint()

    def _paint(self) -> None:
        image = self.images[self.view.position()[0]] if self.view is not None else None
        self.viewport.set_image(np.zeros((image.rows, image.columns), np.uint8) if image is not None else None)

    def show_series(self, series_ref: int, versions: str = "current", reload: bool = False) -> None:
        self.opened_again.append((series_ref, versions, reload))
        self.current_ref, self.versions = series_ref, versions
        if self.view is not None:
            self.view.series.versions = versions
        self.opened.emit(self, series_ref)

    def go_to(self, number: int) -> None:
        if self.view is not None and self.view.go_to(number):
            self._paint()
            self.shown.emit(self)

    def set_editing(self, on: bool) -> None:
        self.editing = on


class FakeViewer(QMainWindow):
    """A viewer window as Redact mode sees it, with one pane."""

    library_changed = Signal()

    def __init__(self, images: list[InstanceRow] | None = None) -> None:
        super().__init__()
        self.home = SimpleNamespace(name="not a library")
        self.study = SimpleNamespace(study_ref=STUDY_REF)
        self.images = images or blank_images()
        self.pane = FakePane(self.images, self)
        self.setCentralWidget(self.pane)
        self.commands = create_viewer_actions(self)
        self.commands.overlays.setChecked(True)
        self.hint = QLabel("Drag: window", self)
        self.layout_name = "1x2"
        self.series_rows: list[SeriesRow] = []
        self.shown_series: list[int] = []
        self.resize(600, 500)

    @property
    def view(self) -> SeriesView | None:
        return self.pane.view

    @property
    def viewport(self) -> Viewport:
        return self.pane.viewport

    @property
    def current_ref(self) -> int | None:
        return self.pane.current_ref

    def set_layout(self, name: str) -> None:
        self.layout_name = name

    def sync_original(self) -> None:
        pass

    def go_to(self, number: int) -> None:
        self.pane.go_to(number)

    def show_series(self, series_ref: int) -> None:
        self.shown_series.append(series_ref)

    def set_series_rows(self, rows: list[SeriesRow]) -> None:
        self.series_rows = list(rows)


def redact_alone(qtbot, images: list[InstanceRow] | None = None,  # noqa: ANN001 - qtbot
                 stored: dict[int, list[Mask]] | None = None) -> tuple[FakeViewer, RedactMode, MemoryStore]:
    """Redact mode on a fake viewer and an in-memory store, switched on and ready to draw."""
    viewer = FakeViewer(images)
    qtbot.addWidget(viewer)
    store = MemoryStore(viewer.images, stored)
    mode = RedactMode(viewer, viewer, store)
    viewer.show()
    qtbot.waitExposed(viewer)
    mode.actions.redact.setChecked(True)
    qtbot.waitUntil(lambda: mode.ready, timeout=LOAD_TIMEOUT_MS)
    return viewer, mode, store


def _send(widget: QWidget, kind: QMouseEvent.Type, pos: QPointF, button: Qt.MouseButton,
          buttons: Qt.MouseButton) -> None:
    QApplication.sendEvent(widget, QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons,
                                               Qt.KeyboardModifier.NoModifier))


def on_screen(mode: RedactMode, x: float, y: float) -> QPointF:
    """Where image point (x, y) is on the viewport."""
    transform = mode.canvas.transform()
    assert transform is not None, "no image on screen"
    return transform.map(QPointF(x, y))


def drag(mode: RedactMode, points: list[tuple[float, float]]) -> None:
    """Press the left button at the first image point, move through the others, release."""
    viewport, kind, left = mode.viewport, QMouseEvent.Type, Qt.MouseButton.LeftButton
    where = [on_screen(mode, x, y) for x, y in points]
    _send(viewport, kind.MouseButtonPress, where[0], left, left)
    for pos in where[1:]:
        _send(viewport, kind.MouseMove, pos, Qt.MouseButton.NoButton, left)
    _send(viewport, kind.MouseButtonRelease, where[-1], left, Qt.MouseButton.NoButton)


def click(mode: RedactMode, x: float, y: float) -> None:
    drag(mode, [(x, y)])
