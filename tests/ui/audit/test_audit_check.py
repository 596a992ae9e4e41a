"""Tools > Verify Audit Log says which of three things it found: intact, rolled back, altered."""

from __future__ import annotations

from desktop.core.audit import Verification
from desktop.ui.audit.check import show_verification


def test_a_rolled_back_library_is_named_as_such(qtbot):
    message = ("The library was rolled back: the keyring's record says 5 events ending in 0123456789ab, "
               "the library has 3. Events after 3 are missing (a copy of an older library was put back?)")
    box = show_verification(None, Verification(False, 3, message, 4, rollback_checked=True, rolled_back=True))
    assert box.windowTitle() == "Library rolled back"
    assert "events are missing" in box.text() and "the library has 3" in box.text()
    box.close()


def test_an_intact_log_says_whether_rollback_could_be_checked(qtbot):
    message = ("OK: 3 lines, hash chain intact. Rollback cannot be checked on this machine: the library key "
               "is kept with a passphrase")
    box = show_verification(None, Verification(True, 3, message))
    assert box.windowTitle() == "Audit log intact" and "Rollback cannot be checked" in box.text()
    box.close()
