"""A user's identity for share packages, and the public key card colleagues keep of it.

An identity is two key pairs: an age X25519 identity (packages are encrypted to its
recipient, ``age1...``) and an Ed25519 signing key (manifests are signed with it). A key
card is the public half plus who it belongs to, with a short fingerprint to read over the
phone. This module is data and (de)serialisation only: keeping secrets in the keyring is the
key store's job.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Any

import pyrage
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pyrage import x25519

from desktop.core.share import bech32, strict_json
from desktop.core.share.errors import CardError

CARD_FORMAT = "veil-key-card"
CARD_VERSION = 1
IDENTITY_FORMAT = "veil-identity"
IDENTITY_VERSION = 1
MAX_CARD_BYTES = 16 * 1024
_FINGERPRINT_DOMAIN = b"veil-key-card-fingerprint-v1\x00"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_CARD_KEYS = {"format", "version", "name", "institution", "email", "age_recipient",
              "signing_key", "fingerprint"}


def age_recipient_key(recipient: str) -> bytes:
    """The 32-byte X25519 public key of an ``age1...`` recipient (CardError if invalid)."""
    try:
        key = bech32.decode(recipient, "age")
    except ValueError:
        key = b""
    if len(key) != 32 or recipient != recipient.lower():
        raise CardError("This is not a valid age public key (it should start with 'age1' "
                        "and be copied whole).")
    return key


def age_identity_key(secret: str) -> bytes:
    """The 32-byte X25519 secret of an ``AGE-SECRET-KEY-1...`` identity (CardError if invalid)."""
    try:
        key = bech32.decode(secret, "age-secret-key-")
    except ValueError:
        key = b""
    if len(key) != 32:
        raise CardError("This is not a valid age identity (AGE-SECRET-KEY-1...).")
    return key


def age_recipient_of(secret: str) -> str:
    """The ``age1...`` recipient of an ``AGE-SECRET-KEY-1...`` identity."""
    private = X25519PrivateKey.from_private_bytes(age_identity_key(secret))
    return bech32.encode("age", private.public_key().public_bytes_raw())


def fingerprint(age_recipient: str, signing_key: bytes) -> str:
    """``XXXX-XXXX-XXXX-XXXX-XXXX``: 100 bits of SHA-256 over both public keys, Crockford
    base32 (no I, L, O or U, so it reads unambiguously over the phone)."""
    digest = hashlib.sha256(_FINGERPRINT_DOMAIN + age_recipient_key(age_recipient)
                            + _signing_key(signing_key)).digest()
    bits = int.from_bytes(digest[:13], "big") >> 4  # the first 100 bits
    chars = "".join(_CROCKFORD[(bits >> (5 * i)) & 31] for i in reversed(range(20)))
    return "-".join(chars[i:i + 4] for i in range(0, 20, 4))


def _signing_key(key: bytes) -> bytes:
    if not isinstance(key, bytes) or len(key) != 32:
        raise CardError("The signing key of this card is not a 32-byte Ed25519 public key.")
    return key


def _text(value: Any, field: str, required: bool, limit: int) -> str:
    if not isinstance(value, str) or not value.isprintable() or len(value) > limit:
        raise CardError(f"The card's {field} is not plain text of at most {limit} characters.")
    if required and not value.strip():
        raise CardError(f"The card has no {field}.")
    return value


@dataclass(frozen=True)
class KeyCard:
    """The public key card of a person: who they are and their two public keys."""

    name: str
    institution: str
    email: str
    age_recipient: str
    signing_key: bytes

    def __post_init__(self) -> None:
        _text(self.name, "name", True, 200)
        _text(self.institution, "institution", False, 200)
        _text(self.email, "email", False, 254)
        if self.email and not _EMAIL.fullmatch(self.email):
            raise CardError("The card's email address does not look like name@example.org.")
        age_recipient_key(self.age_recipient)
        _signing_key(self.signing_key)

    @property
    def fingerprint(self) -> str:
        """The short fingerprint to compare over the phone."""
        return fingerprint(self.age_recipient, self.signing_key)

    def to_dict(self) -> dict[str, Any]:
        """The card as JSON-ready data (the same object the card file and manifest hold)."""
        return {"format": CARD_FORMAT, "version": CARD_VERSION, "name": self.name,
                "institution": self.institution, "email": self.email,
                "age_recipient": self.age_recipient,
                "signing_key": base64.b64encode(self.signing_key).decode("ascii"),
                "fingerprint": self.fingerprint}

    @classmethod
    def from_dict(cls, data: Any) -> KeyCard:
        """A card from :meth:`to_dict` data; CardError if anything is off."""
        if not isinstance(data, dict) or data.get("format") != CARD_FORMAT:
            raise CardError("This is not a Veil key card.")
        version = data.get("version")
        if type(version) is not int or version < 1:
            raise CardError("This key card has no valid version number.")
        if version > CARD_VERSION:
            raise CardError("This key card was made by a newer version of Veil; update Veil "
                            "to import it.")
        if set(data) != _CARD_KEYS:
            raise CardError("This key card has missing or unexpected fields.")
        card = cls(name=data["name"], institution=data["institution"], email=data["email"],
                   age_recipient=_str(data["age_recipient"]),
                   signing_key=_decode_key(data["signing_key"]))
        if data["fingerprint"] != card.fingerprint:
            raise CardError("This key card's fingerprint does not match its keys; it was "
                            "altered. Ask its owner for a new copy.")
        return card


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise CardError("This is not a valid age public key.")
    return value


def _decode_key(text: Any) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (TypeError, ValueError):
        key = b""
    if len(key) != 32 or base64.b64encode(key).decode("ascii") != text:
        raise CardError("The signing key of this card is not a valid Ed25519 public key.")
    return key


def export_card(card: KeyCard) -> bytes:
    """The bytes of a card file (small JSON, safe to e-mail or publish)."""
    return strict_json.dumps(card.to_dict())


def import_card(data: bytes) -> KeyCard:
    """A card from the bytes of a card file; CardError with the reason if malformed."""
    return KeyCard.from_dict(strict_json.loads_object(data, MAX_CARD_BYTES, "key card file",
                                                      CardError))


class Identity:
    """A user's two secret keys. ``repr`` never shows them."""

    __slots__ = ("_age", "_signing")

    def __init__(self, age_identity: x25519.Identity, signing_key: Ed25519PrivateKey) -> None:
        self._age = age_identity
        self._signing = signing_key

    @classmethod
    def generate(cls) -> Identity:
        """A new identity with fresh random keys."""
        return cls(x25519.Identity.generate(), Ed25519PrivateKey.generate())

    def __repr__(self) -> str:
        return f"Identity(fingerprint={self.fingerprint!r})"

    @property
    def age_identity(self) -> x25519.Identity:
        """The pyrage X25519 identity."""
        return self._age

    @property
    def age_secret(self) -> str:
        """``AGE-SECRET-KEY-1...``: the secret an ``age -d -i`` identity file holds."""
        return str(self._age)

    @property
    def age_recipient(self) -> str:
        """``age1...``: the public key packages for this user are encrypted to."""
        return str(self._age.to_public())

    @property
    def signing_public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return self._signing.public_key().public_bytes_raw()

    @property
    def fingerprint(self) -> str:
        """The fingerprint of this identity's card."""
        return fingerprint(self.age_recipient, self.signing_public_key)

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        return self._signing.sign(data)

    def card(self, name: str, institution: str = "", email: str = "") -> KeyCard:
        """This identity's public key card."""
        return KeyCard(name=name, institution=institution, email=email,
                       age_recipient=self.age_recipient, signing_key=self.signing_public_key)

    def age_identity_file(self) -> str:
        """The text of an age identity file (for ``age -d -i FILE``). It is a secret."""
        return f"# public key: {self.age_recipient}\n{self.age_secret}\n"

    def to_secret_json(self) -> str:
        """Both secrets as one JSON string, for the key store to keep. It is a secret."""
        seed = self._signing.private_bytes_raw()
        return strict_json.dumps({"format": IDENTITY_FORMAT, "version": IDENTITY_VERSION,
                                  "age": self.age_secret,
                                  "ed25519": base64.b64encode(seed).decode("ascii")}
                                 ).decode("utf-8")

    @classmethod
    def from_secret_json(cls, text: str) -> Identity:
        """The identity :meth:`to_secret_json` wrote; CardError if malformed."""
        data = strict_json.loads_object(text.encode("utf-8"), MAX_CARD_BYTES, "identity",
                                        CardError)
        if data.get("format") != IDENTITY_FORMAT or data.get("version") != IDENTITY_VERSION:
            raise CardError("This is not a Veil identity of a version this Veil can read.")
        age_identity_key(_str(data.get("age")))
        try:
            age = x25519.Identity.from_str(data["age"])
            seed = base64.b64decode(data.get("ed25519", ""), validate=True)
            signing = Ed25519PrivateKey.from_private_bytes(seed)
        except (TypeError, ValueError, pyrage.IdentityError) as exc:
            raise CardError("This Veil identity is damaged.") from exc
        return cls(age, signing)
