"""The age v1 header (age-encryption.org/v1): write it, read it strictly, unwrap the file key.

Only the two native recipient types Veil uses are implemented: X25519 (public keys) and scrypt
(passphrases). Reading follows the specification's MUSTs: canonical unpadded base64, bodies
of exactly 32 bytes checked before decryption, an scrypt stanza only when alone, an upper
bound on the scrypt work factor, the header MAC checked with the unwrapped file key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from desktop.core.share.errors import (
    DamagedPackageError,
    NotAddressedToYouError,
    PackagePassphraseError,
)

VERSION_LINE = b"age-encryption.org/v1\n"
FILE_KEY_SIZE = 16
#: age's own default (about 1 s and 256 MiB); also what ``age -p`` writes.
DEFAULT_SCRYPT_LOG_N = 18
#: The largest work factor a package may ask of this machine (2**20: 1 GiB of memory).
MAX_SCRYPT_LOG_N = 20
MAX_HEADER_BYTES = 1 << 20
_MAX_LINE = 8192
_X25519_INFO = b"age-encryption.org/v1/X25519"
_SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
_ZERO_NONCE = bytes(12)
_LOG_N = re.compile(r"[1-9][0-9]*")
_DAMAGED = ("This file is not a Veil package, or its beginning is damaged (the encryption "
            "header cannot be read).")


@dataclass(frozen=True)
class Stanza:
    """One recipient stanza: its arguments and its (decoded) body."""

    args: tuple[str, ...]
    body: bytes


@dataclass(frozen=True)
class Header:
    """A parsed header: the stanzas, the MAC, and the bytes the MAC covers."""

    stanzas: tuple[Stanza, ...]
    mac: bytes
    mac_input: bytes


def stanza_types(header: Header) -> tuple[str, ...]:
    """The type of each recipient stanza, in order (``X25519``, ``scrypt``, or another's)."""
    return tuple(stanza.args[0] for stanza in header.stanzas)


def b64_raw(data: bytes) -> str:
    """Unpadded standard base64, as age writes it."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64_raw(text: str) -> bytes:
    """Decode canonical unpadded base64; ValueError otherwise."""
    if "=" in text or len(text) % 4 == 1:
        raise ValueError("not canonical base64")
    data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    if b64_raw(data) != text:
        raise ValueError("not canonical base64")
    return data


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def _scrypt_key(passphrase: str, salt: bytes, log_n: int) -> bytes:
    return Scrypt(salt=_SCRYPT_LABEL + salt, length=32, n=1 << log_n, r=8, p=1).derive(
        passphrase.encode("utf-8"))


def wrap_x25519(file_key: bytes, recipient: bytes) -> Stanza:
    """An X25519 stanza wrapping ``file_key`` for the 32-byte public key ``recipient``."""
    ephemeral = X25519PrivateKey.generate()
    share = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    key = _hkdf(shared, share + recipient, _X25519_INFO)
    return Stanza(("X25519", b64_raw(share)), ChaCha20Poly1305(key).encrypt(_ZERO_NONCE, file_key,
                                                                              None))


def wrap_scrypt(file_key: bytes, passphrase: str, log_n: int = DEFAULT_SCRYPT_LOG_N) -> Stanza:
    """An scrypt stanza wrapping ``file_key`` under ``passphrase``."""
    salt = os.urandom(16)
    key = _scrypt_key(passphrase, salt, log_n)
    return Stanza(("scrypt", b64_raw(salt), str(log_n)),
                  ChaCha20Poly1305(key).encrypt(_ZERO_NONCE, file_key, None))


def encode_header(stanzas: Sequence[Stanza], file_key: bytes) -> bytes:
    """The complete header, MAC line included."""
    out = bytearray(VERSION_LINE)
    for stanza in stanzas:
        out += ("-> " + " ".join(stanza.args) + "\n").encode("ascii")
        body = b64_raw(stanza.body)
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        if not lines or len(lines[-1]) == 64:
            lines.append("")
        out += "".join(line + "\n" for line in lines).encode("ascii")
    out += b"---"
    mac = hmac.new(_hkdf(file_key, b"", b"header"), bytes(out), hashlib.sha256).digest()
    return bytes(out) + b" " + b64_raw(mac).encode("ascii") + b"\n"


def _line(source: BinaryIO, total: int) -> bytes:
    line = source.readline(_MAX_LINE)
    if not line.endswith(b"\n") or total + len(line) > MAX_HEADER_BYTES:
        raise DamagedPackageError(_DAMAGED)
    return line


def read_header(source: BinaryIO) -> Header:
    """Read the header from ``source`` (a buffered binary file), leaving it at the payload."""
    first = source.readline(_MAX_LINE)
    if first != VERSION_LINE:
        if first.startswith(b"age-encryption.org/"):
            raise DamagedPackageError("This package uses a newer encryption format than this "
                                      "Veil can open; update Veil.")
        if first.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----"):
            raise DamagedPackageError("This is an ASCII-armored age file, not a Veil package; "
                                      "decrypt it with the age tool.")
        raise DamagedPackageError(_DAMAGED)
    consumed = bytearray(first)
    stanzas: list[Stanza] = []
    line = _line(source, len(consumed))
    while line.startswith(b"-> "):
        consumed += line
        args = line[3:-1].decode("ascii", "replace").split(" ")
        if any(not arg or not all("!" <= c <= "~" for c in arg) for arg in args):
            raise DamagedPackageError(_DAMAGED)
        body = []
        while True:
            line = _line(source, len(consumed))
            consumed += line
            text = line[:-1].decode("ascii", "replace")
            if len(text) > 64:
                raise DamagedPackageError(_DAMAGED)
            body.append(text)
            if len(text) < 64:
                break
        try:
            stanzas.append(Stanza(tuple(args), _unb64_raw("".join(body))))
        except ValueError:
            raise DamagedPackageError(_DAMAGED) from None
        line = _line(source, len(consumed))
    if not stanzas or not line.startswith(b"--- "):
        raise DamagedPackageError(_DAMAGED)
    try:
        mac = _unb64_raw(line[4:-1].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        mac = b""
    if len(mac) != 32:
        raise DamagedPackageError(_DAMAGED)
    return Header(tuple(stanzas), mac, bytes(consumed) + b"---")


def _open_body(key: bytes, body: bytes) -> bytes | None:
    try:
        return ChaCha20Poly1305(key).decrypt(_ZERO_NONCE, body, None)
    except InvalidTag:
        return None


def _x25519_share(stanza: Stanza) -> bytes:
    try:
        share = _unb64_raw(stanza.args[1]) if len(stanza.args) == 2 else b""
    except ValueError:
        share = b""
    if len(share) != 32 or len(stanza.body) != 32:
        raise DamagedPackageError(_DAMAGED)
    return share


def unwrap_with_identities(header: Header, secrets: Sequence[bytes]) -> bytes:
    """The file key, unwrapped by one of the 32-byte X25519 ``secrets``."""
    if any(s.args[0] == "scrypt" for s in header.stanzas):
        raise NotAddressedToYouError("This package is protected by a passphrase, not "
                                     "encrypted to your key: open it with the passphrase.")
    for stanza in header.stanzas:
        if stanza.args[0] != "X25519":
            continue
        share = _x25519_share(stanza)
        for secret in secrets:
            private = X25519PrivateKey.from_private_bytes(secret)
            try:
                shared = private.exchange(X25519PublicKey.from_public_bytes(share))
            except ValueError:  # an all-zero shared secret: a malicious share
                raise DamagedPackageError(_DAMAGED) from None
            own = private.public_key().public_bytes_raw()
            file_key = _open_body(_hkdf(shared, share + own, _X25519_INFO), stanza.body)
            if file_key is not None and len(file_key) == FILE_KEY_SIZE:
                return _checked(header, file_key)
    raise NotAddressedToYouError("This package is not addressed to you: none of your keys "
                                 "can open it.")


def unwrap_with_passphrase(header: Header, passphrase: str,
                           max_log_n: int = MAX_SCRYPT_LOG_N) -> bytes:
    """The file key, unwrapped with ``passphrase``."""
    if not any(s.args[0] == "scrypt" for s in header.stanzas):
        raise PackagePassphraseError("This package is encrypted to its recipients' keys, not "
                                     "with a passphrase: open it with your identity.")
    stanza = header.stanzas[0]
    if len(header.stanzas) != 1 or len(stanza.args) != 3 or len(stanza.body) != 32:
        raise DamagedPackageError(_DAMAGED)
    try:
        salt = _unb64_raw(stanza.args[1])
    except ValueError:
        salt = b""
    if len(salt) != 16 or not _LOG_N.fullmatch(stanza.args[2]):
        raise DamagedPackageError(_DAMAGED)
    log_n = int(stanza.args[2]) if len(stanza.args[2]) <= 3 else max_log_n + 1
    if log_n > max_log_n:
        raise DamagedPackageError("This package's passphrase protection asks for more memory "
                                  "than Veil allows; it was not made by Veil or age.")
    file_key = _open_body(_scrypt_key(passphrase, salt, log_n), stanza.body)
    if file_key is None or len(file_key) != FILE_KEY_SIZE:
        raise PackagePassphraseError("The passphrase does not open this package. Check it "
                                     "and try again.")
    return _checked(header, file_key)


def _checked(header: Header, file_key: bytes) -> bytes:
    expected = hmac.new(_hkdf(file_key, b"", b"header"), header.mac_input,
                        hashlib.sha256).digest()
    if not hmac.compare_digest(expected, header.mac):
        raise DamagedPackageError("This package was altered or damaged: its encryption header "
                                  "does not verify.")
    return file_key
