"""Undo and redo for mask edits: a mask is an immutable value, so the shared
:class:`desktop.core.common.undo.History` keeps each step as the mask before and after it.

A gesture (one drag of the rectangle, brush, eraser or a move) shows its progress live with
:meth:`EditHistory.update_gesture`, and becomes exactly one undo step when it ends.
"""

from __future__ import annotations

from desktop.core.common.undo import MAX_STEPS, History
from desktop.core.redaction.mask import Mask

__all__ = ["MAX_STEPS", "EditHistory"]


class EditHistory(History[Mask]):
    """The current mask of one image, and the steps that made it."""

    @property
    def mask(self) -> Mask:
        return self.value
