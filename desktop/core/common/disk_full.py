"""A full disk is an ordinary error: recognising one, and the error that names it.

A disk with no room left shows up as an :class:`OSError` with ``ENOSPC`` (or ``EDQUOT``, a
quota spent) from a file write, or as SQLite's ``SQLITE_FULL`` ("database or disk is full")
from the index. :func:`is_disk_full` recognises both, also behind an error raised while
handling one (``raise ... from`` or an error raised in an ``except`` block), so a use case can
turn it into a :class:`DiskFullError` whose message names the disk and what it needed.
:class:`Reserve` holds room back while a change is stored, for the step after it (its audit
event, or taking it back) that must not fail half way.
"""

from __future__ import annotations

import errno
import os

from desktop.core.common.errors import VeilError
from desktop.core.common.portable import BINARY, free_space

#: The errors of a disk with no room left (ENOSPC) or a quota spent (EDQUOT).
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})

#: SQLite's result code for "database or disk is full".
SQLITE_FULL = 13
_SQLITE_FULL_TEXT = "database or disk is full"
_SQLITE_IO_TEXT = "disk I/O error"
#: Below this much room, an I/O error of SQLite is taken for a full disk.
LOW_ROOM = 1 << 20
#: What ``posix_fallocate`` says where the file system cannot allocate ahead (then: write).
_NO_FALLOCATE = frozenset({errno.EOPNOTSUPP, errno.ENOSYS})


class DiskFullError(VeilError):
    """A write stopped because the disk holding it is full; the message names the disk and how
    much room the operation needs, and says what was (not) written."""


def _full(exc: BaseException) -> bool:
    if isinstance(exc, DiskFullError):
        return True
    if isinstance(exc, OSError):
        return exc.errno in DISK_FULL_ERRNOS
    if getattr(exc, "sqlite_errorcode", None) == SQLITE_FULL:  # the standard library's sqlite3 (3.11+)
        return True
    # sqlcipher3 (and older sqlite3) errors carry only SQLite's message.
    return type(exc).__name__ in ("OperationalError", "DatabaseError") and _SQLITE_FULL_TEXT in str(exc)


def is_disk_full(exc: BaseException | None, where: str | os.PathLike[str] | None = None) -> bool:
    """Whether ``exc``, or an error it was raised from or while handling, is a full disk.

    SQLite reports a full disk met while growing its shared-memory or WAL file as a plain
    "disk I/O error": with ``where`` (the database's folder) such an error counts as a full
    disk when that disk has almost no room left (less than :data:`LOW_ROOM`)."""
    seen: set[int] = set()
    io_error = False
    while exc is not None and id(exc) not in seen:
        if _full(exc):
            return True
        io_error = io_error or (type(exc).__name__ in ("OperationalError", "DatabaseError")
                                and _SQLITE_IO_TEXT in str(exc))
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    if io_error and where is not None:
        room = free_bytes(where)
        return room is not None and room < LOW_ROOM
    return False


def free_bytes(where: str | os.PathLike[str]) -> int | None:
    """The room left for this process on the disk holding ``where`` (root may use the blocks
    reserved for it); None when it cannot be asked."""
    try:
        return free_space(where)
    except OSError:
        return None


class Reserve:
    """Room held on a disk while a change is made, then given back for the step that must not
    fail half way (writing the audit line of the change, or taking the change back).

    A file of ``size`` bytes at ``path`` (allocated, not sparse). Entering raises the
    :class:`OSError` of a disk without that much room, leaving nothing; :meth:`release`
    removes the file (and so does leaving the ``with`` block). Name it where the home's sweep
    of stale temp files finds it after a crash.
    """

    def __init__(self, path: str | os.PathLike[str], size: int) -> None:
        self.path = os.fspath(path)
        self.size = size

    def __enter__(self) -> Reserve:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | BINARY, 0o600)
        try:
            try:
                os.posix_fallocate(fd, 0, self.size)
            except (AttributeError, OSError) as exc:  # no fallocate here, or a file system without it
                if isinstance(exc, OSError) and exc.errno not in _NO_FALLOCATE:
                    raise
                os.ftruncate(fd, 0)
                block = bytes(64 * 1024)
                for _ in range(0, self.size, len(block)):
                    os.write(fd, block)
        except BaseException:
            os.close(fd)
            self.release()
            raise
        os.close(fd)
        return self

    def release(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __exit__(self, *exc: object) -> None:
        self.release()
