"""A shared workstation locks itself (issue 15): automatic logoff, HIPAA 45 CFR 164.312(a)(2)(iii).

What a person would notice: after the idle time the window says "Veil is locked", no patient
name or image is on any visible widget or window title, the dialogs and viewers open before
are gone and come back in the same place after the unlock; a wrong passphrase keeps it locked;
a result that arrives meanwhile waits behind the lock. Nothing here asserts a duration: waits
are ``qtbot.waitUntil`` with a short limit, and idle time runs on an injected clock where a
test must know it exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from PySide6.QtCore import QEvent, QModelIndex, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QWidget,
)

from desktop.app.library.home import VeilHome
from desktop.app.lock.session_lock import (
    LOCK_AFTER_SETTING,
    WRONG_PASSPHRASE,
    lock_after_minutes,
    set_lock_after_minutes,
)
from desktop.core.common.errors import VeilError
from desktop.ui.common import background
from desktop.ui.common.errors import show_error
from desktop.ui.common.theme import apply_theme
from desktop.ui.lock.idle_lock import LOCKED_TITLE, IdleLock
from desktop.ui.lock.screen import KEYRING_HINT
from desktop.ui.main_window import MainWindow
from tests.conftest import PASSPHRASE, pydicom_test_files
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS, import_and_wait, message_boxes, wait_idle
from tests.ui.viewer.conftest import open_viewer

PLANTED = "Moriarty^James"
FAMILY = "Moriarty"
GOOD = PASSPHRASE
#: Limits for waits (not expectations of speed): the passphrase derivation takes ~0.5 s.
LOCK_WAIT_MS = 5_000
UNLOCK_WAIT_MS = 20_000


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A folder with one real CT image whose patient is ``Moriarty^James``."""
    folder = tmp_path / "planted"
    folder.mkdir()
    ds = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")
    ds.PatientName = PLANTED
    ds.save_as(folder / "ct.dcm")
    return folder


def make_window(qtbot, qapp, home: VeilHome, lock_after_seconds: float | None = 0) -> MainWindow:
    apply_theme(qapp)
    win = MainWindow(home.path, lock_after_seconds=lock_after_seconds)
    qtbot.addWidget(win)
    win.show()
    win.set_home(home)
    qtbot.waitUntil(lambda: win.catalogue is not None)
    return win


@pytest.fixture
def lockable(qtbot, qapp, home: VeilHome, planted: Path) -> MainWindow:
    """The window on a keyring library holding the planted patient; it never locks by itself
    until a test sets an idle time."""
    win = make_window(qtbot, qapp, home)
    import_and_wait(qtbot, win, [planted])
    yield win
    win.imports.cancel()
    background.wait_for_all(IMPORT_TIMEOUT_MS)
    QApplication.processEvents()


def visible_text(widget: QWidget) -> list[str]:
    """Every piece of text a person can see on ``widget`` and its visible children: labels,
    buttons, fields, window titles and the cells of visible tables and lists."""
    texts: list[str] = []
    for w in [widget, *widget.findChildren(QWidget)]:
        if not w.isVisible():
            continue
        if w.isWindow():
            texts.append(w.windowTitle())
        if isinstance(w, (QLabel, QAbstractButton, QLineEdit)):
            texts.append(w.text())
        if isinstance(w, QAbstractItemView) and w.model() is not None:
            model, top = w.model(), QModelIndex()
            try:
                columns = model.columnCount(top)
            except TypeError:  # a list model's columnCount is private
                columns = 1
            for row in range(model.rowCount(top)):
                for column in range(columns):
                    for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                        texts.append(str(model.index(row, column).data(role) or ""))
    return texts


def shown_anywhere(name: str) -> bool:
    """Whether ``name`` is visible on any window of the application."""
    return any(name in text for w in QApplication.topLevelWidgets() if w.isVisible() for text in visible_text(w))


def audit_actions(home: VeilHome) -> list[str]:
    return [json.loads(line)["action"] for line in home.audit_path.read_text().splitlines() if line.strip()]


def unlock_with_keyring(qtbot, win: MainWindow) -> None:
    win.session_lock.screen.unlock_button.click()

    def unlocked() -> None:
        assert not win.session_lock.locked, f"still locked: {win.session_lock.screen.message.text()!r}"
    qtbot.waitUntil(unlocked, timeout=UNLOCK_WAIT_MS)


def test_idle_window_locks_and_hides_names_images_and_windows(qtbot, lockable, tmp_path):
    win = lockable
    assert shown_anywhere(FAMILY)  # the browser lists the patient before the lock
    viewer = open_viewer(qtbot, win)
    assert FAMILY in viewer.windowTitle()
    viewer.move(140, 90)
    viewer_place = viewer.geometry()
    win.browser.studies_view.selectRow(0)
    deid = win.open_deid()
    assert deid is not None and deid.isVisible()
    deid.move(333, 222)
    qtbot.waitUntil(lambda: not deid.preview_pending, timeout=IMPORT_TIMEOUT_MS)  # its audit line comes first
    deid_place = deid.geometry()

    win.session_lock.set_idle_seconds(1)
    qtbot.waitUntil(lambda: win.session_lock.locked, timeout=LOCK_WAIT_MS)

    screen = win.session_lock.screen
    assert screen.isVisible() and screen.title.text() == "Veil is locked"
    assert str(win.home.path) in screen.library.text()
    assert "without input" in screen.how.text()
    assert screen.hint.text() == KEYRING_HINT and not screen.field.isVisible()
    assert win.windowTitle() == LOCKED_TITLE
    assert not win.menuBar().isVisible() and not win.statusBar().isVisible()
    # hidden, not covered: the real pages, the viewer and the dialog are not shown at all
    assert not win.browser.isVisible() and not win.browser.studies_view.isVisible()
    assert not viewer.isVisible() and not viewer.viewport.isVisible()
    assert not deid.isVisible()
    assert not shown_anywhere(FAMILY)
    assert [w for w in QApplication.topLevelWidgets() if w.isVisible()] == [win]
    win.grab().save(str(tmp_path / "locked.png"))  # what a passer-by sees, for a person to look at

    unlock_with_keyring(qtbot, win)
    assert win.windowTitle() == "Veil" and win.menuBar().isVisible()
    assert win.browser.isVisible() and viewer.isVisible() and deid.isVisible()
    # in the same place (the dialog may have grown to fit what its preview loaded meanwhile)
    assert viewer.geometry() == viewer_place and deid.geometry().topLeft() == deid_place.topLeft()
    assert shown_anywhere(FAMILY)
    actions = audit_actions(win.home)
    assert "session.locked" in actions and actions[-1] == "session.unlocked"
    deid.close()


def test_wrong_passphrase_keeps_it_locked(qtbot, qapp, passphrase_home):
    win = make_window(qtbot, qapp, passphrase_home)
    win.commands.lock_now.trigger()
    lock = win.session_lock
    assert lock.locked and lock.screen.field.isVisible()
    assert "not" not in lock.screen.how.text() and "Locked at" in lock.screen.how.text()

    qtbot.keyClicks(lock.screen.field, "not the passphrase")
    qtbot.keyClick(lock.screen.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: lock.screen.message.text() == WRONG_PASSPHRASE, timeout=UNLOCK_WAIT_MS)
    assert lock.locked and lock.screen.isVisible() and not win.pages.isVisible()
    assert lock.screen.field.text() == "" and lock.screen.unlock_button.isEnabled()
    qtbot.waitUntil(lambda: "session.unlock_failed" in audit_actions(passphrase_home), timeout=LOCK_WAIT_MS)

    qtbot.keyClicks(lock.screen.field, GOOD)
    lock.screen.unlock_button.click()
    qtbot.waitUntil(lambda: not lock.locked, timeout=UNLOCK_WAIT_MS)
    assert win.pages.isVisible() and not lock.screen.isVisible()
    assert audit_actions(passphrase_home)[-1] == "session.unlocked"


def test_a_result_that_arrives_while_locked_waits_behind_the_lock(qtbot, lockable, tmp_path):
    win = lockable
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "notes.txt").write_text("not an image\n")
    win.import_paths([bad])
    assert win.imports.busy
    assert win.session_lock.lock()  # before the import can report: its result comes while locked
    wait_idle(qtbot, win)
    show_error(win, VeilError("An export failed while you were away."), "Export failed")
    qtbot.waitUntil(lambda: len(win.session_lock.windows.held) == 2, timeout=LOCK_WAIT_MS)
    report = win.report_dialog
    assert report is not None and not report.isVisible()  # it exists, and waits
    assert message_boxes() == [] and not win.notice.isVisible()
    assert [w for w in QApplication.topLevelWidgets() if w.isVisible()] == [win]

    unlock_with_keyring(qtbot, win)
    assert report.isVisible()
    assert [b.text() for b in message_boxes("ErrorBox")] == ["An export failed while you were away."]
    assert win.notice.isVisible() and "rejected" in win.notice.text


def test_input_resets_the_idle_time(qtbot, home):
    now = [1000.0]
    win = QMainWindow()
    qtbot.addWidget(win)
    win.show()
    lock = IdleLock(win, idle_seconds=60, clock=lambda: now[0])
    lock.set_home(home)
    target = lock.content
    centre = QPointF(5, 5)
    inputs = [
        lambda: QApplication.sendEvent(target, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_A,
                                                         Qt.KeyboardModifier.NoModifier, "a")),
        lambda: QApplication.sendEvent(target, QMouseEvent(QEvent.Type.MouseMove, centre, target.mapToGlobal(centre),
                                                           Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                                           Qt.KeyboardModifier.NoModifier)),
        lambda: QApplication.sendEvent(target, QWheelEvent(centre, target.mapToGlobal(centre), QPoint(0, 0),
                                                           QPoint(0, 120), Qt.MouseButton.NoButton,
                                                           Qt.KeyboardModifier.NoModifier,
                                                           Qt.ScrollPhase.NoScrollPhase, False)),
    ]
    for send in inputs:
        now[0] += 50
        send()
        assert lock.idle_for == 0
        now[0] += 50  # 100 s since the lock was set up, but only 50 s since the last input
        lock.check_idle()
        assert not lock.locked
    now[0] += 10
    lock.check_idle()
    assert lock.locked and win.windowTitle() == LOCKED_TITLE
    lock.unlock()


def test_lock_now_shortcut_refuses_other_shortcuts_and_drops(qtbot, lockable):
    win = lockable
    assert win.commands.lock_now.shortcut().toString() == "Ctrl+L"
    others = [a.shortcut().toString() for a in win.findChildren(type(win.commands.lock_now))
              if a is not win.commands.lock_now]
    assert "Ctrl+L" not in others
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=LOCK_WAIT_MS)
    qtbot.keyClick(win, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert win.session_lock.locked
    qtbot.keyClick(win.session_lock.screen, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)  # Import Files…
    QApplication.processEvents()
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QFileDialog) and w.isVisible()]
    assert win.session_lock.locked
    unlock_with_keyring(qtbot, win)


def test_lock_time_is_a_library_setting(qtbot, qapp, home):
    set_lock_after_minutes(home, 2)
    win = make_window(qtbot, qapp, home, lock_after_seconds=None)
    qtbot.waitUntil(lambda: win.session_lock.idle_seconds == 120, timeout=LOCK_WAIT_MS)
    win.commands.lock_settings.trigger()
    dialog = win.findChild(QWidget, "LockSettingsDialog")
    assert dialog is not None and dialog.isVisible() and dialog.minutes.value() == 2
    dialog.minutes.setValue(0)
    assert dialog.warning.isVisible()  # "never" says what it gives up
    dialog.accept()
    qtbot.waitUntil(lambda: win.session_lock.idle_seconds == 0, timeout=LOCK_WAIT_MS)
    assert not win.session_lock.enabled
    assert lock_after_minutes(home) == 0
    conn = home.connect()
    try:
        assert conn.execute("SELECT value FROM settings WHERE key = ?", (LOCK_AFTER_SETTING,)).fetchone()[0] == "0"
    finally:
        conn.close()
    assert "session.lock_after_changed" in audit_actions(home)
    with pytest.raises(VeilError):
        set_lock_after_minutes(home, -1)


def test_a_file_chooser_open_at_the_lock_is_cancelled(qtbot, lockable):
    """A modal chooser cannot be hidden without ending its loop: the lock answers Cancel."""
    win = lockable
    QTimer.singleShot(0, win.session_lock.lock)
    # a guard so a regression fails instead of hanging: close any chooser still open later
    QTimer.singleShot(LOCK_WAIT_MS, lambda: [w.reject() for w in QApplication.topLevelWidgets()
                                             if isinstance(w, QFileDialog) and w.isVisible()])
    win.choose_files()  # returns once the chooser is gone
    assert win.session_lock.locked and not win.imports.busy
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QFileDialog) and w.isVisible()]
    unlock_with_keyring(qtbot, win)
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QFileDialog) and w.isVisible()]
