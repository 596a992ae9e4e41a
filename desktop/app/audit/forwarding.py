"""Forwarding the audit trail to a syslog collector as it is written, the IHE ATNA way (IHE ITI
TF-1 ATNA "Record Audit Event"): each line of the audit trail as a DICOM Audit Message (DICOM
PS3.15 Annex A.5, :mod:`desktop.core.audit.atna`) in an RFC 5424 message over TCP or TLS
(RFC 6587, RFC 5425; :mod:`desktop.core.audit.syslog`), so that a copy lives off the
workstation.

A site may preset the collector in its ``site.json`` (:mod:`desktop.app.site.defaults`): locked,
it is always the destination; unlocked, it is until the user configures forwarding. Otherwise
configuration and position live in the library's ``settings`` table (keys ``audit.forward.*``):
the destination, and the last line forwarded (its sequence number and hash, and the
destination it was forwarded to). Lines are read from the index, the trail's source
(``audit.log`` is its copy), so only committed lines are ever sent.

:func:`forward_pending` sends every line after the position, in order, and moves the position
on only when the collector has taken the lines: after a chunk of messages Veil ends the TCP
stream and waits for the collector to end its side, which it does only after reading
everything before (syslog has no acknowledgement of its own; this is as close as RFC 6587
comes). A failure stops the call, keeps the position
and is remembered; the next call resends from there, so a collector restart loses nothing
and keeps the order (a chunk cut off mid-way may arrive twice: the collector sees the same
``sequenceId``).

Calls are cheap when forwarding is off (one settings read), never raise for network trouble
(the result says what failed), make at most one connection attempt, and after a failure wait
(in memory, growing to :data:`MAX_BACKOFF` seconds) before trying again unless forced. Two
processes at once: an exclusive, non-blocking lock (``flock`` on POSIX) on ``VEIL_HOME/.audit-forward.lock``;
the one that does not get it returns "busy" (the other is forwarding).
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from desktop.app.library.home import VeilHome
from desktop.app.site.defaults import site_defaults
from desktop.core.audit.atna import AtnaTable, AuditSource, audit_message, load_table
from desktop.core.audit.events import AuditEvent
from desktop.core.audit.log import line_hash
from desktop.core.audit.syslog import (
    SEVERITY_NOTICE,
    SEVERITY_WARNING,
    CollectorError,
    Destination,
    SyslogConnection,
    syslog_message,
)
from desktop.core.common import file_locks
from desktop.core.common.errors import AuditError, VeilError
from desktop.core.common.portable import BINARY
from desktop.core.library import database, index
from desktop.core.library.settings import get_settings, set_settings

PREFIX = "audit.forward."
HOST, PORT, TRANSPORT = PREFIX + "host", PREFIX + "port", PREFIX + "transport"
CA, CERT, KEY = PREFIX + "ca", PREFIX + "cert", PREFIX + "key"
SEQ, HASH, FOR = PREFIX + "seq", PREFIX + "hash", PREFIX + "position_for"
ERROR, ERROR_AT, SENT_AT = PREFIX + "error", PREFIX + "error_at", PREFIX + "sent_at"
SITE = "site"  # in the values read, never stored: the destination is the site file's (host:port)
LOCK_NAME = ".audit-forward.lock"
CHUNK = 100  # messages per connection, confirmed together
LIMIT = 1000  # messages per call, so one call stays short
CALL_BUDGET = 10.0  # seconds after which a call starts no new chunk
MIN_BACKOFF, MAX_BACKOFF = 5.0, 300.0
_backoff: dict[str, tuple[float, float]] = {}  # home -> (monotonic time to wait for, last delay)


@dataclass(frozen=True)
class ForwardResult:
    """What one call did. ``state``: ``off`` (not configured), ``busy`` (another process is
    forwarding), ``waiting`` (backing off after a failure), ``done`` (nothing left, or
    ``more`` lines left for the next call), ``failed`` (``error`` says why)."""

    state: str
    sent: int = 0
    position: int = 0
    head: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.state in ("off", "busy", "done")

    @property
    def more(self) -> int:
        return max(0, self.head - self.position)


@dataclass(frozen=True)
class ForwardStatus:
    """Where forwarding stands: the destination (None: off), the last line forwarded, the last
    line the library recorded, the last error and when, and when lines were last sent."""

    destination: Destination | None
    position: int
    head: int
    error: str
    error_at: str
    sent_at: str
    from_site: bool = False  # the destination is the site file's (site.json)

    @property
    def pending(self) -> int:
        return max(0, self.head - self.position)


def destination_of(values: dict[str, str]) -> Destination | None:
    """The destination the settings name, or None when forwarding is off."""
    host = values.get(HOST, "")
    if not host:
        return None
    def path(key: str) -> Path | None:
        return Path(values[key]) if values.get(key) else None
    return Destination(host, int(values.get(PORT) or 0), values.get(TRANSPORT) or "tcp",
                       path(CA), path(CERT), path(KEY))


def configure(home: VeilHome, destination: Destination | None) -> None:
    """Forward to ``destination`` from now on (None: stop forwarding), and audit the change. A
    destination other than the one the position belongs to starts from the first line: a new
    collector receives the whole trail. A collector the site file locks cannot be changed."""
    site = site_defaults()
    if site.collector is not None and site.collector.locked:
        raise AuditError(f"Audit forwarding is set by the site file {site.path} (to {site.collector.destination}); "
                         "it cannot be changed here. Ask whoever manages Veil at your site (IT).")
    if destination is not None:
        for label, file in (("CA", destination.ca_file), ("client certificate", destination.cert_file),
                            ("client key", destination.key_file)):
            if file is not None and not Path(file).is_file():
                raise AuditError(f"The {label} file {file} does not exist.")
        destination = Destination(destination.host, destination.port, destination.transport,
                                  *(Path(f).resolve() if f else None for f in
                                    (destination.ca_file, destination.cert_file, destination.key_file)))
    conn = home.connect()
    try:
        values = get_settings(conn, PREFIX)
        new = {HOST: "", PORT: "", TRANSPORT: "", CA: "", CERT: "", KEY: ""}
        if destination is not None:
            new.update({HOST: destination.host, PORT: str(destination.port), TRANSPORT: destination.transport,
                        CA: str(destination.ca_file or ""), CERT: str(destination.cert_file or ""),
                        KEY: str(destination.key_file or "")})
            if values.get(FOR) != _where(destination):
                new.update({SEQ: "0", HASH: "", FOR: _where(destination)})
        new.update({ERROR: "", ERROR_AT: ""})
        _write(conn, new)
        home.record(conn, "audit.forward.configured", destination=str(destination) if destination else "off")
    finally:
        conn.close()
    _backoff.pop(str(home.path), None)


def forwarding_status(home: VeilHome) -> ForwardStatus:
    """The configuration, position and last error, as ``veil audit forward --status`` shows."""
    conn = home.connect()
    try:
        values = _settings(conn)
        head = (index.last_audit_line(conn) or (0, ""))[0]
    finally:
        conn.close()
    try:
        destination = destination_of(values)
    except (VeilError, ValueError):
        destination = None
    return ForwardStatus(destination, int(values.get(SEQ) or 0), head, values.get(ERROR, ""),
                         values.get(ERROR_AT, ""), values.get(SENT_AT, ""), bool(values.get(SITE)))


def forward_pending(home: VeilHome, conn: database.Connection | None = None, *, force: bool = False,
                    limit: int = LIMIT) -> ForwardResult:
    """Send the lines recorded since the last forwarded one, in order; see the module text.
    ``conn`` (optional) serves the first settings read; ``force`` ignores the back-off."""
    if conn is None:
        own = home.connect()
        try:
            values = _settings(own)
        finally:
            own.close()
    else:
        values = _settings(conn)
    if not values.get(HOST):
        return ForwardResult("off")
    key = str(home.path)
    waiting = _backoff.get(key)
    if waiting and not force and time.monotonic() < waiting[0]:
        return ForwardResult("waiting", position=int(values.get(SEQ) or 0), error=values.get(ERROR, ""))
    try:
        lock = os.open(home.path / LOCK_NAME, os.O_RDWR | os.O_CREAT | BINARY, 0o600)
    except OSError as exc:
        return ForwardResult("failed", error=f"The forwarding lock cannot be opened ({exc.strerror}).")
    try:
        if not file_locks.lock(lock, blocking=False):
            return ForwardResult("busy", position=int(values.get(SEQ) or 0))
        try:
            result = _forward_locked(home, limit)
        except (database.DatabaseError, OSError, VeilError) as exc:
            # Not the network (that is handled inside): the index or the disk. Reported, never raised.
            result = ForwardResult("failed", position=int(values.get(SEQ) or 0),
                                   error=f"Audit forwarding could not read or save its position "
                                         f"({type(exc).__name__}); run 'veil check'.")
    finally:
        os.close(lock)
    if result.state == "failed":
        delay = min(MAX_BACKOFF, max(MIN_BACKOFF, 2 * (waiting[1] if waiting else 0)))
        _backoff[key] = (time.monotonic() + delay, delay)
    else:
        _backoff.pop(key, None)
    return result


def _forward_locked(home: VeilHome, limit: int) -> ForwardResult:
    conn = home.connect()
    try:
        values = _settings(conn)  # again, under the lock: another process may have moved it
        position = int(values.get(SEQ) or 0)
        head = (index.last_audit_line(conn) or (0, ""))[0]
        try:
            destination = destination_of(values)
        except (VeilError, ValueError):
            return _failed(conn, position, head, "The audit forwarding settings are damaged; set them again "
                                                 "with 'veil audit forward --to HOST:PORT'.")
        if destination is None:
            return ForwardResult("off")
        where = _where(destination)
        if values.get(FOR) != where and (values.get(SITE) or values.get(FOR)):
            # the position is another collector's (the site's collector came or went): this one
            # receives the whole trail, as configure() arranges for a collector the user sets
            _write(conn, {SEQ: "0", HASH: "", FOR: where})
            values.update({SEQ: "0", HASH: "", FOR: where})
            position = 0
        if position >= head:
            return ForwardResult("done", position=position, head=head)
        try:
            lines = _pending_lines(conn, home.audit_path, position, values.get(HASH, ""), limit)
        except AuditError as exc:
            return _failed(conn, position, head, str(exc))
        if not lines:
            return ForwardResult("done", position=position, head=head)
        return _send(conn, destination, lines, position, head)
    finally:
        conn.close()


def _send(conn: database.Connection, destination: Destination, lines: list[_Line], position: int,
          head: int) -> ForwardResult:
    source = AuditSource(host=socket.gethostname())
    sent = 0
    try:
        table = load_table()
        deadline = time.monotonic() + CALL_BUDGET
        for start in range(0, len(lines), CHUNK):
            if start and time.monotonic() > deadline:
                break  # a slow collector: the rest goes with the next call
            chunk = lines[start:start + CHUNK]
            with SyslogConnection(destination) as link:
                for line in chunk:
                    link.send(_message(line.event, source, table))
                link.close()
            last = chunk[-1]
            _write(conn, {SEQ: str(last.event.seq), HASH: last.digest, SENT_AT: _now(), ERROR: "", ERROR_AT: ""})
            position, sent = last.event.seq, sent + len(chunk)
    except CollectorError as exc:
        return _failed(conn, position, head, str(exc), sent)
    except AuditError as exc:  # the event table
        return _failed(conn, position, head, str(exc), sent)
    return ForwardResult("done", sent, position, max(head, position))


def _message(event: AuditEvent, source: AuditSource, table: AtnaTable) -> bytes:
    """The line as an RFC 5424 message; a Security Alert (110113) or a serious failure is a
    warning (severity 4), everything else a notice (5), as IHE ATNA suggests."""
    body = audit_message(event, source, table)
    mapping = table.mapping(event.action)
    alarm = mapping.event.code == "110113" or table.outcome(event, mapping) >= 8
    return syslog_message(body, when=event.time, hostname=source.host, sequence=event.seq,
                          severity=SEVERITY_WARNING if alarm else SEVERITY_NOTICE, procid=str(os.getpid()))


def _failed(conn: database.Connection, position: int, head: int, error: str, sent: int = 0) -> ForwardResult:
    try:
        _write(conn, {ERROR: error, ERROR_AT: _now()})
    except database.DatabaseError:
        pass  # the failure is still returned; the status shows it after the next one
    return ForwardResult("failed", sent, position, head, error)


@dataclass(frozen=True)
class _Line:
    event: AuditEvent
    digest: str


def _pending_lines(conn: database.Connection, log_path: Path, position: int, digest: str,
                   limit: int) -> list[_Line]:
    """The audit lines after ``position``, as the index holds them (it is the trail's source:
    a line is there once committed, and only then), at most ``limit``. Lines from before the
    index kept their text are taken from ``audit.log``, where their hash finds them. Anything
    that does not add up is an :class:`AuditError` that names the line (never its content)."""
    if position:
        held = index.audit_line_hash(conn, position)
        if held is None or (digest and held != digest):
            raise AuditError(f"Audit line {position}, the last one forwarded, is not in the library as it was "
                             "sent: an older or another copy of the library may have been put back. Run "
                             "'veil audit verify'.")
    lines: list[_Line] = []
    from_file: dict[str, bytes] | None = None
    for seq, held, text in index.audit_lines_from(conn, position + 1)[:limit]:
        if seq != position + 1 + len(lines):
            raise AuditError(f"Audit line {position + 1 + len(lines)} is missing from the library; run "
                             "'veil audit verify'.")
        if text is None:  # written before migration 0009
            from_file = _file_lines(log_path) if from_file is None else from_file
            text = from_file.get(held)
            if text is None:
                raise AuditError(f"Audit line {seq} is kept only in audit.log, which no longer holds it as it was "
                                 "written; run 'veil audit verify'.")
        event = _event(text)
        if event is None or event.seq != seq or line_hash(text) != held:
            raise AuditError(f"Audit line {seq} in the library is damaged; run 'veil audit verify'.")
        lines.append(_Line(event, held))
    return lines


def _file_lines(path: Path) -> dict[str, bytes]:
    """Every complete line of ``audit.log`` by its hash (the file missing: none)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise AuditError(f"The audit log cannot be read: {exc.strerror}") from None
    return {line_hash(line): line for line in data.split(b"\n")[:-1] if line}


def _event(line: bytes) -> AuditEvent | None:
    """The event on one line (as :mod:`desktop.core.audit.events` reads it), None if damaged."""
    try:
        record = json.loads(line)
        seq, when, user, action = (record[k] for k in ("seq", "time", "user", "action"))
        if not (isinstance(seq, int) and isinstance(user, str) and isinstance(action, str)):
            return None
        moment = datetime.fromisoformat(when)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    if moment.utcoffset() is None:
        return None
    details = {k: v for k, v in record.items() if k not in ("seq", "time", "user", "action", "prev")}
    return AuditEvent(seq, moment, user, action, details)


def _settings(conn: database.Connection) -> dict[str, str]:
    """The forwarding settings of the library, with the site file's collector in force: always
    when the site locks it, else until the user has configured forwarding (on or off). The
    site's destination is marked under :data:`SITE` (not a stored key)."""
    values = get_settings(conn, PREFIX)
    collector = site_defaults().collector
    if collector is None or not (collector.locked or HOST not in values):
        return values
    where = collector.destination
    values.update({HOST: where.host, PORT: str(where.port), TRANSPORT: where.transport,
                   CA: str(where.ca_file or ""), CERT: str(where.cert_file or ""), KEY: str(where.key_file or ""),
                   SITE: _where(where)})
    return values


def _write(conn: database.Connection, values: dict[str, str]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        set_settings(conn, values)
        conn.execute("COMMIT")
    except BaseException:
        database.rollback(conn)
        raise


def _where(destination: Destination) -> str:
    return f"{destination.host}:{destination.port}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
