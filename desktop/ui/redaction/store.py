"""Saving masks while the person edits: shortly after each step, off the UI thread, so the work
survives closing the app. The reading and writing themselves are Qt-free
(:mod:`desktop.app.redaction.mask_store`); this module adds the debounce and the background run.

Saves are versioned (newest wins, see :class:`~desktop.app.redaction.mask_store.MaskStore`), so
a slow background save can never put back an older mask after a newer one, and a final
:meth:`MaskSaver.flush_now` on closing writes whatever is still waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from desktop.app.redaction.mask_store import MaskStore, Pending
from desktop.app.redaction.session import Slot
from desktop.core.redaction.mask import Mask
from desktop.ui.common.background import run_in_background
from desktop.ui.common.errors import describe_unexpected, message_for

log = logging.getLogger("veil.ui")

#: Edits are written this long after the last step (a burst of steps is one write).
SAVE_DELAY_MS = 250


class MaskSaver(QObject):
    """Writes changed masks to ``store`` in the background, newest wins; ``on_error`` hears of
    failures."""

    def __init__(self, store: MaskStore, on_error: Callable[[str], None], parent: QObject) -> None:
        super().__init__(parent)
        self.on_error = on_error
        self.store = store
        self._version = 0
        self._pending: Pending = {}
        self._inflight: Pending = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_DELAY_MS)
        self._timer.timeout.connect(self._flush_background)

    @property
    def idle(self) -> bool:
        """Nothing waits to be written (for tests and for Apply)."""
        return not self._pending and not self._inflight

    def changed(self, masks: dict[Slot, Mask]) -> None:
        for slot, mask in masks.items():
            self._version += 1
            self._pending[slot] = (self._version, mask)
        if masks:
            self._timer.start()

    def _flush_background(self) -> None:
        if not self._pending:
            return
        items, self._pending = self._pending, {}
        self._inflight.update(items)

        def done(_result: object) -> None:
            for slot, (version, _mask) in items.items():
                if self._inflight.get(slot, (0,))[0] == version:
                    del self._inflight[slot]

        def failed(exc: BaseException) -> None:
            log.error("Cannot save a redaction mask: %s", describe_unexpected(exc))
            done(None)
            for slot, item in items.items():  # try again with the next step (newer ones win)
                if slot not in self._pending:
                    self._pending[slot] = item
            self.on_error(f"The mask could not be saved: {message_for(exc)}")

        store = self.store  # the worker holds the plain store, never this QObject
        run_in_background(lambda _progress: store.write(items), done, failed)

    def flush_now(self) -> None:
        """Write everything waiting or still on its way, on this thread (closing, Apply)."""
        self._timer.stop()
        items = {**self._inflight}
        for slot, item in self._pending.items():
            if slot not in items or items[slot][0] < item[0]:
                items[slot] = item
        self._pending = {}
        if items:
            self.store.write(items)
        self._inflight.clear()
