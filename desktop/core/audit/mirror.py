"""Keeping ``audit.log`` level with the index, its source.

Veil commits each audit line in the encrypted index first and appends it to ``audit.log``
after. A crash or a full disk between the two leaves the file *behind* the index (missing its
last lines, or ending in the first bytes of one); :func:`catch_up` brings it level by
appending the lines the index holds after the file's last one, completing a line cut short.
It runs after every event and when a home is opened, under the file's exclusive ``flock``
(the lock every writer of the file takes), so two processes never interleave lines.

It only ever appends what the index holds: a file line the index does not have, or that
differs from it, is tampering, left where it is for :func:`desktop.core.audit.log.verify_log`
to name. The one exception is a tail that is no record at all (bytes after the last newline
that begin no line of the index and are no JSON record): a writer died mid-line, as an older
Veil could; those bytes are cut and reported, so the caller records their size and hash.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.core.audit.log import is_record, line_hash
from desktop.core.common import file_locks
from desktop.core.common.portable import BINARY, read_at

#: Bytes read from the end of the file to find its last line (doubled until one fits).
_TAIL_BLOCK = 8192


@dataclass(frozen=True)
class IndexLine:
    """One audit line as the index keeps it; ``text`` is None for lines written before
    migration 0009, of which only the hash was kept."""

    seq: int
    hash: str
    text: bytes | None


@dataclass(frozen=True)
class CatchUp:
    """What :func:`catch_up` did.

    ``written``: index lines appended. ``diverged``: the file's last line is not the index's
    (tampering: nothing of the file was changed). ``dropped``: the bytes of a line cut short
    that was never Veil's, removed (the caller records their size and SHA-256).
    ``unrecoverable``: an index line the file lacks has no text (written before 0009).
    """

    written: int = 0
    diverged: bool = False
    dropped: bytes | None = None
    unrecoverable: bool = False


@contextlib.contextmanager
def locked(path: Path) -> Iterator[int]:
    """``audit.log`` opened for appending (created if missing, owner-only) under an exclusive
    lock (``flock`` on POSIX); the descriptor. Raises OSError."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | BINARY, 0o600)
    try:
        file_locks.lock(fd)
        yield fd
    finally:
        os.close(fd)


def catch_up(fd: int, lines_from: Callable[[int], Sequence[IndexLine]]) -> CatchUp:
    """Append to the locked file ``fd`` every index line after its last one.

    ``lines_from(n)`` gives the index lines numbered ``n`` and after, in order. Raises OSError
    (a full disk): what was appended stays (a part line is completed by the next catch-up).
    """
    dropped = None
    for _ in range(3):  # at most: cut a torn tail, or close a record missing its newline
        size, last, torn = _tail(fd)
        seq = _seq(last)
        if seq is None:  # the last line is no record: tampering
            return CatchUp(diverged=True, dropped=dropped)
        rows = list(lines_from(seq))
        known = rows[0] if rows and rows[0].seq == seq else None
        diverged = last is not None and seq > 0 and (known is None or known.hash != line_hash(last))
        after = [row for row in rows if row.seq > seq]
        first = after[0].text + b"\n" if after and after[0].text is not None else None
        if torn and (first is None or not first.startswith(torn)):
            if is_record(torn):  # someone's whole record, missing only its newline
                _write_all(fd, b"\n")
            else:  # a line cut short that was never Veil's (or an older Veil's)
                os.ftruncate(fd, size - len(torn))
                os.fsync(fd)
                dropped = torn
            continue
        return _append(fd, after, len(torn), diverged, dropped)
    return CatchUp(diverged=True, dropped=dropped)


def _append(fd: int, rows: list[IndexLine], done: int, diverged: bool, dropped: bytes | None) -> CatchUp:
    out = bytearray()
    written = 0
    for row in rows:
        if row.text is None:
            break
        out += row.text + b"\n"
        written += 1
    if out[done:]:
        _write_all(fd, bytes(out[done:]))
    return CatchUp(written, diverged, dropped, unrecoverable=written < len(rows))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)


def _tail(fd: int) -> tuple[int, bytes | None, bytes]:
    """(file size, last complete line or None, the bytes after the last newline)."""
    size = os.fstat(fd).st_size
    block = min(size, _TAIL_BLOCK)
    while True:
        data = read_at(fd, block, size - block)
        end = data.rfind(b"\n")
        start = data.rfind(b"\n", 0, end) + 1 if end > 0 else 0
        if block < size and (end == -1 or start == 0):
            block = min(size, block * 2)
            continue
        torn = data[end + 1:]
        return size, (data[start:end] if end != -1 else None), torn


def _seq(line: bytes | None) -> int | None:
    """The sequence number of a line (0 for none), or None if it is no record."""
    if line is None:
        return 0
    try:
        seq = json.loads(line)["seq"]
        return seq if isinstance(seq, int) and seq > 0 and not isinstance(seq, bool) else None
    except (ValueError, KeyError, TypeError):
        return None
