"""Atomic file writes: temp file in the same folder, fsync, rename, fsync the folder.

Temp names are random and never carry anything about the content (no patient identifiers).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def temp_name(prefix: str = ".tmp-") -> str:
    """A random file name for work in progress, safe to show in logs."""
    return f"{prefix}{secrets.token_hex(12)}"


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` so a reader sees the old file or the whole new one."""
    path = Path(path)
    tmp = path.with_name(temp_name())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
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
