"""Undo and redo for mask edits (git-cola style commands reduced to their essence: a mask is an
immutable value, so each step keeps the mask before and after it).

A gesture (one drag of the rectangle, brush, eraser or a move) shows its progress live with
:meth:`EditHistory.update_gesture`, and becomes exactly one undo step when it ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop.core.redaction.mask import Mask

MAX_STEPS = 500


@dataclass(frozen=True)
class Step:
    label: str
    before: Mask
    after: Mask


class EditHistory:
    """The current mask of one image, and the steps that made it."""

    def __init__(self, mask: Mask) -> None:
        self._mask = mask
        self._undo: list[Step] = []
        self._redo: list[Step] = []
        self._gesture_start: Mask | None = None
        self.revision = 0  # bumps on every change: a cheap "did it change" for the UI

    @property
    def mask(self) -> Mask:
        return self._mask

    @property
    def in_gesture(self) -> bool:
        return self._gesture_start is not None

    def apply(self, mask: Mask, label: str) -> None:
        """Replace the mask as one undoable step (no step when nothing changed)."""
        if self.in_gesture:
            self.end_gesture(label)
        if mask == self._mask:
            return
        self._push(Step(label, self._mask, mask))
        self._mask = mask
        self.revision += 1

    def begin_gesture(self) -> None:
        if self._gesture_start is None:
            self._gesture_start = self._mask

    def update_gesture(self, mask: Mask) -> None:
        """Show the gesture so far (not a step yet)."""
        self.begin_gesture()
        self._mask = mask
        self.revision += 1

    def end_gesture(self, label: str) -> None:
        start, self._gesture_start = self._gesture_start, None
        if start is not None and start != self._mask:
            self._push(Step(label, start, self._mask))

    def cancel_gesture(self) -> None:
        start, self._gesture_start = self._gesture_start, None
        if start is not None:
            self._mask = start
            self.revision += 1

    def _push(self, step: Step) -> None:
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
        self._mask = step.before
        self.revision += 1
        return True

    def redo(self) -> bool:
        if not self.can_redo:
            return False
        step = self._redo.pop()
        self._undo.append(step)
        self._mask = step.after
        self.revision += 1
        return True
