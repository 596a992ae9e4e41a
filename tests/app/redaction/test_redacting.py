"""Applying a series' masks: redacted versions of the images, replacing them in the library's view."""

from __future__ import annotations

import io

import numpy as np
import pydicom

from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.app.redaction.redacting import apply_series_masks
from desktop.core.library import index
from desktop.core.library.masks import save_mask
from desktop.core.redaction.burn_in import REDACTION_MARK
from desktop.core.redaction.mask import Mask, Scope
from desktop.core.redaction.shapes import Rect
from tests.conftest import pydicom_test_files, teaching, write_series


def _series_ref(conn, series_uid: str) -> int:  # noqa: ANN001
    return conn.execute("SELECT id FROM series WHERE series_uid = ?", (series_uid,)).fetchone()[0]


def test_series_masks_make_redacted_versions_that_replace_the_originals(veil_home, tmp_path):
    src = tmp_path / "in"
    files = write_series(pydicom_test_files() / "CT_small.dcm", src, 4, "Smith^Anna", "MRN-1")
    home = VeilHome.open()
    import_paths(home, [src])
    original = pydicom.dcmread(files[0])
    conn = home.connect()
    try:
        series_ref = _series_ref(conn, original.SeriesInstanceUID)
        first = index.list_instances(conn, series_ref)[0]
        banner = Mask(128, 128, scope=Scope.SERIES).with_shape(Rect(0, 0, 0, 128, 16))
        save_mask(conn, first.instance_ref, banner)
        before = {i.object_sha256 for i in index.list_instances(conn, series_ref)}
        series_before = conn.execute("SELECT count(*) FROM series").fetchone()[0]
    finally:
        conn.close()
    report = apply_series_masks(home, series_ref)
    assert report.images == 4 and report.written == 4 and report.frames == 4 and not report.failed
    assert report.headline() == "Redacted 4 frames in 4 of 4 images."
    conn = home.connect()
    try:
        # No new series: the originals are untouched and still there, but each image's current
        # version is now its redacted one (what the browser counts and every export takes).
        assert conn.execute("SELECT count(*) FROM series").fetchone()[0] == series_before
        assert report.series_uid == original.SeriesInstanceUID
        assert {i.object_sha256 for i in index.list_instances(conn, series_ref, "originals")} == before
        redacted = index.list_instances(conn, series_ref)
        assert len(redacted) == 4 and all(i.redacted_version for i in redacted)
        assert not {i.object_sha256 for i in redacted} & before
        assert len(index.list_instances(conn, series_ref, "all")) == 8
        (row,) = [r for r in index.list_series(conn) if r.series_ref == series_ref]
        assert row.image_count == 4 and row.redacted_count == 4
        ds = pydicom.dcmread(io.BytesIO(home.objects.read(redacted[0].object_sha256)))
    finally:
        conn.close()
    pixels, source = ds.pixel_array, original.pixel_array
    assert (pixels[:16] == pixels[:16].min()).all() and pixels[:16].min() <= source.min()
    assert np.array_equal(pixels[16:], source[16:])
    assert ds.BurnedInAnnotation == "NO" and ds.SOPInstanceUID != original.SOPInstanceUID
    # Applying the same masks again adds nothing.
    again = apply_series_masks(home, series_ref)
    assert again.written == 0 and again.already_present == 4
    assert "redact.apply" in home.audit_path.read_text()


def _two_ct_with_a_mask(tmp_path, scope: Scope) -> tuple[VeilHome, int, str]:  # noqa: ANN001
    """A library with two CT images, a 40 x 40 mask on the first (``scope``): home, series ref,
    study UID."""
    src = tmp_path / "in"
    files = write_series(pydicom_test_files() / "CT_small.dcm", src, 2, "Smith^Anna", "MRN-1")
    home = VeilHome.open()
    import_paths(home, [src])
    conn = home.connect()
    try:
        series_ref = _series_ref(conn, pydicom.dcmread(files[0]).SeriesInstanceUID)
        first = index.list_instances(conn, series_ref)[0]
        save_mask(conn, first.instance_ref, Mask(128, 128, scope=scope).with_shape(Rect(0, 0, 0, 40, 40)))
    finally:
        conn.close()
    return home, series_ref, pydicom.dcmread(files[0]).StudyInstanceUID


def test_removing_every_mask_gives_the_original_back(veil_home, tmp_path):
    home, series_ref, _study = _two_ct_with_a_mask(tmp_path, Scope.IMAGE)
    apply_series_masks(home, series_ref)
    conn = home.connect()
    try:
        assert sum(i.redacted_version for i in index.list_instances(conn, series_ref)) == 1
        with conn:
            conn.execute("DELETE FROM masks")
    finally:
        conn.close()
    apply_series_masks(home, series_ref)
    conn = home.connect()
    try:
        current = index.list_instances(conn, series_ref)
        assert len(current) == 2 and not any(i.redacted_version for i in current)
    finally:
        conn.close()


def test_a_series_without_masks_says_so(veil_home, few_dicoms):
    home = VeilHome.open()
    import_paths(home, [few_dicoms])
    conn = home.connect()
    try:
        series_ref = conn.execute("SELECT id FROM series ORDER BY id").fetchone()[0]
    finally:
        conn.close()
    report = apply_series_masks(home, series_ref)
    assert report.images == 0 and report.headline() == "No image of this series has a redaction mask."


def test_exporting_a_redacted_image_records_the_clean_pixel_data_option(veil_home, tmp_path):
    from desktop.app.deid.deidentifying import deidentify_studies
    from desktop.core.deid.profiles import preset

    home, series_ref, study_uid = _two_ct_with_a_mask(tmp_path, Scope.SERIES)
    apply_series_masks(home, series_ref)
    report = deidentify_studies(home, preset("teaching"), [study_uid], tmp_path / "out", purpose=teaching(home))
    assert report.written == 2 and not report.refused  # the redacted versions, never the originals beside them
    codes = {}
    for path in (tmp_path / "out").rglob("*.dcm"):
        ds = pydicom.dcmread(path)
        codes.setdefault(ds.SeriesInstanceUID, set()).add(
            tuple(i.CodeValue for i in ds.DeidentificationMethodCodeSequence))
        # Kept by Clean Descriptors (it names no one), removed by the Basic Profile alone.
        assert str(ds.get("DerivationDescription", "")) in ("", REDACTION_MARK)
    assert [len(c) for c in codes.values()] == [1]
    recorded = next(iter(next(iter(codes.values()))))
    assert recorded == ("113100", "113105", "113107", "113108", "113101")
