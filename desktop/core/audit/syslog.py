"""Syslog messages (RFC 5424) over TCP or TLS, framed by octet counting, as IHE ATNA sends
audit records to an Audit Record Repository (IHE ITI TF-1 ATNA; DICOM PS3.15 Annex A.5).

A message is ``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG``
(RFC 5424 section 6): PRI is facility authpriv (10) times 8 plus the severity, MSGID is
``IHE+RFC-3881`` (what ATNA and DICOM prescribe for audit messages), STRUCTURED-DATA is
RFC 5424's own ``[meta sequenceId="N"]`` (section 7.3.1) carrying the audit line's sequence
number, and MSG is a UTF-8 byte order mark followed by the XML (section 6.4).

On the wire each message is ``MSG-LEN SP SYSLOG-MSG`` (octet counting: RFC 6587 section 3.4.1,
RFC 5425 section 4.3), over plain TCP or TLS 1.2+ (RFC 5425) with the collector's certificate
verified against a CA file (a client certificate is optional). Every connect, send and close
is bounded by a timeout, so a dead collector costs seconds, never a hang (resolving the host's
name is the one step the operating system bounds itself).
"""

from __future__ import annotations

import re
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from desktop.core.common.errors import AuditError

FACILITY_AUTHPRIV = 10  # "security/authorization messages" (RFC 5424 table 1)
SEVERITY_WARNING = 4
SEVERITY_NOTICE = 5
APP_NAME = "veil"
MSGID = "IHE+RFC-3881"
BOM = b"\xef\xbb\xbf"
TIMEOUT = 2.0
TRANSPORTS = ("tcp", "tls")
_PRINTUSASCII = re.compile(r"[^\x21-\x7e]")


class CollectorError(AuditError):
    """The syslog collector cannot be reached, refused the connection, or did not take a message."""


@dataclass(frozen=True)
class Destination:
    """Where audit messages go: ``host``:``port`` over ``transport`` (``tcp`` or ``tls``); for TLS
    the CA file that signed the collector's certificate, and optionally a client certificate
    and its key (PEM files)."""

    host: str
    port: int
    transport: str = "tcp"
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def __post_init__(self) -> None:
        if not self.host or any(c.isspace() for c in self.host):
            raise AuditError("Give the collector as HOST:PORT, for example audit.example.org:6514.")
        if not 0 < int(self.port) < 65536:
            raise AuditError(f"Port {self.port} is not a TCP port (1 to 65535).")
        if self.transport not in TRANSPORTS:
            raise AuditError(f"Transport {self.transport!r} is not one of tcp, tls.")
        if self.transport == "tls" and self.ca_file is None:
            raise AuditError("TLS needs the CA file that signed the collector's certificate (--ca FILE).")
        if (self.cert_file is None) != (self.key_file is None):
            raise AuditError("A client certificate needs its key file too (and the other way round).")

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport}://{host}:{self.port}"


def header_field(text: str, limit: int) -> str:
    """A header field (HOSTNAME, APP-NAME, PROCID, MSGID): printable US-ASCII only, at most
    ``limit`` characters, the NILVALUE ``-`` when empty (RFC 5424 section 6.2)."""
    value = _PRINTUSASCII.sub("_", text)[:limit]
    return value or "-"


def timestamp(when: datetime) -> str:
    """RFC 5424 TIMESTAMP (section 6.2.3): RFC 3339 in UTC, milliseconds, ``Z``."""
    if when.utcoffset() is None:
        raise ValueError("the time must be timezone-aware")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def sd_value(text: str) -> str:
    """An SD-PARAM value with ``"``, ``\\`` and ``]`` escaped (RFC 5424 section 6.3.3)."""
    return re.sub(r'(["\\\]])', r"\\\1", text)


def syslog_message(body: bytes, *, when: datetime, hostname: str, sequence: int | None = None,
                   severity: int = SEVERITY_NOTICE, procid: str = "-", app_name: str = APP_NAME,
                   msgid: str = MSGID, facility: int = FACILITY_AUTHPRIV) -> bytes:
    """One RFC 5424 message whose MSG is ``body`` (UTF-8) after a BOM. ``sequence`` goes into
    ``[meta sequenceId="N"]`` (RFC 5424 section 7.3.1: 1 to 2147483647)."""
    if not 0 <= severity <= 7 or not 0 <= facility <= 23:
        raise ValueError("facility 0..23 and severity 0..7 (RFC 5424 section 6.2.1)")
    if sequence is not None and not 0 < sequence < 2**31:
        raise ValueError("sequenceId is 1..2147483647 (RFC 5424 section 7.3.1)")
    sd = "-" if sequence is None else f'[meta sequenceId="{sd_value(str(sequence))}"]'
    head = (f"<{facility * 8 + severity}>1 {timestamp(when)} {header_field(hostname, 255)} "
            f"{header_field(app_name, 48)} {header_field(procid, 128)} {header_field(msgid, 32)} {sd} ")
    return head.encode("ascii") + BOM + body


def octet_frame(message: bytes) -> bytes:
    """``MSG-LEN SP SYSLOG-MSG`` (RFC 6587 section 3.4.1; RFC 5425 section 4.3). MSG-LEN starts
    with a non-zero digit: there is no empty message."""
    if not message:
        raise ValueError("a syslog message is never empty (RFC 6587 section 3.4.1)")
    return str(len(message)).encode("ascii") + b" " + message


def read_frames(data: bytes) -> tuple[list[bytes], bytes]:
    """Split octet-counted frames off ``data``: (the whole messages, the bytes left over).
    A length that is not a number is a :class:`ValueError` (the stream is not framed)."""
    messages = []
    while data:
        space = data.find(b" ")
        if space == -1:
            if not data.isdigit() or len(data) > 10:
                raise ValueError("not an octet-counted frame")
            break
        length = data[:space]
        if not length.isdigit() or length.startswith(b"0") or len(length) > 10:
            raise ValueError("not an octet-counted frame")
        end = space + 1 + int(length)
        if len(data) < end:
            break
        messages.append(data[space + 1:end])
        data = data[end:]
    return messages, data


def tls_context(destination: Destination) -> ssl.SSLContext:
    """A client context: TLS 1.2 or later, the collector's certificate verified against the CA
    file and its name checked (RFC 5425 section 5.2), with the client certificate if given."""
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(destination.ca_file))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if destination.cert_file is not None:
            context.load_cert_chain(str(destination.cert_file), str(destination.key_file))
    except (OSError, ssl.SSLError) as exc:
        raise CollectorError(f"The TLS files for the audit collector cannot be used ({_why(exc)}); "
                             "check --ca (and the client certificate and key).") from None
    return context


#: How long a new TLS 1.3 session is listened to for the collector's refusal (seconds).
ACCEPT_PROBE = 0.5


class SyslogConnection:
    """One connection to a collector; :meth:`send` frames and writes a message, :meth:`close`
    ends the stream. Every failure is a :class:`CollectorError` naming the destination."""

    def __init__(self, destination: Destination, timeout: float = TIMEOUT) -> None:
        self.destination = destination
        self._sock: socket.socket | None = None
        context = tls_context(destination) if destination.transport == "tls" else None
        try:
            raw = socket.create_connection((destination.host, destination.port), timeout=timeout)
        except OSError as exc:
            raise CollectorError(f"The audit collector {destination} cannot be reached ({_why(exc)}); "
                                 "is it running, and is the address right?") from None
        raw.settimeout(timeout)
        if context is None:
            self._sock = raw
            return
        try:
            self._sock = context.wrap_socket(raw, server_hostname=destination.host)
        except (OSError, ssl.SSLError) as exc:
            raw.close()
            raise CollectorError(f"The TLS handshake with the audit collector {destination} failed "
                                 f"({_why(exc)}); check that --ca signed its certificate and that the "
                                 "certificate names the host.") from None
        self._check_accepted(timeout)

    def _check_accepted(self, timeout: float) -> None:
        """In TLS 1.3 the collector checks the client's certificate after the client's handshake
        is over (RFC 8446 4.4.2): a collector that refuses it ends the session at once, with an
        alert or without. Listen for that briefly before sending anything, so that what is sent
        is never counted as taken by a collector that already hung up."""
        sock = self._sock
        if not isinstance(sock, ssl.SSLSocket) or sock.version() != "TLSv1.3":
            return
        sock.settimeout(ACCEPT_PROBE)
        try:
            data = sock.recv(1)
        except TimeoutError:
            return  # nothing to say: the session stands
        except OSError as exc:  # ssl.SSLError included: an alert such as certificate_required
            self.abort()
            raise CollectorError(f"The audit collector {self.destination} ended the TLS session at once "
                                 f"({_why(exc)}). If it asks for a client certificate, give one with --cert "
                                 "and --key.") from None
        finally:
            if self._sock is not None:
                self._sock.settimeout(timeout)
        self.abort()
        raise CollectorError(f"The audit collector {self.destination} ended the TLS session at once"
                             + (" after sending data a syslog collector never sends" if data else "")
                             + ". If it asks for a client certificate, give one with --cert and --key.")

    def __enter__(self) -> SyslogConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()

    def send(self, message: bytes) -> None:
        """Frame and write one message (RFC 6587 octet counting)."""
        if self._sock is None:
            raise CollectorError(f"The connection to the audit collector {self.destination} is closed.")
        try:
            self._sock.sendall(octet_frame(message))
        except OSError as exc:
            self.abort()
            raise CollectorError(f"The audit collector {self.destination} stopped taking messages "
                                 f"({_why(exc)}).") from None

    def close(self) -> None:
        """End the stream in order (TLS close_notify, then TCP FIN) and wait, within the
        timeout, for the collector to end its side: it does so once it has read all we sent.
        Syslog has no acknowledgement of its own (RFC 6587 section 3.4; RFC 5425 section 4.4)."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            if isinstance(sock, ssl.SSLSocket):
                try:
                    sock = sock.unwrap()  # send close_notify; read the collector's, or its end of stream
                except ssl.SSLEOFError:
                    return  # it read our close_notify, so everything before, and closed (rsyslog does)
                except OSError as exc:  # ssl.SSLError included: an alert, a reset
                    raise CollectorError(
                        f"The audit collector {self.destination} ended the TLS session with an error "
                        f"({_why(exc)}); what was sent did not arrive. If it asks for a client "
                        "certificate, give one with --cert and --key.") from None
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(4096):
                pass
        except OSError as exc:
            raise CollectorError(f"The audit collector {self.destination} did not close the connection "
                                 f"cleanly ({_why(exc)}); what was sent may not have arrived.") from None
        finally:
            sock.close()

    def abort(self) -> None:
        """Drop the connection without waiting."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


def _why(exc: BaseException) -> str:
    """A short reason for a network error, without the addresses it may repeat."""
    if isinstance(exc, socket.timeout):
        return "no answer in time"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not trusted: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return exc.reason or type(exc).__name__
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower() if exc.strerror[:1].isupper() else exc.strerror
    return type(exc).__name__
