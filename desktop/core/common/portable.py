"""The few questions to the operating system whose answer differs between POSIX and Windows.

Each is one small function; modules that exist only on POSIX (``pwd``) are imported inside it,
on POSIX only, so every module of Veil imports on Windows (tests/test_imports_without_posix.py).
File locks are in :mod:`desktop.core.common.file_locks`.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
from typing import Any

#: Add to the flags of every ``os.open`` of a regular file: Windows opens files in text mode
#: unless told otherwise (a written ``\n`` becomes ``\r\n``, a read stops at Ctrl-Z), which would
#: change hashed audit lines, sealed objects and every atomic write. 0 on POSIX, which has no
#: text mode (tests/core/common/test_binary_opens.py checks every ``os.open`` of desktop/).
BINARY: int = getattr(os, "O_BINARY", 0)


def is_windows() -> bool:
    """Whether this is Windows, where each function here takes its other path (tests pretend it)."""
    return sys.platform == "win32"


def account_id() -> str:
    """Who runs this process when the user name cannot be had: ``uid:<n>`` on POSIX (written so
    into audit lines, which are hashed: keep it unchanged), ``user:<name>`` on Windows, which has
    no uid (``user:unknown`` when Windows cannot say either)."""
    if is_windows():
        try:
            return f"user:{os.getlogin()}"
        except OSError:
            return "user:unknown"
    return f"uid:{os.getuid()}"


def account_full_name() -> str:
    """The account's full name (POSIX: the first field of its passwd GECOS), or "" where there
    is none or the system cannot say (Windows: the caller falls back to the user name)."""
    if is_windows():
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
    if is_windows() or not hasattr(os, "statvfs"):
        return shutil.disk_usage(where).free
    stats = os.statvfs(where)
    blocks = stats.f_bfree if hasattr(os, "geteuid") and os.geteuid() == 0 else stats.f_bavail
    return blocks * stats.f_frsize


def sync_folder(folder: str | os.PathLike[str]) -> None:
    """Make a rename or a new file in ``folder`` durable: fsync the folder on POSIX. Windows
    cannot open a folder with ``os.open`` and has no folder fsync (NTFS journals its metadata):
    nothing to do there."""
    if is_windows():
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_at(fd: int, size: int, offset: int) -> bytes:
    """Up to ``size`` bytes of ``fd`` from ``offset`` (fewer at the end of the file), leaving its
    position where it was: ``os.pread`` on POSIX; Windows has none, so there it seeks, reads and
    seeks back (the audit log and its mirror open a descriptor of their own for each use, under
    the file's lock: no other thread moves its position meanwhile)."""
    if hasattr(os, "pread") and not is_windows():
        return os.pread(fd, size, offset)
    where = os.lseek(fd, 0, os.SEEK_CUR)
    try:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, size)
    finally:
        os.lseek(fd, where, os.SEEK_SET)


def sync_all_file_systems() -> None:
    """Flush every file system's dirty pages: ``os.sync`` on POSIX. Windows has no such call
    (flushing a whole volume needs an administrator's handle on it): nothing there, so what was
    written without its own fsync is not yet durable against a power cut (see
    :func:`desktop.core.common.atomic_files.sync_filesystem`)."""
    sync = getattr(os, "sync", None)
    if sync is not None and not is_windows():
        sync()


#: OpenProcess access right enough for GetExitCodeProcess, granted even for most processes of
#: other users (Windows Vista and later).
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
#: What GetExitCodeProcess says of a process that has not ended.
STILL_ACTIVE = 259
#: GetLastError after OpenProcess: the process exists but may not be queried.
ERROR_ACCESS_DENIED = 5


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a process of another user counts as running).

    POSIX: signal 0 (``kill(pid, 0)``): ProcessLookupError (ESRCH) is no process, PermissionError
    (EPERM) a process of another user; kill with signal 0 and a pid above 0 raises nothing else.
    Windows: ``os.kill(pid, 0)`` would send Ctrl-C to a console group there, so ask the process's
    exit code (OpenProcess, GetExitCodeProcess): STILL_ACTIVE is running; a process that exists but
    may not be opened (ERROR_ACCESS_DENIED) counts as running, as EPERM does on POSIX. (One that
    ended with exit code 259 reads as running: Windows cannot tell them apart.)
    Not a process id (0 or below): False.
    """
    if pid <= 0:
        return False
    if is_windows():
        return _process_alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_KERNEL32: Any = None


def _kernel32() -> Any:
    """kernel32.dll with the prototypes :func:`process_alive` calls (typed loosely: mypy, run on
    Linux, knows no WinDLL)."""
    global _KERNEL32
    if _KERNEL32 is None:
        kernel32 = getattr(ctypes, "WinDLL")("kernel32", use_last_error=True)  # noqa: B009 - Windows-only
        kernel32.OpenProcess.argtypes = (ctypes.c_uint32, ctypes.c_int, ctypes.c_uint32)
        kernel32.OpenProcess.restype = ctypes.c_void_p  # a HANDLE: pointer-sized
        kernel32.GetExitCodeProcess.argtypes = (ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32))
        kernel32.GetExitCodeProcess.restype = ctypes.c_int
        kernel32.CloseHandle.argtypes = (ctypes.c_void_p,)
        kernel32.CloseHandle.restype = ctypes.c_int
        _KERNEL32 = kernel32
    return _KERNEL32


def _process_alive_windows(pid: int) -> bool:
    kernel32 = _kernel32()
    handle = kernel32.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        # No such process (ERROR_INVALID_PARAMETER), or one that may not be opened.
        last_error = getattr(ctypes, "get_last_error")  # noqa: B009 - Windows-only (mypy runs on Linux)
        return bool(last_error() == ERROR_ACCESS_DENIED)
    try:
        code = ctypes.c_uint32()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True  # it exists (it was opened) but cannot say: as running, like EPERM
        return code.value == STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def remove_file(path: str | os.PathLike[str]) -> None:
    """Remove the file at ``path`` if it is there. Windows refuses to delete a read-only file
    (the object store seals its objects read-only: ``chmod 0400``, which Windows keeps as the
    read-only attribute), so there the attribute is cleared first; POSIX needs only the folder's
    write permission, and the file's mode is left alone."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    except PermissionError:
        if not is_windows():
            raise
        os.chmod(path, 0o600)
        os.unlink(path)


def can_rename_open_files() -> bool:
    """Whether a file may be renamed while this process holds it open: POSIX, yes; Windows, no
    (Python opens files without FILE_SHARE_DELETE, so a rename or delete of an open file fails,
    and by the same token no other process can delete it)."""
    return not is_windows()
