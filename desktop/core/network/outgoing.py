"""What an exit to the network sends (a name for messages and an opener of the object's bytes),
how a send ended, and the work several connections share while they send at once: shared by
C-STORE (:mod:`.store`, over several associations) and STOW-RS (:mod:`.web_store`, several
requests in flight)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

#: (name for messages, opener of the object's bytes).
Outgoing = tuple[str, Callable[[], bytes]]


@dataclass
class Stored:
    """Objects the node took, those it refused (name, reason), and whether the user cancelled."""

    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False


class SharedWork(Generic[T]):
    """The items left to send (objects, or batches of them), shared by the connections sending
    at once: each takes the next one, none once one connection failed or the user cancelled;
    what each sent is counted under one lock, with the progress over ``total`` objects."""

    def __init__(self, items: Sequence[T], total: int, progress: Callable[[int, int], None],
                 cancelled: Callable[[], bool]) -> None:
        self.items, self.total, self.progress, self.cancelled = items, total, progress, cancelled
        self.result = Stored()
        self.errors: list[BaseException] = []
        self.next = 0
        self.done = 0
        self.lock = threading.Lock()

    def take(self) -> T | None:
        with self.lock:
            if self.errors or self.result.cancelled or self.next >= len(self.items):
                return None
            if self.cancelled():
                self.result.cancelled = True
                return None
            self.next += 1
            return self.items[self.next - 1]

    @contextmanager
    def keeping_errors(self) -> Iterator[None]:
        """One connection's work: what it raises stops the others and is kept for :meth:`outcome`."""
        try:
            yield
        except BaseException as exc:  # noqa: BLE001 - raised again by outcome() once every connection stopped
            with self.lock:
                self.errors.append(exc)

    def count(self, objects: int, failed: Sequence[tuple[str, str]] = ()) -> None:
        """``objects`` were sent, of which the node refused ``failed`` (name, reason)."""
        with self.lock:
            self.result.failed.extend(failed)
            self.result.sent += objects - len(failed)
            self.done += objects
            self.progress(self.done, self.total)

    def outcome(self) -> Stored:
        """Once every connection stopped: what was sent, or the first error raised."""
        if self.errors:
            raise self.errors[0]
        return self.result
