"""Logging that never carries a patient identifier.

Veil's own messages are written without identifiers. Third-party libraries are not so
careful: pydicom's warnings quote element values ("Invalid value for VR PN: '...'"), so its
logger is kept out of every handler Veil configures, and its Python warnings (which it also
emits, printed to stderr) are ignored.
"""

from __future__ import annotations

import logging
import os
import traceback
import warnings


def configure_logging(level: int = logging.WARNING) -> None:
    """Set up Veil's log output (stderr) and silence libraries that may quote DICOM values."""
    logging.basicConfig(level=level, format="veil: %(levelname)s: %(message)s")
    quiet_libraries()


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
