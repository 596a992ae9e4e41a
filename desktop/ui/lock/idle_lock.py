"""A shared workstation locks itself: Veil's automatic logoff (HIPAA 45 CFR 164.312(a)(2)(iii)).

After ``ui.lock_after_minutes`` (a library setting, default 10; 0 = never) without keyboard,
mouse, wheel or touch input to any Veil window, or at once with File > Lock Now (Ctrl+L):

* the main window's content is swapped for the lock screen (:mod:`desktop.ui.lock.screen`);
  the real pages are hidden, not covered, so nothing identifiable is painted or grabbable;
  its title says "Veil — locked"; the menu and status bars are hidden, shortcuts and drops
  refused;
* every other Veil window (viewers, dialogs, reports) is hidden, and any window code opens
  during the lock (an export's result, an import report, an error) waits behind it
  (:mod:`desktop.ui.lock.windows`);
* work in progress (imports, exports) carries on: background ops are not touched.

Unlocking checks the passphrase (passphrase libraries) or reads the key from the desktop keyring
again (keyring libraries), off the UI thread; what each proves is written in
:mod:`desktop.app.lock.session_lock`. A wrong passphrase is said on the lock screen, audited as
``session.unlock_failed``, and Veil stays locked.

Idle time is measured on a clock that keeps counting through a suspend (Linux
``CLOCK_BOOTTIME``), and checked at least every :data:`CHECK_EVERY_S` seconds, so a laptop
that slept past the limit locks within moments of waking.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMainWindow, QStackedWidget, QWidget

from desktop.app.library.home import VeilHome
from desktop.app.lock.session_lock import (
    DEFAULT_LOCK_AFTER_MINUTES,
    lock_after_minutes,
    record_session_event,
    set_lock_after_minutes,
    unlock_session,
)
from desktop.core.audit.log import os_user
from desktop.core.common.errors import KeyStoreError
from desktop.ui.common.background import run_in_background
from desktop.ui.common.errors import message_for, show_error
from desktop.ui.lock.screen import LockInfo, LockScreen
from desktop.ui.lock.settings_dialog import LockSettingsDialog
from desktop.ui.lock.windows import HiddenWindows

LOCKED_TITLE = "Veil — locked"
#: The longest the idle check sleeps, so a wake from suspend is noticed soon.
CHECK_EVERY_S = 15.0

_E = QEvent.Type
#: Input that proves someone is at the keyboard.
INPUT_EVENTS = frozenset({
    _E.KeyPress, _E.KeyRelease, _E.MouseButtonPress, _E.MouseButtonRelease, _E.MouseButtonDblClick,
    _E.MouseMove, _E.Wheel, _E.TouchBegin, _E.TouchUpdate, _E.TouchEnd, _E.TabletPress, _E.TabletMove,
    _E.TabletRelease, _E.NativeGesture,
})
#: Refused while locked, unless aimed at the lock screen: no action, no drop acts on the library.
_REFUSED_WHILE_LOCKED = frozenset({_E.Shortcut, _E.DragEnter, _E.DragMove, _E.Drop})
_WATCHED = INPUT_EVENTS | _REFUSED_WHILE_LOCKED | {_E.Show}


class _OwnThread(QObject):
    """The lock's own worker thread, so the unlock never queues behind an import or an export
    holding the shared pool's threads, and lock/unlock audit lines keep their order."""

    _finished = Signal(object, object, object)  # callback, result or error, succeeded

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def run(self, op: Callable[[], object], on_success: Callable[[Any], None],
            on_failure: Callable[[BaseException], None]) -> None:
        """Run ``op()`` off the UI thread; its result or error comes back on the UI thread."""
        def work() -> None:  # worker thread: no widget touched
            try:
                outcome: tuple[object, object, object] = (on_success, op(), True)
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to the UI
                outcome = (on_failure, exc, False)
            try:
                self._finished.emit(*outcome)
            except RuntimeError:
                pass  # the window is gone: nobody to tell
        self.pool.start(work)

    def _deliver(self, callback: Callable[[object], None], value: object, _ok: object) -> None:
        callback(value)


def suspend_aware_clock() -> float:
    """Seconds on a clock that counts time asleep too (monotonic where the OS has no such clock)."""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    return time.clock_gettime(boottime) if boottime is not None else time.monotonic()


class IdleLock(QObject):
    """Locks ``window`` and hides Veil's other windows after idle time; unlocks on proof.

    ``idle_seconds`` fixes the idle limit (tests); without it the library's setting is read
    when :meth:`set_home` is called. ``clock`` returns seconds (injectable for tests).
    """

    locked_changed = Signal(bool)

    def __init__(self, window: QMainWindow, idle_seconds: float | None = None,
                 clock: Callable[[], float] = suspend_aware_clock) -> None:
        super().__init__(window)
        self.window = window
        self.home: VeilHome | None = None
        self.locked = False
        self._clock = clock
        self._fixed = idle_seconds is not None
        self.idle_seconds: float = idle_seconds if idle_seconds is not None else DEFAULT_LOCK_AFTER_MINUTES * 60.0
        self._last_input = clock()
        self._saved_title = ""
        self._saved_bars = (True, True)
        self._focus: QWidget | None = None

        self.windows = HiddenWindows(keep=lambda w: w is window)
        self.screen = LockScreen(window)
        self.content = window.takeCentralWidget() or QWidget(window)
        self.stack = QStackedWidget(window)
        self.stack.setObjectName("LockStack")
        self.stack.addWidget(self.content)
        self.stack.addWidget(self.screen)
        window.setCentralWidget(self.stack)
        self.screen.unlock_requested.connect(self.request_unlock)

        self._worker = _OwnThread(self)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.check_idle)
        app = QApplication.instance()
        if app is not None:  # always, in the app: a widget needs one
            app.installEventFilter(self)  # Qt drops it when this object goes

    # -- idle time -----------------------------------------------------------------------------
    @property
    def idle_for(self) -> float:
        """Seconds since the last input to any Veil window."""
        return max(0.0, self._clock() - self._last_input)

    @property
    def enabled(self) -> bool:
        """True when the lock can come: a library is open and the limit is not "never"."""
        return self.home is not None and self.idle_seconds > 0

    def set_home(self, home: VeilHome) -> None:
        """Watch over ``home``; read its lock time unless one was fixed."""
        self.home = home
        self.touch()
        self._arm()
        if not self._fixed:
            run_in_background(lambda _progress: lock_after_minutes(home), self.set_idle_minutes,
                              lambda exc: None, key=f"lock-after-{id(self)}", context=self)

    def set_idle_minutes(self, minutes: int) -> None:
        """Lock after ``minutes`` without input (0: never)."""
        self.set_idle_seconds(minutes * 60.0)

    def set_idle_seconds(self, seconds: float) -> None:
        """Lock after ``seconds`` without input (0: never); counted from the last input."""
        self.idle_seconds = max(0.0, float(seconds))
        self._arm()

    def edit_settings(self) -> LockSettingsDialog | None:
        """Tools > Automatic Lock…: choose the idle minutes; saved to the library in the background."""
        if self.home is None:
            return None
        dialog = LockSettingsDialog(round(self.idle_seconds / 60), self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.chosen.connect(self.save_idle_minutes)
        dialog.open()
        return dialog

    def save_idle_minutes(self, minutes: int) -> None:
        """Store ``minutes`` as the library's lock time; applied once stored."""
        if self.home is None:
            return
        home = self.home
        run_in_background(lambda _p: set_lock_after_minutes(home, minutes), self._on_saved,
                          lambda exc: show_error(self.window, exc, "Cannot change the lock time"),
                          key=f"lock-after-save-{id(self)}", context=self)

    def _on_saved(self, minutes: int) -> None:
        self.set_idle_minutes(minutes)
        self.window.statusBar().showMessage(
            "Veil will not lock itself." if minutes == 0 else
            f"Veil locks after {minutes} minute{'' if minutes == 1 else 's'} without input.", 8000)

    def touch(self) -> None:
        """Someone is at the keyboard: the idle time starts again."""
        self._last_input = self._clock()
        if self.enabled and not self.locked and not self._timer.isActive():
            self._arm()

    def check_idle(self) -> None:
        """Lock if the idle limit has passed, else look again later."""
        if self.enabled and not self.locked and self.idle_for >= self.idle_seconds:
            self.lock(idle_minutes=max(1, round(self.idle_seconds / 60)))
        else:
            self._arm()

    def _arm(self) -> None:
        if not self.enabled or self.locked:
            self._timer.stop()
            return
        remaining = min(self.idle_seconds - self.idle_for, CHECK_EVERY_S)
        self._timer.start(max(0, int(remaining * 1000)) + 1)

    # -- locking -------------------------------------------------------------------------------
    def lock(self, idle_minutes: int | None = None) -> bool:
        """Lock now (``idle_minutes``: why, for the lock screen; None: by hand). False when
        there is nothing to lock (no library open yet) or it is locked already."""
        if self.locked or self.home is None:
            return False
        self.locked = True
        self._timer.stop()
        focus = QApplication.focusWidget()
        self._focus = focus if focus is not None and self.content.isAncestorOf(focus) else None
        veil_active = QApplication.activeWindow() is not None  # else another app has the keyboard
        self.windows.hide_all()
        self.screen.show_lock(LockInfo(self.home.path, os_user(), datetime.now(), idle_minutes,
                                       passphrase=self.home.keys.method == "passphrase"))
        self.stack.setCurrentWidget(self.screen)
        self._saved_title = self.window.windowTitle()
        self.window.setWindowTitle(LOCKED_TITLE)
        menu, status = self.window.menuBar(), self.window.statusBar()
        self._saved_bars = (menu.isVisibleTo(self.window), status.isVisibleTo(self.window))
        menu.hide()
        status.hide()
        if veil_active:
            self.window.activateWindow()
        self.screen.focus_entry()
        home = self.home
        reason = "idle" if idle_minutes is not None else "by-hand"
        self._worker.run(lambda: record_session_event(home, "session.locked", reason=reason),
                         lambda _r: None, lambda _exc: None)  # the lock itself matters more
        self.locked_changed.emit(True)
        return True

    def request_unlock(self, passphrase: str | None) -> None:
        """Check ``passphrase`` (or the keyring) in the background; unlock when it holds."""
        if not self.locked or self.home is None:
            return
        self.screen.set_busy(True)
        home = self.home
        self._worker.run(lambda: unlock_session(home, passphrase), self._on_unlocked, self._on_unlock_failed)

    def _on_unlocked(self, note: str | None) -> None:
        self.unlock()
        if note:
            show_error(self.window, KeyStoreError(note), "Unlocked")

    def _on_unlock_failed(self, exc: BaseException) -> None:
        self.screen.show_error(message_for(exc))

    def unlock(self) -> None:
        """Show everything again (call only once the person has proved who they are)."""
        if not self.locked:
            return
        self.locked = False
        self.stack.setCurrentWidget(self.content)
        self.window.setWindowTitle(self._saved_title)
        self.window.menuBar().setVisible(self._saved_bars[0])
        self.window.statusBar().setVisible(self._saved_bars[1])
        self.screen.clear()
        shown = self.windows.restore_all()
        if not shown:
            self.window.activateWindow()
        if self._focus is not None and shiboken6.isValid(self._focus) and self._focus.isVisible():
            self._focus.setFocus()
        self._focus = None
        self.touch()
        self._arm()
        self.locked_changed.emit(False)

    # -- every event of the application passes here: keep it quick ----------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in _WATCHED:
            return False
        if kind in INPUT_EVENTS:
            self._last_input = self._clock()
            return False
        if not self.locked:
            return False
        if kind == _E.Show:
            # a closed main window (quitting, or a test's) holds nothing back any more
            if isinstance(watched, QWidget) and watched.isWindow() and self.window.isVisible():
                self.windows.intercept(watched)
            return False
        # a shortcut or a drop: only the lock screen's own
        return not (isinstance(watched, QWidget) and self.screen.isAncestorOf(watched))
