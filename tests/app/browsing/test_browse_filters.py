"""The browser's patient list, modality and date filters, without Qt."""

from __future__ import annotations

from datetime import date

from desktop.app.browsing.filters import DateRange, StudyCriteria, modalities, patient_of, patients
from desktop.core.library.index import StudyRow

TODAY = date(2026, 12, 7)


def _study(ref: int, name: str, pid: str, day: str, modality: str, birth: str = "19700101") -> StudyRow:
    return StudyRow(study_ref=ref, patient_name=name, patient_id=pid, birth_date=birth, sex="F",
                    study_uid=f"1.2.3.{ref}", study_date=day, study_time="", accession_number="",
                    description="", modalities=modality, series_count=1, image_count=1, frame_count=1)


STUDIES = [_study(1, "Smith^Anna", "MRN-1", "20261207", "CT"), _study(2, "Smith^Anna", "MRN-1", "20261130", "MR\\PR"),
           _study(3, "Jones^Bob", "MRN-2", "2026.12.06", "CT, SR"), _study(4, "Jones^Bob", "MRN-2", "", "US"),
           _study(5, "Smith^Anna", "MRN-1", "20251201", "CT", birth="19800101")]  # another Anna Smith, same ID


def test_patients_group_studies_by_id_name_and_birth_date():
    rows = patients(STUDIES)
    assert [(p.name, p.birth_date, p.study_count) for p in rows] == [
        ("Jones^Bob", "19700101", 2), ("Smith^Anna", "19700101", 2), ("Smith^Anna", "19800101", 1)]
    only = StudyCriteria(patient=rows[1].key)
    assert [s.study_ref for s in STUDIES if only.keeps(s)] == [1, 2]
    assert patient_of(STUDIES[4]) not in {rows[0].key, rows[1].key}


def test_modality_filter_reads_every_form_of_a_studys_modality_list():
    assert modalities(STUDIES) == ["CT", "MR", "PR", "SR", "US"]
    ct = StudyCriteria(modality="CT")
    assert [s.study_ref for s in STUDIES if ct.keeps(s)] == [1, 3, 5]
    assert [s.study_ref for s in STUDIES if StudyCriteria(modality="PR").keeps(s)] == [2]


def test_date_ranges_count_back_from_today_and_a_study_without_a_date_is_kept_only_without_one():
    def kept(choice: DateRange) -> list[int]:
        first, last = choice.bounds(TODAY)
        return [s.study_ref for s in STUDIES if StudyCriteria(first_day=first, last_day=last).keeps(s)]

    assert kept(DateRange.ANY) == [1, 2, 3, 4, 5]
    assert kept(DateRange.TODAY) == [1]
    assert kept(DateRange.YESTERDAY) == [3]  # the ACR-NEMA YYYY.MM.DD form is a date too
    assert kept(DateRange.WEEK) == [1, 3]  # 1 to 7 December: 30 November is eight days back
    assert kept(DateRange.MONTH) == [1, 2, 3]
    assert kept(DateRange.YEAR) == [1, 2, 3]
    between = StudyCriteria(first_day=date(2025, 1, 1), last_day=date(2025, 12, 31), modality="CT")
    assert [s.study_ref for s in STUDIES if between.keeps(s)] == [5]
    assert not StudyCriteria().active and between.active
