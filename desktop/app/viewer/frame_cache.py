"""Decoded frames kept in memory within a byte budget, and decoded ahead of the viewer.

The cache is an LRU bounded by bytes, so a 2,000-slice series never holds more than the
budget however fast a person scrolls. The prefetcher decodes the frames around the one on
screen on worker threads; asking for a new neighbourhood drops the requests of the old one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from typing import Generic, TypeVar

import numpy as np

DEFAULT_BUDGET = 256 << 20  # ~490 frames of 512x512x16-bit: far more than the prefetch radius

#: What names a frame for the prefetcher's decoder (the viewer's: (image, frame)).
Key = TypeVar("Key", bound=Hashable)


class FrameCache:
    """Thread-safe LRU of numpy frames, bounded by total bytes."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET) -> None:
        self.budget = budget_bytes
        self._frames: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def bytes_used(self) -> int:
        return self._bytes

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._frames

    def get(self, key: Hashable) -> np.ndarray | None:
        with self._lock:
            frame = self._frames.get(key)
            if frame is not None:
                self._frames.move_to_end(key)
            return frame

    def put(self, key: Hashable, frame: np.ndarray) -> None:
        if frame.nbytes > self.budget:
            return  # larger than the whole budget: decode it each time instead
        frame.flags.writeable = False  # shared with whoever shows it; nobody may change it
        with self._lock:
            old = self._frames.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._frames[key] = frame
            self._bytes += frame.nbytes
            while self._bytes > self.budget:
                _, evicted = self._frames.popitem(last=False)
                self._bytes -= evicted.nbytes


class Prefetcher(Generic[Key]):
    """Decodes ``keys`` into a :class:`FrameCache` on background threads."""

    def __init__(self, cache: FrameCache, decode: Callable[[Key], np.ndarray], workers: int = 2) -> None:
        self.cache = cache
        self._decode = decode
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="veil-prefetch")
        self._pending: dict[Key, Future[None]] = {}
        self._lock = threading.Lock()

    def want(self, keys: Iterable[Key]) -> None:
        """Decode these (nearest first); requests for anything else not yet started are dropped."""
        keys = list(keys)
        with self._lock:
            for key, future in list(self._pending.items()):
                if key not in keys and future.cancel():
                    del self._pending[key]
            for key in keys:
                if key in self.cache or key in self._pending:
                    continue
                self._pending[key] = self._pool.submit(self._run, key)

    def _run(self, key: Key) -> None:
        try:
            if key not in self.cache:
                self.cache.put(key, self._decode(key))
        except Exception:  # noqa: BLE001 - a frame that cannot be decoded (any codec error) is reported when it is shown
            pass
        finally:
            with self._lock:
                self._pending.pop(key, None)

    def wait(self) -> None:
        """Block until every request so far has run (tests and benchmarks)."""
        while True:
            with self._lock:
                futures = list(self._pending.values())
            if not futures:
                return
            for future in futures:
                try:
                    future.result()  # _run never raises: only a request dropped meanwhile can
                except CancelledError:
                    pass

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
