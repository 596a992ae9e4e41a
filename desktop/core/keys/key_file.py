"""The passphrase key file: the library master key wrapped under a passphrase, as written in
``keystore.json`` where no OS keyring exists.

Format 2 (written by this Veil)::

    {"version": 2, "home_id": UUID, "method": "passphrase", "check": HEX32,
     "kdf":  {"name": "scrypt", "n": 131072, "r": 8, "p": 1, "salt": B64(16), "verifier": B64(16)},
     "wrap": {"cipher": "AES-256-GCM", "nonce": B64(12), "key": B64(48)}}

- **KDF**: scrypt (RFC 7914) with N = 2**17, r = 8, p = 1: 128 MiB and about 0.4 s per
  derivation on a 2-CPU EPYC VM (``benchmarks/keystore_bench.py``), four times format 1's. RFC
  7914 section 2 puts interactive use at N = 2**14 and file encryption at 2**20; 2**17 keeps an
  unlock under half a second while making every offline guess against a copied file cost
  128 MiB of memory. Argon2id (RFC 9106) would be the first choice, but no maintained binding
  is a dependency of Veil; ``cryptography``'s scrypt is.
- **Two keys from one derivation**: the scrypt output is split with HKDF-SHA256 (RFC 5869)
  into the AES-256-GCM wrapping key and a 16-byte passphrase *verifier*. The verifier lets an
  unlock tell "wrong passphrase" from "right passphrase, file altered". It gives an offline
  attacker nothing the GCM tag does not already give: each guess still costs one scrypt.
- **Authenticated parameters**: the AES-GCM associated data is a canonical encoding
  (:func:`associated_data`) of the format version, home id, method, KDF name, N, r, p and
  salt, and the cipher. Any edit of these makes the unwrap fail.

What an unlock can and cannot tell apart:

- Named as **altered** (:class:`KeyStoreAlteredError`), before any derivation: a file that is
  not JSON, a missing or extra field, a wrong type, a base64 value that does not decode or has
  the wrong length (salt, verifier, nonce, key), an unknown KDF or cipher name, an unknown
  version, and any KDF parameter outside what Veil writes (format 2: N a power of two from
  2**17 to 2**20, r = 8, p = 1). So N = 2**40 or r = 10**6 is refused at once, never derived.
- Named as **altered** after the derivation, because the verifier matched: an edited home id,
  version, method, cipher, nonce or wrapped key, or an edited check value.
- **Not distinguishable** from a wrong passphrase: a salt, N or verifier changed to another
  allowed value (the derivation then yields other keys, exactly as a wrong passphrase does).
  AEAD cannot separate the two; the message for a wrong passphrase says so.

Format 1 (homes made by older Veil) used scrypt N = 2**15, r = 8, p = 1, a 16-byte salt, and the
home id alone as associated data. It is read only with exactly those parameters (anything else
in a format-1 file is refused as altered), and an unlock rewrites it as format 2 with the same
master key (:func:`is_legacy`; the caller does the atomic rewrite).

Downgrade: editing a format-2 file into format 1 gains an attacker nothing. A format-1 file
only unlocks if its wrapped key really is the master key wrapped under the passphrase with the
weak parameters, which takes either the master key or an old copy of the file; whoever holds
such a copy can already attack it offline, and Veil accepting it back only upgrades it. An edit
that does not meet that bar fails the GCM tag and reads as a wrong passphrase (format 1 has no
verifier to tell the two apart). Veil never writes format 1. Old copies of ``keystore.json``
(backups made before the upgrade) keep their weak parameters: treat them as secrets.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from desktop.core.common.errors import KeyStoreAlteredError, WrongPassphraseError

KEYSTORE_FILE = "keystore.json"
FORMAT_VERSION = 2
LEGACY_VERSION = 1
KNOWN_VERSIONS = (LEGACY_VERSION, FORMAT_VERSION)

#: What format 2 writes (RFC 7914 scrypt): 128 * r * N = 128 MiB.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
#: What format 2 accepts: N may be raised by a later Veil without a new format, up to 2**20
#: (1 GiB, RFC 7914's figure for file encryption); r and p are fixed.
MIN_LOG_N = 17
MAX_LOG_N = 20
#: Format 1 accepts exactly what old Veil wrote.
LEGACY_N, LEGACY_R, LEGACY_P = 2**15, 8, 1

CIPHER = "AES-256-GCM"
SALT_BYTES = 16
VERIFIER_BYTES = 16
NONCE_BYTES = 12
WRAPPED_BYTES = 32 + 16  # master key + GCM tag
CHECK_HEX = 32
MAX_FILE_BYTES = 64 * 1024

_FIELDS = {"version", "home_id", "method", "check", "kdf", "wrap"}
_KDF_FIELDS = {
    FORMAT_VERSION: {"name", "n", "r", "p", "salt", "verifier"},
    LEGACY_VERSION: {"name", "n", "r", "p", "salt"},
}
_WRAP_FIELDS = {"cipher", "nonce", "key"}
_RESTORE = " Restore keystore.json from a backup of this Veil home."


def altered(detail: str) -> KeyStoreAlteredError:
    """The error for a key file that is not what Veil writes; ``detail`` says what is wrong."""
    return KeyStoreAlteredError(f"{KEYSTORE_FILE} was altered or damaged: {detail}.{_RESTORE}")


@dataclass(frozen=True, repr=False)
class WrappedKey:
    """The passphrase-wrapped master key of one home, validated field by field."""

    version: int
    home_id: str
    check: str
    n: int
    r: int
    p: int
    salt: bytes
    verifier: bytes  # empty in format 1
    nonce: bytes
    key: bytes

    def __repr__(self) -> str:
        return f"WrappedKey(version={self.version}, home_id={self.home_id!r}, n={self.n})"

    @property
    def is_legacy(self) -> bool:
        """True for a format-1 file, which an unlock rewrites as format 2."""
        return self.version == LEGACY_VERSION


def load_json(data: bytes) -> dict[str, Any]:
    """Parse ``keystore.json``: size-capped, UTF-8, one object, no duplicate keys, no NaN."""
    if len(data) > MAX_FILE_BYTES:
        raise altered(f"it is over {MAX_FILE_BYTES // 1024} KiB long, far more than Veil writes")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({k for k, _ in pairs}) != len(pairs):
            raise ValueError("duplicate key")
        return dict(pairs)

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not allowed")

    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicates,
                           parse_constant=no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise altered("it is not valid JSON") from None
    if not isinstance(value, dict):
        raise altered("it is not a JSON object")
    return value


def check_version(meta: dict[str, Any]) -> int:
    """The format version of ``meta``, refused unless Veil knows it."""
    version = meta.get("version")
    if type(version) is not int or version not in KNOWN_VERSIONS:
        raise altered(f"its format version {version!r} is not one Veil writes (known: "
                      f"{', '.join(map(str, KNOWN_VERSIONS))}; a newer Veil may have written it)")
    return version


def check_home_id(value: Any) -> str:
    """``value`` if it is a home id as Veil writes it (a UUID in canonical form)."""
    try:
        if isinstance(value, str) and str(uuid.UUID(value)) == value:
            return value
    except ValueError:
        pass
    raise altered("its home id is not a UUID as Veil writes it")


def check_check(value: Any) -> str:
    """``value`` if it is a key check value (32 lowercase hex digits)."""
    if isinstance(value, str) and len(value) == CHECK_HEX and all(c in "0123456789abcdef" for c in value):
        return value
    raise altered("its key check value is not 32 hexadecimal digits")


def _fields(obj: Any, expected: set[str], what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise altered(f"its {what} is not a JSON object")
    if set(obj) != expected:
        missing, extra = sorted(expected - set(obj)), sorted(set(obj) - expected)
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {', '.join(extra)}"] if extra else [])
        raise altered(f"its {what} fields are not what Veil writes ({'; '.join(parts)})")
    return obj


def _b64(value: Any, length: int, what: str) -> bytes:
    try:
        if isinstance(value, str):
            raw = base64.b64decode(value.encode("ascii"), validate=True)
            if len(raw) == length:
                return raw
    except (binascii.Error, UnicodeEncodeError):
        pass
    raise altered(f"its {what} is not {length} bytes of base64")


def _kdf_bounds(version: int, n: Any, r: Any, p: Any) -> tuple[int, int, int]:
    """N, r, p if Veil writes them for ``version``; checked before anything is derived."""
    if version == LEGACY_VERSION:
        ok = (type(n), type(r), type(p)) == (int, int, int) and (n, r, p) == (LEGACY_N, LEGACY_R, LEGACY_P)
        allowed = "format 1 was only ever written with N=2^15, r=8, p=1"
    else:
        ok = ((type(n), type(r), type(p)) == (int, int, int) and n > 0 and n & (n - 1) == 0
              and MIN_LOG_N <= n.bit_length() - 1 <= MAX_LOG_N and (r, p) == (SCRYPT_R, SCRYPT_P))
        allowed = (f"format 2 allows N a power of two from 2^{MIN_LOG_N} to 2^{MAX_LOG_N}, "
                   f"r={SCRYPT_R}, p={SCRYPT_P}")
    if not ok:
        shown = ", ".join(f"{k}={_short(v)}" for k, v in (("N", n), ("r", r), ("p", p)))
        raise altered(f"its key-derivation parameters are outside what Veil writes ({shown}; {allowed})")
    return n, r, p


def _short(value: Any) -> str:
    if type(value) is int and value > 0 and value & (value - 1) == 0 and value > 1024:
        return f"2^{value.bit_length() - 1}"
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def parse(meta: dict[str, Any]) -> WrappedKey:
    """Validate a passphrase-method ``keystore.json`` against what Veil writes (see module)."""
    version = check_version(meta)
    _fields(meta, _FIELDS, "top-level")
    home_id, check = check_home_id(meta["home_id"]), check_check(meta["check"])
    kdf = _fields(meta["kdf"], _KDF_FIELDS[version], "key-derivation (kdf)")
    wrap = _fields(meta["wrap"], _WRAP_FIELDS, "wrapping (wrap)")
    if kdf["name"] != "scrypt":
        raise altered(f"its key-derivation function {_short(kdf['name'])} is not scrypt, the only "
                      "one Veil writes")
    n, r, p = _kdf_bounds(version, kdf["n"], kdf["r"], kdf["p"])
    if wrap["cipher"] != CIPHER:
        raise altered(f"its cipher {_short(wrap['cipher'])} is not {CIPHER}, the only one Veil writes")
    return WrappedKey(
        version=version, home_id=home_id, check=check, n=n, r=r, p=p,
        salt=_b64(kdf["salt"], SALT_BYTES, "salt"),
        verifier=_b64(kdf["verifier"], VERIFIER_BYTES, "passphrase verifier") if "verifier" in kdf else b"",
        nonce=_b64(wrap["nonce"], NONCE_BYTES, "nonce"),
        key=_b64(wrap["key"], WRAPPED_BYTES, "wrapped key"),
    )


def associated_data(version: int, home_id: str, n: int, r: int, p: int, salt: bytes) -> bytes:
    """The AES-GCM associated data binding the parameters to the wrapped key.

    Format 2: canonical JSON (sorted keys, no spaces, ASCII) of a labelled object holding the
    version, home id, method, KDF name, N, r, p, salt (base64) and cipher. Format 1: the home
    id alone (UTF-8), as old Veil wrote it.
    """
    if version == LEGACY_VERSION:
        return home_id.encode()
    bound = {"label": "veil/keystore/wrap", "version": version, "home_id": home_id,
             "method": "passphrase", "kdf": {"name": "scrypt", "n": n, "r": r, "p": p,
                                            "salt": base64.b64encode(salt).decode()},
             "cipher": CIPHER}
    return json.dumps(bound, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _scrypt(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    """scrypt (RFC 7914), 32 bytes. Callers bound N, r, p first (:func:`parse`); the memory
    it needs is 128 * r * N bytes, at most 1 GiB for what format 2 accepts."""
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _split(secret: bytes) -> tuple[bytes, bytes]:
    """(wrapping key, verifier) from one scrypt output, HKDF-SHA256 (RFC 5869)."""
    def expand(info: bytes, length: int) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(secret)
    return expand(b"veil/keystore/wrap-key/v2", 32), expand(b"veil/keystore/verifier/v2", VERIFIER_BYTES)


def wrap(master: bytes, home_id: str, check: str, passphrase: str) -> dict[str, Any]:
    """The format-2 ``keystore.json`` object for ``master``: fresh salt and nonce."""
    salt, nonce = os.urandom(SALT_BYTES), os.urandom(NONCE_BYTES)
    wrap_key, verifier = _split(_scrypt(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P))
    aad = associated_data(FORMAT_VERSION, home_id, SCRYPT_N, SCRYPT_R, SCRYPT_P, salt)
    wrapped = AESGCM(wrap_key).encrypt(nonce, master, aad)
    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()
    return {
        "version": FORMAT_VERSION, "home_id": home_id, "method": "passphrase", "check": check,
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
                "salt": b64(salt), "verifier": b64(verifier)},
        "wrap": {"cipher": CIPHER, "nonce": b64(nonce), "key": b64(wrapped)},
    }


def unwrap(stored: WrappedKey, passphrase: str) -> bytes:
    """The master key in ``stored``, or :class:`WrongPassphraseError` /
    :class:`KeyStoreAlteredError` as the module docstring explains. The caller checks the
    key check value."""
    secret = _scrypt(passphrase, stored.salt, stored.n, stored.r, stored.p)
    if stored.is_legacy:
        wrap_key, verifier = secret, b""
    else:
        wrap_key, verifier = _split(secret)
    aad = associated_data(stored.version, stored.home_id, stored.n, stored.r, stored.p, stored.salt)
    try:
        master = AESGCM(wrap_key).decrypt(stored.nonce, stored.key, aad)
    except InvalidTag:
        if verifier and hmac.compare_digest(verifier, stored.verifier):
            raise altered("the passphrase is right, but the wrapped key or a field bound to it "
                          "(home id, version, cipher, nonce) was changed") from None
        raise WrongPassphraseError(
            "That passphrase does not unlock this library. If you are sure it is right, "
            f"{KEYSTORE_FILE} may have been altered (a changed salt or cost cannot be told "
            "apart from a wrong passphrase): restore it from a backup."
        ) from None
    if verifier and not hmac.compare_digest(verifier, stored.verifier):
        raise altered("its passphrase verifier was changed")
    return master
