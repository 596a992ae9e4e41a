"""Where the user's identity secret (their age and signing keys) is kept for one Veil home.

The secret is an opaque string to this module (the share domain's ``Identity`` writes and
reads it). Like the library's master key, it lives in the OS keyring (service ``veil``, user
``identity:<home id>``). A home protected by a passphrase instead (no keyring backend) keeps
it in ``identity.sealed``: AES-256-GCM under the library subkey ``derive("identity")``, bound
to the home's id, written atomically with mode 0600. The secret never touches disk in clear,
and no message or ``repr`` here shows it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.errors
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from desktop.core.common import file_locks
from desktop.core.common.atomic_files import atomic_write_bytes
from desktop.core.common.errors import KeyStoreError
from desktop.core.common.portable import BINARY
from desktop.core.keys.keystore import KEYRING_SERVICE, LibraryKeys

IDENTITY_FILE = "identity.sealed"
_LOCK_FILE = ".identity.lock"
_FORMAT = "veil-identity-sealed"
_VERSION = 1
_AAD = b"veil-identity-sealed-v1\x00"
MAX_SECRET_CHARS = 16 * 1024


def keyring_user(home_id: str) -> str:
    """The keyring user name the identity of the home ``home_id`` is stored under."""
    return f"identity:{home_id}"


def storage_of(keys: LibraryKeys) -> str:
    """Where this home keeps the identity, in words for a person."""
    if keys.method == "keyring":
        return "the system keyring"
    return f"{IDENTITY_FILE} in the Veil home, encrypted with the library key"


@contextlib.contextmanager
def identity_lock(home: Path) -> Iterator[None]:
    """Hold the home's identity lock, so two first uses at once do not each make an identity."""
    fd = os.open(Path(home) / _LOCK_FILE, os.O_RDWR | os.O_CREAT | BINARY, 0o600)
    try:
        file_locks.lock(fd)
        yield
    finally:
        os.close(fd)


def load_identity_secret(home: Path, keys: LibraryKeys) -> str | None:
    """The stored identity secret of the home, or None when none was stored yet."""
    if keys.method == "keyring":
        try:
            return keyring.get_password(KEYRING_SERVICE, keyring_user(keys.home_id))
        except keyring.errors.KeyringError:
            raise KeyStoreError("The system keyring cannot be read, so your Veil identity "
                                "cannot be loaded. Unlock the keyring and try again.") from None
    return _read_sealed(Path(home) / IDENTITY_FILE, keys)


def store_identity_secret(home: Path, keys: LibraryKeys, secret: str) -> None:
    """Keep ``secret`` as the home's identity (in the keyring, or sealed in the home)."""
    if not secret or len(secret) > MAX_SECRET_CHARS:
        raise KeyStoreError("This identity cannot be stored (empty or too large).")
    if keys.method == "keyring":
        try:
            keyring.set_password(KEYRING_SERVICE, keyring_user(keys.home_id), secret)
        except keyring.errors.KeyringError:
            raise KeyStoreError("The system keyring refused to store your Veil identity. "
                                "Unlock the keyring and try again.") from None
        return
    if keys.method != "passphrase":
        raise KeyStoreError("The library key names an unknown key method.")
    nonce = os.urandom(12)
    sealed = AESGCM(_key(keys)).encrypt(nonce, secret.encode("utf-8"), _aad(keys))
    record = {"format": _FORMAT, "version": _VERSION, "cipher": "AES-256-GCM",
              "nonce": base64.b64encode(nonce).decode("ascii"),
              "ciphertext": base64.b64encode(sealed).decode("ascii")}
    atomic_write_bytes(Path(home) / IDENTITY_FILE, json.dumps(record, indent=2).encode("utf-8"))


def _key(keys: LibraryKeys) -> bytes:
    return keys.derive("identity")


def _aad(keys: LibraryKeys) -> bytes:
    return _AAD + keys.home_id.encode("utf-8")


def _read_sealed(path: Path, keys: LibraryKeys) -> str | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyStoreError(f"{IDENTITY_FILE} in the Veil home cannot be read: {exc.strerror}.") from None
    damaged = KeyStoreError(f"{IDENTITY_FILE} in the Veil home is damaged or belongs to another "
                            "library; Veil cannot open your identity. Restore it from a backup.")
    try:
        record = json.loads(raw)
        if not isinstance(record, dict) or record.get("format") != _FORMAT:
            raise damaged
        if record.get("version") != _VERSION:
            raise KeyStoreError(f"{IDENTITY_FILE} was written by a newer Veil; update Veil.")
        nonce = base64.b64decode(record["nonce"], validate=True)
        sealed = base64.b64decode(record["ciphertext"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise damaged from None
    try:
        plain = AESGCM(_key(keys)).decrypt(nonce, sealed, _aad(keys))
    except (InvalidTag, ValueError):
        raise damaged from None
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise damaged from None
