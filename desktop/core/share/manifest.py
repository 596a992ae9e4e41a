"""``manifest.json`` (what a package holds and why) and ``manifest.sig`` (who vouches for it).

The manifest's bytes are deterministic JSON (:mod:`strict_json`); the signature is Ed25519
over exactly those bytes, so a reader verifies the bytes it received before parsing them.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from desktop.core.share import strict_json
from desktop.core.share.errors import CardError, ManifestError, SignatureError
from desktop.core.share.identity import Identity, KeyCard
from desktop.core.share.member_names import check_member_name

FORMAT = "veil-package-manifest"
FORMAT_VERSION = 1
SIGNATURE_FORMAT = "veil-manifest-signature"
MAX_MANIFEST_BYTES = 64 << 20
MAX_SIGNATURE_BYTES = 4096
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CREATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
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


@dataclass(frozen=True)
class RecipientRecord:
    """Who the package was encrypted to: an age recipient, and its card's fingerprint if
    it came from a card (None for a bare ``age1...`` key)."""

    age_recipient: str
    fingerprint: str | None


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

    @property
    def total_size(self) -> int:
        """Bytes of all listed files."""
        return sum(f.size for f in self.files)

    def to_bytes(self) -> bytes:
        """The exact bytes of ``manifest.json``."""
        return strict_json.dumps({
            "format": FORMAT, "format_version": self.format_version,
            "package_id": self.package_id, "created": self.created,
            "sender": self.sender.to_dict(),
            "encryption": {"method": self.encryption,
                           "recipients": [{"age_recipient": r.age_recipient,
                                           "fingerprint": r.fingerprint}
                                          for r in self.recipients]},
            "purpose": self.details.purpose,
            "consent_basis": dict(self.details.consent_basis),
            "deidentification": dict(self.details.deidentification),
            "redaction": dict(self.details.redaction),
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
        })

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
        if version != FORMAT_VERSION or set(raw) != _KEYS:
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
        method, recipients = _encryption(raw["encryption"])
        return cls(package_id, raw["created"], sender, method, recipients, details,
                   _files(raw["files"]), version)


def new_package_id() -> str:
    """A fresh random package id (UUID4)."""
    return str(uuid.uuid4())


def utc_now() -> str:
    """The current UTC time as the manifest writes it (``2025-01-31T12:00:00Z``)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _bad(what)
    return value


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(what)
    return value


def _encryption(value: Any) -> tuple[str, tuple[RecipientRecord, ...]]:
    if not isinstance(value, dict) or set(value) != {"method", "recipients"}:
        raise _bad("encryption")
    method, listed = value["method"], value["recipients"]
    if method not in ("x25519", "passphrase", "none") or not isinstance(listed, list):
        raise _bad("encryption")
    recipients = []
    for item in listed:
        if (not isinstance(item, dict) or set(item) != {"age_recipient", "fingerprint"}
                or not isinstance(item["age_recipient"], str)
                or not isinstance(item["fingerprint"], str | None)):
            raise _bad("recipients")
        recipients.append(RecipientRecord(item["age_recipient"], item["fingerprint"]))
    if (method == "x25519") != bool(recipients):
        raise _bad("recipients")
    return method, tuple(recipients)


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
