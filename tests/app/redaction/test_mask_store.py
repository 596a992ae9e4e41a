"""The masks of a series in the library (no Qt): read with the series' originals, written newest
first whatever order the writes land in, and never against a redacted version."""

from __future__ import annotations

from pathlib import Path

import pydicom

from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.app.redaction.mask_store import MaskStore, original_of
from desktop.app.redaction.redacting import apply_series_masks
from desktop.app.redaction.session import Slot
from desktop.core.library import index
from desktop.core.library.masks import masks_of_series
from desktop.core.redaction.mask import Mask, Scope
from desktop.core.redaction.shapes import Rect
from tests.conftest import pydicom_test_files, write_series

IMAGES = 3


def _library(tmp_path: Path) -> tuple[VeilHome, int, list[index.InstanceRow]]:
    """A library holding one CT series of three images: (home, series_ref, its images)."""
    files = write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "in", IMAGES)
    home = VeilHome.open()
    import_paths(home, [tmp_path / "in"])
    uid = pydicom.dcmread(files[0]).SeriesInstanceUID
    conn = home.connect()
    try:
        series_ref = conn.execute("SELECT id FROM series WHERE series_uid = ?", (uid,)).fetchone()[0]
        return home, series_ref, index.list_instances(conn, series_ref)
    finally:
        conn.close()


def _stored(home: VeilHome, series_ref: int) -> dict[int, list[Mask]]:
    conn = home.connect()
    try:
        return masks_of_series(conn, series_ref)
    finally:
        conn.close()


def banner(y1: float = 16) -> Mask:
    return Mask(128, 128, scope=Scope.SERIES).with_shape(Rect(0, 0, 0, 128, y1))


def test_a_series_is_read_with_its_masks_and_written_back(veil_home, tmp_path):
    home, series_ref, images = _library(tmp_path)
    store = MaskStore(home)
    read, masks = store.load(series_ref)
    assert [i.instance_ref for i in read] == [i.instance_ref for i in images] and masks == {}
    slot = Slot(images[1].instance_ref, Scope.SERIES, 0)
    store.write({slot: (1, banner())})
    assert MaskStore(home).load(series_ref)[1] == {images[1].instance_ref: [banner()]}  # a new reader sees it


def test_an_older_write_never_replaces_a_newer_one(veil_home, tmp_path):
    home, series_ref, images = _library(tmp_path)
    store = MaskStore(home)
    slot = Slot(images[0].instance_ref, Scope.SERIES, 0)
    store.write({slot: (2, banner(20))})
    store.write({slot: (1, banner(10))})  # a slow save of an earlier step lands last
    assert _stored(home, series_ref) == {images[0].instance_ref: [banner(20)]}
    store.write({slot: (3, banner(30))})
    assert _stored(home, series_ref) == {images[0].instance_ref: [banner(30)]}


def test_an_empty_mask_deletes_the_stored_one(veil_home, tmp_path):
    home, series_ref, images = _library(tmp_path)
    store = MaskStore(home)
    slot = Slot(images[0].instance_ref, Scope.IMAGE, 0)
    store.write({slot: (1, Mask(128, 128, scope=Scope.IMAGE).with_shape(Rect(0, 1, 1, 9, 9)))})
    store.write({slot: (2, Mask(128, 128, scope=Scope.IMAGE))})
    assert _stored(home, series_ref) == {}


def test_masks_belong_to_the_originals_never_to_a_redacted_version(veil_home, tmp_path):
    home, series_ref, images = _library(tmp_path)
    store = MaskStore(home)
    store.write({Slot(images[0].instance_ref, Scope.SERIES, 0): (1, banner())})
    assert apply_series_masks(home, series_ref).written == IMAGES
    conn = home.connect()
    try:
        version = index.list_instances(conn, series_ref)[0]
        assert version.redacted_version and original_of(conn, version.instance_ref) == version.replaces_ref
        assert original_of(conn, images[1].instance_ref) == images[1].instance_ref
    finally:
        conn.close()
    read, _masks = store.load(series_ref)
    assert [i.instance_ref for i in read] == [i.instance_ref for i in images]  # the originals, as drawn on
    label = Mask(128, 128, scope=Scope.IMAGE).with_shape(Rect(0, 10, 10, 20, 20))
    store.write({Slot(version.instance_ref, Scope.IMAGE, 0): (2, label)})
    assert _stored(home, series_ref)[version.replaces_ref] == [label, banner()]  # beside the banner drawn there
    assert version.instance_ref not in _stored(home, series_ref)
