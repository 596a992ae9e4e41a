"""Logging that never carries a patient identifier.

Veil's own messages are written without identifiers. Third-party libraries are not so
careful: pydicom's warnings quote element values ("Invalid value for VR PN: '...'"), so its
logger is kept out of every handler Veil configures, and its Python warnings (which it also
emits, printed to stderr) are ignored. pynetdicom logs a failed connection (a sender without
TLS, a cut transfer) with the exception's message and traceback: its lines reach the log as one
line, the exception said by :func:`connection_problem` (a network reason, or only its type and
where for anything else, whose message could quote what a peer sent).
"""

from __future__ import annotations

import logging
import os
import ssl
import traceback
import warnings


def configure_logging(level: int = logging.WARNING) -> None:
    """Set up Veil's log output (stderr) and silence libraries that may quote DICOM values."""
    logging.basicConfig(level=level, format="veil: %(levelname)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(NetworkLibraryLines())
    quiet_libraries()


class NetworkLibraryLines(logging.Filter):
    """pynetdicom's records with an exception: one line naming the failure instead of its
    message and traceback (see the module)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".")[0] == "pynetdicom" and record.exc_info and record.exc_info[1] is not None:
            record.msg, record.args = connection_problem(record.exc_info[1]), ()
            record.exc_info, record.exc_text = None, None
        return True


def connection_problem(exc: BaseException) -> str:
    """What went wrong with a network connection, for the log: a TLS or socket reason (the
    system's words, never data), else the exception's type and where (:func:`describe_unexpected`)."""
    if isinstance(exc, ssl.SSLError):
        return f"a TLS connection failed ({exc.reason or type(exc).__name__}; a sender without TLS, or with a " \
               "certificate Veil does not accept)"
    if isinstance(exc, OSError):
        return f"a connection failed ({exc.strerror or type(exc).__name__})"
    return describe_unexpected(exc)


def quiet_libraries() -> None:
    """Silence pydicom's logger and Python warnings (both may quote DICOM values); worker
    processes call this too, since they do not inherit it."""
    pydicom_log = logging.getLogger("pydicom")
    pydicom_log.propagate = False
    pydicom_log.setLevel(logging.CRITICAL + 1)
    warnings.filterwarnings("ignore", module=r"pydicom(\..*)?$")


def describe_unexpected(exc: BaseException) -> str:
    """An unexpected exception for the log: its type and frames, never its message or any
    value (either could hold patient data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(f"{f.name} ({os.path.basename(f.filename)}:{f.lineno})" for f in reversed(frames))
    return f"{type(exc).__module__}.{type(exc).__qualname__} at {where or 'unknown place'}"
