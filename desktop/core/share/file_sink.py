"""Where a package's ciphertext goes: ``NAME.veil.partial``, written from a background thread
in bounded memory, fsynced and renamed to ``NAME.veil`` when complete, deleted otherwise.

The age writer produces 64 KiB chunks while holding the GIL; the ``write`` system calls do not
need it. Batching the chunks (``os.writev``, no copy into a buffer) and handing the batches to a
thread lets the kernel's copy into the page cache overlap with encryption on another core.
At most ``depth`` batches of ``batch`` bytes wait in the queue. Every 16 MiB, the thread asks
the kernel to start writing back what it wrote (``posix_fadvise`` DONTNEED), so the final fsync
has little left to wait for and the package does not crowd the page cache.
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path
from types import TracebackType

from desktop.core.atomic_files import fsync_dir
from desktop.core.share.errors import ExportError

_WRITEBACK_WINDOW = 16 << 20
_FADVISE = getattr(os, "POSIX_FADV_DONTNEED", None)


class FileSink:
    """``write`` bytes to the open file descriptor ``fd``; ``close`` flushes and re-raises any
    error of the writer thread. Errors also surface at the next ``write``."""

    def __init__(self, fd: int, batch: int = 1 << 20, depth: int = 4) -> None:
        self._fd = fd
        self._batch_limit = batch
        self._batch: list[bytes] = []
        self._size = 0
        self._queue: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="veil-package-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        written = flushed = 0
        while (batch := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain after a failure so the producer never blocks
            try:
                written += self._write_all(batch)
                if written - flushed >= _WRITEBACK_WINDOW and _FADVISE is not None:
                    # Start writing back what is done (and let it leave the page cache), so
                    # the final fsync has little left to wait for.
                    os.posix_fadvise(self._fd, flushed, written - flushed, _FADVISE)
                    flushed = written
            except BaseException as exc:  # reported on the producer's thread
                self._error = exc

    def _write_all(self, batch: list[bytes]) -> int:
        views = [memoryview(part) for part in batch]
        total = sum(len(view) for view in views)
        while views:
            written = os.writev(self._fd, views[:1024])
            while written and views:
                if written >= len(views[0]):
                    written -= len(views.pop(0))
                else:
                    views[0] = views[0][written:]
                    written = 0
        return total

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Queue ``data`` (copied unless it is immutable ``bytes``)."""
        self._check()
        part = data if isinstance(data, bytes) else bytes(data)
        self._batch.append(part)
        self._size += len(part)
        if self._size >= self._batch_limit:
            self._queue.put(self._batch)
            self._batch, self._size = [], 0
        return len(part)

    def close(self) -> None:
        """Write what is left, stop the thread, raise its error if it had one."""
        if self._thread.is_alive():
            if self._batch:
                self._queue.put(self._batch)
                self._batch, self._size = [], 0
            self._queue.put(None)
            self._thread.join()
        self._check()

    def abandon(self) -> None:
        """Stop the thread without writing what is pending (the file is being discarded)."""
        self._batch, self._size = [], 0
        if self._thread.is_alive():
            self._error = self._error or RuntimeError("abandoned")
            self._queue.put(None)
            self._thread.join()


def partial_path(output: Path) -> Path:
    """Where the encrypted bytes go until the package is complete."""
    return output.with_name(output.name + ".partial")


class PartialFile:
    """``with PartialFile(output) as target:`` write to ``target.sink``; on a normal exit the
    file is fsynced and renamed to ``output``, on any exception it is deleted (and an OSError
    becomes an ExportError)."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.path = partial_path(output)
        self.path.unlink(missing_ok=True)  # ciphertext left by a crash; never plaintext
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise ExportError(f"{self.path.name} cannot be created ({exc.strerror}).") from None
        self.sink = FileSink(self._fd)

    def __enter__(self) -> PartialFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:
            try:
                self.sink.close()
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1
                os.replace(self.path, self.output)
            except BaseException as failure:
                exc = failure
            else:
                fsync_dir(self.output.parent)
                return
        self.sink.abandon()
        if self._fd >= 0:
            os.close(self._fd)
        self.path.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # the disk is full, or the folder went away
            raise ExportError(f"{self.output.name} could not be written ({exc.strerror}); "
                              "nothing was left behind.") from None
        if kind is None:
            raise exc
