"""The masks of a series while it is redacted (no Qt): which mask is edited, undo and redo
across masks, moving a mask to another scope, accepting several boxes as one step, and where
each mask applies."""

from __future__ import annotations

import pytest

from desktop.app.redaction.session import Here, RedactSession, Slot, reach_text
from desktop.core.library.index import InstanceRow
from desktop.core.redaction.history import EditHistory
from desktop.core.redaction.mask import Mask, Scope
from desktop.core.redaction.shapes import Rect, Stroke

ROWS, COLUMNS = 40, 50


def image(ref: int, rows: int | None = ROWS, columns: int | None = COLUMNS, frames: int = 1) -> InstanceRow:
    return InstanceRow(ref, f"1.2.{ref}", ref, frames, rows, columns, "MONOCHROME2", "0" * 64)


def here(ref: int, frame: int = 0, rows: int = ROWS, columns: int = COLUMNS, frames: int = 1) -> Here:
    return Here(ref, frame, rows, columns, frames)


def draw(session: RedactSession, box: tuple[float, float, float, float], label: str = "Rectangle") -> None:
    """What a tool does to the working mask, then the step recorded."""
    history = session.working_history
    assert history is not None
    history.apply(history.mask.with_shape(Rect(0, *box)), label)
    assert session.commit()


def working(session: RedactSession) -> Mask:
    history = session.working_history
    assert history is not None
    return history.mask


def test_a_new_series_edits_a_new_mask_of_the_default_scope():
    session = RedactSession([image(1), image(2)], {})
    slot = session.show(here(1))
    assert slot == Slot(1, Scope.IMAGE, 0) and working(session).empty
    assert session.masks_here() == [] and not session.can_undo and not session.stored()
    framed = RedactSession([image(1)], {}, Scope.FRAME)
    assert framed.show(here(1, frame=0)) == Slot(1, Scope.FRAME, 0)


def test_the_narrowest_mask_that_applies_here_is_edited():
    banner = Mask(ROWS, COLUMNS, scope=Scope.SERIES).with_shape(Rect(0, 0, 0, 50, 5))
    label = Mask(ROWS, COLUMNS, scope=Scope.IMAGE).with_shape(Rect(0, 0, 30, 20, 40))
    session = RedactSession([image(1), image(2)], {1: [banner], 2: [label]})
    assert session.show(here(2)) == Slot(2, Scope.IMAGE, 0)
    assert session.slots_here() == [Slot(2, Scope.IMAGE, 0), Slot(1, Scope.SERIES, 0)]
    assert session.masks_here() == [banner, label]
    assert session.show(here(1)) == Slot(1, Scope.SERIES, 0)  # the banner drawn on image 1


def test_steps_are_recorded_saved_and_undone_in_order():
    session = RedactSession([image(1)], {})
    session.show(here(1))
    draw(session, (0, 0, 10, 10))
    draw(session, (20, 20, 30, 30))
    assert not session.commit()  # nothing changed since
    assert session.undo_label == "Rectangle" and session.can_undo and not session.can_redo
    assert session.take_changed() == {Slot(1, Scope.IMAGE, 0): working(session)}
    assert session.take_changed() == {}  # taken once
    assert session.undo() == (Slot(1, Scope.IMAGE, 0),)
    assert len(working(session).shapes) == 1 and session.redo_label == "Rectangle"
    assert session.undo() and working(session).empty and session.undo() == ()
    assert session.redo() and session.redo() and len(working(session).shapes) == 2 and session.redo() == ()
    assert set(session.take_changed()) == {Slot(1, Scope.IMAGE, 0)}


def test_a_new_step_after_undo_drops_the_redo():
    session = RedactSession([image(1)], {})
    session.show(here(1))
    draw(session, (0, 0, 10, 10))
    session.undo()
    draw(session, (5, 5, 8, 8))
    assert not session.can_redo and session.redo() == ()


def test_undo_is_refused_in_the_middle_of_a_drag():
    session = RedactSession([image(1)], {})
    session.show(here(1))
    draw(session, (0, 0, 10, 10))
    history = session.working_history
    assert isinstance(history, EditHistory)
    history.begin_gesture()
    assert session.busy and not session.can_undo and session.undo() == ()
    history.cancel_gesture()
    assert session.can_undo


def test_moving_a_mask_to_the_series_is_one_step_and_undo_puts_it_back():
    session = RedactSession([image(1), image(2), image(3, rows=10)], {})
    session.show(here(1))
    draw(session, (0, 0, 50, 5))
    assert session.move_to(Scope.SERIES) is None
    assert session.working == Slot(1, Scope.SERIES, 0) and session.undo_label == "Apply to the series"
    assert session.reach(session.working) == (2, 2)  # the image of another size is not covered
    session.show(here(2))
    assert len(session.masks_here()) == 1
    session.show(here(1))
    session.undo()
    assert session.working == Slot(1, Scope.IMAGE, 0) and len(working(session).shapes) == 1
    assert session.history(Slot(1, Scope.SERIES, 0)).mask.empty


def test_moving_only_the_selected_shape():
    session = RedactSession([image(1)], {})
    session.show(here(1))
    draw(session, (0, 0, 50, 5))
    draw(session, (0, 30, 20, 40))
    label = working(session).shapes[1]
    assert session.move_to(Scope.FRAME, label.id) is None
    assert session.working == Slot(1, Scope.FRAME, 0)
    assert [s.bounds for s in working(session).shapes] == [label.bounds]
    assert [s.bounds for s in session.history(Slot(1, Scope.IMAGE, 0)).mask.shapes] == [(0, 0, 50, 5)]


def test_two_masks_that_both_erased_something_are_never_joined():
    erased = Mask(ROWS, COLUMNS, scope=Scope.IMAGE).with_shape(Rect(0, 0, 0, 50, 5)).with_shape(
        Stroke(0, ((10.0, 2.0), (12.0, 2.0)), 2.0, erase=True))
    series = Mask(ROWS, COLUMNS, scope=Scope.SERIES).with_shape(Rect(0, 0, 30, 50, 40)).with_shape(
        Stroke(0, ((10.0, 35.0), (12.0, 35.0)), 2.0, erase=True))
    session = RedactSession([image(1)], {1: [erased, series]})
    session.show(here(1))
    why = session.move_to(Scope.SERIES)
    assert why is not None and "erased" in why
    assert session.working == Slot(1, Scope.IMAGE, 0) and not session.can_undo  # nothing changed


def test_accepted_boxes_on_several_masks_are_one_step():
    session = RedactSession([image(1, frames=3)], {}, Scope.FRAME)
    session.show(here(1, frames=3))
    slots = {Slot(1, Scope.FRAME, f): [(1.0, 1.0, 9.0, 9.0)] for f in (0, 2)}
    session.add_rects(slots, "Accept proposals")
    assert session.undo_label == "Accept proposals"
    assert set(session.take_changed()) == set(slots)
    session.undo()
    assert all(session.history(s).mask.empty for s in slots) and not session.can_undo


def test_other_sizes_and_reach_say_where_masks_apply():
    small = Mask(10, 10, scope=Scope.SERIES).with_shape(Rect(0, 0, 0, 10, 2))
    session = RedactSession([image(1, frames=4), image(2, rows=10, columns=10)], {2: [small]})
    assert session.other_sizes(here(1, frames=4)) == [(10, 10)]
    session.show(here(1, frames=4))
    draw(session, (0, 0, 5, 5))
    assert session.reach(session.working) == (1, 4)
    assert reach_text(Scope.IMAGE, 1, 4) == "all 4 frames of this image"
    assert reach_text(Scope.IMAGE, 1, 1) == "this image"
    assert reach_text(Scope.FRAME, 1, 1) == "this frame only"
    assert reach_text(Scope.SERIES, 3, 3) == "3 images"
    assert reach_text(Scope.SERIES, 1, 5) == "1 image (5 frames)"


def test_an_image_of_unknown_size_gets_no_mask():
    session = RedactSession([image(1, rows=None)], {})
    with pytest.raises(ValueError):
        session.history(Slot(1, Scope.IMAGE, 0))
