"""An exclusive lock on an open file, the same call on POSIX and on Windows.

Veil serialises processes that share a home with a lock on a file: the first open of a home
(``.open.lock``), every writer of ``audit.log``, audit forwarding, the identity's first use, and
the lock each running process holds on its own ``.life`` file (:mod:`desktop.core.common.liveness`).

POSIX: ``flock(2)``, a lock of the whole file owned by the open file description. It is dropped
when that description's last descriptor closes, and so when the process ends, however it ends
(SIGKILL included): liveness relies on it to tell a killed process from a live one. A second
``open`` of the same file, even in the same process, is a different holder.

Windows: ``msvcrt.locking`` of one byte (``LockFile``) at :data:`LOCK_OFFSET`, 1 GiB into the
file, far past any data (as SQLite does). Windows drops it too when the handle closes or the
process ends. Unlike ``flock`` it is mandatory: while it is held, other handles can neither read
nor write that byte, which is why it is not byte 0: others must still read ``audit.log`` while a
writer holds it (a lock past the end of a file is allowed and does not grow it). Blocking waits
retry the non-blocking call every few milliseconds: ``LK_LOCK`` gives up with an error after ten
seconds, where ``flock`` waits.

``fcntl`` and ``msvcrt`` are imported when a lock is taken, each on its own platform only, so
this module (and everything that locks) imports on both.
"""

from __future__ import annotations

import errno
import importlib
import os
import time
from typing import Any

from desktop.core.common import portable

#: Seconds between two tries of a blocking lock on Windows.
RETRY_INTERVAL = 0.01

#: Where the one locked byte is on Windows (SQLite's PENDING_BYTE, 1 GiB): past what the lock
#: files hold, and past some three million lines of ``audit.log``.
LOCK_OFFSET = 0x40000000


def lock(fd: int, *, blocking: bool = True) -> bool:
    """Take the exclusive lock of the open file ``fd``.

    ``blocking``: wait until it is free, then True. Otherwise True when taken now, False when
    another holder has it. Other errors (a descriptor that is not open, say) raise OSError.
    """
    if portable.is_windows():
        return _lock_windows(fd, blocking)
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # EWOULDBLOCK (EAGAIN): held elsewhere
        return False
    return True


def unlock(fd: int) -> None:
    """Give back the lock of ``fd`` taken by :func:`lock` (closing ``fd`` gives it back too)."""
    if portable.is_windows():
        msvcrt = _msvcrt()
        with _at_lock_byte(fd):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def _msvcrt() -> Any:
    """The ``msvcrt`` module (typed loosely: mypy, run on Linux, knows it only on Windows)."""
    return importlib.import_module("msvcrt")


def _lock_windows(fd: int, blocking: bool) -> bool:
    msvcrt = _msvcrt()
    while True:
        try:
            with _at_lock_byte(fd):
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno not in _HELD_ERRNOS:
                raise
            if not blocking:
                return False
            time.sleep(RETRY_INTERVAL)
            continue
        return True


#: What a non-blocking lock of a byte another handle holds fails with on Windows: EACCES (the C
#: runtime's documented "locking violation"); EDEADLOCK is what its LK_LOCK gives up with.
_HELD_ERRNOS = frozenset({errno.EACCES, errno.EDEADLOCK})


class _at_lock_byte:  # noqa: N801 - used as a context manager, like contextlib's
    """Seek ``fd`` to :data:`LOCK_OFFSET` (``msvcrt.locking`` locks from the current position)
    and back to where it was."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.where = 0

    def __enter__(self) -> None:
        self.where = os.lseek(self.fd, 0, os.SEEK_CUR)
        os.lseek(self.fd, LOCK_OFFSET, os.SEEK_SET)

    def __exit__(self, *exc: object) -> None:
        os.lseek(self.fd, self.where, os.SEEK_SET)
