"""Menu and toolbar actions as Horos and OHIF users expect them: each tooltip names its keys."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow


def keyed_action(window: QMainWindow, text: str, tip: str, *shortcuts: str, checkable: bool = False) -> QAction:
    """An action of ``window`` with ``shortcuts``; its tooltip ends with the keys, its status
    tip is ``tip``."""
    action = QAction(text, window)
    action.setShortcuts([QKeySequence(s) for s in shortcuts])
    keys = ", ".join(QKeySequence(s).toString(QKeySequence.SequenceFormat.NativeText) for s in shortcuts)
    action.setToolTip(f"{tip} ({keys})" if keys else tip)
    action.setStatusTip(tip)
    action.setCheckable(checkable)
    window.addAction(action)
    return action
