"""Veil's storage SCP (PS3.4 Annex B): a server that accepts C-STORE (and C-ECHO) on a port,
in every storage SOP class pynetdicom knows and every transfer syntax pydicom reads, keeping
each object as it was sent. Only the calling AE titles it is given may associate (an empty
list: any). Each association's objects go to a :class:`Receiver` made for it, which hears
when the association ends (released: whole; aborted or cut: not).

Stopping closes the port, cuts the connections still open (their senders see the provider abort,
PS3.8 9.2.2 and AA-4, and know those objects were not kept: their receivers hear "not whole"),
and waits for the receivers
still handling an ended association (an import of what was released whole), so that quitting
never cuts off an import the sender was already told had succeeded: pynetdicom's association
threads are daemons, which the interpreter kills at exit.

Over TLS (PS3.15 B.1, the TLS Secure Transport Connection Profile) the server presents Veil's
certificate, TLS 1.2 or later, and with a CA asks each sender for a client certificate that CA
signed (mutual TLS); a sender without one is refused in the handshake, before any association.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pynetdicom import AE, StoragePresentationContexts, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from desktop.core.network.nodes import NodeError, check_ae_title
from desktop.core.network.retrieve import ACCEPTED_SYNTAXES
from desktop.core.network.server_tls import handshake_in_connection_thread

#: The status a C-STORE gets when Veil cannot keep the object (PS3.4 B.2.3: out of resources).
REFUSED = 0xA700


class Receiver(Protocol):
    """Takes one association's objects."""

    def keep(self, name: str, data: bytes) -> None: ...
    def ended(self, whole: bool) -> None: ...


@dataclass(frozen=True)
class Peer:
    """Who associated: their AE title and address."""

    ae_title: str
    address: str


class StorageServer:
    """A storage SCP on ``host``:``port`` as ``ae_title`` (see the module); ``receiver_for``
    makes the receiver of each association that is accepted; ``tls`` (a server context, see
    :func:`desktop.core.network.server_tls.server_tls_context`) makes it TLS only."""

    def __init__(self, ae_title: str, port: int, receiver_for: Callable[[Peer], Receiver],
                 allowed: Sequence[str] = (), host: str = "0.0.0.0", timeout: float = 30.0,  # noqa: S104
                 tls: ssl.SSLContext | None = None) -> None:
        self.ae_title = check_ae_title(ae_title, "Veil's AE title")
        if not 1 <= port <= 65535:
            raise NodeError("The storage port is a number from 1 to 65535.")
        self.port, self.host = port, host
        self.receiver_for = receiver_for
        self.allowed = [check_ae_title(a) for a in allowed]
        self.timeout = timeout
        self.tls = tls
        self._receivers: dict[int, Receiver] = {}
        self._lock = threading.Lock()
        self._ending = 0  # receivers in ended() now
        self._settled = threading.Condition(self._lock)
        self._server: Any = None

    def start(self) -> None:
        ae = AE(ae_title=self.ae_title)
        for attribute in ("acse_timeout", "dimse_timeout", "network_timeout"):
            setattr(ae, attribute, self.timeout)
        ae.require_called_aet = True
        if self.allowed:
            ae.require_calling_aet = self.allowed
        ae.add_supported_context(Verification)
        for context in StoragePresentationContexts:
            if context.abstract_syntax is not None:
                ae.add_supported_context(context.abstract_syntax, ACCEPTED_SYNTAXES)
        handlers: list[Any] = [(evt.EVT_C_STORE, self._store), (evt.EVT_RELEASED, self._released),
                    (evt.EVT_ABORTED, self._cut), (evt.EVT_CONN_CLOSE, self._cut)]
        try:
            tls = handshake_in_connection_thread(self.tls, self.timeout) if self.tls is not None else None
            self._server = ae.start_server((self.host, self.port), block=False, evt_handlers=handlers,
                                           ssl_context=tls)
        except OSError as exc:
            raise NodeError(f"Veil cannot listen on port {self.port}: {exc.strerror or exc} (another program, or "
                            "another Veil, may be listening there).") from None

    def stop(self, timeout: float | None = None) -> bool:
        """Close the port, abort the open associations and wait (up to ``timeout`` seconds; None:
        as long as it takes) for every receiver still handling an ended one; whether they all
        finished."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            for assoc in list(server.active_associations):
                asked = self._asked(assoc)
                _hang_up(assoc)
                if asked:  # before its A-ASSOCIATE-RQ nothing is kept, and its thread ends at its ACSE timeout
                    assoc.join(self.timeout)
        with self._settled:
            return self._settled.wait_for(lambda: self._ending == 0, timeout)

    def _asked(self, assoc: Any) -> bool:
        """Whether ``assoc`` got past its A-ASSOCIATE-RQ, so stopping waits for its thread: not in
        Sta2 (connected, nothing asked), nor in Sta1 with nothing kept, which is an association
        over, or one not yet begun: over TLS the reactor's first read (the handshake) can come
        before it handles the connection (Evt5), and only ends at the ACSE timeout."""
        state = assoc.dul.state_machine.current_state
        with self._lock:
            kept = id(assoc) in self._receivers
        return state != "Sta2" and (state != "Sta1" or kept)

    def _receiver(self, event: evt.Event) -> Receiver:
        key = id(event.assoc)
        with self._lock:
            receiver = self._receivers.get(key)
            if receiver is None:
                requestor = event.assoc.requestor
                receiver = self.receiver_for(Peer(str(requestor.ae_title).strip(), str(requestor.address)))
                self._receivers[key] = receiver
        return receiver

    def _store(self, event: evt.Event) -> int:
        try:
            data = event.encoded_dataset(include_meta=True)
            name = str(getattr(event.request, "AffectedSOPInstanceUID", "") or "object")
            self._receiver(event).keep(name, data)
        except Exception:  # noqa: BLE001 - the sender is told, and Veil goes on with the next object
            return REFUSED
        return 0x0000

    def _end(self, event: evt.Event, whole: bool) -> None:
        with self._lock:
            receiver = self._receivers.pop(id(event.assoc), None)
            if receiver is None:
                return
            self._ending += 1
        try:
            receiver.ended(whole)
        finally:
            with self._settled:
                self._ending -= 1
                self._settled.notify_all()

    def _released(self, event: evt.Event) -> None:
        self._end(event, True)

    def _cut(self, event: evt.Event) -> None:
        self._end(event, False)


def _hang_up(assoc: Any) -> None:
    """Close one association's connection under it. Not an A-ABORT request: PS3.8 Table 9-10
    allows that in no state before the A-ASSOCIATE-RQ has arrived (Sta2) or after the release
    (Sta13), and a connection can reach either while Veil stops (a port check, a sender
    releasing); a closed connection is a valid event in every state (Evt17), which both the
    sender and this side's association handle as a provider abort (AA-4) or an ended one.
    Over TLS the connection is an ``ssl.SSLSocket``: the TCP connection under it is shut (the
    plain socket's shutdown), keeping the TLS layer, so the bytes still buffered are read as TLS
    records (``SSLSocket.shutdown`` would unwrap first and have them read as plain PDUs)."""
    connection = getattr(getattr(assoc.dul, "socket", None), "socket", None)
    if connection is None:
        return
    try:
        socket.socket.shutdown(connection, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: the association ends of itself
