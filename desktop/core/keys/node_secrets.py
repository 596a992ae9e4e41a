"""The password or token of a DICOMweb server, kept as the library keeps its own key: in the
OS keyring (service ``veil``, user ``dicomweb:<home id>:<node>``) for a keyring home, or, for
a home protected by a passphrase, sealed with AES-256-GCM under the library subkey
``derive("node-secret")``, bound to the home and the node's name (the caller keeps the sealed
text in the encrypted index). Never in a plain file, a log line or a ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import os

import keyring
import keyring.errors
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from desktop.core.common.errors import KeyStoreError
from desktop.core.keys.keystore import KEYRING_SERVICE, LibraryKeys

MAX_SECRET_CHARS = 8 * 1024
_AAD = b"veil-node-secret-v1\x00"


def keyring_user(home_id: str, node: str) -> str:
    """The keyring user name the secret of ``node`` in the home ``home_id`` is stored under."""
    return f"dicomweb:{home_id}:{node.casefold()}"


def _aad(keys: LibraryKeys, node: str) -> bytes:
    return _AAD + keys.home_id.encode("utf-8") + b"\x00" + node.casefold().encode("utf-8")


def seal(keys: LibraryKeys, node: str, secret: str) -> str:
    """``secret`` sealed for the home and node (a passphrase home keeps this text)."""
    if not secret or len(secret) > MAX_SECRET_CHARS:
        raise KeyStoreError("This password or token cannot be stored (empty or too long).")
    nonce = os.urandom(12)
    sealed = AESGCM(keys.derive("node-secret")).encrypt(nonce, secret.encode("utf-8"), _aad(keys, node))
    return base64.b64encode(nonce + sealed).decode("ascii")


def unseal(keys: LibraryKeys, node: str, text: str) -> str:
    """The secret :func:`seal` sealed, or a KeyStoreError when it was damaged or moved."""
    damaged = KeyStoreError(f"The stored password or token of {node} is damaged; edit the node and give it again.")
    try:
        raw = base64.b64decode(text, validate=True)
        plain = AESGCM(keys.derive("node-secret")).decrypt(raw[:12], raw[12:], _aad(keys, node))
        return plain.decode("utf-8")
    except (binascii.Error, ValueError, InvalidTag, UnicodeDecodeError):
        raise damaged from None


def keyring_store(keys: LibraryKeys, node: str, secret: str) -> None:
    if not secret or len(secret) > MAX_SECRET_CHARS:
        raise KeyStoreError("This password or token cannot be stored (empty or too long).")
    try:
        keyring.set_password(KEYRING_SERVICE, keyring_user(keys.home_id, node), secret)
    except keyring.errors.KeyringError:
        raise KeyStoreError("The system keyring refused to store the node's password or token. "
                            "Unlock the keyring and try again.") from None


def keyring_load(keys: LibraryKeys, node: str) -> str:
    """The stored secret ('' when none)."""
    try:
        return keyring.get_password(KEYRING_SERVICE, keyring_user(keys.home_id, node)) or ""
    except keyring.errors.KeyringError:
        raise KeyStoreError("The system keyring cannot be read, so the node's password or token cannot be "
                            "loaded. Unlock the keyring and try again.") from None


def keyring_forget(keys: LibraryKeys, node: str) -> None:
    try:
        keyring.delete_password(KEYRING_SERVICE, keyring_user(keys.home_id, node))
    except keyring.errors.PasswordDeleteError:
        pass
    except keyring.errors.KeyringError:
        raise KeyStoreError("The system keyring cannot be changed; the node's password or token is still "
                            "kept there.") from None
