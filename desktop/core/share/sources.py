"""What goes into a package: sources the writer reads, not paths.

The files of an export are often not plaintext on disk: originals are sealed in the object
store and de-identified outputs are staged sealed too. A :class:`PackageSource` says the
file's name in the package and its size, and opens a fresh binary stream of its bytes each
time: the writer reads every source twice (hashes and DICOM header first, then into the ZIP),
so every ``open`` must give the same bytes. A source that may change underneath detects it
itself and raises ExportError (:class:`PathSource` compares the file's change stamp).

A source may also give its SHA-256 and CRC-32. A given SHA-256 is trusted, not recomputed:
give it only when the bytes are authenticated as the ones it names (a sealed object is bound
to its content's SHA-256); a wrong one makes a package every reader refuses. With both given,
the first pass reads a DICOM file's header only, not the whole file; and a source that can
``peek`` (a sealed object: its first bytes decrypted without reading the whole first chunk)
gives just the header's bytes. Those bytes are checked in the second pass: the stream it
packages must begin with exactly them (see :class:`PrefixCheck`).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol, cast

from desktop.core.common.errors import Cancelled, VeilError
from desktop.core.dicom.input_budget import DEFAULT_BUDGET, open_regular
from desktop.core.share.errors import ExportError, PackageError


class PackageSource(Protocol):
    """One file of a package."""

    @property
    def name(self) -> str:
        """Its name in the package: ``DICOM/D000/IM000000`` or ``previews/...``."""

    @property
    def size(self) -> int:
        """Its size in bytes (ExportError, naming the member, if it cannot be known)."""

    @property
    def sha256(self) -> str | None:
        """Its lowercase hex SHA-256 when known and trusted, else None (then it is computed)."""

    @property
    def crc32(self) -> int | None:
        """Its CRC-32 when known, else None (then it is computed)."""

    def open(self) -> BinaryIO:
        """A new stream of its bytes, from the first."""

    # Optional: ``peek(size) -> bytes | None``, its first ``size`` bytes (or all, if fewer)
    # when they can be had without reading much more, else None. They may be unauthenticated:
    # pass 2 checks them (PrefixCheck).


class PrefixCheck:
    """Checks that a stream begins with the bytes pass 1 peeked at (their length and SHA-256),
    fed with the stream's blocks in order."""

    def __init__(self, name: str, size: int, sha256: bytes) -> None:
        self._name, self._left, self._sha256 = name, size, sha256
        self._digest = hashlib.sha256()

    @classmethod
    def of(cls, name: str, peeked: bytes) -> PrefixCheck:
        """The check for a stream that must begin with ``peeked``."""
        return cls(name, len(peeked), hashlib.sha256(peeked).digest())

    def feed(self, block: bytes | memoryview) -> None:
        """The next block; ExportError once the prefix is known to differ."""
        if self._left <= 0:
            return
        part = memoryview(block)[:self._left]
        self._digest.update(part)
        self._left -= len(part)
        if self._left == 0 and self._digest.digest() != self._sha256:
            raise changed(self._name)

    def finish(self) -> None:
        """At the end of the stream: ExportError if it was shorter than the prefix."""
        if self._left > 0:
            raise changed(self._name)


def changed(name: str) -> ExportError:
    """The error for a source whose bytes are not those read before."""
    return ExportError(f"{name} changed while it was being packaged; export again.")


def read_error(name: str, exc: BaseException) -> BaseException:
    """``exc``, raised while reading the source of ``name``, as the writer reports it (never
    with a path, which may name the patient)."""
    if isinstance(exc, (PackageError, Cancelled)):
        return exc
    if isinstance(exc, OSError):
        return ExportError(f"The source of {name} cannot be read ({exc.strerror}).")
    if isinstance(exc, VeilError):  # e.g. a sealed object that fails its integrity check
        return ExportError(f"The source of {name} cannot be read: {exc}")
    return exc


def filler(fh: BinaryIO) -> Callable[[memoryview], int]:
    """How to read ``fh`` into a buffer (returning the count, 0 at the end): its ``readinto``,
    or ``read`` and a copy for a stream without a working ``readinto``."""
    readinto = getattr(fh, "readinto", None)
    if readinto is not None and getattr(type(fh), "readinto", None) is not io.RawIOBase.readinto:
        return lambda view: readinto(view) or 0

    def copy(view: memoryview) -> int:
        data = fh.read(len(view))
        view[:len(data)] = data
        return len(data)

    return copy


def _stamp(info: os.stat_result) -> tuple[int, ...]:
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev


class PathSource:
    """A plaintext file on disk. Its change stamp (size, times, inode) is taken when its size
    is first asked; every ``open`` and every end of file read checks it, so a file rewritten
    between or during the passes fails the export instead of being packaged unhashed."""

    def __init__(self, name: str, path: Path | str, *, sha256: str | None = None,
                 crc32: int | None = None) -> None:
        self.name, self.path, self.sha256, self.crc32 = name, Path(path), sha256, crc32
        self._stamp: tuple[int, ...] | None = None

    @property
    def size(self) -> int:
        if self._stamp is None:
            try:
                stamp = _stamp(os.stat(self.path))
                DEFAULT_BUDGET.check_size(stamp[0])  # the input budget: a file over the size limit is refused
                self._stamp = stamp
            except (OSError, VeilError) as exc:
                raise read_error(self.name, exc) from None
        return self._stamp[0]

    def open(self) -> BinaryIO:
        self.size  # noqa: B018 - takes the stamp
        return cast(BinaryIO, _StampedFile(self.name, self.path, self._stamp or ()))



class _StampedFile(io.RawIOBase):
    """A file that raises ExportError at its end if its stamp moved since it was taken."""

    def __init__(self, name: str, path: Path, stamp: tuple[int, ...]) -> None:
        super().__init__()
        self._name, self._stamp = name, stamp
        self._file = io.FileIO(open_regular(path), "rb")  # a FIFO is refused, never waited on
        try:
            self._check()
        except BaseException:
            self._file.close()
            raise

    def _check(self) -> None:
        if _stamp(os.fstat(self._file.fileno())) != self._stamp:
            raise changed(self._name)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        if not data and size:
            self._check()
        return data or b""

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = self._file.readinto(buffer) or 0
        if not count and len(buffer):
            self._check()
        return count

    def close(self) -> None:
        self._file.close()
        super().close()


class ChunkSource:
    """A source read as a sequence of chunks made on demand, such as a sealed object decrypted
    as it is read: ``ChunkSource(name, size, lambda: store.iter_chunks(sha), sha256=sha)``.
    Each chunk is authenticated by whoever makes it; nothing is written to disk."""

    def __init__(self, name: str, size: int, chunks: Callable[[], Iterable[bytes]], *,
                 sha256: str | None = None, crc32: int | None = None,
                 peek: Callable[[int], bytes] | None = None) -> None:
        self.name, self.size, self.sha256, self.crc32 = name, size, sha256, crc32
        self._chunks, self._peek = chunks, peek

    def open(self) -> BinaryIO:
        return cast(BinaryIO, ChunkReader(iter(self._chunks())))

    def peek(self, size: int) -> bytes | None:
        """The first ``size`` bytes from the ``peek`` callable given (such as
        ``lambda n: store.peek(sha, n)``), or None without one."""
        return None if self._peek is None else self._peek(size)


class StreamSource:
    """A source read from a stream made on demand, such as a sealed object decrypted as it is
    read: ``StreamSource(name, size, lambda: store.open(sha), sha256=sha, crc32=crc,
    peek=lambda n: store.peek(sha, n))``. The stream authenticates what it gives (nothing is
    written to disk); one with ``readinto`` is read into the writer's reused buffers."""

    def __init__(self, name: str, size: int, opener: Callable[[], BinaryIO], *,
                 sha256: str | None = None, crc32: int | None = None,
                 peek: Callable[[int], bytes] | None = None) -> None:
        self.name, self.size, self.sha256, self.crc32 = name, size, sha256, crc32
        self._opener, self._peek = opener, peek

    def open(self) -> BinaryIO:
        return self._opener()

    def peek(self, size: int) -> bytes | None:
        """The first ``size`` bytes from the ``peek`` callable given, or None without one."""
        return None if self._peek is None else self._peek(size)


class ChunkReader(io.RawIOBase):
    """A binary stream over an iterator of chunks; a read that a whole chunk satisfies returns
    that chunk without copying it. Closing it closes the iterator (and what it holds open)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._chunk = b""
        self._pos = 0

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        while self._pos == len(self._chunk):
            chunk = next(self._chunks, None)
            if chunk is None:
                return False
            self._chunk, self._pos = bytes(chunk), 0
        return True

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        if not size or not self._fill():
            return b""
        if self._pos == 0 and size >= len(self._chunk):
            data, self._chunk = self._chunk, b""
            return data
        data = self._chunk[self._pos:self._pos + size]
        self._pos += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        super().close()


def as_source(item: PackageSource | tuple[str, Path | str]) -> PackageSource:
    """A source, or a (name in package, path) pair made into a :class:`PathSource`."""
    if isinstance(item, tuple):
        name, path = item
        return PathSource(name, path)
    return item
