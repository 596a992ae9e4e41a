"""Redact mode as a person uses it: draw with the mouse on the viewport, undo and redo with the
keys, spread the mask over the series, preview, apply, and find the mask again after reopening."""

from __future__ import annotations

import io

import numpy as np
import pydicom
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from desktop.app.redaction.proposals import group_proposals
from desktop.app.redaction.session import Slot
from desktop.core.library import index
from desktop.core.redaction.burn_in import darkest_stored_value
from desktop.core.redaction.mask import Scope
from desktop.core.redaction.shapes import Polygon, Rect, Stroke
from desktop.ui.common import background
from tests.ui.viewer.conftest import OPEN_TIMEOUT_MS, open_viewer, wheel

APPLY_TIMEOUT_MS = 30_000


def _send(widget, kind, pos: QPointF, button, buttons, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    QApplication.sendEvent(widget, QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, modifiers))


def at(viewer, x: float, y: float) -> QPointF:
    """Where image pixel coordinate (x, y) is on the viewport."""
    return viewer.redact.canvas.transform().map(QPointF(x, y))


def mouse_drag(viewer, points: list[tuple[float, float]]) -> None:
    """Press the left button at the first image point, move through the others, release."""
    vp, t, left = viewer.viewport, QMouseEvent.Type, Qt.MouseButton.LeftButton
    where = [at(viewer, x, y) for x, y in points]
    _send(vp, t.MouseButtonPress, where[0], left, left)
    for pos in where[1:]:
        _send(vp, t.MouseMove, pos, Qt.MouseButton.NoButton, left)
    _send(vp, t.MouseButtonRelease, where[-1], left, Qt.MouseButton.NoButton)


def click(viewer, x: float, y: float, double: bool = False) -> None:
    vp, t, left = viewer.viewport, QMouseEvent.Type, Qt.MouseButton.LeftButton
    pos = at(viewer, x, y)
    _send(vp, t.MouseButtonPress, pos, left, left)
    _send(vp, t.MouseButtonRelease, pos, left, Qt.MouseButton.NoButton)
    if double:
        _send(vp, t.MouseButtonDblClick, pos, left, left)
        _send(vp, t.MouseButtonRelease, pos, left, Qt.MouseButton.NoButton)


def key(qtbot, viewer, k, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(viewer.viewport, k, modifiers)


def enter_redact(qtbot, viewer) -> None:
    viewer.activateWindow()
    qtbot.waitActive(viewer)
    viewer.viewport.setFocus()
    key(qtbot, viewer, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
    assert viewer.redact.active
    qtbot.waitUntil(lambda: viewer.redact.ready, timeout=OPEN_TIMEOUT_MS)


def close(viewer) -> None:
    """Close the viewer as the person would (pytest-qt deletes it afterwards)."""
    viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    viewer.close()


def working_mask(viewer):
    return viewer.redact.session.working_history.mask


def pixel(viewer, x: float, y: float) -> tuple[int, int, int]:
    """The colour the viewport shows at image point (x, y)."""
    image = viewer.viewport.grab().toImage()
    pos = at(viewer, x, y).toPoint() * image.devicePixelRatio()
    colour = image.pixelColor(QPoint(int(pos.x()), int(pos.y())))
    return colour.red(), colour.green(), colour.blue()


def test_draw_undo_scope_preview_apply_and_reopen(qtbot, library):
    viewer = open_viewer(qtbot, library, "CT", 12)
    enter_redact(qtbot, viewer)
    mode = viewer.redact
    assert mode.toolbar.isVisible() and viewer.viewport.editor is mode.canvas
    assert mode.tool_name == "rectangle"
    assert "New mask" in mode.toolbar.reach.text()

    # a rectangle, drawn with the mouse
    mouse_drag(viewer, [(10.2, 20.4), (30, 30), (50.6, 40.3)])
    shapes = working_mask(viewer).shapes
    assert len(shapes) == 1 and isinstance(shapes[0], Rect)
    assert np.allclose(shapes[0].bounds, (10.2, 20.4, 50.6, 40.3), atol=0.2)
    covered = working_mask(viewer).rasterize()
    assert covered[20:41, 10:51].all() and covered.sum() == 21 * 41
    assert viewer.view.index == 0 and viewer.view.window is None  # the left drag drew, nothing else

    # a brush stroke: B picks the brush, ] enlarges it; one drag is one step
    key(qtbot, viewer, Qt.Key.Key_B)
    assert mode.tool_name == "brush"
    radius = mode.radius
    key(qtbot, viewer, Qt.Key.Key_BracketRight)
    assert mode.radius > radius and viewer.view.rotation == 0  # ] sized the brush, did not rotate
    mouse_drag(viewer, [(20, 90)] + [(20 + 4 * i, 90 + i) for i in range(1, 20)])
    shapes = working_mask(viewer).shapes
    assert [type(s) for s in shapes] == [Rect, Stroke] and len(shapes[1].points) >= 10
    assert working_mask(viewer).rasterize()[99, 56]
    assert mode.actions.undo.text() == "&Undo Brush"

    # undo and redo with the keys
    key(qtbot, viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [type(s) for s in working_mask(viewer).shapes] == [Rect]
    key(qtbot, viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert working_mask(viewer).empty
    key(qtbot, viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    key(qtbot, viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert [type(s) for s in working_mask(viewer).shapes] == [Rect, Stroke]
    assert not mode.actions.redo.isEnabled()

    # the mask covers the whole series: one step, and the toolbar says where it applies
    combo = mode.toolbar.scope
    i = mode.toolbar.scope_index(Scope.SERIES)
    combo.setCurrentIndex(i)
    combo.activated.emit(i)
    assert mode.session.working.scope is Scope.SERIES
    assert "12 images" in mode.toolbar.reach.text()
    mask = working_mask(viewer)
    assert [type(s) for s in mask.shapes] == [Rect, Stroke]

    # scrolling: the mask is on every image (red), and Preview shows it black
    wheel(viewer.viewport, 5)
    assert viewer.view.index == 5 and mode.session.masks_here() == [mask]
    red = pixel(viewer, 30, 30)
    assert red[0] > red[1] + 40 and red[0] > red[2] + 40
    key(qtbot, viewer, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
    assert mode.preview
    assert pixel(viewer, 30, 30) == (0, 0, 0)
    assert pixel(viewer, 100, 10) == pixel(viewer, 100, 10)  # outside: the image itself
    mode.actions.preview.trigger()
    assert not mode.preview

    # the masks are in the library (saved in the background as the person draws)
    qtbot.waitUntil(lambda: mode.saver.idle and background.pending() == 0, timeout=OPEN_TIMEOUT_MS)
    home = viewer.home
    conn = home.connect()
    try:
        original_ref = viewer.current_ref
        originals = index.list_instances(conn, original_ref)
        stored = conn.execute("SELECT scope FROM masks").fetchall()
    finally:
        conn.close()
    assert stored == [("series",)]

    # apply: redacted versions of the images, in the same series, shown when written
    mode.actions.apply.trigger()
    qtbot.waitUntil(lambda: mode.last_report is not None, timeout=APPLY_TIMEOUT_MS)
    report = mode.last_report
    assert report.written == 12 and not report.failed, report.headline()
    qtbot.waitUntil(lambda: viewer.view is not None and viewer.view.series.versions == "current"
                    and viewer.view.series.has_redacted_versions, timeout=OPEN_TIMEOUT_MS)
    assert not mode.active and viewer.current_ref == original_ref  # the same series, no new one
    assert viewer.view.index == 5  # where the person was
    qtbot.waitUntil(lambda: any(s.redacted_count == 12 for rows in library.catalogue.series_by_study.values()
                                for s in rows))  # the browser too
    assert any(s.image_count == 12 for s in library.catalogue.studies)  # each image counted once
    assert viewer.statusBar().currentMessage().startswith(report.headline())
    assert [viewer.series_list.item(r).text().endswith("12 of 12 redacted")
            for r in range(viewer.series_list.count())] == [True]
    conn = home.connect()
    try:
        series_uid = conn.execute("SELECT series_uid FROM series WHERE id = ?", (viewer.current_ref,)).fetchone()[0]
        written = index.list_instances(conn, viewer.current_ref)
    finally:
        conn.close()
    assert series_uid == report.series_uid and len(written) == 12
    assert [i.instance_ref for i in viewer.view.series.images] == [i.instance_ref for i in written]
    covered = mask.rasterize()
    by_ref = {i.instance_ref: i for i in originals}
    for new in written:
        out = pydicom.dcmread(io.BytesIO(home.objects.read(new.object_sha256)))
        src = pydicom.dcmread(io.BytesIO(home.objects.read(by_ref[new.replaces_ref].object_sha256)))
        after, before = out.pixel_array, src.pixel_array
        assert (after[covered] == darkest_stored_value(src)).all()
        assert np.array_equal(after[~covered], before[~covered])
        assert out.BurnedInAnnotation == "NO" and out.SOPInstanceUID != src.SOPInstanceUID

    # closing and opening again: the mask is back, where it was
    study = viewer.study
    close(viewer)
    again = library.open_viewer(study, next(r for r in library.browser.series_of(study)
                                            if r.series_ref == original_ref))
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.view is not None and again.current_ref == original_ref, timeout=OPEN_TIMEOUT_MS)
    enter_redact(qtbot, again)
    assert again.redact.session.working.scope is Scope.SERIES
    assert working_mask(again) == mask
    close(again)


def test_keys_polygon_select_eraser_and_leaving(qtbot, library):
    viewer = open_viewer(qtbot, library, "CT", 12)
    c = viewer.commands
    assert c.reset.shortcuts()[0].toString() == "R"
    enter_redact(qtbot, viewer)
    mode = viewer.redact
    assert not c.reset.shortcuts() and "rectangle" in c.reset.toolTip()
    assert not c.layout_2x2.isEnabled()

    # polygon: L, three clicks, Enter closes it
    key(qtbot, viewer, Qt.Key.Key_L)
    for x, y in ((10, 10), (60, 10), (60, 60)):
        click(viewer, x, y)
    assert working_mask(viewer).empty and mode.tool.preview() is not None
    key(qtbot, viewer, Qt.Key.Key_Return)
    assert isinstance(working_mask(viewer).shapes[0], Polygon)

    # select and move it by dragging, then delete it
    key(qtbot, viewer, Qt.Key.Key_S)
    mouse_drag(viewer, [(50, 20), (60, 30), (70, 40)])
    assert np.allclose(working_mask(viewer).shapes[0].bounds, (30, 30, 80, 80), atol=0.2)
    assert mode.actions.undo.text() == "&Undo Move"
    key(qtbot, viewer, Qt.Key.Key_Delete)
    assert working_mask(viewer).empty

    # a box, then the eraser through it
    key(qtbot, viewer, Qt.Key.Key_R)
    mouse_drag(viewer, [(0, 0), (100, 50)])
    key(qtbot, viewer, Qt.Key.Key_E)
    mouse_drag(viewer, [(50, 0), (50, 50)])
    covered = working_mask(viewer).rasterize()
    assert not covered[25, 50] and covered[25, 10]
    # hovering shows the eraser's outline where the mouse is (no button: nothing drawn)
    before = working_mask(viewer)
    _send(viewer.viewport, QMouseEvent.Type.MouseMove, at(viewer, 80, 90), Qt.MouseButton.NoButton,
          Qt.MouseButton.NoButton)
    assert np.allclose(mode.canvas.hover, (80, 90)) and working_mask(viewer) is before
    assert not viewer.viewport.grab().isNull()

    # "this frame" only: another image does not show it
    i = mode.toolbar.scope_index(Scope.FRAME)
    mode.toolbar.scope.setCurrentIndex(i)
    mode.toolbar.scope.activated.emit(i)
    assert mode.toolbar.reach.text().startswith("Applies to this frame only")
    wheel(viewer.viewport, 1)
    assert mode.session.masks_here() == [] and "New mask" in mode.toolbar.reach.text()
    wheel(viewer.viewport, -1)
    assert mode.session.masks_here()

    # leaving gives the keys back
    key(qtbot, viewer, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
    assert not mode.active and viewer.viewport.editor is None and not mode.toolbar.isVisible()
    assert c.reset.shortcuts()[0].toString() == "R" and c.layout_2x2.isEnabled()
    key(qtbot, viewer, Qt.Key.Key_BracketRight)
    assert viewer.view.rotation == 1
    close(viewer)


def set_scope(mode, scope: Scope) -> None:
    """Choose ``scope`` in the toolbar, as the person does."""
    i = mode.toolbar.scope_index(scope)
    mode.toolbar.scope.setCurrentIndex(i)
    mode.toolbar.scope.activated.emit(i)


def test_one_shape_moves_to_its_own_scope_and_erasers_never_uncover(qtbot, library):
    viewer = open_viewer(qtbot, library, "CT", 12)
    enter_redact(qtbot, viewer)
    mode = viewer.redact
    session = mode.session
    set_scope(mode, Scope.SERIES)
    mouse_drag(viewer, [(0, 0), (60, 20)])  # a banner on every image
    key(qtbot, viewer, Qt.Key.Key_E)
    mouse_drag(viewer, [(30, 0), (30, 20)])
    key(qtbot, viewer, Qt.Key.Key_R)
    mouse_drag(viewer, [(0, 80), (60, 100)])  # and one label on this image only:
    key(qtbot, viewer, Qt.Key.Key_S)
    click(viewer, 30, 90)  # select it
    set_scope(mode, Scope.FRAME)  # moves only the selected shape
    assert session.working.scope is Scope.FRAME and len(session.slots_here()) == 2
    assert len(working_mask(viewer).shapes) == 1
    assert np.allclose(working_mask(viewer).shapes[0].bounds, (0, 80, 60, 100))
    assert mode.tool.selected == working_mask(viewer).shapes[0].id
    assert len(session.history(session.slots_here()[1]).mask.shapes) == 2  # the banner and its eraser
    assert mode.actions.undo.text() == "&Undo Apply to this frame"
    key(qtbot, viewer, Qt.Key.Key_E)
    mouse_drag(viewer, [(30, 80), (30, 100)])
    # joining two masks that both erased something would uncover pixels: refused, said why
    set_scope(mode, Scope.SERIES)
    assert "erased" in viewer.statusBar().currentMessage()
    assert session.working.scope is Scope.FRAME and len(session.slots_here()) == 2
    wheel(viewer.viewport, 1)  # another image: only the banner
    assert [m.scope for m in session.masks_here()] == [Scope.SERIES]
    assert session.working.scope is Scope.SERIES
    close(viewer)


def test_accepting_proposals_is_one_step(qtbot, library):
    from desktop.core.redaction.detect import Proposal

    viewer = open_viewer(qtbot, library, "CT", 12)
    enter_redact(qtbot, viewer)
    mode = viewer.redact
    here = mode.here
    proposals = [Proposal(0, (5, 5, 40, 15), "name", "high", "matches PatientName"),
                 Proposal(0, (5, 100, 60, 110), "text", "low", "text")]
    mode.detection.groups = group_proposals(proposals, here.instance_ref, (here.rows, here.columns, 1))
    mode.detection._fill()
    assert [g.risk for g in mode.detection.proposals_here()] == ["high", "low"]
    panel = mode.detection.panel
    assert panel.list.count() == 2
    assert panel.list.item(0).text().startswith("High risk · name · top left, 35×10 px")
    assert not viewer.viewport.grab().isNull()  # the boxes paint
    panel.accept_high.click()  # only the identifier
    assert [s.bounds for s in working_mask(viewer).shapes] == [(5.0, 5.0, 40.0, 15.0)]
    assert [g.risk for g in mode.detection.groups] == ["low"] and not panel.accept_high.isEnabled()
    panel.list.item(0).setSelected(True)
    panel.reject_button.click()
    assert not mode.detection.groups and len(working_mask(viewer).shapes) == 1
    mode.actions.undo.trigger()
    assert working_mask(viewer).empty
    # accepting several proposals at once is one step too
    set_scope(mode, Scope.FRAME)
    mode.detection.groups = group_proposals([Proposal(0, (1, 1, 9, 9), "id", "high", "matches PatientID"),
                                             Proposal(0, (20, 1, 30, 9), "text", "low", "text")], here.instance_ref)
    mode.detection._fill()
    panel.accept_all.click()
    assert len(working_mask(viewer).shapes) == 2 and mode.actions.undo.text() == "&Undo Accept proposals"
    assert Slot(here.instance_ref, mode.session.working.scope, 0) == mode.session.working
    close(viewer)


def test_detect_proposes_in_the_background_and_says_what_is_covered(qtbot, library):
    """Real OCR on the ultrasound's banner: the institution's name is proposed as high risk."""
    import pytest

    pytest.importorskip("tesserocr")
    viewer = open_viewer(qtbot, library, "US")
    enter_redact(qtbot, viewer)
    mode = viewer.redact
    key(qtbot, viewer, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: not mode.detection.running, timeout=APPLY_TIMEOUT_MS)
    groups = mode.detection.groups
    high = [g for g in groups if g.risk == "high"]
    assert high and all(g.frames == [0] for g in groups)
    panel = mode.detection.panel
    assert panel.isVisible() and panel.list.count() == len(groups)
    assert mode.detection.proposals_here() and working_mask(viewer).empty  # shown, nothing applied
    # a box drawn over the first proposal: the list says it is covered
    x0, y0, x1, y1 = groups[0].box
    mouse_drag(viewer, [(x0 - 2, y0 - 2), (x1 + 2, y1 + 2)])
    assert panel.list.item(0).text().startswith("Covered · ")
    panel.accept_high.click()
    assert {g.risk for g in mode.detection.groups} <= {"low"}
    covered = working_mask(viewer).rasterize()
    assert all(covered[g.box[1]:g.box[3], g.box[0]:g.box[2]].all() for g in high)
    close(viewer)
