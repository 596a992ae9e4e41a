"""Find, create and unlock the key that encrypts a Veil home.

One random 256-bit master key per ``VEIL_HOME``. It lives in the OS keyring (through
``keyring``). Where no keyring backend exists (headless Linux without Secret Service) the
master key is wrapped with AES-256-GCM under a key derived from a passphrase by scrypt, and
only the wrapped form is written (``keystore.json``). A plaintext key never touches disk.

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

import keyring
import keyring.backend
import keyring.errors
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from desktop.core.atomic_files import atomic_write_bytes
from desktop.core.errors import KeyStoreError, WrongPassphraseError

KEYRING_SERVICE = "veil"
KEYSTORE_FILE = "keystore.json"
MIN_PASSPHRASE_LENGTH = 8
#: scrypt cost: about 0.1 s and 32 MiB on a laptop (RFC 7914 recommends N >= 2**14 for
#: interactive logins).
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1

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


#: Backends that write secrets to a file in clear (or barely obscured): never a keyring for us.
_INSECURE_BACKENDS = ("keyrings.alt", "keyring.backends.null", "keyring.backends.fail")


def keyring_available() -> bool:
    """True when ``keyring`` has a real, protected backend to store secrets in."""
    backend = keyring.get_keyring()
    name = type(backend).__module__ + "." + type(backend).__name__
    if name.startswith(_INSECURE_BACKENDS) or "plaintext" in name.lower():
        return False
    if name == "keyring.backends.chainer.ChainerBackend":
        return bool(getattr(backend, "backends", []))
    priority = getattr(backend, "priority", 1)
    try:
        return float(priority) > 0
    except Exception:
        return True


def passphrase_from_file(path: str | os.PathLike[str]) -> str:
    """Read a passphrase from a file (``VEIL_PASSPHRASE_FILE``); trailing newlines dropped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyStoreError(
            f"Cannot read the passphrase file named by VEIL_PASSPHRASE_FILE: {exc.strerror}."
        ) from None
    text = text.rstrip("\r\n")
    if not text:
        raise KeyStoreError("The passphrase file named by VEIL_PASSPHRASE_FILE is empty.")
    return text


def _check_value(master: bytes) -> str:
    return hmac.new(master, b"veil-key-check", hashlib.sha256).hexdigest()[:32]


def _kek(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


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


def _create(home: Path, prompt: PassphrasePrompt | None) -> LibraryKeys:
    master = os.urandom(32)
    home_id = str(uuid.uuid4())
    meta: dict[str, object] = {"version": 1, "home_id": home_id, "check": _check_value(master)}
    if keyring_available():
        try:
            keyring.set_password(
                KEYRING_SERVICE, _keyring_user(home_id), base64.b64encode(master).decode()
            )
        except keyring.errors.KeyringError as exc:
            raise KeyStoreError(f"The system keyring refused to store the library key: {exc}") from None
        meta["method"] = "keyring"
    else:
        passphrase = _ask(prompt, creating=True)
        salt = os.urandom(16)
        nonce = os.urandom(12)
        kek = _kek(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        wrapped = AESGCM(kek).encrypt(nonce, master, home_id.encode())
        meta.update(
            method="passphrase",
            kdf={"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
                 "salt": base64.b64encode(salt).decode()},
            wrap={"cipher": "AES-256-GCM", "nonce": base64.b64encode(nonce).decode(),
                  "key": base64.b64encode(wrapped).decode()},
        )
    atomic_write_bytes(home / KEYSTORE_FILE, json.dumps(meta, indent=2).encode())
    return LibraryKeys(master=master, home_id=home_id, method=str(meta["method"]))


def _unlock(home: Path, meta: dict, prompt: PassphrasePrompt | None) -> LibraryKeys:
    home_id = str(meta["home_id"])
    method = meta.get("method")
    if method == "keyring":
        try:
            stored = keyring.get_password(KEYRING_SERVICE, _keyring_user(home_id))
        except keyring.errors.KeyringError as exc:
            raise KeyStoreError(f"The system keyring cannot be read: {exc}") from None
        if stored is None:
            raise KeyStoreError(
                "This Veil library was locked with a key kept in the system keyring, and "
                "the keyring does not hold it (different user, or the keyring was reset)."
            )
        master = base64.b64decode(stored)
    elif method == "passphrase":
        kdf, wrap = meta["kdf"], meta["wrap"]
        passphrase = _ask(prompt, creating=False)
        kek = _kek(passphrase, base64.b64decode(kdf["salt"]), kdf["n"], kdf["r"], kdf["p"])
        try:
            master = AESGCM(kek).decrypt(
                base64.b64decode(wrap["nonce"]), base64.b64decode(wrap["key"]), home_id.encode()
            )
        except InvalidTag:
            raise WrongPassphraseError("That passphrase does not unlock this library.") from None
    else:
        raise KeyStoreError(f"{KEYSTORE_FILE} names an unknown key method.")
    if not hmac.compare_digest(_check_value(master), str(meta.get("check", ""))):
        raise KeyStoreError("The key found does not belong to this library.")
    return LibraryKeys(master=master, home_id=home_id, method=method)


def open_library_keys(home: Path, prompt: PassphrasePrompt | None = None) -> LibraryKeys:
    """Unlock the keys of the Veil home at ``home``, creating them on first use.

    ``prompt`` is asked for a passphrase only where no keyring backend exists and
    ``VEIL_PASSPHRASE_FILE`` is not set.
    """
    path = Path(home) / KEYSTORE_FILE
    if not path.exists():
        if (Path(home) / "library.sqlite").exists():
            raise KeyStoreError(
                f"{KEYSTORE_FILE} is missing from this Veil home, but a library exists: without it "
                "the library cannot be opened. Restore the file from a backup; Veil will not "
                "replace it with a new key."
            )
        return _create(Path(home), prompt)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KeyStoreError(f"{KEYSTORE_FILE} in the Veil home cannot be read: {exc}") from None
    return _unlock(Path(home), meta, prompt)


def needs_passphrase(home: Path) -> bool:
    """True when opening ``home`` will ask for a passphrase (no keyring, no env file)."""
    if os.environ.get("VEIL_PASSPHRASE_FILE"):
        return False
    path = Path(home) / KEYSTORE_FILE
    if path.exists():
        try:
            return json.loads(path.read_text(encoding="utf-8")).get("method") == "passphrase"
        except (OSError, ValueError):
            return False
    return not keyring_available()
