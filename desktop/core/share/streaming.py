"""Pass 2: the sources, read ahead on a thread, streamed into the ZIP (and so the age file).

A reader thread opens the sources in order and reads each in 1 MiB blocks (decrypting a sealed
source as it goes, without the GIL) into a few reused buffers, handed over by a bounded queue;
the calling thread takes the blocks, frames them in the ZIP and encrypts them; the file sink's
thread writes the ciphertext. Reading, encrypting and writing so overlap on different cores, in
memory bounded by the queues. Each source must give exactly the bytes pass 1 read: its size is
checked here, and a source that may change checks itself (see :mod:`sources`), and a source
whose header pass 1 peeked at must begin with exactly the bytes it peeked
(:class:`sources.PrefixCheck`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence

from desktop.core.share.scan import BUFFER, Scanned
from desktop.core.share.selection import Meter
from desktop.core.share.sources import changed, filler, read_error
from desktop.core.share.zip_writer import ZipStreamWriter

_DEPTH = 4  # blocks read ahead


class _End:
    """The end of one source."""


_END = _End()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


#: What the reader thread queues: a filled buffer and its byte count, a failure, or an end.
_Block = tuple[bytearray, int] | _Failure | _End


class _ReadAhead:
    """Reads the sources in order on a thread, at most ``_DEPTH`` blocks ahead, into a few
    reused 1 MiB buffers (a block given by :meth:`next` is valid until the next call)."""

    def __init__(self, sources: Sequence[Scanned]) -> None:
        self._sources = sources
        self._queue: queue.Queue[_Block] = queue.Queue(_DEPTH)
        self._free: queue.Queue[bytearray] = queue.Queue()
        for _ in range(_DEPTH + 2):  # those queued, the one being read, the one in use
            self._free.put(bytearray(BUFFER))
        self._lent: bytearray | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="veil-read", daemon=True)
        self._thread.start()

    def _put(self, item: _Block) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _buffer(self) -> bytearray | None:
        while not self._stop.is_set():
            try:
                return self._free.get(timeout=0.1)
            except queue.Empty:
                continue
        return None

    def _read(self, item: Scanned) -> bool:
        """Queue the blocks of one source; False if stopped."""
        prefix = item.prefix
        with item.source.open() as fh:
            fill = filler(fh)
            left = item.size
            while left:
                buffer = self._buffer()
                if buffer is None:
                    return False
                count = fill(memoryview(buffer)[:min(left, BUFFER)])
                if not count:
                    self._free.put(buffer)
                    break
                left -= count
                if prefix is not None:
                    prefix.feed(memoryview(buffer)[:count])
                if not self._put((buffer, count)):
                    return False
            if left or fh.read(1):  # at the end: a PathSource checks its stamp
                raise changed(item.source.name)
            if prefix is not None:
                prefix.finish()
        return True

    def _run(self) -> None:
        for item in self._sources:
            try:
                if not self._read(item):
                    return
            except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread, which raises it
                self._put(_Failure(read_error(item.source.name, exc)))
                return
            if not self._put(_END):
                return

    def next(self) -> memoryview | None:
        """The next block of the current source (valid until the next call); None at its
        end."""
        if self._lent is not None:
            self._free.put(self._lent)
            self._lent = None
        item = self._queue.get()
        if isinstance(item, _Failure):
            raise item.error
        if isinstance(item, _End):
            return None
        buffer, count = item
        self._lent = buffer
        return memoryview(buffer)[:count]

    def close(self) -> None:
        """Stop the thread (after the last source, or on an error or a cancel)."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()


def stream_sources(sources: Sequence[Scanned], archive: ZipStreamWriter, meter: Meter) -> None:
    """Pass 2: every source into ``archive`` as an entry, in order."""
    ahead = _ReadAhead(sources)
    try:
        for item in sources:
            archive.start_entry(item.source.name, item.size, item.crc32)
            while (data := ahead.next()) is not None:
                archive.write(data)
                meter.step(len(data))
            archive.end_entry()  # ExportError if the source gave fewer or more bytes
    finally:
        ahead.close()
