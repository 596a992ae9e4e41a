"""RFC 5424 messages and RFC 6587 octet-counting frames, and the connection's failures, against
a collector made in the test (no rsyslog needed here)."""

from __future__ import annotations

import re
import socket
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from desktop.core.audit.syslog import (
    BOM,
    CollectorError,
    Destination,
    SyslogConnection,
    header_field,
    octet_frame,
    read_frames,
    sd_value,
    syslog_message,
    timestamp,
)
from desktop.core.common.errors import AuditError, VeilError

WHEN = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
# RFC 5424 section 6: HEADER SP STRUCTURED-DATA SP MSG
HEADER = re.compile(rb"^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) ")


def test_message_fields_follow_rfc_5424() -> None:
    message = syslog_message(b"<AuditMessage/>", when=WHEN, hostname="ws 12\u00e9", sequence=42,
                             procid="1234")
    match = HEADER.match(message)
    assert match is not None
    pri, ts, host, app, procid, msgid, sd = match.groups()
    assert int(pri) == 10 * 8 + 5  # authpriv, notice
    assert ts == b"2024-05-06T07:08:09.123Z"
    assert host == b"ws_12_" and app == b"veil" and procid == b"1234" and msgid == b"IHE+RFC-3881"
    assert sd == b'[meta sequenceId="42"]'
    assert message[match.end():] == BOM + b"<AuditMessage/>"


def test_nil_values_and_limits() -> None:
    message = syslog_message(b"x", when=WHEN, hostname="", severity=4)
    assert message.startswith(b"<84>1 2024-05-06T07:08:09.123Z - veil - IHE+RFC-3881 - \xef\xbb\xbfx")
    assert header_field("h" * 300, 255) == "h" * 255
    with pytest.raises(ValueError):
        syslog_message(b"x", when=WHEN, hostname="h", sequence=2**31)
    with pytest.raises(ValueError):
        syslog_message(b"x", when=WHEN, hostname="h", severity=8)


def test_timestamp_is_utc_with_z() -> None:
    local = WHEN.astimezone(timezone(timedelta(hours=-5)))
    assert timestamp(local) == "2024-05-06T07:08:09.123Z"
    with pytest.raises(ValueError):
        timestamp(datetime(2024, 1, 1))


def test_sd_values_escape_quote_backslash_bracket() -> None:
    assert sd_value('a"b\\c]d') == 'a\\"b\\\\c\\]d'


def test_octet_counting_round_trip_with_newlines_and_multibyte() -> None:
    messages = [b"one", "z\u00e9\n\u4e2d".encode(), b" ", b"x" * 70000]
    stream = b"".join(octet_frame(m) for m in messages)
    assert stream.startswith(b"3 one")
    assert read_frames(stream) == (messages, b"")
    got, rest = read_frames(stream[:-5])
    assert got == messages[:-1] and rest.startswith(b"70000 ")
    with pytest.raises(ValueError):
        read_frames(b"<13>1 not framed")
    with pytest.raises(ValueError):
        octet_frame(b"")


@pytest.mark.parametrize("kwargs", [
    {"host": "", "port": 514}, {"host": "a b", "port": 514}, {"host": "h", "port": 0},
    {"host": "h", "port": 70000}, {"host": "h", "port": 514, "transport": "udp"},
    {"host": "h", "port": 6514, "transport": "tls"},
])
def test_bad_destinations_are_refused_with_a_message(kwargs: dict) -> None:
    with pytest.raises(AuditError) as caught:
        Destination(**kwargs)
    assert isinstance(caught.value, VeilError) and str(caught.value)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_dead_collector_is_a_collector_error_not_a_hang() -> None:
    with pytest.raises(CollectorError, match="cannot be reached"):
        SyslogConnection(Destination("127.0.0.1", _free_port()), timeout=2)


class Collector:
    """A TCP collector in a thread: reads frames until the client ends the stream, then closes
    (as rsyslog does) unless ``hold`` (then it never closes: Veil must not wait forever)."""

    def __init__(self, hold: bool = False) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.data = b""
        self.hold = hold
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            while chunk := conn.recv(65536):
                self.data += chunk
            if self.hold:
                self.release.wait(30)

    def stop(self) -> None:
        self.release.set()
        self.thread.join(30)
        self.server.close()


def test_send_then_close_waits_for_the_collector_to_finish_reading() -> None:
    collector = Collector()
    try:
        with SyslogConnection(Destination("127.0.0.1", collector.port)) as link:
            link.send(b"first")
            link.send("second \u00e9".encode())
            link.close()
        collector.thread.join(30)
        assert read_frames(collector.data) == ([b"first", "second \u00e9".encode()], b"")
    finally:
        collector.stop()


def test_a_collector_that_never_closes_is_not_taken_as_having_read() -> None:
    collector = Collector(hold=True)
    try:
        link = SyslogConnection(Destination("127.0.0.1", collector.port), timeout=0.5)
        link.send(b"x")
        with pytest.raises(CollectorError, match="did not close"):
            link.close()
    finally:
        collector.stop()


def test_a_closed_connection_refuses_to_send() -> None:
    collector = Collector()
    try:
        link = SyslogConnection(Destination("127.0.0.1", collector.port))
        link.abort()
        with pytest.raises(CollectorError, match="closed"):
            link.send(b"x")
    finally:
        collector.stop()
