"""TLS for Veil's storage SCP, the receiving side of PS3.15 B.1 (the TLS Secure Transport
Connection Profile): Veil's certificate and key, TLS 1.2 or later, and optionally the CA that
must have signed each sender's client certificate (mutual TLS: a sender without one is refused).

Each file is checked on its own, so a bad one is named: a file that cannot be read, one that
holds no PEM certificate, a key that is not an unencrypted PEM key or does not belong to the
certificate. The messages name the file and say nothing else (no patient data passes here).
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from typing import cast

from desktop.core.network.nodes import NodeError

#: What each file is called in a message.
CERTIFICATE = "Veil's TLS certificate"
KEY = "Veil's TLS key"
CA = "The CA certificate for senders"


@dataclass(frozen=True)
class ServerTls:
    """PEM files of Veil's TLS server: its certificate and key (both required), and the CA that
    signed the senders' client certificates ("": any sender, no client certificate asked)."""

    certificate: str
    key: str
    ca: str = ""

    def __post_init__(self) -> None:
        if not self.certificate or not self.key:
            raise NodeError("Receiving over TLS needs both Veil's certificate and its key.")

    @property
    def mutual(self) -> bool:
        """Whether senders must present a client certificate signed by :attr:`ca`."""
        return bool(self.ca)


def server_tls_context(tls: ServerTls) -> ssl.SSLContext:
    """The server context of ``tls`` (PS3.15 B.1: TLS 1.2 or later; with a CA, ``CERT_REQUIRED``),
    or a NodeError that names the file that cannot be used."""
    for what, path in ((CERTIFICATE, tls.certificate), (KEY, tls.key), (CA, tls.ca)):
        if path:
            _check_readable(what, path)
    _check_holds_certificate(CERTIFICATE, tls.certificate)
    if tls.ca:
        _check_holds_certificate(CA, tls.ca)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        # A password callback, so an encrypted key fails here instead of prompting on a terminal.
        context.load_cert_chain(tls.certificate, tls.key, password=lambda: b"")
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise NodeError(f"{KEY} ({tls.key}) does not belong to {CERTIFICATE} ({tls.certificate}).") from None
        raise NodeError(f"{KEY} ({tls.key}) is not an unencrypted PEM private key.") from None
    if tls.ca:
        context.load_verify_locations(cafile=tls.ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def _check_readable(what: str, path: str) -> None:
    try:
        with open(path, "rb") as file:
            file.read(1)
    except OSError as exc:
        raise NodeError(f"{what} ({path}) cannot be read: {exc.strerror or type(exc).__name__}.") from None


def _check_holds_certificate(what: str, path: str) -> None:
    try:  # from the file, as ssl reads it (text beside the PEM blocks, e.g. OpenSSL's Bag Attributes, is skipped)
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except (ssl.SSLError, ValueError, OSError):
        raise NodeError(f"{what} ({path}) holds no PEM certificate.") from None


class _HandshakeInItsThread:
    """pynetdicom's server wraps each accepted connection in its one acceptor thread, and ssl
    shakes hands there at once: a connection that never does (a port check, a plain-TCP sender
    waiting for an answer) would hold up every other sender and Veil's stop. The handshake is
    left to the connection's own association thread instead, where OpenSSL performs it on the
    first read (and where stopping hangs the connection up like any other). That read waits at
    most ``timeout`` seconds for each piece, so a sender stalled mid-handshake does not hold its
    thread for ever (the same bound as the server's network timeout for an idle association)."""

    def __init__(self, context: ssl.SSLContext, timeout: float) -> None:
        self._context, self._timeout = context, timeout

    def wrap_socket(self, sock: socket.socket, server_side: bool = False) -> ssl.SSLSocket:
        wrapped = self._context.wrap_socket(sock, server_side=server_side, do_handshake_on_connect=False)
        wrapped.settimeout(self._timeout)
        return wrapped


def handshake_in_connection_thread(context: ssl.SSLContext, timeout: float) -> ssl.SSLContext:
    """``context`` for pynetdicom's ``AE.start_server(ssl_context=...)``, which only calls its
    ``wrap_socket(sock, server_side=True)``, with the handshake moved out of the acceptor thread
    (each read on the connection waiting at most ``timeout`` seconds)."""
    return cast(ssl.SSLContext, _HandshakeInItsThread(context, timeout))
