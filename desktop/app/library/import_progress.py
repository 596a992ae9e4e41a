"""How far an import is, for a person watching it: files and bytes done, and the file it is
stuck on. No Qt; the CLI draws it on stderr, a window could draw it too.

The import loop and its worker processes update a :class:`Tracker`; a :class:`Ticker` thread
reads it a few times a second and hands an :class:`ImportStatus` to the sink, so a file that
takes long (a huge file, a slow disk) is named while it is being read, even though no result
arrives meanwhile. Workers say which file they are on through a small shared array (one slot
of two doubles per worker: the file's index, and when it started), never through a queue.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: A file read for longer than this is named in the status.
SLOW_SECONDS = 2.0
#: How often the status is handed to its sink.
TICK_SECONDS = 0.25


@dataclass(frozen=True)
class ImportStatus:
    """A snapshot of an import in progress (or, with ``finished``, at its end)."""

    done: int
    total: int
    #: Bytes of the files read and stored so far (not of those rejected unread).
    bytes_done: int
    #: Bytes of every file found.
    bytes_total: int
    elapsed: float
    #: The file that has been read the longest, once that is more than SLOW_SECONDS, else None.
    slow_file: str | None = None
    slow_seconds: float = 0.0
    finished: bool = False


StatusSink = Callable[[ImportStatus], None]


class Tracker:
    """Counts kept by the import loop; where each reader is, kept by the readers."""

    def __init__(self, labels: Sequence[str], sizes: Sequence[int], slots: Sequence[float] | None = None) -> None:
        self.labels, self.sizes = labels, sizes
        self.total, self.bytes_total = len(labels), sum(sizes)
        self.done = self.bytes_done = self.bytes_handled = 0
        self.started = time.monotonic()
        #: Pairs (index of the file, monotonic time it started, 0 when idle), one per reader.
        self.slots: Sequence[float] = slots if slots is not None else [0.0, 0.0]

    def reading(self, index: int) -> None:
        """This process starts reading file ``index`` (the serial path)."""
        self.slots[0], self.slots[1] = float(index), time.monotonic()  # type: ignore[index]

    def idle(self) -> None:
        self.slots[1] = 0.0  # type: ignore[index]

    def finished_one(self, index: int, read: int) -> None:
        """File ``index`` is done; ``read``: the bytes read and stored of it (0 if rejected)."""
        self.done += 1
        self.bytes_done += read
        self.bytes_handled += self.sizes[index]

    def status(self, finished: bool = False) -> ImportStatus:
        now = time.monotonic()
        slow, slow_for = None, 0.0
        if not finished:
            for at in range(0, len(self.slots) - 1, 2):
                index, since = int(self.slots[at]), self.slots[at + 1]
                if since and now - since > max(SLOW_SECONDS, slow_for) and 0 <= index < self.total:
                    slow, slow_for = self.labels[index], now - since
        return ImportStatus(self.done, self.total, self.bytes_done, self.bytes_total, now - self.started,
                            slow, slow_for, finished)


class Ticker:
    """A daemon thread handing ``tracker.status()`` to ``sink`` every TICK_SECONDS until
    :meth:`stop`, which hands over the final status itself."""

    def __init__(self, tracker: Tracker, sink: StatusSink) -> None:
        self._tracker, self._sink = tracker, sink
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="import-progress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self._sink(self._tracker.status())
            except Exception:  # noqa: BLE001 - a broken sink (a closed terminal, a gone window) never breaks the import
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self._sink(self._tracker.status(finished=True))
        except Exception:  # noqa: BLE001 - nor does it break the end of one
            pass
