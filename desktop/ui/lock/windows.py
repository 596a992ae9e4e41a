"""Veil's other windows while the app is locked: hidden, not covered, and put back after.

Part of the automatic logoff (HIPAA 45 CFR 164.312(a)(2)(iii)): a viewer, a de-identification
dialog or a consent form left open shows patient data to whoever walks by. At the lock every
visible top-level window but the main one is hidden and remembered with its place; a window
that code shows *during* the lock (an export's result, an import report, an error) is held
back before it reaches the screen and shown after the unlock, in the order it came.

Limits, said plainly:

* A modal question waiting in its own event loop (``QDialog.exec``, a Qt file chooser) cannot
  be hidden without ending that loop, so the lock answers it Cancel, the safe answer; it is not
  shown again. File choosers are cancelled outright (their folder names can identify a patient).
* Menus and other popups open at the lock are closed; tooltips are hidden.
* A native dialog drawn by the desktop rather than by Qt is outside Veil's reach.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QToolTip, QWidget

#: Window types never held back: they open only from what the person touches (the lock screen).
_TRANSIENT = (Qt.WindowType.Popup, Qt.WindowType.ToolTip)


@dataclass
class _Held:
    widget: QWidget
    geometry: QRect
    minimized: bool
    modal: bool
    shown_during_lock: bool


class HiddenWindows:
    """Hides Veil's top-level windows, holds back new ones, and restores them all.

    ``keep(widget)`` names the windows that stay (the main window).
    """

    def __init__(self, keep: Callable[[QWidget], bool]) -> None:
        self._keep = keep
        self._held: list[_Held] = []
        self.active = False

    @property
    def held(self) -> list[QWidget]:
        """The windows waiting for the unlock (alive ones only)."""
        return [h.widget for h in self._held if shiboken6.isValid(h.widget)]

    def hide_all(self) -> None:
        """Hide every visible top-level window but the kept ones, remembering where each was."""
        self.active = True
        QToolTip.hideText()
        for widget in QApplication.topLevelWidgets():
            if not widget.isVisible() or self._keep(widget):
                continue
            if widget.windowType() in _TRANSIENT:
                widget.close()
                continue
            if isinstance(widget, QFileDialog):
                widget.reject()  # the chooser's caller sees Cancel
                continue
            self._held.append(_Held(widget, widget.geometry(), widget.isMinimized(), widget.isModal(), False))
            widget.hide()

    def intercept(self, widget: QWidget) -> bool:
        """Called for a window about to be shown during the lock; True when it is held back.

        The Show event arrives before the window reaches the screen: marking it not-on-screen
        keeps it off, and it is hidden properly as soon as control returns to the event loop.
        """
        if (not self.active or self._keep(widget) or widget.windowType() in _TRANSIENT
                or widget.testAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)):
            return False
        widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        QTimer.singleShot(0, lambda: self._hold_back(widget))
        return True

    def _hold_back(self, widget: QWidget) -> None:
        if not shiboken6.isValid(widget):
            return
        was_modal = widget.isModal()
        widget.hide()
        widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, False)
        if isinstance(widget, QFileDialog):
            return  # hiding it answered Cancel already
        if not self.active:  # unlocked in between: show it now
            widget.show()
            return
        self._held.append(_Held(widget, widget.geometry(), widget.isMinimized(), was_modal, True))

    def restore_all(self) -> list[QWidget]:
        """Show the held windows again, where they were; the ones shown."""
        self.active = False
        held, self._held = self._held, []
        shown: list[QWidget] = []
        for item in held:
            widget = item.widget
            if not shiboken6.isValid(widget) or widget.isVisible() or widget in shown:
                continue
            if item.modal and not widget.isModal():
                continue  # its exec() loop ended at the lock: answered Cancel, not to be shown again
            if item.minimized:
                widget.showMinimized()
            else:
                widget.show()
            if not item.shown_during_lock and widget.geometry() != item.geometry:
                widget.setGeometry(item.geometry)
            shown.append(widget)
        if shown:
            shown[-1].raise_()
            shown[-1].activateWindow()
        return shown
