"""Undo and redo of an immutable value (git-cola style commands reduced to their essence: each
step keeps the value before and after it).

A gesture (one drag: a rectangle, a brush stroke, moving an arrow) shows its progress live with
:meth:`History.update_gesture`, and becomes exactly one undo step when it ends. Redaction masks
and teaching-case annotations both keep their edits here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

MAX_STEPS = 500

T = TypeVar("T")


@dataclass(frozen=True)
class Step(Generic[T]):
    label: str
    before: T
    after: T


class History(Generic[T]):
    """The current value, and the steps that made it (at most :data:`MAX_STEPS` kept)."""

    def __init__(self, value: T) -> None:
        self._value = value
        self._undo: list[Step[T]] = []
        self._redo: list[Step[T]] = []
        self._gesture_start: T | None = None
        self._in_gesture = False
        self.revision = 0  # bumps on every change: a cheap "did it change" for the UI

    @property
    def value(self) -> T:
        return self._value

    @property
    def in_gesture(self) -> bool:
        return self._in_gesture

    def apply(self, value: T, label: str) -> None:
        """Replace the value as one undoable step (no step when nothing changed)."""
        if self.in_gesture:
            self.end_gesture(label)
        if value == self._value:
            return
        self._push(Step(label, self._value, value))
        self._value = value
        self.revision += 1

    def begin_gesture(self) -> None:
        if not self._in_gesture:
            self._gesture_start, self._in_gesture = self._value, True

    def update_gesture(self, value: T) -> None:
        """Show the gesture so far (not a step yet)."""
        self.begin_gesture()
        self._value = value
        self.revision += 1

    def end_gesture(self, label: str) -> None:
        if not self._in_gesture:
            return
        start, self._gesture_start, self._in_gesture = self._gesture_start, None, False
        if start != self._value:
            self._push(Step(label, start, self._value))  # type: ignore[arg-type]  # set by begin_gesture

    def cancel_gesture(self) -> None:
        if not self._in_gesture:
            return
        start, self._gesture_start, self._in_gesture = self._gesture_start, None, False
        self._value = start  # type: ignore[assignment]  # set by begin_gesture
        self.revision += 1

    def _push(self, step: Step[T]) -> None:
        self._undo.append(step)
        del self._undo[:-MAX_STEPS]
        self._redo.clear()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo) and not self.in_gesture

    @property
    def can_redo(self) -> bool:
        return bool(self._redo) and not self.in_gesture

    @property
    def undo_label(self) -> str:
        return self._undo[-1].label if self._undo else ""

    @property
    def redo_label(self) -> str:
        return self._redo[-1].label if self._redo else ""

    def undo(self) -> bool:
        if not self.can_undo:
            return False
        step = self._undo.pop()
        self._redo.append(step)
        self._value = step.before
        self.revision += 1
        return True

    def redo(self) -> bool:
        if not self.can_redo:
            return False
        step = self._redo.pop()
        self._undo.append(step)
        self._value = step.after
        self.revision += 1
        return True
