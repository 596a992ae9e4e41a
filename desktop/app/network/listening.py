"""Veil's storage SCP in the library (``veil listen``, and the app's listener): C-STORE into the
encrypted library through the same import path as files (duplicates recognised, bad objects
rejected with a reason), one import per association once it is released whole; an association
cut short keeps nothing of it. Only the configured nodes may send, unless the user allows any.
Each association is audited with the sender's AE title. C-MOVE retrieves use the same server
for the duration of the move, its objects kept for the retrieve (:mod:`.retrieving`).

Both receive over TLS when the user gives Veil's certificate and key (PS3.15 B.1), and then ask
senders for a client certificate when a CA is given too: a PACS knows Veil's one port, so the
listener and a C-MOVE's server use the same settings. The files are checked when saved.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from desktop.app.common.tasks import CancelToken
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import ImportReport
from desktop.app.network.nodes import calling, list_nodes
from desktop.app.share.package_import import StagedMembers, import_members
from desktop.core.library.settings import get_setting, set_settings
from desktop.core.network.nodes import DicomNode, NodeError
from desktop.core.network.scp import Peer, Receiver, StorageServer
from desktop.core.network.server_tls import ServerTls, server_tls_context

PORT_SETTING = "network.scp_port"
ANY_SETTING = "network.scp_allow_any"
TLS_CERTIFICATE_SETTING = "network.scp_tls_certificate"
TLS_KEY_SETTING = "network.scp_tls_key"
TLS_CA_SETTING = "network.scp_tls_ca"
#: The storage SCP's port unless the user sets another (PS3.15's registered DICOM port is 104,
#: which needs root; 11112 is the usual unprivileged one).
DEFAULT_PORT = 11112


@dataclass(frozen=True)
class ListenSettings:
    """How Veil's storage SCP listens: its AE title and port, whether any sender may send, and
    its TLS files (None: plain TCP)."""

    ae_title: str
    port: int
    allow_any: bool
    tls: ServerTls | None = None

    def describe(self) -> str:
        """How a sender connects, in words: over TLS (and with which CA's client certificates)
        or plain TCP."""
        if self.tls is None:
            return "plain TCP, not encrypted"
        return "over TLS" + (f", client certificates from {self.tls.ca} required" if self.tls.mutual else "")


def listen_settings(home: VeilHome) -> ListenSettings:
    conn = home.connect()
    try:
        port, any_sender = get_setting(conn, PORT_SETTING), get_setting(conn, ANY_SETTING)
        certificate, key, ca = (get_setting(conn, name) or "" for name in
                                (TLS_CERTIFICATE_SETTING, TLS_KEY_SETTING, TLS_CA_SETTING))
    finally:
        conn.close()
    tls = ServerTls(certificate, key, ca) if certificate and key else None
    return ListenSettings(calling(home).ae_title, int(port) if port else DEFAULT_PORT, any_sender == "1", tls)


def set_listen_settings(home: VeilHome, port: int, allow_any: bool) -> None:
    if not 1 <= port <= 65535:
        raise NodeError("The storage port is a number from 1 to 65535.")
    conn = home.connect()
    try:
        set_settings(conn, {PORT_SETTING: str(port), ANY_SETTING: "1" if allow_any else "0"})
    finally:
        conn.close()


def set_listen_tls(home: VeilHome, tls: ServerTls | None) -> None:
    """Receive over TLS with ``tls`` (None: plain TCP again), once its files are checked: each
    readable, the certificate and CA PEM certificates, the key Veil's certificate's (PS3.15
    B.1); a NodeError names the file that is not."""
    if tls is not None:  # kept absolute: Veil later runs from another folder (the menu, veil listen)
        tls = ServerTls(*(os.path.abspath(os.path.expanduser(f)) if f else "" for f in (tls.certificate, tls.key,
                                                                                         tls.ca)))
        server_tls_context(tls)
    conn = home.connect()
    try:
        set_settings(conn, {TLS_CERTIFICATE_SETTING: tls.certificate if tls else "",
                            TLS_KEY_SETTING: tls.key if tls else "", TLS_CA_SETTING: tls.ca if tls else ""})
    finally:
        conn.close()


def _tls_context(settings: ListenSettings) -> ssl.SSLContext | None:
    return server_tls_context(settings.tls) if settings.tls is not None else None


class LibraryReceiver:
    """One association's objects, imported into the library when it is released whole."""

    def __init__(self, home: VeilHome, peer: Peer, done: Callable[[Peer, ImportReport | None], None]) -> None:
        self.home, self.peer, self.done = home, peer, done
        self.members = StagedMembers(home, f"{peer.ae_title} (C-STORE)")

    def keep(self, name: str, data: bytes) -> None:
        self.members.keep(name, data)

    def ended(self, whole: bool) -> None:
        received = len(self.members.results)
        if not whole or not received:
            self.members.discard()
            _audit(self.home, self.peer, "cut" if not whole else "empty", received, 0)
            self.done(self.peer, None)
            return
        try:
            report, _sent = import_members(self.home, self.members, CancelToken(), source="network")
        except BaseException:
            self.members.discard()
            _audit(self.home, self.peer, "failed", received, 0)
            raise
        _audit(self.home, self.peer, "completed", received, report.imported)
        self.done(self.peer, report)


def _audit(home: VeilHome, peer: Peer, outcome: str, received: int, imported: int) -> None:
    conn = home.connect()
    try:
        home.record(conn, "network.received", sender=peer.ae_title, address=peer.address, outcome=outcome,
                    received=received, imported=imported)
    finally:
        conn.close()


def allowed_senders(home: VeilHome, settings: ListenSettings) -> list[str]:
    """The AE titles that may send: every configured node's, or any (an empty list)."""
    return [] if settings.allow_any else sorted({n.ae_title for n in list_nodes(home) if isinstance(n, DicomNode)})


@contextmanager
def listening(home: VeilHome, done: Callable[[Peer, ImportReport | None], None] = lambda _p, _r: None,
              host: str = "0.0.0.0") -> Iterator[StorageServer]:  # noqa: S104 - a PACS connects from elsewhere
    """Veil's storage SCP, importing into ``home``, while the block runs."""
    settings = listen_settings(home)
    senders = allowed_senders(home, settings)
    if not settings.allow_any and not senders:
        raise NodeError("No node may send to Veil yet: add the PACS with 'veil nodes add', or allow any sender.")
    server = StorageServer(settings.ae_title, settings.port, lambda peer: LibraryReceiver(home, peer, done),
                           senders, host, tls=_tls_context(settings))
    server.start()
    try:
        yield server
    finally:
        server.stop()


class _Collector:
    """A C-MOVE's objects, into the retrieve's staging (the retrieve imports them at its end)."""

    def __init__(self, members: StagedMembers) -> None:
        self.members = members

    def keep(self, name: str, data: bytes) -> None:
        self.members.keep(name, data)

    def ended(self, whole: bool) -> None:
        pass


@contextmanager
def receiving_for(home: VeilHome, members: StagedMembers, sender: str,
                  host: str = "0.0.0.0") -> Iterator[ListenSettings]:  # noqa: S104
    """The storage SCP for one C-MOVE from ``sender`` (its AE title), keeping into ``members``."""
    settings = listen_settings(home)
    collector: Receiver = _Collector(members)
    server = StorageServer(settings.ae_title, settings.port, lambda _peer: collector, [sender], host,
                           tls=_tls_context(settings))
    server.start()
    try:
        yield settings
    finally:
        server.stop()
