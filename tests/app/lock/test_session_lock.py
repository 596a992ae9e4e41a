"""Who may unlock a locked session (desktop.app.lock.session_lock), without a window."""

from __future__ import annotations

import pytest

from desktop.app.library.home import VeilHome
from desktop.app.lock.session_lock import DEFAULT_LOCK_AFTER_MINUTES, check_unlock, parse_lock_after, unlock_session
from desktop.core.common.errors import KeyStoreError, WrongPassphraseError
from tests.conftest import PASSPHRASE

GOOD = PASSPHRASE


def test_passphrase_must_unwrap_the_key_again(passphrase_home):
    check_unlock(passphrase_home, GOOD)
    for wrong in ("", None, "correct horse batter"):
        with pytest.raises(WrongPassphraseError):
            check_unlock(passphrase_home, wrong)


def test_a_passphrase_file_does_not_let_any_typed_text_unlock(passphrase_home, tmp_path, monkeypatch):
    """open_library_keys prefers VEIL_PASSPHRASE_FILE to the prompt: the typed text is compared first."""
    passfile = tmp_path / "pass"
    passfile.write_text(GOOD + "\n")
    monkeypatch.setenv("VEIL_PASSPHRASE_FILE", str(passfile))
    with pytest.raises(WrongPassphraseError):
        check_unlock(passphrase_home, "anything at all")
    check_unlock(passphrase_home, GOOD)


def test_keyring_unlock_needs_the_keyring_to_still_hold_the_key(veil_home, memory_keyring):
    home = VeilHome.open(veil_home)
    assert home.keys.method == "keyring"
    check_unlock(home, None)
    for service, user in list(memory_keyring.secrets):
        if user.startswith("library-key:"):
            memory_keyring.delete_password(service, user)  # as a locked or reset keyring would
    with pytest.raises(KeyStoreError):
        check_unlock(home, None)


def test_failures_and_unlocks_are_audited(passphrase_home):
    with pytest.raises(WrongPassphraseError):
        unlock_session(passphrase_home, "wrong one")
    assert unlock_session(passphrase_home, GOOD) is None
    actions = [line.split('"action":"')[1].split('"')[0]
               for line in passphrase_home.audit_path.read_text().splitlines() if '"action":"' in line]
    assert actions[-2:] == ["session.unlock_failed", "session.unlocked"]


def test_stored_lock_time_is_read_safely():
    assert parse_lock_after(None) == DEFAULT_LOCK_AFTER_MINUTES
    assert parse_lock_after("junk") == DEFAULT_LOCK_AFTER_MINUTES
    assert parse_lock_after("-3") == DEFAULT_LOCK_AFTER_MINUTES
    assert parse_lock_after("0") == 0
    assert parse_lock_after(" 15 ") == 15
