"""``manifest.json`` (what a package holds and why) and ``manifest.sig`` (who vouches for it).

The manifest's bytes are deterministic JSON (:mod:`strict_json`); the signature is Ed25519
over exactly those bytes, so a reader verifies the bytes it received before parsing them.

Version 2 says whom the package was addressed to (each recipient's name and fingerprint, and
in words who it is for), so a reader can tell a package that reached it as its signer sent it
from one someone decrypted and passed on (:func:`reader.check_arrival`). Version 1 manifests
are still read; they predate that statement.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from desktop.core.share import strict_json
from desktop.core.share.errors import CardError, ManifestError, SignatureError
from desktop.core.share.identity import Identity, KeyCard, age_recipient_key
from desktop.core.share.member_names import check_member_name

FORMAT = "veil-package-manifest"
FORMAT_VERSION = 2
#: The first version whose manifest says whom the package was for (names, fingerprints, "for").
ADDRESSED_VERSION = 2
SIGNATURE_FORMAT = "veil-manifest-signature"
MAX_MANIFEST_BYTES = 64 << 20
MAX_SIGNATURE_BYTES = 4096
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CREATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_FINGERPRINT = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}")
_KEY_FINGERPRINT_DOMAIN = b"veil-age-recipient-fingerprint-v1\x00"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MAX_FOR_CHARS = 500
_KEYS = {"format", "format_version", "package_id", "created", "sender", "encryption",
         "purpose", "consent_basis", "deidentification", "redaction", "files"}


def _bad(reason: str) -> ManifestError:
    return ManifestError(f"The package's manifest is malformed ({reason}); it was not made by "
                         "this version of Veil or was damaged.")


@dataclass(frozen=True)
class FileRecord:
    """One file of the package: its path inside the ZIP, size and SHA-256 (hex)."""

    path: str
    size: int
    sha256: str


def key_fingerprint(age_recipient: str) -> str:
    """The fingerprint of a bare ``age1...`` key (a recipient without a key card), in the shape
    of a card's: 100 bits of SHA-256 over ``"veil-age-recipient-fingerprint-v1\\0"`` and the
    recipient string (ASCII), Crockford base32 in five groups of four. The domain differs from
    the card fingerprint's, so the two never stand for each other."""
    age_recipient_key(age_recipient)  # CardError unless a valid age1... key
    digest = hashlib.sha256(_KEY_FINGERPRINT_DOMAIN + age_recipient.encode("ascii")).digest()
    bits = int.from_bytes(digest[:13], "big") >> 4  # the first 100 bits
    chars = "".join(_CROCKFORD[(bits >> (5 * i)) & 31] for i in reversed(range(20)))
    return "-".join(chars[i:i + 4] for i in range(0, 20, 4))


@dataclass(frozen=True)
class RecipientRecord:
    """Who the package was encrypted to: an age recipient, its fingerprint (the card's, or
    :func:`key_fingerprint` for a bare ``age1...`` key; None for a bare key in a version 1
    manifest) and the name on the card ("" for a bare key, and in version 1)."""

    age_recipient: str
    fingerprint: str | None
    name: str = ""

    @classmethod
    def of(cls, recipient: KeyCard | str) -> RecipientRecord:
        """The record of a card, or of a bare ``age1...`` key (CardError if it is invalid)."""
        if isinstance(recipient, KeyCard):
            return cls(recipient.age_recipient, recipient.fingerprint, recipient.name)
        return cls(recipient, key_fingerprint(recipient), "")

    @property
    def text(self) -> str:
        """``Dr Bob [XXXX-...]``, or ``an age key [XXXX-...]`` for a bare key."""
        return f"{self.name or 'an age key'} [{self.fingerprint or self.age_recipient}]"


@dataclass(frozen=True)
class PackageDetails:
    """What the sender says about the package (free-form dicts come from the caller)."""

    purpose: str
    consent_basis: Mapping[str, Any] = field(default_factory=dict)
    deidentification: Mapping[str, Any] = field(default_factory=dict)
    redaction: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    """The parsed ``manifest.json``. A new one takes :func:`new_package_id` and
    :func:`utc_now`."""

    package_id: str
    created: str
    sender: KeyCard
    encryption: str  # "x25519", "passphrase", or "none" (a plain archive: writer.write_archive)
    recipients: tuple[RecipientRecord, ...]
    details: PackageDetails
    files: tuple[FileRecord, ...]
    format_version: int = FORMAT_VERSION
    #: Who the package is for, in the sender's words (a journal, the holder of the passphrase);
    #: "" when not said. Version 2 and later.
    addressed_for: str = ""

    @property
    def total_size(self) -> int:
        """Bytes of all listed files."""
        return sum(f.size for f in self.files)

    @property
    def says_addressee(self) -> bool:
        """True when the manifest says whom it was for (version 2 and later)."""
        return self.format_version >= ADDRESSED_VERSION

    @property
    def addressee_text(self) -> str:
        """Whom the sender made the package for, in words (from the signed manifest)."""
        named = f" ({self.addressed_for})" if self.addressed_for else ""
        if self.encryption == "x25519":
            return "; ".join(r.text for r in self.recipients) + named
        if self.encryption == "passphrase":
            return (self.addressed_for or "whoever has the passphrase") + " (a passphrase)"
        return (self.addressed_for or "no one named") + " (an unencrypted archive)"

    def to_bytes(self) -> bytes:
        """The exact bytes of ``manifest.json``."""
        return strict_json.dumps({
            "format": FORMAT, "format_version": self.format_version,
            "package_id": self.package_id, "created": self.created,
            "sender": self.sender.to_dict(),
            "encryption": self._encryption_dict(),
            "purpose": self.details.purpose,
            "consent_basis": dict(self.details.consent_basis),
            "deidentification": dict(self.details.deidentification),
            "redaction": dict(self.details.redaction),
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
        })

    def _encryption_dict(self) -> dict[str, Any]:
        if not self.says_addressee:
            return {"method": self.encryption,
                    "recipients": [{"age_recipient": r.age_recipient, "fingerprint": r.fingerprint}
                                   for r in self.recipients]}
        return {"method": self.encryption, "for": self.addressed_for,
                "recipients": [{"age_recipient": r.age_recipient, "fingerprint": r.fingerprint,
                                "name": r.name} for r in self.recipients]}

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """Parse and validate ``manifest.json``; ManifestError if malformed."""
        raw = strict_json.loads_object(data, MAX_MANIFEST_BYTES, "package manifest",
                                       ManifestError)
        if raw.get("format") != FORMAT:
            raise _bad("not a Veil manifest")
        version = raw.get("format_version")
        if type(version) is int and version > FORMAT_VERSION:
            raise ManifestError("This package was made by a newer version of Veil; update "
                                "Veil to open it.")
        if version not in (1, FORMAT_VERSION) or set(raw) != _KEYS:
            raise _bad("unknown version or fields")
        try:
            sender = KeyCard.from_dict(raw["sender"])
        except CardError as exc:
            raise _bad(f"sender card: {exc}") from None
        try:
            package_id = str(uuid.UUID(raw["package_id"]))
        except (TypeError, ValueError, AttributeError):
            raise _bad("package id") from None
        if not isinstance(raw["created"], str) or not _CREATED.fullmatch(raw["created"]):
            raise _bad("creation time")
        details = PackageDetails(_string(raw["purpose"], "purpose"),
                                 _mapping(raw["consent_basis"], "consent basis"),
                                 _mapping(raw["deidentification"], "de-identification"),
                                 _mapping(raw["redaction"], "redaction"))
        method, recipients, addressed_for = _encryption(raw["encryption"], version)
        return cls(package_id, raw["created"], sender, method, recipients, details,
                   _files(raw["files"]), version, addressed_for)


def new_package_id() -> str:
    """A fresh random package id (UUID4)."""
    return str(uuid.uuid4())


def utc_now() -> str:
    """The current UTC time as the manifest writes it (``2025-01-31T12:00:00Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _bad(what)
    return value


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(what)
    return value


def _encryption(value: Any, version: int) -> tuple[str, tuple[RecipientRecord, ...], str]:
    """(method, recipients, for) from the manifest's ``encryption`` object."""
    addressed = version >= ADDRESSED_VERSION
    keys = {"method", "recipients", "for"} if addressed else {"method", "recipients"}
    if not isinstance(value, dict) or set(value) != keys:
        raise _bad("encryption")
    method, listed = value["method"], value["recipients"]
    if method not in ("x25519", "passphrase", "none") or not isinstance(listed, list):
        raise _bad("encryption")
    addressed_for = value.get("for", "")
    if (not isinstance(addressed_for, str) or len(addressed_for) > MAX_FOR_CHARS
            or not addressed_for.isprintable()):
        raise _bad("whom the package is for")
    recipients = [_recipient(item, addressed) for item in listed]
    if (method == "x25519") != bool(recipients):
        raise _bad("recipients")
    if len({r.age_recipient for r in recipients}) != len(recipients):
        raise _bad("a recipient listed twice")
    return method, tuple(recipients), addressed_for


def _recipient(item: Any, addressed: bool) -> RecipientRecord:
    """One entry of ``encryption.recipients``: version 2 adds the name and always has a
    fingerprint (a bare key's is :func:`key_fingerprint`)."""
    keys = {"age_recipient", "fingerprint", "name"} if addressed else {"age_recipient",
                                                                       "fingerprint"}
    if (not isinstance(item, dict) or set(item) != keys
            or not isinstance(item["age_recipient"], str)
            or not isinstance(item["fingerprint"], str | None)):
        raise _bad("recipients")
    try:
        age_recipient_key(item["age_recipient"])
    except CardError:
        raise _bad("a recipient's key") from None
    name = item.get("name", "")
    if addressed and (item["fingerprint"] is None or not isinstance(name, str)
                      or not _FINGERPRINT.fullmatch(item["fingerprint"])
                      or len(name) > 200 or not name.isprintable()):
        raise _bad("recipients")
    if addressed and not name and item["fingerprint"] != key_fingerprint(item["age_recipient"]):
        raise _bad("a bare key's fingerprint")
    return RecipientRecord(item["age_recipient"], item["fingerprint"], name)


def _files(value: Any) -> tuple[FileRecord, ...]:
    if not isinstance(value, list):
        raise _bad("file list")
    files, seen = [], set()
    for item in value:
        if (not isinstance(item, dict) or set(item) != {"path", "size", "sha256"}
                or not isinstance(item["path"], str) or type(item["size"]) is not int
                or item["size"] < 0 or not isinstance(item["sha256"], str)
                or not _SHA256.fullmatch(item["sha256"])):
            raise _bad("file list entry")
        check_member_name(item["path"])
        if item["path"] in seen:
            raise _bad("a file listed twice")
        seen.add(item["path"])
        files.append(FileRecord(item["path"], item["size"], item["sha256"]))
    return tuple(files)


def sign_manifest(manifest_bytes: bytes, identity: Identity) -> bytes:
    """The bytes of ``manifest.sig``: the signer's public key and the Ed25519 signature."""
    return strict_json.dumps({
        "format": SIGNATURE_FORMAT, "version": 1, "algorithm": "Ed25519",
        "signing_key": base64.b64encode(identity.signing_public_key).decode("ascii"),
        "signature": base64.b64encode(identity.sign(manifest_bytes)).decode("ascii"),
    })


def verify_signature(manifest_bytes: bytes, signature_bytes: bytes) -> bytes:
    """The 32-byte public key that signed ``manifest_bytes``; SignatureError if none did."""
    raw = strict_json.loads_object(signature_bytes, MAX_SIGNATURE_BYTES, "manifest signature",
                                   SignatureError)
    try:
        if (raw.get("format") != SIGNATURE_FORMAT or raw.get("version") != 1
                or raw.get("algorithm") != "Ed25519"):
            raise ValueError
        key = base64.b64decode(raw["signing_key"], validate=True)
        signature = base64.b64decode(raw["signature"], validate=True)
        Ed25519PublicKey.from_public_bytes(key).verify(signature, manifest_bytes)
    except (KeyError, TypeError, ValueError, InvalidSignature):
        raise SignatureError("The package's signature does not match its manifest: the "
                             "manifest was altered or swapped. Nothing was opened.") from None
    return key


def check_signed_by_sender(manifest: Manifest, signer_key: bytes) -> None:
    """SignatureError unless ``signer_key`` is the signing key on the manifest's sender card."""
    if signer_key != manifest.sender.signing_key:
        raise SignatureError("The package is signed by a key that is not the sender's card in "
                             "it: someone other than the named sender made or changed it. "
                             "Nothing was opened.")
