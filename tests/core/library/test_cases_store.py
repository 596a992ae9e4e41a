"""Teaching cases in the encrypted library: saved whole, read back as saved, searched, and
following the library when a study or an image leaves it."""

from __future__ import annotations

import os

import pytest

from desktop.core.cases.annotations import Annotations, Kind
from desktop.core.cases.case import CaseError, KeyImage, KeyView, TeachingCase
from desktop.core.library import database
from desktop.core.library.cases import delete_case, list_cases, load_case, save_case

ROOT = "1.2.826.0.1.3680043.8.498"


@pytest.fixture
def conn(tmp_path):  # noqa: ANN001, ANN201 - an open library index with two studies of one patient
    conn = database.connect(tmp_path / "library.sqlite", os.urandom(32))
    conn.execute("INSERT INTO patients (id, patient_key, name) VALUES (1, 'key', 'Pemberthy^Jane')")
    for study in (1, 2):
        conn.execute("INSERT INTO studies (id, patient_ref, study_uid) VALUES (?, 1, ?)", (study, f"{ROOT}.{study}"))
        conn.execute("INSERT INTO series (id, study_ref, series_uid, modality) VALUES (?, ?, ?, 'CT')",
                     (study, study, f"{ROOT}.{study}.1"))
        for n in (1, 2, 3):
            conn.execute("INSERT INTO instances (id, series_ref, sop_instance_uid, rows, columns, object_sha256, "
                         "size_bytes, imported_at) VALUES (?, ?, ?, 64, 64, ?, 1, 'now')",
                         (study * 10 + n, study, f"{ROOT}.{study}.1.{n}", f"{study}{n}" * 32))
    yield conn
    conn.close()


def _key(study: int, n: int, caption: str = "") -> KeyImage:
    marks = Annotations(64, 64).add(Kind.ARROW, [(1, 1), (30, 30)]).add(Kind.TEXT, [(40, 10)], "Air")
    return KeyImage(f"{ROOT}.{study}.1.{n}", 0, KeyView(40, 400, rotation_quarters=1), marks, caption)


def _case(**fields) -> TeachingCase:  # noqa: ANN003
    return TeachingCase(**{"title": "Tension pneumothorax", "study_uids": (f"{ROOT}.1",), "diagnosis": "Pneumothorax",
                           "keywords": ("chest", "trauma"), "modality": "CT", "history": "Stab wound", **fields})


def test_a_case_reads_back_as_it_was_saved(conn):
    case = _case(study_uids=(f"{ROOT}.1", f"{ROOT}.2"))
    case = case.with_key_image(_key(2, 3, "Deep sulcus")).with_key_image(_key(1, 1))
    case_id = save_case(conn, case)
    assert load_case(conn, case_id) == case
    edited = case.moved_key_image(1, 0).with_fields(findings="Shift").without_key_image(1)
    assert save_case(conn, edited, case_id) == case_id
    assert load_case(conn, case_id) == edited
    assert conn.execute("SELECT COUNT(*) FROM key_images").fetchone()[0] == 1


def test_a_key_image_from_outside_the_case_or_the_library_is_refused_and_nothing_is_written(conn):
    with pytest.raises(CaseError, match="Key image 1 is not from a study of this case"):
        save_case(conn, _case().with_key_image(_key(2, 1)))
    with pytest.raises(CaseError, match="Key image 1 is no longer in the library"):
        save_case(conn, _case().with_key_image(KeyImage(f"{ROOT}.9.9", 0, KeyView(), Annotations(64, 64))))
    with pytest.raises(CaseError, match="study of this case is no longer in the library"):
        save_case(conn, _case(study_uids=(f"{ROOT}.7",)))
    assert conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 0
    assert not conn.in_transaction


def test_the_cases_view_searches_text_keywords_diagnosis_and_modality(conn):
    first = save_case(conn, _case().with_key_image(_key(1, 1)))
    second = save_case(conn, _case(title="Aortic dissection", diagnosis="Stanford A", keywords=("aorta",),
                                   history="Tearing chest pain, 50% of cases", modality="CT"))
    mr = save_case(conn, _case(title="Glioma", diagnosis="Glioblastoma", keywords=("brain",), modality="MR",
                               history=""))
    assert [r.id for r in list_cases(conn)] == [mr, second, first]  # most recently changed first (then newest)
    assert [r.id for r in list_cases(conn, "PNEUMO")] == [first]
    assert [r.id for r in list_cases(conn, "aorta")] == [second]
    assert [r.id for r in list_cases(conn, "tearing")] == [second]  # the history is searched too
    assert [r.id for r in list_cases(conn, "air")] == [first]  # and a key image's label
    assert [r.id for r in list_cases(conn, "50%")] == [second]  # % is a character, not a wildcard
    assert [r.id for r in list_cases(conn, "_")] == []
    assert [r.id for r in list_cases(conn, modality="mr")] == [mr]
    row = next(r for r in list_cases(conn) if r.id == first)
    assert (row.key_images, row.keywords, row.study_uids) == (1, ("chest", "trauma"), (f"{ROOT}.1",))


def test_a_case_follows_the_library_when_an_image_or_study_leaves_it(conn):
    case_id = save_case(conn, _case(study_uids=(f"{ROOT}.1", f"{ROOT}.2")).with_key_image(_key(1, 1))
                        .with_key_image(_key(1, 2)).with_key_image(_key(2, 1)))
    conn.execute("DELETE FROM instances WHERE id = 12")
    assert [k.sop_uid for k in load_case(conn, case_id).key_images] == [f"{ROOT}.1.1.1", f"{ROOT}.2.1.1"]
    conn.execute("DELETE FROM studies WHERE id = 2")
    case = load_case(conn, case_id)
    assert case.study_uids == (f"{ROOT}.1",) and [k.sop_uid for k in case.key_images] == [f"{ROOT}.1.1.1"]
    delete_case(conn, case_id)
    with pytest.raises(CaseError, match="no longer in the library"):
        load_case(conn, case_id)
    assert conn.execute("SELECT COUNT(*) FROM key_images").fetchone()[0] == 0


def test_a_case_lives_only_in_the_encrypted_index(conn, tmp_path):
    save_case(conn, _case(history="Pemberthy fell off a horse").with_key_image(_key(1, 1)))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for path in tmp_path.iterdir():
        assert b"Pemberthy" not in path.read_bytes() and b"pneumothorax" not in path.read_bytes().lower()
