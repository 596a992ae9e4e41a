"""Masks to and from the library while the person edits: loaded when a series opens in Redact
mode, saved shortly after each step, off the UI thread, so the work survives closing the app.

Saves are versioned: a write only lands if it is newer than what was written for that mask,
so a slow background save can never put back an older mask after a newer one (a final
:meth:`MaskSaver.flush_now` on closing writes whatever is still waiting).

Masks belong to the original images: the series is read as its originals, and a mask that
would be saved against a redacted version Veil made is saved against its original instead
(the two have the same size and geometry), never against the version.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from desktop.app.library.home import VeilHome
from desktop.core.library.database import Connection
from desktop.core.library.index import InstanceRow, list_instances
from desktop.core.library.masks import masks_of_series, save_mask
from desktop.core.redaction.mask import Mask
from desktop.ui.common.background import run_in_background
from desktop.ui.common.errors import describe_unexpected, message_for
from desktop.app.redaction.session import Slot

log = logging.getLogger("veil.ui")

#: Edits are written this long after the last step (a burst of steps is one write).
SAVE_DELAY_MS = 250

Pending = dict[Slot, tuple[int, Mask]]


def load_masks(home: VeilHome, series_ref: int) -> tuple[list[InstanceRow], dict[int, list[Mask]]]:
    """Worker thread: the series' original images and the masks stored for them."""
    conn = home.connect()
    try:
        return list_instances(conn, series_ref, versions="originals"), masks_of_series(conn, series_ref)
    finally:
        conn.close()


def original_of(conn: Connection, instance_ref: int) -> int:
    """The original a mask drawn on ``instance_ref`` belongs to: itself, unless it is a redacted
    version (which no mask is ever saved against)."""
    row = conn.execute("SELECT replaces_ref FROM instances WHERE id = ?", (instance_ref,)).fetchone()
    if row is None or row[0] is None:
        return instance_ref
    log.error("A mask was drawn on a redacted version (instance %s): saved against its original", instance_ref)
    return int(row[0])


class _Writer:
    """The part of the saver the worker threads use: plain Python, no Qt object (a Qt wrapper
    released on a worker thread is how PySide deadlocks)."""

    def __init__(self, home: VeilHome) -> None:
        self.home = home
        self.lock = threading.Lock()
        self.written: dict[Slot, int] = {}

    def write(self, items: Pending) -> None:
        """Any thread: write each mask unless a newer one was written already."""
        conn = self.home.connect()
        try:
            with self.lock:
                for slot, (version, mask) in items.items():
                    if self.written.get(slot, 0) >= version:
                        continue
                    save_mask(conn, original_of(conn, slot.owner), mask)
                    self.written[slot] = version
        finally:
            conn.close()


class MaskSaver(QObject):
    """Writes changed masks in the background, newest wins; ``on_error`` hears of failures."""

    def __init__(self, home: VeilHome, on_error: Callable[[str], None], parent: QObject) -> None:
        super().__init__(parent)
        self.on_error = on_error
        self._writer = _Writer(home)
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

        writer = self._writer
        run_in_background(lambda _progress: writer.write(items), done, failed)

    def flush_now(self) -> None:
        """Write everything waiting or still on its way, on this thread (closing, Apply)."""
        self._timer.stop()
        items = {**self._inflight}
        for slot, item in self._pending.items():
            if slot not in items or items[slot][0] < item[0]:
                items[slot] = item
        self._pending = {}
        if items:
            self._writer.write(items)
        self._inflight.clear()
