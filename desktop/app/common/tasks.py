"""Progress and cancellation for long use cases, independent of any UI toolkit."""

from __future__ import annotations

import threading
from collections.abc import Callable

#: Called with (done, total) as work advances; must be cheap and thread-safe.
Progress = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    """The default progress sink: ignore."""


class CancelToken:
    """Set from any thread (a Cancel button); checked by the worker between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()
