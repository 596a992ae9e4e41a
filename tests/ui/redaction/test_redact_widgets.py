"""Redact mode built alone, on a fake viewer and an in-memory mask store: what the person sees
while drawing, undoing, choosing a tool, deleting a shape and choosing where a mask applies."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from desktop.core.redaction.mask import Mask, Scope
from desktop.core.redaction.shapes import Rect, Stroke
from desktop.core.redaction.tools import BrushTool, SelectTool
from tests.ui.redaction.fakes import LOAD_TIMEOUT_MS, SERIES_REF, blank_images, click, drag, on_screen, redact_alone


def working_mask(mode) -> Mask:  # noqa: ANN001 - RedactMode
    history = mode.session.working_history
    assert history is not None
    return history.mask


def test_entering_shows_one_pane_hands_the_keys_over_and_reads_the_masks(qtbot):
    viewer, mode, store = redact_alone(qtbot)
    assert store.loads == [SERIES_REF]
    assert viewer.layout_name == "1x1" and not viewer.commands.layout_2x2.isEnabled()
    assert viewer.viewport.editor is mode.canvas and viewer.pane.editing
    assert mode.toolbar.isVisible() and "Shift+R" in viewer.hint.text()
    assert not viewer.commands.overlays.isChecked()  # the corner texts would hide burned-in text
    assert not viewer.commands.reset.shortcuts()  # R picks the rectangle now
    assert mode.toolbar.reach.text() == "New mask, for this image"

    mode.actions.redact.setChecked(False)
    assert viewer.viewport.editor is None and not viewer.pane.editing and not mode.toolbar.isVisible()
    assert viewer.commands.overlays.isChecked() and viewer.hint.text() == "Drag: window"
    assert [s.toString() for s in viewer.commands.reset.shortcuts()] == ["R"]
    assert viewer.commands.layout_2x2.isEnabled()


def test_drawing_a_rectangle_makes_a_mask_that_is_saved(qtbot):
    _viewer, mode, store = redact_alone(qtbot)
    drag(mode, [(10, 5), (30, 20), (40, 25)])
    mask = working_mask(mode)
    assert len(mask.shapes) == 1 and isinstance(mask.shapes[0], Rect)
    assert np.allclose(mask.shapes[0].bounds, (10, 5, 40, 25), atol=0.2)
    assert mask.rasterize()[5:25, 10:40].all()
    assert mode.toolbar.reach.text() == "Applies to this image"
    assert mode.actions.undo.text() == "&Undo Rectangle" and mode.actions.apply.isEnabled()
    slot = mode.session.working
    qtbot.waitUntil(lambda: store.saved == {slot: mask} and mode.saver.idle, timeout=LOAD_TIMEOUT_MS)


def test_undo_and_redo_take_back_and_bring_back_each_step(qtbot):
    _viewer, mode, store = redact_alone(qtbot)
    drag(mode, [(0, 0), (20, 10)])
    drag(mode, [(30, 30), (50, 40)])
    assert len(working_mask(mode).shapes) == 2 and not mode.actions.redo.isEnabled()

    mode.actions.undo.trigger()
    assert len(working_mask(mode).shapes) == 1 and mode.actions.redo.text() == "Re&do Rectangle"
    mode.actions.undo.trigger()
    assert working_mask(mode).empty and not mode.actions.undo.isEnabled()
    assert mode.toolbar.reach.text() == "New mask, for this image"
    mode.actions.redo.trigger()
    mode.actions.redo.trigger()
    assert len(working_mask(mode).shapes) == 2 and not mode.actions.redo.isEnabled()
    slot = mode.session.working
    qtbot.waitUntil(lambda: len(store.saved.get(slot, Mask(1, 1)).shapes) == 2, timeout=LOAD_TIMEOUT_MS)


def test_the_brush_tool_paints_and_its_size_follows_the_keys(qtbot):
    _viewer, mode, _store = redact_alone(qtbot)
    mode.actions.brush.trigger()
    assert mode.tool_name == "brush" and isinstance(mode.tool, BrushTool) and mode.actions.brush.isChecked()
    before = mode.radius
    mode.actions.larger.trigger()
    assert mode.radius > before and mode.toolbar.size_label.text() == f"{mode.radius:.0f} px"
    assert mode.toolbar.size_slider.value() == int(mode.radius)
    drag(mode, [(10, 30), (20, 30), (30, 30), (40, 30)])
    shapes = working_mask(mode).shapes
    assert len(shapes) == 1 and isinstance(shapes[0], Stroke)
    assert working_mask(mode).rasterize()[30, 25]
    assert mode.actions.undo.text() == "&Undo Brush"

    mode.actions.rectangle.trigger()  # back to boxes: the next drag draws one
    drag(mode, [(50, 40), (70, 55)])
    assert [type(s) for s in working_mask(mode).shapes] == [Stroke, Rect]


def test_selecting_a_shape_and_deleting_it_empties_the_mask(qtbot):
    _viewer, mode, store = redact_alone(qtbot)
    drag(mode, [(10, 10), (30, 30)])
    slot = mode.session.working
    qtbot.waitUntil(lambda: slot in store.saved, timeout=LOAD_TIMEOUT_MS)
    mode.actions.select.trigger()
    assert isinstance(mode.tool, SelectTool)
    click(mode, 20, 20)
    assert mode.tool.selected == working_mask(mode).shapes[0].id
    mode.actions.delete.trigger()
    assert working_mask(mode).empty and mode.actions.undo.text() == "&Undo Delete shape"
    assert not mode.actions.apply.isEnabled()  # no mask left, nothing redacted before
    qtbot.waitUntil(lambda: store.saved[slot].empty, timeout=LOAD_TIMEOUT_MS)  # the library forgets it


def test_the_mask_scope_spreads_a_mask_over_the_series_and_back(qtbot):
    viewer, mode, _store = redact_alone(qtbot, blank_images(3))
    drag(mode, [(0, 0), (80, 10)])  # a banner
    bar = mode.toolbar
    assert bar.scope.currentData() is Scope.IMAGE

    bar.scope.setCurrentIndex(bar.scope_index(Scope.SERIES))
    bar.scope.activated.emit(bar.scope_index(Scope.SERIES))
    assert mode.session.working.scope is Scope.SERIES
    assert bar.reach.text() == "Applies to 3 images"
    assert mode.actions.undo.text() == "&Undo Apply to the series"
    viewer.go_to(2)  # another image of the same size: the banner is there too
    assert mode.here.instance_ref == 103 and len(mode.session.masks_here()) == 1
    assert bar.reach.text() == "Applies to 3 images"

    mode.actions.undo.trigger()  # back on the first image only; a new mask here is for the scope chosen last
    assert mode.session.masks_here() == [] and bar.reach.text() == "New mask, for 3 images"
    viewer.go_to(0)
    assert bar.scope.currentData() is Scope.IMAGE and len(mode.session.masks_here()) == 1


def test_masks_stored_before_are_shown_on_entering(qtbot):
    banner = Mask(60, 80, scope=Scope.SERIES).with_shape(Rect(0, 0, 0, 80, 8))
    _viewer, mode, _store = redact_alone(qtbot, stored={102: [banner]})
    assert mode.session.masks_here() == [banner] and mode.session.working.scope is Scope.SERIES
    assert mode.toolbar.reach.text() == "Applies to 3 images"
    assert mode.toolbar.scope.currentData() is Scope.SERIES
    assert mode.actions.apply.isEnabled() and not mode.actions.undo.isEnabled()


def colour_at(mode, x: float, y: float) -> tuple[int, int, int]:  # noqa: ANN001 - RedactMode
    """The colour the viewport shows at image point (x, y)."""
    image = mode.viewport.grab().toImage()
    pos = on_screen(mode, x, y) * image.devicePixelRatio()
    colour = image.pixelColor(QPoint(int(pos.x()), int(pos.y())))
    return colour.red(), colour.green(), colour.blue()


def test_preview_paints_the_masks_black_on_the_image(qtbot):
    viewer, mode, _store = redact_alone(qtbot)
    viewer.viewport.set_image(np.full((60, 80), 200, np.uint8))  # a light image shows the black
    drag(mode, [(10, 10), (50, 40)])
    red, green, blue = colour_at(mode, 30, 25)
    assert red > green + 20 and red > blue + 20  # the mask being edited, in red
    mode.actions.preview.setChecked(True)
    assert colour_at(mode, 30, 25) == (0, 0, 0)
    assert colour_at(mode, 70, 50) == (200, 200, 200)  # outside the mask: the image itself
    mode.actions.preview.setChecked(False)
    assert colour_at(mode, 30, 25) != (0, 0, 0)


def test_a_right_drag_never_draws(qtbot):
    viewer, mode, _store = redact_alone(qtbot)
    vp, kind, right = viewer.viewport, QMouseEvent.Type, Qt.MouseButton.RightButton
    for event_kind, pos, buttons in ((kind.MouseButtonPress, QPointF(100, 100), right),
                                     (kind.MouseMove, QPointF(140, 130), right),
                                     (kind.MouseButtonRelease, QPointF(140, 130), Qt.MouseButton.NoButton)):
        QApplication.sendEvent(vp, QMouseEvent(event_kind, pos, vp.mapToGlobal(pos), right, buttons,
                                               Qt.KeyboardModifier.NoModifier))
    assert working_mask(mode).empty and not mode.actions.undo.isEnabled()
