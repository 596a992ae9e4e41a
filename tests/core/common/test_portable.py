"""desktop.core.common.portable: the POSIX answers as before, the Windows ones (with sys.platform
set to win32 and the POSIX calls taken away) without touching what Windows lacks."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from desktop.core.audit import log as audit_log
from desktop.core.common import disk_full, portable

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
