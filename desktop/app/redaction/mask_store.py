"""The masks of a series in the library, read when Redact mode opens it and written as the person
edits. No Qt: any thread may call it (Redact mode calls it from worker threads).

Writes are versioned: a mask is written only if it is newer than what was written for its slot,
so a slow background write can never put back an older mask after a newer one.

Masks belong to the original images: the series is read as its originals, and a mask that
would be saved against a redacted version Veil made is saved against its original instead
(the two have the same size and geometry), never against the version.
"""

from __future__ import annotations

import logging
import threading

from desktop.app.library.home import VeilHome
from desktop.app.redaction.session import Slot
from desktop.core.library.database import Connection
from desktop.core.library.index import InstanceRow, list_instances
from desktop.core.library.masks import masks_of_series, save_mask
from desktop.core.redaction.mask import Mask

log = logging.getLogger("veil.ui")  # the name the log has always used for mask saving

#: Masks waiting to be written: slot -> (version, mask); a higher version is a newer edit.
Pending = dict[Slot, tuple[int, Mask]]
#: A series' original images and the masks stored for them, by the instance each belongs to.
SeriesMasks = tuple[list[InstanceRow], dict[int, list[Mask]]]


def load_masks(home: VeilHome, series_ref: int) -> SeriesMasks:
    """The series' original images and the masks stored for them."""
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


class MaskStore:
    """Reads and writes the masks of one library; plain Python, safe to share between threads
    (a Qt object released on a worker thread is how PySide deadlocks, so none is held here)."""

    def __init__(self, home: VeilHome) -> None:
        self.home = home
        self._lock = threading.Lock()
        self._written: dict[Slot, int] = {}

    def load(self, series_ref: int) -> SeriesMasks:
        """The series' original images and their stored masks."""
        return load_masks(self.home, series_ref)

    def write(self, items: Pending) -> None:
        """Write each mask unless a newer one was written for its slot already."""
        conn = self.home.connect()
        try:
            with self._lock:
                for slot, (version, mask) in items.items():
                    if self._written.get(slot, 0) >= version:
                        continue
                    save_mask(conn, original_of(conn, slot.owner), mask)
                    self._written[slot] = version
        finally:
            conn.close()
