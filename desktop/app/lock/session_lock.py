"""The workstation lock, without Qt: how long Veil waits, and who may unlock it.

HIPAA's technical safeguards name *automatic logoff* (45 CFR 164.312(a)(2)(iii)): "terminate
an electronic session after a predetermined time of inactivity". Veil does not end the session
(imports and exports carry on); it *locks* it: the desktop app hides every image, name and
window after ``ui.lock_after_minutes`` of no input (a library setting; 0 = never) until the
person proves again that they hold the library's key (164.312(d), person authentication).

What unlocking proves, honestly:

* **Passphrase homes** (``keystore.json`` wraps the key): the passphrase typed is checked by
  unwrapping the key file again (the same slow derivation as opening), and the key found must
  be the key this session holds. Where ``VEIL_PASSPHRASE_FILE`` supplied the passphrase at
  start, the typed passphrase must also equal that file's. This is a real re-authentication.
* **Keyring homes** (the key lives in the OS keyring): Veil has no way to check the desktop
  login password. It reads the key from the keyring again and compares it with the session's.
  That proves the desktop keyring is still unlocked for this user, which is exactly what the
  desktop's own screen lock protects. Anyone sitting at an *unlocked* desktop session can
  therefore unlock Veil: the lock hides patient data from a passer-by's eyes, and the desktop's
  own screen lock (which locks the keyring on most desktops) is what stops a person at the
  keyboard. The lock screen says so.

Unlock failures, locks and unlocks are audit events (164.312(b), audit controls); they carry
no patient data.
"""

from __future__ import annotations

import hmac
import os

from desktop.app.library.home import VeilHome
from desktop.core.common.errors import KeyStoreError, VeilError, WrongPassphraseError
from desktop.core.keys import open_library_keys, passphrase_from_file
from desktop.core.library.settings import get_setting, set_settings

LOCK_AFTER_SETTING = "ui.lock_after_minutes"
DEFAULT_LOCK_AFTER_MINUTES = 10
#: Eight hours: a longer wait is no automatic logoff at all (0 says "never" openly).
MAX_LOCK_AFTER_MINUTES = 480
WRONG_PASSPHRASE = "That passphrase does not unlock this library. Veil stays locked."


def parse_lock_after(value: str | None) -> int:
    """Minutes of a stored ``ui.lock_after_minutes`` value; the default where unset or unreadable."""
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return DEFAULT_LOCK_AFTER_MINUTES
    return minutes if 0 <= minutes <= MAX_LOCK_AFTER_MINUTES else DEFAULT_LOCK_AFTER_MINUTES


def lock_after_minutes(home: VeilHome) -> int:
    """How many idle minutes the app waits before locking (0: never)."""
    conn = home.connect()
    try:
        return parse_lock_after(get_setting(conn, LOCK_AFTER_SETTING))
    finally:
        conn.close()


def set_lock_after_minutes(home: VeilHome, minutes: int) -> int:
    """Store ``minutes`` (0 = never lock) and audit the change; the value stored."""
    if not isinstance(minutes, int) or not 0 <= minutes <= MAX_LOCK_AFTER_MINUTES:
        raise VeilError(f"The lock time must be a whole number of minutes from 0 (never) to "
                        f"{MAX_LOCK_AFTER_MINUTES}.")
    conn = home.connect()
    try:
        set_settings(conn, {LOCK_AFTER_SETTING: str(minutes)})
        home.record(conn, "session.lock_after_changed", minutes=minutes)
    finally:
        conn.close()
    return minutes


def record_session_event(home: VeilHome, action: str, **details: object) -> None:
    """Audit ``session.locked`` / ``session.unlocked`` (no patient data in ``details``)."""
    conn = home.connect()
    try:
        home.record(conn, action, method=home.keys.method, **details)
    finally:
        conn.close()


def check_unlock(home: VeilHome, passphrase: str | None) -> None:
    """Raise unless ``passphrase`` (passphrase homes) or the keyring (keyring homes) still
    yields the key this session holds. Slow for passphrases: run it off the UI thread.

    Raises :class:`WrongPassphraseError` for a wrong passphrase, :class:`KeyStoreError` when the
    keyring or the key file no longer give this library's key.
    """
    if home.keys.method == "passphrase":
        if not passphrase:
            raise WrongPassphraseError(WRONG_PASSPHRASE)
        env_file = os.environ.get("VEIL_PASSPHRASE_FILE")
        # open_library_keys prefers the file to any prompt: compare with it first, or any
        # typed text would unlock.
        if env_file and not hmac.compare_digest(passphrase.encode(), passphrase_from_file(env_file).encode()):
            raise WrongPassphraseError(WRONG_PASSPHRASE)
        given = passphrase
        try:
            keys = open_library_keys(home.path, prompt=lambda _creating: given)
        except WrongPassphraseError:
            raise WrongPassphraseError(WRONG_PASSPHRASE) from None
    else:
        keys = open_library_keys(home.path)
    if not hmac.compare_digest(keys.master, home.keys.master):
        raise KeyStoreError("The key found is not the key this session opened the library with; "
                            "Veil stays locked. Quit and open the library again.")


def unlock_session(home: VeilHome, passphrase: str | None) -> str | None:
    """:func:`check_unlock`, audited: ``session.unlocked``, or ``session.unlock_failed`` and the
    error raised again. Returns a message to show when the unlock could not be audited (a full
    disk must not keep the person locked out), else None."""
    try:
        check_unlock(home, passphrase)
    except KeyStoreError as exc:
        reason = "wrong-passphrase" if isinstance(exc, WrongPassphraseError) else "key-unavailable"
        try:
            record_session_event(home, "session.unlock_failed", reason=reason)
        except Exception:  # noqa: BLE001 - the refusal is what the person must read
            pass
        raise
    try:
        record_session_event(home, "session.unlocked")
    except Exception as exc:  # noqa: BLE001 - unlocked all the same; said once unlocked
        detail = str(exc) if isinstance(exc, VeilError) else type(exc).__name__
        return f"Veil is unlocked, but the audit log could not record it ({detail})."
    return None
