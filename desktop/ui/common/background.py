"""Long work off the UI thread, in the manner of Anki's ``aqt/operations``.

``run_in_background(op, on_success, on_failure)`` runs ``op(progress)`` on a worker thread of
a :class:`QThreadPool`. The op never touches a widget; it may call ``progress(done, total)``
from its thread. Results, failures and progress come back to the UI thread through the
queued signals of a small bridge object. Ops started under the same ``key`` supersede each
other: only the latest one's result (and progress) is delivered; earlier ones are dropped.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThreadPool, Signal, Slot

T = TypeVar("T")
Progress = Callable[[int, int], None]

_generations: dict[str, int] = {}
_counter = itertools.count(1)
_live: set[_Bridge] = set()  # bridges waiting for their op; kept alive until delivery


class _Bridge(QObject):
    """Lives on the UI thread; the worker emits, the queued slots deliver."""

    succeeded = Signal(object)
    failed = Signal(object)
    progressed = Signal(int, int)

    def __init__(self, task: BackgroundTask[Any]) -> None:
        super().__init__()
        self.task = task
        queued = Qt.ConnectionType.QueuedConnection
        self.succeeded.connect(self._on_succeeded, queued)
        self.failed.connect(self._on_failed, queued)
        self.progressed.connect(self._on_progressed, queued)

    @Slot(object)
    def _on_succeeded(self, result: object) -> None:
        _live.discard(self)
        if self.task.current:
            self.task.done = True
            self.task.on_success(result)
        elif self.task.on_dropped is not None:
            self.task.on_dropped(result)  # superseded or its window gone: release what it holds

    @Slot(object)
    def _on_failed(self, exc: object) -> None:
        _live.discard(self)
        if self.task.current:
            self.task.done = True
            self.task.on_failure(exc)  # type: ignore[arg-type]

    @Slot(int, int)
    def _on_progressed(self, done: int, total: int) -> None:
        if self.task.on_progress is not None and self.task.current:
            self.task.on_progress(done, total)


class BackgroundTask(Generic[T]):
    """A handle on one op: whether its result will still be delivered, and a way to drop it."""

    def __init__(self, key: str | None, context: QObject | None,
                 on_success: Callable[[T], object], on_failure: Callable[[BaseException], object],
                 on_progress: Progress | None, on_dropped: Callable[[T], object] | None = None) -> None:
        self.on_dropped = on_dropped
        self.key = key
        self.generation = next(_counter)
        self.context = context
        self.on_success = on_success
        self.on_failure = on_failure
        self.on_progress = on_progress
        self.dropped = False
        self.done = False
        if key is not None:
            _generations[key] = self.generation

    @property
    def current(self) -> bool:
        """False once superseded, dropped, or when its context widget is gone."""
        if self.dropped:
            return False
        if self.key is not None and _generations.get(self.key) != self.generation:
            return False
        return self.context is None or shiboken6.isValid(self.context)

    def drop(self) -> None:
        """Deliver nothing from this op (it still runs to its end)."""
        self.dropped = True


class _Runnable(QRunnable):
    def __init__(self, op: Callable[[Progress], object], bridge: _Bridge) -> None:
        super().__init__()
        self._op = op
        self._bridge = bridge

    def run(self) -> None:  # worker thread: no widget may be touched here
        bridge = self._bridge
        try:
            result = self._op(bridge.progressed.emit)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the UI
            bridge.failed.emit(exc)
        else:
            bridge.succeeded.emit(result)


def run_in_background(
    op: Callable[[Progress], T],
    on_success: Callable[[T], object],
    on_failure: Callable[[BaseException], object],
    on_progress: Progress | None = None,
    *,
    key: str | None = None,
    context: QObject | None = None,
    on_dropped: Callable[[T], object] | None = None,
) -> BackgroundTask[T]:
    """Run ``op(progress)`` off the UI thread; call back on the UI thread.

    ``key`` names a kind of work whose newer runs supersede older ones; ``context`` is a
    QObject (usually the window) whose destruction drops the result. ``on_dropped`` receives
    a result that is dropped, to release what it holds (open files, threads).
    """
    task: BackgroundTask[T] = BackgroundTask(key, context, on_success, on_failure, on_progress, on_dropped)
    bridge = _Bridge(task)
    _live.add(bridge)
    QThreadPool.globalInstance().start(_Runnable(op, bridge))
    return task


def pending() -> int:
    """How many ops have not delivered yet (for tests and for quitting)."""
    return len(_live)


def wait_for_all(timeout_ms: int = 30_000) -> bool:
    """Block until every op has returned (only when quitting: the window is gone by then)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)


def discard_pending() -> None:
    """Drop every result not yet delivered and free the bridges (when quitting)."""
    for bridge in list(_live):
        bridge.task.drop()
    QCoreApplication.sendPostedEvents()  # queued deliveries arrive, and are dropped
    _live.clear()
