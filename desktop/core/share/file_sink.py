"""Where a package's ciphertext goes: ``NAME.veil.partial``, written from a background thread
in bounded memory, fsynced and renamed to ``NAME.veil`` when complete, deleted otherwise.

The bytes are gathered in a few page-aligned 4 MiB buffers: the age writer encrypts each chunk
straight into one (:meth:`FileSink.reserve`, :meth:`FileSink.commit`), and a thread writes each
full buffer with one system call while the next one fills. Where the file system allows it the
file is opened with ``O_DIRECT``, so whole blocks go straight to the disk: a fraction of the CPU
time of going through the page cache (allocating, dirtying and writing back every page), nothing
left for the final fsync to wait for, and no package crowding the page cache. Elsewhere the
writes go through the page cache and every 16 MiB the thread asks the kernel to start writing
back what it wrote (``posix_fadvise`` DONTNEED).
"""

from __future__ import annotations

import errno
import mmap
import os
import queue
import threading
from pathlib import Path
from types import TracebackType

from desktop.core.common.atomic_files import fsync_dir
from desktop.core.common.disk_full import DISK_FULL_ERRNOS
from desktop.core.common.portable import BINARY
from desktop.core.share.errors import ExportError

try:
    import fcntl
except ImportError:  # not on Windows, which has no O_DIRECT either
    fcntl = None  # type: ignore[assignment]

_WRITEBACK_WINDOW = 16 << 20
_FADVISE = getattr(os, "POSIX_FADV_DONTNEED", None)
_O_DIRECT = getattr(os, "O_DIRECT", 0) if fcntl is not None else 0
_BLOCK = 4 << 20  # bytes per write
_ALIGN = 4096  # what O_DIRECT needs of addresses, sizes and offsets
#: The largest :meth:`FileSink.reserve` (an age chunk and its tag fit).
MAX_RESERVE = 128 << 10
_BUFFERS = 3


class FileSink:
    """Bytes for the open file descriptor ``fd`` (``direct``: opened with O_DIRECT), written on
    a thread. Errors of the thread surface at the next call, and at :meth:`close`."""

    def __init__(self, fd: int, direct: bool = False) -> None:
        self._fd, self._direct = fd, direct
        self._maps = [mmap.mmap(-1, _BLOCK + MAX_RESERVE) for _ in range(_BUFFERS)]
        self._free: queue.Queue[memoryview] = queue.Queue()
        for buffer in self._maps[1:]:
            self._free.put(memoryview(buffer))
        self._full: queue.Queue[tuple[memoryview, int] | None] = queue.Queue()
        self._current, self._fill = memoryview(self._maps[0]), 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="veil-package-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        written = flushed = 0
        while (item := self._full.get()) is not None:
            view, size = item
            if self._error is None:  # after a failure: drain, so the producer never blocks
                try:
                    self._write(view[:size])
                    written += size
                    if not self._direct and _FADVISE and written - flushed >= _WRITEBACK_WINDOW:
                        os.posix_fadvise(self._fd, flushed, written - flushed, _FADVISE)
                        flushed = written
                except BaseException as exc:  # noqa: BLE001 - re-raised on the producer's thread
                    self._error = exc
            self._free.put(view)

    def _buffered(self) -> None:
        """Turn O_DIRECT off: the kernel refuses it here, or what is left is not aligned."""
        if self._direct and fcntl is not None:
            flags = fcntl.fcntl(self._fd, fcntl.F_GETFL)
            fcntl.fcntl(self._fd, fcntl.F_SETFL, flags & ~_O_DIRECT)
        self._direct = False

    def _write(self, view: memoryview) -> None:
        done = 0
        while done < len(view):
            try:
                done += os.write(self._fd, view[done:])
            except OSError as exc:
                if exc.errno != errno.EINVAL or not self._direct:
                    raise
                self._buffered()
            if done % _ALIGN:
                self._buffered()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def _hand_over(self) -> None:
        """Queue the aligned part of the current buffer; carry the rest into the next one."""
        aligned = self._fill - self._fill % _ALIGN
        while True:
            self._check()
            try:
                following = self._free.get(timeout=0.1)
                break
            except queue.Empty:
                continue
        tail = self._fill - aligned
        following[:tail] = self._current[aligned:self._fill]
        self._full.put((self._current, aligned))
        self._current, self._fill = following, tail

    def reserve(self, size: int) -> memoryview:
        """The next ``size`` bytes of the file (at most MAX_RESERVE), to fill then
        :meth:`commit`."""
        self._check()
        if size > MAX_RESERVE:
            raise ValueError("reserve at most MAX_RESERVE bytes")
        return self._current[self._fill:self._fill + size]

    def commit(self, size: int) -> None:
        """The ``size`` bytes last reserved are filled."""
        self._fill += size
        if self._fill >= _BLOCK:
            self._hand_over()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Copy ``data`` into the buffers."""
        view, pos = memoryview(data).cast("B"), 0
        while pos < len(view):
            take = min(len(view) - pos, MAX_RESERVE)
            self.reserve(take)[:] = view[pos:pos + take]
            self.commit(take)
            pos += take
        return len(view)

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._full.put(None)
            self._thread.join()

    def close(self) -> None:
        """Write what is left, stop the thread, raise its error if it had one."""
        if self._thread.is_alive():
            self._hand_over()
            self._stop()
            self._check()
            self._buffered()  # the last part is not a whole number of blocks
            self._write(self._current[:self._fill])
            self._fill = 0
        self._check()
        self._release()

    def abandon(self) -> None:
        """Stop the thread without writing what is pending (the file is being discarded)."""
        self._fill = 0
        self._stop()
        self._release()

    def _release(self) -> None:
        self._current.release()
        while not self._free.empty():
            self._free.get().release()
        for buffer in self._maps:
            try:
                buffer.close()
            except BufferError:  # a view still held elsewhere; freed with it
                pass


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
        flags, direct = os.O_WRONLY | os.O_CREAT | os.O_EXCL | BINARY, bool(_O_DIRECT)
        try:
            try:
                self._fd = os.open(self.path, flags | _O_DIRECT, 0o600)
            except OSError as exc:  # no O_DIRECT on this file system
                if not direct or exc.errno != errno.EINVAL:
                    raise
                self._fd, direct = os.open(self.path, flags, 0o600), False
        except OSError as exc:
            raise ExportError(f"{self.path.name} cannot be created ({exc.strerror}).") from None
        self.sink = FileSink(self._fd, direct)

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
            except BaseException as failure:  # noqa: BLE001 - the partial file is removed, then it is raised
                exc = failure
            else:
                fsync_dir(self.output.parent)
                return
        self.sink.abandon()
        if self._fd >= 0:
            os.close(self._fd)
        self.path.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # the disk is full, or the folder went away
            error = ExportError(f"{self.output.name} could not be written ({exc.strerror}); "
                                "nothing was left behind.")
            # A full disk stays recognisable (desktop.core.common.disk_full.is_disk_full) to callers
            # that name the disk and what it needed.
            raise error from (exc if exc.errno in DISK_FULL_ERRNOS else None)
        if kind is None:
            raise exc
