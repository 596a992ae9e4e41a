"""What reaches Veil's log from pynetdicom: a failed connection (a plain-TCP sender at a TLS
port, a cut transfer) is one line naming the failure, never the exception's message or a
traceback (a message could quote what a peer sent, a patient's name among it)."""

from __future__ import annotations

import io
import logging
import ssl

import pytest

from desktop.app.common.log_policy import NetworkLibraryLines


@pytest.fixture
def log() -> io.StringIO:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("veil: %(levelname)s: %(message)s"))
    handler.addFilter(NetworkLibraryLines())
    logger = logging.getLogger("pynetdicom.dul")
    logger.addHandler(handler)
    yield out
    logger.removeHandler(handler)


def _logged(exc: BaseException) -> None:
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001 - logged as pynetdicom does
        logging.getLogger("pynetdicom.dul").exception(caught)


def test_a_sender_without_tls_at_a_tls_port_is_one_plain_line(log: io.StringIO) -> None:
    error = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    error.reason = "WRONG_VERSION_NUMBER"
    _logged(error)
    text = log.getvalue()
    assert text.count("\n") == 1 and "Traceback" not in text
    assert "a TLS connection failed (WRONG_VERSION_NUMBER; a sender without TLS" in text


def test_another_exception_is_said_by_its_type_and_place_never_its_message(log: io.StringIO) -> None:
    _logged(ValueError("PatientName Doe^Jane 1961-02-03"))
    text = log.getvalue()
    assert "Doe^Jane" not in text and "1961" not in text and "Traceback" not in text
    assert "builtins.ValueError at _logged (test_log_policy.py:" in text


def test_a_cut_connection_says_the_systems_reason(log: io.StringIO) -> None:
    _logged(ConnectionResetError(104, "Connection reset by peer"))
    assert "a connection failed (Connection reset by peer)" in log.getvalue()


def test_veils_own_records_pass_unchanged(log: io.StringIO) -> None:
    other = logging.getLogger("veil.test")
    handler = logging.getLogger("pynetdicom.dul").handlers[-1]
    record = other.makeRecord("veil.test", logging.ERROR, __file__, 1, "kept %s", ("as is",), None)
    assert handler.filter(record) and record.getMessage() == "kept as is"
