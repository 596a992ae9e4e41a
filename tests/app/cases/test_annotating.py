"""The annotation tools as a radiologist uses them, without Qt: each tool's gesture makes its
annotation in the image's coordinates, a click is not an arrow, the angle takes a drag and a
click, Select picks, moves and reshapes, Delete and labels are one step each, and the picture
the window shows measures in mm and HU on a real CT."""

from __future__ import annotations

import pytest

from desktop.app.cases import casebook
from desktop.app.cases.annotating import AnnotateSession, Tool
from desktop.app.cases.picture import current_object, key_picture
from desktop.core.cases.annotations import Annotations, Kind
from desktop.core.cases.case import CaseError, KeyView
from desktop.core.cases.measure import describe


def _drag(session: AnnotateSession, start, end, tolerance: float = 2.0):  # noqa: ANN001, ANN202
    session.press(start, tolerance)
    session.move(((start[0] + end[0]) / 2, (start[1] + end[1]) / 2))
    session.move(end)
    return session.release(end)


@pytest.mark.parametrize("tool", [Tool.ARROW, Tool.LINE, Tool.ELLIPSE, Tool.ROI])
def test_a_drag_draws_the_tools_annotation_from_where_it_started_to_where_it_ended(tool):  # noqa: ANN001
    session = AnnotateSession(Annotations(64, 64))
    session.choose(tool)
    edit = _drag(session, (5.0, 6.0), (40.0, 30.0))
    assert edit is not None and edit.label == f"Draw {Kind(tool.value).label.capitalize()}"
    (item,) = edit.annotations.items
    assert item.kind is Kind(tool.value) and item.points == ((5.0, 6.0), (40.0, 30.0))
    assert session.selected == item.id and not session.pending


def test_a_click_is_not_an_arrow_and_points_stop_at_the_edge():
    session = AnnotateSession(Annotations(64, 64))
    session.choose(Tool.ARROW)
    assert _drag(session, (10.0, 10.0), (10.5, 10.5)) is None
    edit = _drag(session, (10.0, 10.0), (500.0, -40.0))
    assert edit is not None and edit.annotations.items[0].points[1] == (63.5, -0.5)


def test_an_angle_is_a_drag_for_the_first_arm_then_a_click():
    session = AnnotateSession(Annotations(64, 64))
    session.choose(Tool.ANGLE)
    assert _drag(session, (10.0, 50.0), (30.0, 50.0)) is None  # the first arm: end to vertex
    assert session.pending == [(10.0, 50.0), (30.0, 50.0)]
    session.move((30.0, 20.0))
    session.press((30.0, 20.0), 2.0)
    edit = session.release((30.0, 20.0))
    assert edit is not None
    item = edit.annotations.items[0]
    assert item.kind is Kind.ANGLE and item.points == ((10.0, 50.0), (30.0, 50.0), (30.0, 20.0))
    assert describe(item, None) == "90.0°"


def test_escape_drops_the_angle_being_drawn_then_the_selection():
    session = AnnotateSession(Annotations(64, 64))
    session.choose(Tool.ANGLE)
    _drag(session, (10.0, 50.0), (30.0, 50.0))
    assert session.cancel() and not session.pending
    assert not session.cancel()


def test_select_picks_moves_reshapes_and_deletes_each_as_one_step():
    base = Annotations(64, 64).add(Kind.LINE, [(10.0, 10.0), (30.0, 10.0)]).add(Kind.TEXT, [(50.0, 50.0)], "Air")
    session = AnnotateSession(base)
    session.press((20.0, 11.0), 2.0)  # on the line
    assert session.selected == 1
    session.move((25.0, 21.0))
    assert session.live is not None and session.shown.find(1).points == ((15.0, 20.0), (35.0, 20.0))
    edit = session.release((25.0, 21.0))
    assert edit is not None and edit.label == "Move Line" and edit.annotations.find(1).points[0] == (15.0, 20.0)
    session.reset(edit.annotations)
    edit = _drag(session, (35.0, 20.0), (35.0, 40.0))  # the selected line's end handle
    assert edit is not None and edit.label == "Reshape Line"
    assert edit.annotations.find(1).points == ((15.0, 20.0), (35.0, 40.0))
    session.reset(edit.annotations)
    session.press((5.0, 60.0), 2.0)  # nothing there
    assert session.selected is None and session.release((5.0, 60.0)) is None
    session.press((50.0, 50.0), 2.0)
    session.release((50.0, 50.0))
    edit = session.delete_selected()
    assert edit is not None and edit.label == "Delete Text label" and [a.kind for a in edit.annotations.items] == [
        Kind.LINE]


def test_labels_are_typed_in_and_a_text_label_keeps_its_text():
    session = AnnotateSession(Annotations(64, 64))
    session.choose(Tool.TEXT)
    assert session.press((20.0, 20.0), 2.0)  # the window asks for the text
    assert session.add_text((20.0, 20.0), "   ") is None
    edit = session.add_text((20.0, 20.0), "Free air")
    assert edit is not None and edit.annotations.items[0].text == "Free air"
    session.reset(edit.annotations)
    assert session.relabelled(1, "") is None
    relabel = session.relabelled(1, "Pneumoperitoneum")
    assert relabel is not None and relabel.annotations.items[0].text == "Pneumoperitoneum"


def test_the_picture_measures_in_mm_and_hu_over_the_current_image(planted_ct):  # noqa: ANN001
    home, study_uid, sop = planted_ct
    key = casebook.key_image(home, sop, 0, KeyView(window_center=40, window_width=400, rotation_quarters=1))
    picture = key_picture(current_object(home, sop), key)
    assert picture.pixels.shape == (1024, 1024, 3) and picture.unit == "HU" and picture.spacing is not None
    roi = key.annotations.add(Kind.ROI, [(40.0, 40.0), (80.0, 80.0)]).items[0]
    assert describe(roi, picture.spacing, picture.values, picture.unit).startswith("Mean ")
    assert " HU, SD " in describe(roi, picture.spacing, picture.values, picture.unit)
    with pytest.raises(CaseError, match="no longer in the library"):
        current_object(home, "1.2.3.4")
