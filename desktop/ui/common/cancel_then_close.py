"""How a window running background work closes: never under the work's feet.

Closing a busy window (the title bar's ×, Close, quitting Veil) cancels the work and closes the
window once the work has stopped; Esc cancels, and closes too where :attr:`esc_closes` says so
(a wizard stays open to show that nothing was left behind). One mixin for every such dialog.
"""

from __future__ import annotations

from typing import Protocol, cast

from PySide6.QtGui import QCloseEvent


class Closable(Protocol):
    """What the mixin reads of the dialog it is mixed into (``busy``: a property or an
    attribute of the dialog's own)."""

    @property
    def busy(self) -> bool:
        """Work runs."""

    def close(self) -> bool:
        """Close the window (QWidget.close)."""


class CancelThenClose:
    """Mix in before ``QDialog``; the dialog gives ``busy`` (:class:`Closable`),
    :meth:`cancel_work` and, if it has timers or the like to stop, :meth:`before_close`."""

    #: Esc while busy: cancel and close once stopped (True), or only cancel (False).
    esc_closes = True
    #: Closing the window while busy: close once stopped (True), or only cancel (False).
    window_close_closes = True
    _close_when_done = False

    @property
    def _dialog(self) -> Closable:
        """This object as the dialog it is mixed into."""
        return cast(Closable, self)

    def cancel_work(self) -> None:
        raise NotImplementedError

    def before_close(self) -> None:
        """Stop what the dialog runs besides the work (timers); it is closing."""

    def request_close(self) -> None:
        """Close now, or cancel the work and close once it has stopped."""
        if self._dialog.busy:
            self._close_when_done = True
            self.cancel_work()
        else:
            self._dialog.close()

    def closed_after_work(self) -> bool:
        """Call when the work has ended: closes the window if a close was asked for meanwhile
        (True), else False and the dialog shows the result."""
        if self._close_when_done:
            self._dialog.close()
            return True
        return False

    def reject(self) -> None:  # Esc
        if self._dialog.busy:
            self.request_close() if self.esc_closes else self.cancel_work()
            return
        super().reject()  # type: ignore[misc]

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self._dialog.busy:
            self.request_close() if self.window_close_closes else self.cancel_work()
            event.ignore()
            return
        self.before_close()
        super().closeEvent(event)  # type: ignore[misc]
