"""Redaction masks kept in the library with their image (table ``masks``)."""

from __future__ import annotations

from desktop.core.library.database import Connection, rollback
from desktop.core.redaction.mask import Mask, Scope


def save_mask(conn: Connection, instance_ref: int, mask: Mask) -> None:
    """Store ``mask`` for the instance (replacing the one with the same scope and frame); an
    empty mask deletes it."""
    frame = mask.frame if mask.scope is Scope.FRAME else 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DELETE FROM masks WHERE instance_ref = ? AND scope = ? AND frame = ?",
                     (instance_ref, mask.scope.value, frame))
        if not mask.empty:
            conn.execute("INSERT INTO masks (instance_ref, scope, frame, mask_json) VALUES (?, ?, ?, ?)",
                         (instance_ref, mask.scope.value, frame, mask.to_json()))
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise


def masks_of_series(conn: Connection, series_ref: int) -> dict[int, list[Mask]]:
    """Every stored mask of a series, by the instance it was drawn on."""
    rows = conn.execute(
        """SELECT m.instance_ref, m.mask_json FROM masks m JOIN instances i ON m.instance_ref = i.id
           WHERE i.series_ref = ? ORDER BY m.instance_ref, m.scope, m.frame""", (series_ref,)).fetchall()
    out: dict[int, list[Mask]] = {}
    for instance_ref, text in rows:
        out.setdefault(instance_ref, []).append(Mask.from_json(text))
    return out


def masks_for(all_masks: dict[int, list[Mask]], instance_ref: int, frame: int, rows: int, columns: int) -> list[Mask]:
    """The masks that burn into ``frame`` of this instance: its own, and series-wide masks of
    same-size images."""
    out = []
    for owner, masks in all_masks.items():
        for mask in masks:
            if mask.applies_to(frame, rows, columns, same_image=owner == instance_ref):
                out.append(mask)
    return out
