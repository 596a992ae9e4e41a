"""Masks survive closing the app: stored in the (encrypted) library with their image."""

from __future__ import annotations

from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.core.library.masks import masks_for, masks_of_series, save_mask
from desktop.core.redaction.mask import Mask, Scope
from desktop.core.redaction.shapes import Rect


def test_masks_are_kept_per_instance_and_scope(veil_home, few_dicoms):
    home = VeilHome.open()
    import_paths(home, [few_dicoms])
    conn = home.connect()
    try:
        instance_ref, series_ref, rows, columns = conn.execute(
            "SELECT id, series_ref, rows, columns FROM instances WHERE rows IS NOT NULL ORDER BY id").fetchone()
        frame_mask = Mask(rows, columns).with_shape(Rect(0, 1, 1, 5, 5))
        series_mask = Mask(rows, columns, scope=Scope.SERIES).with_shape(Rect(0, 0, 0, columns, 8))
        save_mask(conn, instance_ref, frame_mask)
        save_mask(conn, instance_ref, series_mask)
        save_mask(conn, instance_ref, frame_mask.with_shape(Rect(0, 9, 9, 12, 12)))  # replaces it
    finally:
        conn.close()
    reopened = VeilHome.open().connect()  # a new session
    try:
        stored = masks_of_series(reopened, series_ref)
        assert len(stored[instance_ref]) == 2
        on_frame0 = masks_for(stored, instance_ref, 0, rows, columns)
        assert {m.scope for m in on_frame0} == {Scope.FRAME, Scope.SERIES}
        assert len([m for m in on_frame0 if m.scope is Scope.FRAME][0].shapes) == 2
        assert [m.scope for m in masks_for(stored, -1, 0, rows, columns)] == [Scope.SERIES]
        assert masks_for(stored, -1, 0, rows + 1, columns) == []
        save_mask(reopened, instance_ref, Mask(rows, columns))  # empty: deleted
        assert len(masks_of_series(reopened, series_ref)[instance_ref]) == 1
    finally:
        reopened.close()
