"""desktop.core.common.faults: the signal a fault point dies by, on POSIX and where SIGKILL is
missing (Windows; there os.kill with any other signal is TerminateProcess)."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core.common import faults

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL: POSIX")
def test_a_fault_point_dies_by_sigkill_on_posix() -> None:
    assert faults.KILL == signal.SIGKILL
    script = "from desktop.core.common.faults import fault_point\nfault_point('x')\nprint('survived')"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"VEIL_FAULT": "x", "PATH": ""})
    assert done.returncode == -signal.SIGKILL and "survived" not in done.stdout


def test_without_sigkill_it_is_sigterm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(signal, "SIGKILL", raising=False)
    spec = importlib.util.spec_from_file_location("faults_on_windows", faults.__file__)
    assert spec is not None and spec.loader is not None
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)  # a fresh import where signal has no SIGKILL
    assert copy.KILL == signal.SIGTERM
