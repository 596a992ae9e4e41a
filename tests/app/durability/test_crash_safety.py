"""kill -9 in the middle of an import leaves a library that opens, checks clean, and completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from desktop.app.library.checking import check_home
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from tests.conftest import pydicom_data_files, write_series

COUNT = 400


@pytest.mark.slow
def test_kill_9_mid_import_then_import_again(tmp_path, monkeypatch):
    src = tmp_path / "src"
    write_series(pydicom_data_files() / "693_UNCR.dcm", src, COUNT)
    home_dir = tmp_path / "home"
    passfile = tmp_path / "pass"
    passfile.write_text("correct horse battery")
    env = dict(os.environ, VEIL_HOME=str(home_dir), VEIL_PASSPHRASE_FILE=str(passfile),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    proc = subprocess.Popen([sys.executable, "-m", "desktop", "import", str(src)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    objects = home_dir / "objects"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        stored = sum(1 for d in objects.glob("*") for _ in d.iterdir()) if objects.exists() else 0
        if stored >= COUNT // 4:
            break
        assert proc.poll() is None, "the import finished before it could be killed"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker processes
    proc.wait()

    monkeypatch.setenv("VEIL_PASSPHRASE_FILE", str(passfile))
    import keyring
    from keyring.backends import fail
    keyring.set_keyring(fail.Keyring())
    home = VeilHome.open(home_dir)
    report = check_home(home)
    assert report.integrity == "ok"
    assert report.damaged == []
    # Objects indexed before the kill are whole (check_home decrypted and hashed each).
    conn = home.connect()
    indexed = conn.execute("SELECT count(*) FROM instances").fetchone()[0]
    conn.close()
    assert indexed < COUNT

    again = import_paths(home, [src])
    assert again.imported + again.already_present == COUNT
    assert again.imported == COUNT - indexed
    # Every file in objects/ is now referenced and verified to its last byte; an object
    # half-written by the kill would have been kept (re-import skips existing objects) and
    # would fail here.
    final = check_home(home)
    assert final.ok and final.objects_checked == COUNT and final.unreferenced == 0
    verdict = home.verify_audit()
    assert verdict.ok, verdict.message
    actions = [json.loads(line)["action"] for line in home.audit_path.read_text().splitlines()]
    # The killed import is accounted for: started, never closed; the second one closed.
    assert actions == ["import.started", "import.started", "import"]
