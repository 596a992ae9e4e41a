"""Find, create and unlock the key that encrypts a Veil home.

One random 256-bit master key per ``VEIL_HOME``. It lives in the OS keyring (through
``keyring``). Where no keyring backend exists (headless Linux without Secret Service) the
master key is wrapped with AES-256-GCM under a key derived from a passphrase by scrypt
(RFC 7914, N = 2**17), its parameters authenticated, and only the wrapped form is written
(``keystore.json``; format, bounds, and what a tampered file looks like: :mod:`key_file`). A
plaintext key never touches disk. A home written by an older Veil (format 1, scrypt N = 2**15,
parameters not authenticated) is rewritten in the current format, atomically and with the
same master key, the first time its passphrase unlocks it.

Purpose-specific keys (database, objects, object names, audit) are derived from the master
key with HKDF-SHA256 so that one leaked subkey does not open the rest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.errors
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from desktop.core.common.atomic_files import atomic_write_bytes
from desktop.core.common.errors import KeyStoreError
from desktop.core.dicom.input_budget import OverBudget, open_regular
from desktop.core.keys import key_file
from desktop.core.keys.key_file import KEYSTORE_FILE, SCRYPT_N, SCRYPT_P, SCRYPT_R, altered
from desktop.core.keys.keyring_choice import backend_facts, is_protected_backend

__all__ = ["KEYRING_SERVICE", "KEYSTORE_FILE", "MIN_PASSPHRASE_LENGTH", "SCRYPT_N", "SCRYPT_P",
           "SCRYPT_R", "LibraryKeys", "PassphrasePrompt", "keyring_available", "needs_passphrase",
           "open_library_keys", "passphrase_from_file"]

KEYRING_SERVICE = "veil"
MIN_PASSPHRASE_LENGTH = 8

#: Asked for a passphrase. ``creating`` is True when a new library is being set up (the
#: prompt should ask twice and explain); returns None when the person declines.
PassphrasePrompt = Callable[[bool], "str | None"]


@dataclass(frozen=True, repr=False)
class LibraryKeys:
    """The master key of one Veil home and the subkeys derived from it."""

    master: bytes
    home_id: str
    method: str  # "keyring" or "passphrase"

    def derive(self, purpose: str) -> bytes:
        """A 256-bit subkey for ``purpose`` (HKDF-SHA256, RFC 5869)."""
        return HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=self.home_id.encode(),
            info=f"veil/{purpose}/v1".encode(),
        ).derive(self.master)

    @property
    def database_key(self) -> bytes:
        return self.derive("sqlcipher")

    @property
    def object_key(self) -> bytes:
        return self.derive("objects")

    @property
    def object_name_key(self) -> bytes:
        return self.derive("object-names")

    @property
    def audit_key(self) -> bytes:
        return self.derive("audit")

    @property
    def deid_key(self) -> bytes:
        """Keys the de-identification pseudonyms (UIDs, date shifts): repeatable per library."""
        return self.derive("deid-mapping")

    def __repr__(self) -> str:  # never print key material
        return f"LibraryKeys(home_id={self.home_id!r}, method={self.method!r})"


def keyring_available() -> bool:
    """True when ``keyring`` has a real, protected backend to store secrets in
    (:func:`~desktop.core.keys.keyring_choice.is_protected_backend` decides which)."""
    return is_protected_backend(*backend_facts(keyring.get_keyring()))


def passphrase_from_file(path: str | os.PathLike[str]) -> str:
    """Read a passphrase from a file (``VEIL_PASSPHRASE_FILE``); trailing newlines dropped."""
    try:
        with os.fdopen(open_regular(path), "rb") as handle:
            text = handle.read(1 << 16).decode("utf-8")
    except (OSError, UnicodeDecodeError, OverBudget) as exc:
        raise KeyStoreError(
            "Cannot read the passphrase file named by VEIL_PASSPHRASE_FILE: "
            f"{getattr(exc, 'strerror', None) or 'it is not a regular file of UTF-8 text'}."
        ) from None
    text = text.rstrip("\r\n")
    if not text:
        raise KeyStoreError("The passphrase file named by VEIL_PASSPHRASE_FILE is empty.")
    return text


def _check_value(master: bytes) -> str:
    return hmac.new(master, b"veil-key-check", hashlib.sha256).hexdigest()[:32]


def _ask(prompt: PassphrasePrompt | None, creating: bool) -> str:
    env_file = os.environ.get("VEIL_PASSPHRASE_FILE")
    if env_file:
        passphrase = passphrase_from_file(env_file)
    elif prompt is not None:
        answer = prompt(creating)
        if answer is None:
            raise KeyStoreError("No passphrase was given, so the library stays locked.")
        passphrase = answer
    else:
        raise KeyStoreError(
            "No system keyring is available and no passphrase was given. "
            "Set VEIL_PASSPHRASE_FILE to a file holding the library passphrase."
        )
    if creating and len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise KeyStoreError(
            f"The passphrase must be at least {MIN_PASSPHRASE_LENGTH} characters long."
        )
    return passphrase


def _keyring_user(home_id: str) -> str:
    return f"library-key:{home_id}"


def _write(home: Path, meta: dict[str, Any], doing: str) -> None:
    try:
        atomic_write_bytes(home / KEYSTORE_FILE, json.dumps(meta, indent=2).encode())
    except OSError as exc:
        raise KeyStoreError(
            f"{KEYSTORE_FILE} in {home} could not be {doing}: {exc.strerror or exc}. Free some "
            "space or fix the folder's permissions, then open the library again."
        ) from None


def _create(home: Path, prompt: PassphrasePrompt | None) -> LibraryKeys:
    master = os.urandom(32)
    home_id = str(uuid.uuid4())
    check = _check_value(master)
    if keyring_available():
        try:
            keyring.set_password(
                KEYRING_SERVICE, _keyring_user(home_id), base64.b64encode(master).decode()
            )
        except keyring.errors.KeyringError as exc:
            raise KeyStoreError(f"The system keyring refused to store the library key: {exc}") from None
        meta: dict[str, Any] = {"version": key_file.FORMAT_VERSION, "home_id": home_id,
                                "method": "keyring", "check": check}
    else:
        meta = key_file.wrap(master, home_id, check, _ask(prompt, creating=True))
    _write(home, meta, "written")
    return LibraryKeys(master=master, home_id=home_id, method=str(meta["method"]))


def _unlock_keyring(meta: dict[str, Any]) -> LibraryKeys:
    """A keyring-method file (formats 1 and 2 are the same: nothing in it needs upgrading)."""
    if set(meta) != {"version", "home_id", "method", "check"}:
        raise altered("its fields are not what Veil writes for a key kept in the system keyring")
    home_id, check = key_file.check_home_id(meta["home_id"]), key_file.check_check(meta["check"])
    try:
        stored = keyring.get_password(KEYRING_SERVICE, _keyring_user(home_id))
    except keyring.errors.KeyringError as exc:
        raise KeyStoreError(f"The system keyring cannot be read: {exc}") from None
    if stored is None:
        raise KeyStoreError(
            "This Veil library was locked with a key kept in the system keyring, and "
            "the keyring does not hold it (different user, or the keyring was reset)."
        )
    try:
        master = base64.b64decode(stored, validate=True)
    except ValueError:
        master = b""
    if not hmac.compare_digest(_check_value(master), check):
        raise KeyStoreError("The key found does not belong to this library.")
    return LibraryKeys(master=master, home_id=home_id, method="keyring")


def _unlock_passphrase(home: Path, meta: dict[str, Any], prompt: PassphrasePrompt | None) -> LibraryKeys:
    """Every field is checked against what Veil writes before the passphrase is asked for or
    anything derived; a format-1 file is rewritten as format 2 once it has unlocked."""
    stored = key_file.parse(meta)
    passphrase = _ask(prompt, creating=False)
    master = key_file.unwrap(stored, passphrase)
    if not hmac.compare_digest(_check_value(master), stored.check):
        raise altered("its key check value does not match the key it holds")
    if stored.is_legacy:
        _write(home, key_file.wrap(master, stored.home_id, stored.check, passphrase),
               "rewritten in the stronger format (the old file is unchanged)")
    return LibraryKeys(master=master, home_id=stored.home_id, method="passphrase")


def open_library_keys(home: Path, prompt: PassphrasePrompt | None = None) -> LibraryKeys:
    """Unlock the keys of the Veil home at ``home``, creating them on first use.

    ``prompt`` is asked for a passphrase only where no keyring backend exists and
    ``VEIL_PASSPHRASE_FILE`` is not set. Raises :class:`WrongPassphraseError` for a passphrase
    that does not unlock, :class:`KeyStoreAlteredError` for a ``keystore.json`` that is not
    what Veil writes (checked before any key derivation), :class:`KeyStoreError` otherwise.
    """
    home = Path(home)
    path = home / KEYSTORE_FILE
    if not path.exists():
        if (home / "library.sqlite").exists():
            raise KeyStoreError(
                f"{KEYSTORE_FILE} is missing from this Veil home, but a library exists: without it "
                "the library cannot be opened. Restore the file from a backup; Veil will not "
                "replace it with a new key."
            )
        return _create(home, prompt)
    try:
        data = _read_regular(path)
    except OSError as exc:
        raise KeyStoreError(f"{KEYSTORE_FILE} in the Veil home cannot be read: {exc.strerror}") from None
    meta = key_file.load_json(data)
    key_file.check_version(meta)
    method = meta.get("method")
    if method == "keyring":
        return _unlock_keyring(meta)
    if method == "passphrase":
        return _unlock_passphrase(home, meta, prompt)
    raise altered("it names a key method that is neither keyring nor passphrase")


def _read_regular(path: Path) -> bytes:
    """The start of ``path`` if it is a regular file (a FIFO put in its place is never waited on)."""
    try:
        fd = open_regular(path)
    except OverBudget:
        raise KeyStoreError(f"{path.name} in the Veil home is not a regular file (a FIFO, device or socket is "
                            "in its place); restore it from a backup of this Veil home.") from None
    with os.fdopen(fd, "rb") as handle:
        return handle.read(key_file.MAX_FILE_BYTES + 1)


def needs_passphrase(home: Path) -> bool:
    """True when opening ``home`` will ask for a passphrase (no keyring, no env file).

    False for a ``keystore.json`` that is not what Veil writes: opening then names it as
    altered at once, without asking for a passphrase first.
    """
    if os.environ.get("VEIL_PASSPHRASE_FILE"):
        return False
    path = Path(home) / KEYSTORE_FILE
    if path.exists():
        try:
            meta = key_file.load_json(_read_regular(path))
            return meta.get("method") == "passphrase" and bool(key_file.parse(meta))
        except (OSError, KeyStoreError):
            return False
    return not keyring_available()
