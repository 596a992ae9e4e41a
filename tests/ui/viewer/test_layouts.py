"""Viewport layouts: 1x1, 1x2 and 2x2 panes to compare the series of a study."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid
from PySide6.QtCore import Qt

from desktop.ui.viewer.pane import EMPTY
from tests.conftest import pydicom_test_files, write_series
from tests.ui.ui_helpers import import_and_wait
from tests.ui.viewer.conftest import OPEN_TIMEOUT_MS, drag, wheel

#: Images in series 1, 2 and 3 of the study.
SIZES = (6, 4, 3)


@pytest.fixture
def viewer(qtbot, window, tmp_path: Path):
    """A viewer on a study of three CT series (6, 4 and 3 images), showing the first."""
    study_uid = generate_uid()
    for number, count in enumerate(SIZES, start=1):
        folder = tmp_path / f"series{number}"
        for path in write_series(pydicom_test_files() / "CT_small.dcm", folder, count,
                                 patient_name="Layout^Test", patient_id="LAYOUT1"):
            ds = pydicom.dcmread(path)
            ds.StudyInstanceUID = study_uid
            ds.SeriesNumber = number
            ds.SeriesDescription = f"Series {number}"
            ds.save_as(path, enforce_file_format=True)
    import_and_wait(qtbot, window, [tmp_path / f"series{n}" for n in (1, 2, 3)])
    study = next(s for s in window.catalogue.studies if s.image_count == sum(SIZES))
    viewer = window.open_viewer(study)
    qtbot.addWidget(viewer)
    qtbot.waitUntil(lambda: viewer.view is not None, timeout=OPEN_TIMEOUT_MS)
    assert [r.image_count for r in viewer.series_rows] == list(SIZES)
    return viewer


def loaded(viewer) -> bool:
    return all(p.view is not None or p.current_ref is None for p in viewer.grid.panes)


def counts(viewer) -> list[int | None]:
    return [p.view.count if p.view is not None else None for p in viewer.grid.panes]


def test_one_by_two_shows_the_next_series_and_the_active_pane_follows_clicks(qtbot, viewer):
    first = viewer.pane
    assert len(viewer.grid.panes) == 1 and viewer.commands.layout_1x1.isChecked()
    viewer.commands.layout_1x2.trigger()
    assert viewer.commands.layout_1x2.isChecked()
    panes = viewer.grid.panes
    assert len(panes) == 2 and all(p.isVisible() for p in panes)
    qtbot.waitUntil(lambda: loaded(viewer), timeout=OPEN_TIMEOUT_MS)
    assert counts(viewer) == [6, 4]
    assert viewer.pane is first and first.active and not panes[1].active
    assert panes[0].x() < panes[1].x() and panes[0].y() == panes[1].y()  # side by side
    # clicking the second pane makes it active: the slider and the series list follow
    qtbot.mouseClick(panes[1].viewport, Qt.MouseButton.LeftButton)
    assert viewer.pane is panes[1] and panes[1].active and not first.active
    assert viewer.slider.maximum() == 3 and viewer.position_label.text() == "Image 1 / 4"
    assert viewer.series_list.currentRow() == 1
    # the series list loads into the active pane only
    viewer.series_list.series_chosen.emit(viewer.series_rows[2].series_ref)
    qtbot.waitUntil(lambda: viewer.view is not None, timeout=OPEN_TIMEOUT_MS)
    assert counts(viewer) == [6, 3]


def test_scrolling_and_window_act_on_the_active_pane_only(qtbot, viewer):
    viewer.commands.layout_1x2.trigger()
    qtbot.waitUntil(lambda: loaded(viewer), timeout=OPEN_TIMEOUT_MS)
    left, right = viewer.grid.panes
    viewer.commands.next_image.trigger()
    viewer.commands.next_image.trigger()
    assert (left.view.index, right.view.index) == (2, 0)
    drag(left.viewport, Qt.MouseButton.RightButton, 40, 30)
    assert left.view.window is not None and right.view.window is None
    viewer.commands.invert.trigger()
    assert left.invert and not right.invert
    # the wheel over the other pane activates and scrolls it
    wheel(right.viewport, 1)
    assert viewer.pane is right and (left.view.index, right.view.index) == (2, 1)
    assert not viewer.commands.invert.isChecked()  # the menu shows the active pane's state
    assert viewer.slider.value() == 1 and viewer.position_label.text() == "Image 2 / 4"
    viewer.commands.last_image.trigger()
    assert (left.view.index, right.view.index) == (2, 3)
    viewer.commands.zoom_in.trigger()
    assert right.viewport.zoom is not None and left.viewport.zoom is None
    viewer.commands.overlays.trigger()
    assert not right.viewport.overlays_visible and left.viewport.overlays_visible
    viewer.slider.setValue(0)
    assert right.view.index == 0 and left.view.index == 2
    qtbot.mouseClick(left.viewport, Qt.MouseButton.LeftButton)
    assert viewer.commands.invert.isChecked() and viewer.commands.overlays.isChecked()
    assert viewer.slider.value() == 2


def test_two_by_two_then_back_to_one_keeps_the_active_series_and_closes_the_others(qtbot, viewer, monkeypatch):
    viewer.commands.layout_2x2.trigger()
    panes = list(viewer.grid.panes)
    assert len(panes) == 4 and all(p.isVisible() for p in panes)
    qtbot.waitUntil(lambda: loaded(viewer), timeout=OPEN_TIMEOUT_MS)
    assert counts(viewer) == [6, 4, 3, None]  # three series: the fourth pane asks for one
    assert panes[3].viewport.message == EMPTY
    assert {(p.x() > panes[0].x(), p.y() > panes[0].y()) for p in panes[1:]} == {(1, 0), (0, 1), (1, 1)}
    qtbot.mouseClick(panes[2].viewport, Qt.MouseButton.LeftButton)
    viewer.commands.next_image.trigger()
    kept = panes[2].view
    closed = []
    for pane in (panes[0], panes[1]):
        series = pane.view.series
        monkeypatch.setattr(series, "close", lambda p=pane, real=series.close: (closed.append(p), real()))
    viewer.commands.layout_1x1.trigger()
    assert viewer.grid.panes == [panes[2]] and viewer.view is kept and kept.index == 1
    assert len(closed) == 2 and panes[0].view is None and panes[1].view is None
    assert viewer.position_label.text() == "Image 2 / 3"
    assert not panes[2].framed  # one pane: no border, as before
    qtbot.waitUntil(lambda: not panes[0].isVisible())
    # the empty pane's series can be chosen after going back to 1x2
    viewer.commands.layout_1x2.trigger()
    qtbot.waitUntil(lambda: loaded(viewer), timeout=OPEN_TIMEOUT_MS)
    assert counts(viewer) == [3, 6]  # the next series after the third wraps to the first


def _track_opens(monkeypatch):
    from desktop.app.viewer import viewing
    from desktop.ui.viewer import pane as pane_module

    opened, closed = [], set()
    real_open, real_close = viewing.open_series, viewing.OpenSeries.close

    def tracked_open(*args, **kwargs):
        series = real_open(*args, **kwargs)
        opened.append(series)
        return series

    def tracked_close(self):
        closed.add(id(self))
        return real_close(self)

    monkeypatch.setattr(pane_module, "open_series", tracked_open)
    monkeypatch.setattr(viewing.OpenSeries, "close", tracked_close)
    return opened, closed


def _settle():
    from PySide6.QtCore import QCoreApplication, QThreadPool

    QThreadPool.globalInstance().waitForDone(10_000)
    for _ in range(5):
        QCoreApplication.processEvents()


def test_a_series_opened_then_superseded_is_closed(qtbot, viewer, monkeypatch):
    """Clicking series quickly: the open nobody will see releases its threads and data."""
    opened, closed = _track_opens(monkeypatch)
    refs = [row.series_ref for row in viewer.series_rows]
    viewer.show_series(refs[1])
    viewer.show_series(refs[2])
    qtbot.waitUntil(lambda: viewer.view is not None and viewer.current_ref == refs[2], timeout=OPEN_TIMEOUT_MS)
    _settle()
    assert [s for s in opened if id(s) not in closed and s is not viewer.view.series] == []


def test_closing_the_viewer_while_a_series_loads_closes_it(qtbot, viewer, monkeypatch):
    opened, closed = _track_opens(monkeypatch)
    viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)  # pytest-qt closes it later
    viewer.show_series([row.series_ref for row in viewer.series_rows][1])
    viewer.close()
    _settle()
    assert opened and all(id(s) in closed for s in opened)
