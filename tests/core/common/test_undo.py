"""Undo and redo of an immutable value: one step per edit, one per gesture, none for no change."""

from __future__ import annotations

from desktop.core.common.undo import MAX_STEPS, History


def test_each_edit_is_one_step_and_no_change_is_none():
    history = History("a")
    history.apply("b", "Type b")
    history.apply("b", "Type b again")
    assert history.value == "b" and history.undo_label == "Type b"
    assert history.undo() and history.value == "a" and history.redo_label == "Type b"
    assert not history.undo()  # nothing left
    assert history.redo() and history.value == "b" and not history.can_redo


def test_a_gesture_shows_its_progress_and_is_one_step():
    history = History(0)
    for value in (1, 2, 3):
        history.update_gesture(value)
        assert history.value == value and not history.can_undo  # no undo in the middle of a drag
    history.end_gesture("Drag")
    assert history.undo() and history.value == 0 and not history.can_undo


def test_a_cancelled_gesture_leaves_no_trace_even_when_it_started_at_none():
    history: History[int | None] = History(None)
    history.update_gesture(5)
    history.cancel_gesture()
    assert history.value is None and not history.can_undo and not history.in_gesture
    history.update_gesture(7)
    history.end_gesture("Set")
    assert history.undo() and history.value is None


def test_a_new_edit_drops_the_redo_and_the_oldest_steps_go_first():
    history = History(0)
    for n in range(1, MAX_STEPS + 10):
        history.apply(n, f"Set {n}")
    while history.undo():
        pass
    assert history.value == 9  # the first nine steps were dropped
    history.redo()
    history.apply(-1, "Other")
    assert not history.can_redo
