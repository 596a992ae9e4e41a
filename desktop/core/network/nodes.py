"""A DICOM node (PS3.8 7.1: an Application Entity reached at a host and port, optionally over
TLS, PS3.15 B.1) or a DICOMweb server (PS3.18: a base URL for QIDO-RS, WADO-RS and STOW-RS),
as the user configures it: validated, and kept as JSON without secrets (a TLS key's file is
named, never copied; passwords and tokens live in the keyring or the library's sealed store).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from desktop.core.common.errors import VeilError

#: PS3.5 6.2: an AE title is at most 16 characters of the default repertoire, no backslash,
#: no control character; leading and trailing spaces are not significant.
MAX_AE = 16
_AE_TEXT = re.compile(r"[\x20-\x5b\x5d-\x7e]+")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}")
#: Veil's own AE title unless the user sets another.
DEFAULT_CALLING_AE = "VEIL"


class NodeError(VeilError):
    """A node that cannot be kept, or reached: the message says what and why."""


def check_ae_title(value: str, what: str = "The AE title") -> str:
    """``value`` as an AE title (trimmed), or a NodeError saying what is wrong with it."""
    title = value.strip()
    if not title:
        raise NodeError(f"{what} is empty.")
    if len(title) > MAX_AE:
        raise NodeError(f"{what} has {len(title)} characters; DICOM allows at most {MAX_AE}.")
    if not _AE_TEXT.fullmatch(title):
        raise NodeError(f"{what} may hold only plain characters (letters, digits, spaces, no backslash).")
    return title


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of a TLS connection: the CA that signed the node's certificate, and Veil's own
    certificate and key when the node asks for one (mutual TLS)."""

    ca: str
    certificate: str = ""
    key: str = ""

    def __post_init__(self) -> None:
        if not self.ca:
            raise NodeError("TLS needs the CA certificate that signed the node's certificate.")
        if bool(self.certificate) != bool(self.key):
            raise NodeError("Give both Veil's client certificate and its key, or neither.")


@dataclass(frozen=True)
class DicomNode:
    """A DIMSE peer: its name in Veil, AE title, host, port and TLS files (None: plain TCP)."""

    name: str
    ae_title: str
    host: str
    port: int
    tls: TlsFiles | None = None

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise NodeError("A node's name is 1 to 40 letters, digits, spaces, dots, dashes or underscores.")
        object.__setattr__(self, "ae_title", check_ae_title(self.ae_title))
        host = self.host.strip()
        if not host or any(c.isspace() for c in host) or len(host) > 253:
            raise NodeError("Give the node's host name or IP address.")
        object.__setattr__(self, "host", host)
        if not isinstance(self.port, int) or not 1 <= self.port <= 65535:
            raise NodeError("A port is a number from 1 to 65535.")

    def describe(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}{' (TLS)' if self.tls else ''}"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> DicomNode:
        try:
            data: dict[str, Any] = json.loads(text)
            tls = TlsFiles(**data["tls"]) if data.get("tls") else None
            return cls(str(data["name"]), str(data["ae_title"]), str(data["host"]), int(data["port"]), tls)
        except (KeyError, TypeError, ValueError) as exc:
            raise NodeError(f"A stored node cannot be read ({type(exc).__name__}).") from None


#: How a DICOMweb server is signed in to (PS3.18 does not define it: HTTP, RFC 7617 and 6750).
WEB_AUTH = ("none", "basic", "bearer")


@dataclass(frozen=True)
class WebNode:
    """A DICOMweb server: its name in Veil, its base URL (the root under which ``/studies``
    answers) and how Veil signs in. The password or token is never here."""

    name: str
    url: str
    auth: str = "none"
    username: str = ""
    ca: str = ""  # a CA bundle (PEM) for an https server signed by the hospital's own CA

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise NodeError("A node's name is 1 to 40 letters, digits, spaces, dots, dashes or underscores.")
        url = self.url.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise NodeError("Give the DICOMweb server's address as http://HOST[:PORT]/PATH or https://...")
        if parts.username or parts.password:
            raise NodeError("Do not put a user name or password in the address; choose basic sign-in instead.")
        if parts.query or parts.fragment or any(c.isspace() for c in url):
            raise NodeError("The DICOMweb address has no query (?...) or fragment (#...).")
        object.__setattr__(self, "url", url)
        if self.auth not in WEB_AUTH:
            raise NodeError(f"Sign-in is one of: {', '.join(WEB_AUTH)}.")
        if self.auth == "basic" and not self.username.strip():
            raise NodeError("Basic sign-in needs a user name.")
        if self.auth != "basic" and self.username:
            object.__setattr__(self, "username", "")

    @property
    def needs_secret(self) -> bool:
        return self.auth != "none"

    def describe(self) -> str:
        signed = {"none": "", "basic": f" (basic: {self.username})", "bearer": " (bearer token)"}[self.auth]
        return f"DICOMweb {self.url}{signed}"

    def to_json(self) -> str:
        return json.dumps({"kind": "dicomweb", **asdict(self)})


#: Every kind of node the user configures.
Node = DicomNode | WebNode


def node_from_json(text: str) -> Node:
    """A stored node of either kind."""
    try:
        data: dict[str, Any] = json.loads(text)
        if data.get("kind") == "dicomweb":
            return WebNode(str(data["name"]), str(data["url"]), str(data.get("auth", "none")),
                           str(data.get("username", "")), str(data.get("ca", "")))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise NodeError(f"A stored node cannot be read ({type(exc).__name__}).") from None
    return DicomNode.from_json(text)
