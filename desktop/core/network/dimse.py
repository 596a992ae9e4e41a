"""Associations with a DICOM node (PS3.8) and the DIMSE services Veil uses over them (PS3.7):
C-ECHO to test a node, C-FIND to query it at study and series level (PS3.4 C.6.2, the Study
Root information model).

Each failure is a :class:`desktop.core.network.nodes.NodeError` that says plainly what went
wrong: the host is unknown, the connection was refused, nothing answered in time, the TLS
certificate did not verify, the node rejected Veil's AE title or its own. A TCP (and TLS)
probe runs first, so a refusal or a certificate is named exactly rather than as "no association".
pynetdicom's own log stays at ERROR (its debug output dumps datasets: never in Veil's logs).
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pynetdicom import AE, build_context, transport
from pynetdicom.association import Association
from pynetdicom.presentation import PresentationContext
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from desktop.core.network.nodes import DEFAULT_CALLING_AE, DicomNode, NodeError

logging.getLogger("pynetdicom").setLevel(logging.ERROR)


def _shutdown_then_close(self: transport.AssociationSocket) -> None:
    """pynetdicom 3.0.4 skips close() when shutdown() fails (a peer that already closed its
    end: every rejected association and every node that hangs up), leaking a socket per
    failure; this closes it whatever shutdown() says."""
    sock = self.socket
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


transport.AssociationSocket._shutdown_socket = _shutdown_then_close  # type: ignore[method-assign]

#: Seconds to connect, and to wait for each answer (A-ASSOCIATE, each DIMSE response).
TIMEOUT_S = 15.0
#: Seconds the TLS probe waits for a node to refuse Veil's (missing) certificate.
PROBE_WAIT_S = 0.5


@dataclass(frozen=True)
class Calling:
    """Who Veil is on the network: its AE title, and the timeout of every step."""

    ae_title: str = DEFAULT_CALLING_AE
    timeout: float = TIMEOUT_S


#: Veil as it calls by default.
VEIL = Calling()


def tls_context(node: DicomNode) -> ssl.SSLContext | None:
    """The client TLS context for ``node`` (PS3.15 B.1: TLS 1.2 or later, the node's
    certificate verified against its CA), or None for plain TCP."""
    if node.tls is None:
        return None
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=node.tls.ca)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if node.tls.certificate:
            context.load_cert_chain(node.tls.certificate, node.tls.key)
    except (OSError, ssl.SSLError) as exc:
        raise NodeError(f"The TLS files of {node.name} cannot be used: {_reason(exc)}.") from None
    return context


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return str(text)


def probe(node: DicomNode, timeout: float = TIMEOUT_S) -> None:
    """Connect to ``node`` (and shake hands over TLS), then close: a NodeError names what failed."""
    where = f"{node.name} ({node.host}:{node.port})"
    try:
        sock = socket.create_connection((node.host, node.port), timeout=timeout)
    except socket.gaierror:
        raise NodeError(f"{where}: the host name {node.host} is unknown.") from None
    except ConnectionRefusedError:
        raise NodeError(f"{where} refused the connection: nothing listens on port {node.port} there.") from None
    except TimeoutError:
        raise NodeError(f"{where} did not answer within {timeout:.0f} s (a firewall, or the wrong host).") from None
    except OSError as exc:
        raise NodeError(f"{where} cannot be reached: {_reason(exc)}.") from None
    try:
        context = tls_context(node)
        if context is not None:
            try:
                with context.wrap_socket(sock, server_hostname=node.host) as secure:
                    _await_refusal(secure, node, where)
            except ssl.SSLCertVerificationError as exc:
                raise NodeError(f"{where}: its TLS certificate does not verify ({exc.verify_message}).") from None
            except (ssl.SSLError, OSError) as exc:
                raise NodeError(f"{where}: the TLS handshake failed ({_reason(exc)}).") from None
    finally:
        sock.close()


def _await_refusal(secure: ssl.SSLSocket, node: DicomNode, where: str) -> None:
    """Under TLS 1.3 a node that wants Veil's certificate says so only after the handshake:
    wait a moment for that alert (a node that waits for the association request is fine)."""
    secure.settimeout(PROBE_WAIT_S)
    try:
        data = secure.recv(1)
    except TimeoutError:
        return
    except ssl.SSLError as exc:
        wants = "CERTIFICATE_REQUIRED" in str(exc).upper()
        raise NodeError(f"{where} refused the TLS connection"
                        + (": it wants Veil's client certificate and key" if wants or not node.tls or not
                           node.tls.certificate else f" ({_reason(exc)})") + ".") from None
    except OSError:
        data = b""
    if not data:
        raise NodeError(f"{where} closed the TLS connection at once"
                        + (": it may want Veil's client certificate and key" if node.tls and not node.tls.certificate
                           else "") + ".")


class _Rejection(logging.Handler):
    """Keeps pynetdicom's reason for a rejected association, from the association's thread."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.reasons: dict[int | None, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Reason: "):
            self.reasons[record.thread] = message[len("Reason: "):]


@contextmanager
def associated(node: DicomNode, contexts: list[str], calling: Calling = VEIL) -> Iterator[Association]:
    """An association with ``node`` proposing ``contexts`` (SOP Class UIDs), released after."""
    with associated_with(node, [build_context(uid) for uid in contexts], calling) as assoc:
        yield assoc


@contextmanager
def associated_with(node: DicomNode, contexts: list[PresentationContext], calling: Calling = VEIL,
                    roles: list[Any] | None = None, handlers: list[Any] | None = None) -> Iterator[Association]:
    """An association with ``node`` proposing ``contexts`` (with their transfer syntaxes),
    SCP/SCU ``roles`` (PS3.7 D.3.3.4) and event ``handlers``; released after."""
    probe(node, calling.timeout)
    ae = AE(ae_title=calling.ae_title)
    for attribute in ("acse_timeout", "dimse_timeout", "network_timeout", "connection_timeout"):
        setattr(ae, attribute, calling.timeout)
    ae.requested_contexts = contexts
    context = tls_context(node)
    rejection = _Rejection()
    logger = logging.getLogger("pynetdicom")
    logger.addHandler(rejection)
    started = time.monotonic()
    try:
        assoc = ae.associate(node.host, node.port, ae_title=node.ae_title, ext_neg=roles or None,
                             evt_handlers=handlers or None,
                             tls_args=(context, node.host) if context is not None else None)
    finally:
        logger.removeHandler(rejection)
    if not assoc.is_established:
        where = f"{node.name} ({node.describe()})"
        reason = rejection.reasons.get(assoc.ident) or next(iter(rejection.reasons.values()), "")
        if assoc.is_rejected or reason:  # the peer may close its socket before pynetdicom marks the rejection
            reason = reason or "no reason given"
            hint = {"Called AE title not recognised": f": it is not called {node.ae_title}; check the node's AE "
                                                      "title",
                    "Calling AE title not recognised": f": it does not know Veil's AE title {calling.ae_title}; "
                                                       "add Veil to the node's list of modalities"}.get(reason, "")
            raise NodeError(f"{where} rejected the association ({reason}){hint}.")
        if time.monotonic() - started < calling.timeout * 0.9:
            tls_hint = "" if node.tls else ", and whether it expects TLS (then give its CA certificate)"
            raise NodeError(f"{where} closed the connection without accepting the association: check that it is "
                            f"called {node.ae_title} and that it knows Veil's AE title {calling.ae_title}"
                            f"{tls_hint}.")
        raise NodeError(f"{where} did not accept an association within {calling.timeout:.0f} s.")
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()
        else:
            assoc.abort()


def echo(node: DicomNode, calling: Calling = VEIL) -> None:
    """C-ECHO ``node`` (PS3.7 9.1.5): returns when it answered Success, else a NodeError."""
    with associated(node, [Verification], calling) as assoc:
        status = assoc.send_c_echo()
        if not status or status.get("Status") != 0x0000:
            raise NodeError(f"{node.name} answered the echo with a failure "
                            f"({_status_text(status.get('Status') if status else None)}).")


def _status_text(value: object) -> str:
    return "no answer" if value is None else f"status 0x{int(value):04X}"  # type: ignore[call-overload]

