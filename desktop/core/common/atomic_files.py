"""Atomic file writes: temp file in the same folder, fsync, rename, fsync the folder.

Temp names are random and never carry anything about the content (no patient identifiers).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from desktop.core.common.portable import BINARY, sync_all_file_systems, sync_folder

if TYPE_CHECKING:
    import ctypes


#: Every de-identified file staged in an output folder starts so (:mod:`desktop.core.deid.staging`):
#: a crash leaves nothing else there, and a restart knows what to remove (:mod:`desktop.app.startup.recovery`).
OUTPUT_TEMP_PREFIX = ".veil-partial-"


def temp_name(prefix: str = ".tmp-") -> str:
    """A random file name for work in progress, safe to show in logs."""
    return f"{prefix}{secrets.token_hex(12)}"


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable (nothing to do on Windows)."""
    sync_folder(folder)


#: The C library once probed for syncfs: False when it has none.
_libc: ctypes.CDLL | Literal[False] | None = None


def sync_filesystem(path: Path) -> None:
    """Flush every dirty page of the file system holding ``path`` (Linux ``syncfs``).

    One call makes a whole batch of written files durable, where an fsync per file would
    cost a disk flush each; elsewhere it falls back to ``os.sync``. Windows has neither and does
    nothing here (:func:`desktop.core.common.portable.sync_all_file_systems`): there only the
    files a writer fsynced itself (atomic writes, audit lines, objects put one by one) are durable
    before the renames that follow; a batch flushed only by this call may be lost to a power cut.
    """
    global _libc
    if _libc is None:
        import ctypes
        import ctypes.util

        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            _libc.syncfs  # noqa: B018 - probe
        except (OSError, AttributeError):
            _libc = False
    if _libc:
        fd = os.open(path, os.O_RDONLY)
        try:
            if _libc.syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    sync_all_file_systems()


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o600, prefix: str = ".tmp-") -> None:
    """Write ``data`` to ``path`` so a reader sees the old file or the whole new one (its temp
    named ``prefix`` + random: :data:`OUTPUT_TEMP_PREFIX` in an output folder)."""
    path = Path(path)
    tmp = path.with_name(temp_name(prefix))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | BINARY, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
