"""A Veil process's life token: held while it runs, seen as gone once it is killed, and swept.
Windows can neither rename nor delete a file a process has open, so there the lock file is made
under its final name; that path is run here too (rename refused, as Windows would)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from desktop.core.common import liveness, portable

ROOT = Path(__file__).resolve().parents[3]

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from desktop.core.common import liveness
    if sys.argv[2] == "windows":
        import os
        liveness.can_rename_open_files = lambda: False
        def refused(*_args):
            raise PermissionError("a file that is open cannot be renamed (Windows)")
        os.rename = refused
    print(liveness.life_token(Path(sys.argv[1])), flush=True)
    time.sleep(120)
""")


def _hold(tmp: Path, how: str) -> tuple[subprocess.Popen[str], str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp), how], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT)
    assert holder.stdout is not None
    return holder, holder.stdout.readline().strip()


@pytest.mark.parametrize("how", ["posix", "windows"])
def test_a_running_holder_is_alive_and_a_killed_one_is_swept(tmp_path, how):
    tmp = tmp_path / "home" / "tmp"
    tmp.mkdir(parents=True)
    holder, token = _hold(tmp, how)
    try:
        assert token and (liveness.life_folder(tmp) / f"{token}.lock").is_file()
        assert not list(liveness.life_folder(tmp).glob(".*.new"))  # nothing left under a staged name
        assert liveness.token_alive(tmp, token)
        assert liveness.sweep_dead_tokens(tmp) == 0
        assert (liveness.life_folder(tmp) / f"{token}.lock").is_file()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        assert holder.stdout is not None
        holder.stdout.close()
    assert not liveness.token_alive(tmp, token)
    assert liveness.sweep_dead_tokens(tmp) == 1
    assert not (liveness.life_folder(tmp) / f"{token}.lock").exists()


def test_a_lock_file_windows_will_not_let_go_of_is_left_to_the_next_sweep(tmp_path, monkeypatch):
    tmp = tmp_path / "tmp"
    folder = liveness.life_folder(tmp)
    folder.mkdir(parents=True)
    (folder / "123x00.lock").write_bytes(b"")  # a dead process's, unlocked
    real_unlink = Path.unlink

    def in_use(self: Path, missing_ok: bool = False) -> None:
        if self.name == "123x00.lock":
            raise PermissionError(13, "The process cannot access the file because it is being used")
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", in_use)
    assert liveness.sweep_dead_tokens(tmp) == 0  # no crash
    monkeypatch.setattr(Path, "unlink", real_unlink)
    assert liveness.sweep_dead_tokens(tmp) == 1


def _windows_unlink(real):  # noqa: ANN001, ANN202 - os.unlink as Windows does it
    def unlink(path):  # noqa: ANN001, ANN202
        if not os.stat(path).st_mode & 0o200:
            raise PermissionError(13, "Access is denied", str(path))
        real(path)
    return unlink


def test_a_sealed_read_only_object_is_removed_on_windows_too(tmp_path, monkeypatch):
    sealed = tmp_path / "object"
    sealed.write_bytes(b"x")
    sealed.chmod(0o400)
    monkeypatch.setattr(portable.os, "unlink", _windows_unlink(os.unlink))
    with pytest.raises(PermissionError):  # POSIX: a refusal is not papered over
        portable.remove_file(sealed)
    monkeypatch.setattr(portable, "is_windows", lambda: True)
    portable.remove_file(sealed)
    assert not sealed.exists()
    portable.remove_file(sealed)  # already gone: nothing to do


def test_renaming_open_files_is_posix_only(monkeypatch):
    assert portable.can_rename_open_files() is (sys.platform != "win32")
    monkeypatch.setattr(portable, "is_windows", lambda: True)
    assert not portable.can_rename_open_files()
