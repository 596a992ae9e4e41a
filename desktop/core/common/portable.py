"""The few questions to the operating system whose answer differs between POSIX and Windows.

Each is one small function; modules that exist only on POSIX (``pwd``) are imported inside it,
on POSIX only, so every module of Veil imports on Windows (tests/test_imports_without_posix.py).
File locks are in :mod:`desktop.core.common.file_locks`.
"""

from __future__ import annotations

import os
import shutil
import sys


def _windows() -> bool:
    return sys.platform == "win32"


def account_id() -> str:
    """Who runs this process when the user name cannot be had: ``uid:<n>`` on POSIX (written so
    into audit lines, which are hashed: keep it unchanged), ``user:<name>`` on Windows, which has
    no uid (``user:unknown`` when Windows cannot say either)."""
    if _windows():
        try:
            return f"user:{os.getlogin()}"
        except OSError:
            return "user:unknown"
    return f"uid:{os.getuid()}"


def account_full_name() -> str:
    """The account's full name (POSIX: the first field of its passwd GECOS), or "" where there
    is none or the system cannot say (Windows: the caller falls back to the user name)."""
    if _windows():
        return ""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_gecos.split(",")[0].strip()
    except (ImportError, KeyError, AttributeError):  # no passwd entry for this uid (a container, say)
        return ""


def free_space(where: str | os.PathLike[str]) -> int:
    """Bytes this process may still write on the disk holding ``where``. POSIX: the blocks
    available to it (root also the blocks the file system reserves for root, as ``df`` counts
    them); Windows: the volume's free bytes (``shutil.disk_usage``). Raises OSError."""
    if _windows() or not hasattr(os, "statvfs"):
        return shutil.disk_usage(where).free
    stats = os.statvfs(where)
    blocks = stats.f_bfree if hasattr(os, "geteuid") and os.geteuid() == 0 else stats.f_bavail
    return blocks * stats.f_frsize


def sync_folder(folder: str | os.PathLike[str]) -> None:
    """Make a rename or a new file in ``folder`` durable: fsync the folder on POSIX. Windows
    cannot open a folder with ``os.open`` and has no folder fsync (NTFS journals its metadata):
    nothing to do there."""
    if _windows():
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
