"""The one place that tells a person something went wrong (git-cola style).

A :class:`VeilError` is shown with its own message, which is written for a person and never
carries patient data. Anything else is a bug: the person sees a generic message and the log
gets the exception type and where it happened (file, line, function), never its message or
local values, which could hold patient data. No stack trace ever reaches a dialog.
"""

from __future__ import annotations

import logging
import sys
from types import TracebackType

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from desktop.app.common.log_policy import describe_unexpected
from desktop.core.common.errors import VeilError

log = logging.getLogger("veil.ui")

_unowned: set[QMessageBox] = set()

GENERIC_MESSAGE = (
    "Something unexpected went wrong. Your library is unchanged by the failed step; "
    "you can try again. If it happens again, please report it (the log names where it "
    "failed, without patient data)."
)


def message_for(exc: BaseException) -> str:
    """What the person reads for ``exc``."""
    if isinstance(exc, VeilError):
        return str(exc) or "Veil could not finish this step."
    return GENERIC_MESSAGE


def show_error(parent: QWidget | None, exc: BaseException, title: str = "Veil") -> QMessageBox:
    """Show ``exc`` in a message box (window-modal, not blocking the caller); log bugs."""
    if isinstance(exc, VeilError):
        icon = QMessageBox.Icon.Warning
    else:
        log.error("Unexpected error: %s", describe_unexpected(exc))
        icon = QMessageBox.Icon.Critical
    box = QMessageBox(icon, title, message_for(exc), QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("ErrorBox")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if parent is None:  # nothing owns a parentless box: keep it until it is dismissed
        _unowned.add(box)
        box.finished.connect(lambda *_: _unowned.discard(box))
    box.open()
    return box


def _excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt) or QApplication.instance() is None:
        sys.__excepthook__(kind, exc, tb)
        return
    exc.__traceback__ = tb
    show_error(QApplication.activeWindow(), exc)


def install_excepthook() -> None:
    """Route exceptions that escape a slot to :func:`show_error` instead of stderr.

    The hook holds no widget, so nothing of Qt outlives the app through ``sys``.
    """
    sys.excepthook = _excepthook


def uninstall_excepthook() -> None:
    sys.excepthook = sys.__excepthook__

