"""``veil --version``: the version, the edition of the de-identification table (read from the
resource that records it), and the codecs' and engines' versions; headless, fast, and never a
crash when a frozen bundle lacks a distribution's metadata."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

from desktop import __version__
from desktop.cli import version
from desktop.core.common.resources import resource_path
from desktop.core.deid.table import SOURCES_FILE, TABLE_FILE, table_edition

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ("pydicom", "pylibjpeg", "pylibjpeg-libjpeg", "pylibjpeg-openjpeg", "pylibjpeg-rle", "pyjpegls",
              "tesserocr", "OCR model", "pynetdicom", "dicomweb-client", "PySide6", "sqlcipher3", "Python")


def _recorded_edition() -> str:
    return json.loads(resource_path(*SOURCES_FILE).read_text())[TABLE_FILE[-1]]["edition"]


def test_version_names_the_table_edition_and_every_codec(veil_cli):
    started = time.monotonic()
    done = veil_cli("--version")
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"veil {__version__}"
    assert f"Table E.1-1, edition {_recorded_edition()}" in lines[1]
    by_name = {line.split()[0] if not line.startswith("OCR model") else "OCR model": line for line in lines[2:]}
    for name in COMPONENTS:
        assert name in by_name, (name, done.stdout)
    for dist in ("pydicom", "pylibjpeg", "pylibjpeg-libjpeg", "pylibjpeg-openjpeg", "pylibjpeg-rle", "pyjpegls",
                 "tesserocr", "pynetdicom", "dicomweb-client", "sqlcipher3"):
        assert metadata.version(dist) in by_name[dist], by_name[dist]
    assert "tesseract 5" in by_name["tesserocr"].lower()
    assert "eng.traineddata present" in by_name["OCR model"]
    assert "(Qt 6." in by_name["PySide6"]
    assert "SQLCipher" in by_name["sqlcipher3"]
    assert "OpenJPEG 2." in by_name["pylibjpeg-openjpeg"]
    assert "Traceback" not in done.stderr and "unknown" not in done.stdout
    assert elapsed < 20, elapsed  # imports Qt's core and Tesseract only; no window, no library


def test_version_works_without_a_display_or_a_home(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(VEIL_HOME=str(tmp_path / "no-such-home"), HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "desktop", "--version"], env=env, capture_output=True, text=True,
                          timeout=120, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "PySide6" in done.stdout
    assert not (tmp_path / "no-such-home").exists()  # --version opens no library


def test_the_recorded_edition_belongs_to_the_tables_bytes():
    record = json.loads(resource_path(*SOURCES_FILE).read_text())[TABLE_FILE[-1]]
    assert hashlib.sha256(resource_path(*TABLE_FILE).read_bytes()).hexdigest() == record["sha256"]
    assert table_edition() == record["edition"]


def test_a_missing_distribution_falls_back_to_the_modules_version(monkeypatch):
    """A frozen bundle may carry modules without their dist-info."""
    def no_metadata(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(version.metadata, "version", no_metadata)
    import pydicom

    assert version.distribution_version("pydicom", "pydicom") == pydicom.__version__
    assert version.distribution_version("no-such-dist", "no_such_module_for_veil") == version.MISSING
    assert version.distribution_version("no-such-dist") == version.MISSING
    lines = version.version_lines()
    assert lines[0] == f"veil {__version__}"
    assert any(line.startswith("pydicom") and pydicom.__version__ in line for line in lines)


def test_a_module_without_a_version_is_unknown_not_a_crash(monkeypatch, tmp_path):
    (tmp_path / "veil_versionless_module.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert version.distribution_version("no-such-dist", "veil_versionless_module") == version.UNKNOWN
    (tmp_path / "veil_broken_module.py").write_text("raise RuntimeError('broken')\n")
    assert version.distribution_version("no-such-dist", "veil_broken_module") == version.UNKNOWN


@pytest.mark.parametrize("broken", ["_tesseract", "_qt", "_sqlcipher", "_openjpeg", "_edition"])
def test_a_failing_probe_leaves_the_rest(monkeypatch, broken):
    def fail() -> str:
        raise OSError("no such library")

    monkeypatch.setattr(version, broken, fail)
    lines = version.version_lines()
    assert len(lines) >= len(COMPONENTS) + 1
    if broken == "_edition":
        assert lines[1].endswith("edition unknown")
