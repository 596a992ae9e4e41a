"""The passphrase dialog, and the unlock flow where no system keyring exists."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialogButtonBox

from desktop.core.keys import keystore
from desktop.ui.keys.passphrase_dialog import PassphraseDialog
from desktop.ui.library.opener import WRONG_PASSPHRASE
from desktop.ui.main_window import MainWindow

GOOD = "correct horse battery"


def test_create_needs_eight_characters_and_a_matching_confirmation(qtbot):
    dialog = PassphraseDialog(creating=True)
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Create a passphrase"
    assert dialog.confirm_edit.isVisibleTo(dialog)
    assert not dialog.ok_button.isEnabled()
    qtbot.keyClicks(dialog.passphrase_edit, "short")
    assert not dialog.ok_button.isEnabled()
    assert "At least 8 characters" in dialog.message.text()
    dialog.passphrase_edit.setText(GOOD)
    qtbot.keyClicks(dialog.confirm_edit, "correct horse")
    assert not dialog.ok_button.isEnabled()
    assert "differ" in dialog.message.text()
    dialog.confirm_edit.setText(GOOD)
    assert dialog.ok_button.isEnabled()
    with qtbot.waitSignal(dialog.submitted) as signal:
        dialog.ok_button.click()
    assert signal.args == [GOOD]
    assert dialog.busy and not dialog.passphrase_edit.isEnabled()
    dialog.show_error("nope")
    assert not dialog.busy and dialog.passphrase_edit.text() == ""
    assert dialog.message.text() == "nope"


def test_unlock_asks_once(qtbot):
    dialog = PassphraseDialog(creating=False)
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Unlock library"
    assert not dialog.confirm_edit.isVisibleTo(dialog)
    dialog.passphrase_edit.setText("x")  # any length may be tried when unlocking
    assert dialog.ok_button.isEnabled()


@pytest.fixture
def no_keyring(monkeypatch):
    monkeypatch.setattr(keystore, "keyring_available", lambda: False)


def open_window(qtbot, path) -> MainWindow:
    win = MainWindow(path)
    qtbot.addWidget(win)
    win.show()
    win.open_library()
    return win


def test_create_then_unlock_with_a_wrong_passphrase_first(qtbot, veil_home, no_keyring):
    first = open_window(qtbot, veil_home)
    dialog = first._opener.dialog
    assert dialog is not None and dialog.creating and dialog.isVisible()
    dialog.passphrase_edit.setText(GOOD)
    dialog.confirm_edit.setText(GOOD)
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: first.home is not None, timeout=10_000)
    assert first.home.keys.method == "passphrase"
    assert first._opener.dialog is None  # closed and released
    first.close()

    second = open_window(qtbot, veil_home)
    dialog = second._opener.dialog
    assert dialog is not None and not dialog.creating
    dialog.passphrase_edit.setText("wrong passphrase")
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: dialog.message.text() == WRONG_PASSPHRASE, timeout=10_000)
    assert dialog.isVisible() and second.home is None
    dialog.passphrase_edit.setText(GOOD)
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: second.home is not None, timeout=10_000)
    qtbot.waitUntil(lambda: second.pages.currentWidget() is second.empty_page)


def test_cancel_closes_the_window(qtbot, veil_home, no_keyring):
    win = open_window(qtbot, veil_home)
    dialog = win._opener.dialog
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: not win.isVisible())
    assert win.home is None and win.exit_code == 0
    assert not (veil_home / keystore.KEYSTORE_FILE).exists()


def test_an_altered_key_file_is_named_at_once_without_asking_for_a_passphrase(qtbot, veil_home, no_keyring):
    import json

    from PySide6.QtWidgets import QMessageBox

    first = open_window(qtbot, veil_home)
    first._opener.dialog.passphrase_edit.setText(GOOD)
    first._opener.dialog.confirm_edit.setText(GOOD)
    first._opener.dialog.ok_button.click()
    qtbot.waitUntil(lambda: first.home is not None, timeout=10_000)
    first.close()
    path = veil_home / keystore.KEYSTORE_FILE
    meta = json.loads(path.read_text())
    meta["kdf"]["n"] = 2**40
    path.write_text(json.dumps(meta))

    second = open_window(qtbot, veil_home)
    assert second._opener.dialog is None  # no passphrase asked for a file Veil did not write
    qtbot.waitUntil(lambda: second.findChild(QMessageBox, "ErrorBox") is not None, timeout=10_000)
    box = second.findChild(QMessageBox, "ErrorBox")
    assert box.text().startswith("keystore.json was altered or damaged")
    assert second.home is None and second.exit_code == 1
    box.done(0)
