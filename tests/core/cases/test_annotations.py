"""Annotations as vector data: what each kind holds, what is refused, edits, picking, storage."""

from __future__ import annotations

import json

import pytest

from desktop.core.cases.annotations import MAX_ANNOTATIONS, MAX_TEXT, AnnotationError, Annotations, Kind
from desktop.core.common.undo import History


def _image() -> Annotations:
    return Annotations(rows=100, columns=200)


def test_each_kind_is_drawn_with_its_points():
    marks = (_image().add(Kind.ARROW, [(10, 10), (50, 40)])
             .add(Kind.TEXT, [(20, 80)], "Pneumothorax")
             .add(Kind.ELLIPSE, [(100, 10), (140, 50)])
             .add(Kind.LINE, [(0, 0), (199, 99)])
             .add(Kind.ANGLE, [(10, 90), (50, 50), (90, 90)])
             .add(Kind.ROI, [(150, 60), (190, 90)]))
    assert [a.kind for a in marks.items] == list(Kind) and [a.id for a in marks.items] == [1, 2, 3, 4, 5, 6]
    with pytest.raises(AnnotationError, match="angle is drawn with 3 points, not 2"):
        _image().add(Kind.ANGLE, [(0, 0), (1, 1)])
    with pytest.raises(AnnotationError, match="needs its text"):
        _image().add(Kind.TEXT, [(1, 1)], "  \n ")


@pytest.mark.parametrize("points", [[(0, 0), (200, 10)], [(-1, 0), (5, 5)], [(0, 0), (5, 100)]])
def test_a_point_outside_the_image_is_refused(points):
    with pytest.raises(AnnotationError, match="reaches outside the image"):
        _image().add(Kind.LINE, points)


def test_not_a_number_is_refused_and_labels_are_one_clean_line():
    with pytest.raises(AnnotationError, match="not a number"):
        _image().add(Kind.ARROW, [(0, 0), (float("nan"), 3)])
    marks = _image().add(Kind.TEXT, [(5, 5)], "Left\n\x1b[31mlung\t apex\x00")
    assert marks.items[0].text == "Left [31mlung apex"
    with pytest.raises(AnnotationError, match=f"at most {MAX_TEXT} characters"):
        _image().add(Kind.TEXT, [(5, 5)], "x" * (MAX_TEXT + 1))


def test_an_image_holds_a_bounded_number_of_annotations():
    marks = _image()
    for _ in range(MAX_ANNOTATIONS):
        marks = marks.add(Kind.ARROW, [(1, 1), (5, 5)])
    with pytest.raises(AnnotationError, match=f"at most {MAX_ANNOTATIONS}"):
        marks.add(Kind.ARROW, [(1, 1), (5, 5)])


def test_move_stops_at_the_edge_and_a_handle_moves_one_point():
    marks = _image().add(Kind.LINE, [(10, 10), (30, 20)])
    moved = marks.moved(1, -50, 500)
    assert moved.items[0].points == ((-0.5, 89.5), (19.5, 99.5))
    stretched = marks.replaced(marks.find(1).with_point(1, (60, 20)))
    assert stretched.items[0].points == ((10, 10), (60, 20))
    with pytest.raises(AnnotationError, match="no longer on this image"):
        marks.deleted(1).find(1)


def test_the_topmost_annotation_near_the_mouse_is_picked():
    marks = (_image().add(Kind.LINE, [(0, 50), (199, 50)])
             .add(Kind.ELLIPSE, [(80, 30), (120, 70)])
             .add(Kind.TEXT, [(150, 20)], "Mass"))
    assert marks.hit((100, 52), 3).kind is Kind.LINE  # inside the ellipse, far from its outline
    assert marks.hit((80, 50), 3).kind is Kind.ELLIPSE  # on both: the ellipse is on top
    assert marks.hit((151, 21), 3).kind is Kind.TEXT
    assert marks.hit((40, 10), 3) is None


def test_edits_undo_and_redo_as_values():
    history = History(_image())
    history.apply(history.value.add(Kind.ARROW, [(1, 1), (9, 9)]), "Add arrow")
    history.update_gesture(history.value.moved(1, 5, 0))
    history.update_gesture(history.value.moved(1, 5, 0))
    history.end_gesture("Move arrow")
    assert history.value.items[0].points == ((11, 1), (19, 9))
    history.undo()
    assert history.value.items[0].points == ((1, 1), (9, 9))
    history.undo()
    assert history.value.items == ()
    history.redo()
    history.redo()
    assert history.value.items[0].points == ((11, 1), (19, 9))


def test_stored_and_read_back_exactly_and_a_forged_store_is_refused():
    marks = _image().add(Kind.ANGLE, [(1.25, 2), (3, 4), (5, 6)]).add(Kind.TEXT, [(7, 8)], "Ductus")
    assert Annotations.from_json(marks.to_json()) == marks
    data = json.loads(marks.to_json())
    data["items"][0]["points"] = [[1, 2], [3, 4]]
    with pytest.raises(AnnotationError, match="3 points"):
        Annotations.from_json(json.dumps(data))
    data["items"][0]["points"] = [[1e9, 2], [3, 4], [5, 6]]
    with pytest.raises(AnnotationError, match="outside the image"):
        Annotations.from_json(json.dumps(data))
    for forged in ("[]", '{"format": 2}', '{"format": 1, "rows": 10}', "x" * 300_000):
        with pytest.raises(AnnotationError):
            Annotations.from_json(forged)
    twice = json.loads(marks.to_json())
    twice["items"][1]["id"] = twice["items"][0]["id"]
    with pytest.raises(AnnotationError, match="same id"):
        Annotations.from_json(json.dumps(twice))
