"""The redaction tools driven by plain event records, as the viewer's mouse and keys would:
one drag is one undo step, undo and redo restore exactly, and the mask's pixels are what was
painted."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.core.redaction.history import EditHistory
from desktop.core.redaction.mask import Mask, Scope
from desktop.core.redaction.shapes import Rect
from desktop.core.redaction.tools import (
    BrushTool,
    EraserTool,
    Key,
    Pointer,
    PolygonTool,
    RectTool,
    SelectTool,
    set_scope,
)


def drag(tool, points):  # noqa: ANN001, ANN201
    (x, y), *rest = points
    tool.handle(Pointer("press", x, y))
    for x, y in rest:
        tool.handle(Pointer("move", x, y))
    tool.handle(Pointer("release", x, y))


@pytest.fixture
def history() -> EditHistory:
    return EditHistory(Mask(rows=64, columns=80))


def test_a_rectangle_drag_is_one_step_and_covers_every_touched_pixel(history):
    drag(RectTool(history), [(10.5, 5.2), (20, 9), (30.5, 12.7)])
    pixels = history.mask.rasterize()
    assert pixels.shape == (64, 80)
    assert pixels[5:13, 10:31].all() and pixels.sum() == 8 * 21  # rows 5..12, columns 10..30
    assert history.undo_label == "Rectangle"
    assert history.undo() and not history.mask.rasterize().any()
    assert history.redo() and history.mask.rasterize().sum() == 8 * 21


def test_a_click_without_dragging_draws_nothing(history):
    RectTool(history).handle(Pointer("press", 5, 5))
    tool = RectTool(history)
    tool.handle(Pointer("press", 5, 5))
    tool.handle(Pointer("release", 5.2, 5.1))
    assert history.mask.empty and not history.can_undo


def test_a_brush_stroke_of_many_moves_is_one_step(history):
    tool = BrushTool(history, radius=3)
    drag(tool, [(10, 30)] + [(10 + i, 30) for i in range(1, 40)])
    pixels = history.mask.rasterize()
    assert pixels[30, 10:50].all() and pixels[27:34, 25].all()
    assert not pixels[20, 25] and not pixels[30, 60]
    assert history.undo_label == "Brush"
    history.undo()
    assert history.mask.empty and not history.can_undo


def test_the_eraser_clears_what_was_painted_before_it(history):
    drag(RectTool(history), [(0, 0), (80, 64)])
    drag(EraserTool(history, radius=4), [(40, 0), (40, 63)])
    pixels = history.mask.rasterize()
    assert not pixels[:, 40].any() and pixels[:, 10].all()
    drag(RectTool(history), [(30, 20), (50, 30)])  # painted after the eraser: covers again
    assert history.mask.rasterize()[25, 40]
    assert [history.undo() for _ in range(3)] == [True, True, True]
    assert history.mask.empty


def test_polygon_closes_on_first_point_double_click_or_enter(history):
    tool = PolygonTool(history)
    for x, y in [(10, 10), (40, 10), (40, 40)]:
        tool.handle(Pointer("press", x, y))
    assert tool.preview() is not None and history.mask.empty
    tool.handle(Pointer("press", 11, 11))  # near the first point: closed
    assert len(history.mask.shapes) == 1 and history.mask.rasterize()[15, 35]
    assert not history.mask.rasterize()[35, 15]  # the triangle's other half
    for x, y in [(50, 50), (60, 50), (60, 60)]:
        tool.handle(Pointer("press", x, y))
    tool.handle(Key("enter"))
    tool.handle(Pointer("press", 1, 1))
    tool.handle(Pointer("press", 5, 1))
    tool.handle(Key("escape"))  # abandoned
    assert len(history.mask.shapes) == 2 and history.undo_label == "Polygon"


def test_select_move_resize_and_delete_are_steps(history):
    drag(RectTool(history), [(10, 10), (20, 20)])
    select = SelectTool(history)
    drag(select, [(15, 15), (25, 30)])  # move by (+10, +15)
    assert history.mask.shapes[0].bounds == (20, 25, 30, 35) and history.undo_label == "Move"
    drag(select, [(30, 35), (40, 45)])  # the bottom-right handle
    assert history.mask.shapes[0].bounds == (20, 25, 40, 45) and history.undo_label == "Resize"
    select.handle(Key("delete"))
    assert history.mask.empty
    history.undo()
    history.undo()
    assert history.mask.shapes[0].bounds == (20, 25, 30, 35)
    history.undo()
    assert history.mask.shapes[0].bounds == (10, 10, 20, 20)


def test_escape_during_a_drag_leaves_the_mask_as_it_was(history):
    tool = RectTool(history)
    tool.handle(Pointer("press", 1, 1))
    tool.handle(Pointer("move", 30, 30))
    assert not history.mask.empty
    tool.handle(Key("escape"))
    assert history.mask.empty and not history.can_undo


def test_scope_and_where_a_mask_applies(history):
    drag(RectTool(history), [(0, 0), (10, 10)])
    mask = history.mask
    assert mask.applies_to(0, 64, 80, same_image=True) and not mask.applies_to(1, 64, 80, True)
    set_scope(history, Scope.IMAGE, 0)
    assert history.mask.applies_to(7, 64, 80, True) and not history.mask.applies_to(0, 64, 80, False)
    set_scope(history, Scope.SERIES, 0)
    assert history.mask.applies_to(3, 64, 80, False) and not history.mask.applies_to(0, 65, 80, False)
    history.undo()
    assert history.mask.scope is Scope.IMAGE


def test_masks_round_trip_through_json(history):
    drag(RectTool(history), [(1, 1), (9, 9)])
    drag(BrushTool(history, 2), [(20, 20), (30, 25)])
    drag(EraserTool(history, 1), [(5, 0), (5, 20)])
    tool = PolygonTool(history)
    for x, y in [(40, 40), (60, 40), (50, 60)]:
        tool.handle(Pointer("press", x, y))
    tool.handle(Key("enter"))
    set_scope(history, Scope.SERIES, 2)
    again = Mask.from_json(history.mask.to_json())
    assert again == history.mask
    assert np.array_equal(again.rasterize(), history.mask.rasterize())
    assert again.with_shape(Rect(0, 0, 0, 1, 1)).shapes[-1].id not in {s.id for s in again.shapes}


def test_a_long_history_is_bounded(history):
    for i in range(600):
        history.apply(history.mask.with_shape(Rect(0, i % 50, 0, i % 50 + 1, 1)), "Rectangle")
    undone = 0
    while history.undo():
        undone += 1
    assert undone == 500
