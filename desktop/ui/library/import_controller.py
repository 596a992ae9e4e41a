"""Run imports in the background, one at a time; later requests wait in a queue."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop.app.common.formatting import plural
from desktop.app.common.tasks import CancelToken
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import NOTHING_FOUND, NOTHING_NEW, ImportReport, headline, import_paths
from desktop.ui.common.background import BackgroundTask, run_in_background

__all__ = ["NOTHING_FOUND", "NOTHING_NEW", "ImportController", "headline", "status_line"]

def status_line(report: ImportReport) -> str:
    """A short line for the status bar (the notice bar above the browser has the details)."""
    if report.cancelled:
        return f"Import cancelled: {plural(report.imported, 'new instance')}."
    if report.imported == 0:
        return "Import finished: nothing new."
    return f"Import finished: {plural(report.imported, 'new instance')}."


class ImportController(QObject):
    """Owns the running import (its cancel token) and the queue of imports waiting."""

    started = Signal()
    progressed = Signal(int, int)
    finished = Signal(object)  # ImportReport
    failed = Signal(object)  # the exception
    busy_changed = Signal(bool)
    queued = Signal(int)  # how many imports wait

    def __init__(self, parent: QObject | None = None, workers: int | None = None) -> None:
        super().__init__(parent)
        self.home: VeilHome | None = None
        self.workers = workers
        self._token: CancelToken | None = None
        self._task: BackgroundTask[ImportReport] | None = None
        self._queue: list[list[str]] = []
        #: The paths of the running import, or of the last one once it has finished.
        self.current_paths: list[str] = []

    @property
    def busy(self) -> bool:
        return self._token is not None

    @property
    def cancelling(self) -> bool:
        return self._token is not None and self._token.cancelled

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def start(self, paths: Sequence[str | os.PathLike[str]]) -> bool:
        """Import ``paths`` now, or queue them behind the running import (returns False)."""
        items = [str(Path(p)) for p in paths]
        if not items or self.home is None:
            return False
        if self.busy:
            self._queue.append(items)
            self.queued.emit(len(self._queue))
            return False
        home, token, workers = self.home, CancelToken(), self.workers
        self._token = token
        self.current_paths = items
        self.busy_changed.emit(True)
        self.started.emit()
        self._task = run_in_background(
            lambda progress: import_paths(home, items, progress=progress, cancel=token, workers=workers),
            self._on_success, self._on_failure, self.progressed.emit,
            key=f"import-{id(self)}", context=self)
        return True

    def cancel(self) -> None:
        """Stop the running import (files already imported stay) and drop the queue."""
        self._queue.clear()
        if self._token is not None:
            self._token.cancel()

    def _on_success(self, report: ImportReport) -> None:
        self._end()
        self.finished.emit(report)
        self._next()

    def _on_failure(self, exc: BaseException) -> None:
        self._end()
        self.failed.emit(exc)
        self._next()

    def _end(self) -> None:
        self._token = None
        self._task = None
        self.busy_changed.emit(False)

    def _next(self) -> None:
        if self._queue and not self.busy:
            self.start(self._queue.pop(0))
