"""Whether the process that left something behind still runs, without trusting a bare pid.

A pid is reused (after a reboot, or by any process once the old one ended) and means nothing in
another PID namespace. So each Veil process that leaves work in progress under a home holds an
exclusive lock (``flock`` on POSIX, :mod:`desktop.core.common.file_locks`) on a file of its own,
``.life/<token>.lock`` beside ``tmp``, for as long as it runs (:func:`life_token`); the kernel
drops the lock when the process ends, however it ends (kill -9 included). Another process asks
:func:`token_alive`: a lock it cannot take is held by a live process. Tokens are
``<pid>x<random>``: the pid is only a hint for people reading the folder.
"""

from __future__ import annotations

import atexit
import os
import secrets
from pathlib import Path

from desktop.core.common import file_locks
from desktop.core.common.portable import BINARY, can_rename_open_files

LIFE_FOLDER = ".life"
_HELD: dict[str, tuple[str, int]] = {}  # life folder -> (token, fd), for this process
#: Windows has no O_CLOEXEC: os.open makes descriptors non-inheritable there anyway.
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def life_folder(tmp: Path) -> Path:
    """Beside the temp folder (not in it: a temp folder of leftovers stays empty)."""
    return Path(tmp).parent / LIFE_FOLDER


def _forget_own() -> None:
    """At a normal exit: remove this process's lock files (after a crash, the next sweep does)."""
    for folder, (token, fd) in list(_HELD.items()):
        if token.startswith(f"{os.getpid()}x"):
            if not can_rename_open_files():  # Windows deletes no open file: let go of it first
                try:
                    os.close(fd)
                except OSError:
                    pass
            try:
                os.unlink(Path(folder) / f"{token}.lock")
            except OSError:
                pass


atexit.register(_forget_own)


def life_token(tmp: Path) -> str:
    """This process's token under ``tmp`` (made and locked on first use, held until it ends)."""
    folder = life_folder(tmp)
    held = _HELD.get(str(folder))
    if held is not None and held[0].startswith(f"{os.getpid()}x"):
        return held[0]
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = f"{os.getpid()}x{secrets.token_hex(8)}"
    fd = _locked_lock_file(folder, token)
    _HELD[str(folder)] = (token, fd)
    return token


def _locked_lock_file(folder: Path, token: str) -> int:
    """Make ``<token>.lock`` in ``folder`` and lock it; its descriptor, held until the process ends."""
    final = folder / f"{token}.lock"
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | _CLOEXEC | BINARY
    if not can_rename_open_files():
        # Windows: an open file can be neither renamed nor deleted, so it is made under its final
        # name and locked at once. A sweep that probes it in between finds it unlocked but cannot
        # delete it while it is open here, and the token has no work under it yet to be swept.
        fd = os.open(final, flags, 0o600)
        try:
            file_locks.lock(fd)
        except BaseException:
            os.close(fd)
            final.unlink(missing_ok=True)
            raise
        return fd
    # POSIX: locked under a name no sweep looks at, then renamed into place: no other process
    # ever sees the lock file unlocked (and takes this live process for a dead one).
    staged = folder / f".{token}.new"
    fd = os.open(staged, flags, 0o600)
    try:
        file_locks.lock(fd)
        os.rename(staged, final)
    except BaseException:
        os.close(fd)
        staged.unlink(missing_ok=True)
        raise
    return fd


def token_alive(tmp: Path, token: str) -> bool:
    """Whether the process that took ``token`` under ``tmp`` still runs."""
    held = _HELD.get(str(life_folder(tmp)))
    if held is not None and held[0] == token:
        return True
    path = life_folder(tmp) / f"{token}.lock"
    try:
        fd = os.open(path, os.O_RDWR | _CLOEXEC | BINARY)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: never take a live process's work for a leftover
    try:
        return not file_locks.lock(fd, blocking=False)
    except OSError:
        return True
    finally:
        os.close(fd)


def sweep_dead_tokens(tmp: Path) -> int:
    """Remove the lock files of processes that ended; how many."""
    folder = life_folder(tmp)
    removed = 0
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return 0
    for entry in entries:
        if entry.suffix == ".lock" and not token_alive(tmp, entry.stem):
            try:
                entry.unlink(missing_ok=True)
            except PermissionError:  # Windows: its process has it open, being made (or a reader)
                continue
            removed += 1
    return removed
