"""scripts/run-app registers Veil with the desktop for the user: menu entry, icon, and the .veil
type, so that double-clicking a package opens it in Veil (issue 7)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_desktop_entry_opens_packages_with_this_checkout(tmp_path):
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(["bash", "-c", f'source "{ROOT}/scripts/desktop-integration.sh"; '
                                          f'install_desktop_integration "{ROOT}"'],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    data = tmp_path / ".local" / "share"
    entry = (data / "applications" / "veil.desktop").read_text()
    assert f'Exec="{ROOT}/.venv/bin/veil-gui" %f' in entry
    assert "MimeType=application/x-veil-package;" in entry
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "veil.svg").is_file()
    assert (data / "mime" / "packages" / "veil-package.xml").is_file()
    if shutil.which("update-mime-database") is None:
        pytest.skip("update-mime-database (shared-mime-info) is not installed: the type is copied, not compiled")
    assert "application/x-veil-package:*.veil" in (data / "mime" / "globs2").read_text()
