from __future__ import annotations

import os
import stat

import pytest

from desktop.core.common.errors import LibraryError
from desktop.core.library import database

KEY = os.urandom(32)


def test_new_index_is_encrypted_wal_with_foreign_keys_and_all_migrations(tmp_path):
    path = tmp_path / "library.sqlite"
    conn = database.connect(path, KEY)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert database.schema_version(conn) == len(database.migrations()) >= 1
    conn.execute("INSERT INTO imports (started_at) VALUES ('x')")
    conn.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.read_bytes().startswith(b"SQLite format 3")


def test_wrong_key_is_a_clear_error(tmp_path):
    path = tmp_path / "library.sqlite"
    database.connect(path, KEY).close()
    with pytest.raises(LibraryError, match="cannot be opened with this library's key"):
        database.connect(path, os.urandom(32))


def test_a_library_from_a_newer_veil_is_refused(tmp_path):
    path = tmp_path / "library.sqlite"
    conn = database.connect(path, KEY)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(LibraryError, match="newer Veil"):
        database.connect(path, KEY)


def test_migrations_are_numbered_without_gaps():
    numbers = [n for n, _ in database.migrations()]
    assert numbers == list(range(1, len(numbers) + 1))


def test_foreign_keys_are_enforced(tmp_path):
    conn = database.connect(tmp_path / "library.sqlite", KEY)
    with pytest.raises(database.IntegrityError):
        conn.execute("INSERT INTO studies (patient_ref, study_uid) VALUES (12345, '1.2')")


# -- counts and `veil ls` with redacted versions (issue 13) ---------------------------------------
def _library_with_redacted_ct(veil_home, tmp_path, redacted: int = 3):
    """A home with a twelve-image CT, its first ``redacted`` images redacted in Veil (a top band),
    and the CT's series_ref."""
    from desktop.app.library.home import VeilHome
    from desktop.app.library.importing import import_paths
    from desktop.app.redaction.redacting import apply_series_masks
    from desktop.core.library import index
    from desktop.core.library.masks import save_mask
    from desktop.core.redaction.mask import Mask, Scope
    from desktop.core.redaction.shapes import Rect
    from tests.conftest import pydicom_test_files, write_series

    home = VeilHome.open(veil_home)
    write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "ct", 12)
    import_paths(home, [tmp_path / "ct"])
    conn = home.connect()
    try:
        (series_ref,) = [r[0] for r in conn.execute("SELECT id FROM series")]
        for image in index.list_instances(conn, series_ref)[:redacted]:
            save_mask(conn, image.instance_ref, Mask(128, 128, scope=Scope.IMAGE).with_shape(Rect(0, 0, 0, 128, 16)))
    finally:
        conn.close()
    assert apply_series_masks(home, series_ref).written == redacted
    return home, series_ref


def test_counts_take_each_image_once_as_its_current_version(veil_home, tmp_path):
    from desktop.core.library import index

    home, _series = _library_with_redacted_ct(veil_home, tmp_path)
    conn = home.connect()
    try:
        assert conn.execute("SELECT count(*) FROM instances").fetchone()[0] == 15  # 12 originals, 3 versions
        assert index.counts(conn) == index.Counts(1, 1, 1, 12, 3)
        assert index.legacy_redacted_series(conn) == []  # versions live in their originals' series
    finally:
        conn.close()


def _legacy_redacted_series(home, tmp_path) -> None:
    """What Veil's redaction stored before migration 0007: a derived series of its own, every image
    of it stored "redacted by Veil" and none recorded as the version of an original."""
    import pydicom
    from pydicom.uid import generate_uid

    from desktop.app.library.importing import import_paths

    folder = tmp_path / "legacy"
    folder.mkdir()
    series_uid = generate_uid()
    original = sorted(p for p in (tmp_path / "ct").rglob("*") if p.is_file())[0]  # same patient and study
    for n in range(2):
        ds = pydicom.dcmread(original)
        ds.SeriesInstanceUID, ds.SOPInstanceUID = series_uid, generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.SeriesDescription, ds.InstanceNumber = "e+1 (redacted)", n + 1
        ds.save_as(folder / f"{n}.dcm")
    import_paths(home, [folder])
    conn = home.connect()
    try:
        conn.execute("UPDATE instances SET source_path = 'redacted by Veil' WHERE series_ref = "
                     "(SELECT id FROM series WHERE series_uid = ?)", (series_uid,))
        conn.commit()
    finally:
        conn.close()


def test_veil_ls_counts_redacted_versions_once_and_says_so(veil_home, tmp_path, capsys):
    from desktop.cli.main import main
    from desktop.core.library import index

    home, series_ref = _library_with_redacted_ct(veil_home, tmp_path)
    assert main(["ls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "1 patient, 1 study, 1 series, 12 instances (3 redacted in Veil)"
    assert lines[2].endswith("— 1 series, 12 instances (3 redacted in Veil)")
    assert "— 12 instances (3 redacted in Veil), 12 frames" in lines[4]  # lines[3]: the study's UID
    assert "redacted copies" not in "\n".join(lines)

    _legacy_redacted_series(home, tmp_path)
    conn = home.connect()
    try:
        (legacy,) = index.legacy_redacted_series(conn)
        assert legacy != series_ref
        assert index.counts(conn) == index.Counts(1, 1, 2, 14, 3)  # the copies are images of their own
    finally:
        conn.close()
    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    legacy_line = next(line for line in out.splitlines() if "e+1 (redacted)" in line)
    assert legacy_line.endswith("— 2 instances, 2 frames  [redacted copies, made by Veil before redacted versions]")
    assert out.count("redacted copies") == 1
