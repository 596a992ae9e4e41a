"""desktop.core.common.portable: the POSIX answers as before, the Windows ones (with sys.platform
set to win32 and the POSIX calls taken away) without touching what Windows lacks."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desktop.app.durability import write_ahead
from desktop.core.audit import log as audit_log
from desktop.core.common import atomic_files, disk_full, file_locks, portable

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="the POSIX answers")


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on Windows: no uid, no statvfs, no pwd, folders cannot be opened."""
    monkeypatch.setattr(sys, "platform", "win32")
    for name in ("getuid", "geteuid", "statvfs"):
        monkeypatch.delattr(os, name, raising=False)
    monkeypatch.setitem(sys.modules, "pwd", None)

    def no_folder(path: object, flags: int, *args: object) -> int:
        if Path(str(path)).is_dir():
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    real_open = os.open
    monkeypatch.setattr(os, "open", no_folder)


@posix_only
def test_account_id_is_the_uid_on_posix() -> None:
    assert portable.account_id() == f"uid:{os.getuid()}"  # in hashed audit lines: unchanged


@posix_only
def test_the_audit_user_falls_back_to_the_uid(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_name() -> str:
        raise KeyError("uid not in passwd")

    monkeypatch.setattr(audit_log.getpass, "getuser", no_name)
    assert audit_log.os_user() == f"uid:{os.getuid()}"


def test_account_id_is_the_user_name_on_windows(windows: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "getlogin", lambda: "alice")
    assert portable.account_id() == "user:alice"

    def unknown() -> str:
        raise OSError("no logon name")

    monkeypatch.setattr(os, "getlogin", unknown)
    assert portable.account_id() == "user:unknown"

    def no_name() -> str:
        raise OSError("no user name in the environment")

    monkeypatch.setattr(audit_log.getpass, "getuser", no_name)
    assert audit_log.os_user() == "user:unknown"


def test_full_name_on_windows_is_left_to_the_caller(windows: None) -> None:
    assert portable.account_full_name() == ""


@posix_only
def test_full_name_on_posix_is_the_gecos_name_or_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import pwd

    entry = pwd.getpwuid(os.getuid())
    assert portable.account_full_name() == entry.pw_gecos.split(",")[0].strip()
    monkeypatch.setitem(sys.modules, "pwd", None)
    assert portable.account_full_name() == ""


@posix_only
def test_free_space_on_posix_is_statvfs(tmp_path: Path) -> None:
    stats = os.statvfs(tmp_path)
    blocks = stats.f_bfree if os.geteuid() == 0 else stats.f_bavail
    assert abs(portable.free_space(tmp_path) - blocks * stats.f_frsize) < 64 << 20  # other writers


def test_free_space_on_windows_is_disk_usage(windows: None, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda where: shutil._ntuple_diskusage(100, 60, 40))  # type: ignore[attr-defined]
    assert portable.free_space(tmp_path) == 40
    assert disk_full.free_bytes(tmp_path) == 40


def test_free_bytes_is_none_when_the_disk_cannot_be_asked(tmp_path: Path) -> None:
    assert disk_full.free_bytes(tmp_path / "missing" / "folder") is None


@posix_only
def test_sync_folder_opens_the_folder_on_posix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    portable.sync_folder(tmp_path)
    assert len(synced) == 1


def test_sync_folder_is_nothing_on_windows(windows: None, tmp_path: Path) -> None:
    from desktop.core.common.atomic_files import atomic_write_bytes

    with pytest.raises(PermissionError):
        os.open(tmp_path, os.O_RDONLY)  # the fake refuses folders, as Windows does
    portable.sync_folder(tmp_path)
    atomic_write_bytes(tmp_path / "file", b"data")  # fsyncs the file, not the folder
    assert (tmp_path / "file").read_bytes() == b"data"


# -- read_at ---------------------------------------------------------------------------------------
@pytest.fixture
def data_file(tmp_path: Path) -> Iterator[int]:
    fd = os.open(tmp_path / "data", os.O_RDWR | os.O_CREAT | portable.BINARY, 0o600)
    os.write(fd, b"0123456789")
    os.lseek(fd, 3, os.SEEK_SET)
    yield fd
    os.close(fd)


@posix_only
def test_read_at_is_pread_on_posix(data_file: int, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int, int]] = []
    real_pread = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, at: (calls.append((fd, n, at)), real_pread(fd, n, at))[1])
    real_lseek = os.lseek

    def lseek(fd: int, pos: int, how: int) -> int:
        assert fd != data_file, "pread needs no seek"
        return real_lseek(fd, pos, how)

    monkeypatch.setattr(os, "lseek", lseek)
    assert portable.read_at(data_file, 4, 2) == b"2345"
    assert calls == [(data_file, 4, 2)]
    assert real_lseek(data_file, 0, os.SEEK_CUR) == 3


def test_read_at_seeks_and_comes_back_on_windows(data_file: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delattr(os, "pread", raising=False)
    assert portable.read_at(data_file, 4, 2) == b"2345"
    assert os.lseek(data_file, 0, os.SEEK_CUR) == 3  # where it was
    assert portable.read_at(data_file, 100, 8) == b"89"  # fewer at the end, as pread
    assert portable.read_at(data_file, 4, 10) == b""
    assert os.lseek(data_file, 0, os.SEEK_CUR) == 3


def test_the_audit_log_appends_and_mends_without_pread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """log.py and mirror.py read the tail with read_at: their appends, the torn line dropped,
    and the mirror's catch-up work where os.pread does not exist."""
    from desktop.core.audit import AuditLog, mirror, verify_log

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(file_locks, "lock", lambda fd, blocking=True: True)  # no msvcrt on Linux
    monkeypatch.delattr(os, "pread", raising=False)
    log = AuditLog(tmp_path / "audit.log", b"k" * 32)
    log.append("one")
    with open(log.path, "ab") as fh:
        fh.write(b'{"torn')  # a writer died mid-line
    log.append("two")
    lines = log.path.read_bytes().split(b"\n")[:-1]
    assert [json.loads(line)["action"] for line in lines] == ["one", "audit.torn_line_dropped", "two"]
    assert json.loads(lines[1])["bytes"] == len(b'{"torn')
    assert verify_log(log.path).ok
    with mirror.locked(log.path) as fd:
        assert mirror._tail(fd)[1] == lines[-1]


# -- process_alive ---------------------------------------------------------------------------------
@posix_only
def test_process_alive_on_posix_is_signal_0(monkeypatch: pytest.MonkeyPatch) -> None:
    assert portable.process_alive(os.getpid())
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    assert not portable.process_alive(int(done.stdout))  # ended and reaped
    assert not portable.process_alive(0) and not portable.process_alive(-1)  # not a process id
    assert write_ahead.pid_alive(os.getpid())

    def refuse(pid: int, sig: int) -> None:
        assert sig == 0
        raise PermissionError(1, "Operation not permitted")  # another user's process

    monkeypatch.setattr(os, "kill", refuse)
    assert portable.process_alive(12345)

    def gone(pid: int, sig: int) -> None:
        raise ProcessLookupError(3, "No such process")

    monkeypatch.setattr(os, "kill", gone)
    assert not portable.process_alive(12345)


class FakeKernel32:
    """OpenProcess, GetExitCodeProcess and CloseHandle of one process ``pid`` (other pids: no
    such process, GetLastError ERROR_INVALID_PARAMETER)."""

    def __init__(self, pid: int, exit_code: int = portable.STILL_ACTIVE, *, denied: bool = False,
                 code_fails: bool = False) -> None:
        self.pid, self.exit_code, self.denied, self.code_fails = pid, exit_code, denied, code_fails
        self.last_error = 0
        self.opened: list[tuple[int, bool, int]] = []
        self.closed: list[int] = []

    def OpenProcess(self, access: int, inherit: bool, pid: int) -> int | None:  # noqa: N802 - Win32's name
        self.opened.append((access, inherit, pid))
        if pid != self.pid or self.denied:
            self.last_error = portable.ERROR_ACCESS_DENIED if self.denied else 87  # ERROR_INVALID_PARAMETER
            return None
        return 0x1234

    def GetExitCodeProcess(self, handle: int, code: object) -> int:  # noqa: N802
        assert handle == 0x1234
        if self.code_fails:
            return 0
        code._obj.value = self.exit_code  # type: ignore[attr-defined]  # byref(c_uint32)
        return 1

    def CloseHandle(self, handle: int) -> int:  # noqa: N802
        self.closed.append(handle)
        return 1


@pytest.fixture
def kernel32(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeKernel32]:
    """As on Windows, where os.kill(pid, 0) would send Ctrl-C: it is never called."""
    monkeypatch.setattr(sys, "platform", "win32")

    def no_kill(pid: int, sig: int) -> None:
        raise AssertionError("os.kill on Windows")

    monkeypatch.setattr(os, "kill", no_kill)

    def install(*args: object, **kwargs: object) -> FakeKernel32:
        fake = FakeKernel32(*args, **kwargs)  # type: ignore[arg-type]
        monkeypatch.setattr(portable, "_kernel32", lambda: fake)
        monkeypatch.setattr(ctypes, "get_last_error", lambda: fake.last_error, raising=False)
        return fake

    return install


def test_process_alive_on_windows_asks_the_exit_code(kernel32: Callable[..., FakeKernel32]) -> None:
    fake = kernel32(4242)
    assert portable.process_alive(4242)
    assert fake.opened == [(portable.PROCESS_QUERY_LIMITED_INFORMATION, False, 4242)]
    assert fake.closed == [0x1234]
    assert not portable.process_alive(4243)  # no such process
    assert fake.closed == [0x1234]  # nothing opened, nothing closed
    assert write_ahead.pid_alive(4242) and not write_ahead.pid_alive(4243)
    assert not portable.process_alive(0)
    assert len(fake.opened) == 4


def test_process_alive_on_windows_when_ended_denied_or_mute(kernel32: Callable[..., FakeKernel32]) -> None:
    fake = kernel32(4242, exit_code=0)
    assert not portable.process_alive(4242)  # ended: its handle still gives its exit code
    assert fake.closed == [0x1234]
    fake = kernel32(4242, denied=True)
    assert portable.process_alive(4242)  # exists, may not be opened: as EPERM on POSIX
    fake = kernel32(4242, code_fails=True)
    assert portable.process_alive(4242)  # opened, so it exists; says nothing more
    assert fake.closed == [0x1234]


# -- sync_all_file_systems -------------------------------------------------------------------------
@posix_only
def test_sync_all_is_os_sync_on_posix(monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[bool] = []
    monkeypatch.setattr(os, "sync", lambda: synced.append(True))
    portable.sync_all_file_systems()
    monkeypatch.setattr(atomic_files, "_libc", False)  # no syncfs: sync_filesystem falls back on it
    atomic_files.sync_filesystem(Path("."))
    assert synced == [True, True]


def test_sync_all_is_nothing_on_windows(windows: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sync", raising=False)
    portable.sync_all_file_systems()
    monkeypatch.setattr(atomic_files, "_libc", False)  # no libc syncfs on Windows
    atomic_files.sync_filesystem(Path("."))
