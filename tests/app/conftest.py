"""Fixtures of the app tests: the ``veil`` command in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def cli(tmp_path: Path):
    """``veil ARGS`` in a process of its own, with its own VEIL_HOME, HOME and TMPDIR (so every
    file it leaves anywhere can be looked at)."""
    for name in ("home", "user", "tmp"):
        (tmp_path / name).mkdir()
    passfile = tmp_path / "pass"
    passfile.write_text("correct horse battery\n")
    env = dict(os.environ, VEIL_HOME=str(tmp_path / "home"), VEIL_PASSPHRASE_FILE=str(passfile),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", HOME=str(tmp_path / "user"),
               TMPDIR=str(tmp_path / "tmp"), XDG_CACHE_HOME=str(tmp_path / "user" / ".cache"))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "desktop", *args], env=env, capture_output=True, text=True,
                              timeout=300, stdin=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[2])

    return run
