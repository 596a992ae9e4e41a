"""What the study browser's patient list, modality and date filters keep, without Qt.

A *patient* is who the studies' headers name: the same Patient ID, name and birth date (the
browser's rows carry no issuer, so two hospitals' identical IDs for different people stay apart
by name and birth date). Dates are the study's own (Study Date, PS3.3 C.7.2.1); a study without
one is kept only when no date filter is set, as Horos and Weasis do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from desktop.app.common.formatting import date_key
from desktop.core.library.index import StudyRow

PatientKey = tuple[str, str, str]


def patient_of(study: StudyRow) -> PatientKey:
    """Who ``study`` is of: (Patient ID, name, birth date)."""
    return study.patient_id, study.patient_name, study.birth_date


@dataclass(frozen=True)
class PatientRow:
    key: PatientKey
    name: str
    patient_id: str
    birth_date: str
    sex: str
    study_count: int


def patients(studies: Sequence[StudyRow]) -> list[PatientRow]:
    """Every patient of ``studies``, sorted by name then ID, with how many studies each has."""
    counts = Counter(patient_of(s) for s in studies)
    first: dict[PatientKey, StudyRow] = {}
    for study in studies:
        first.setdefault(patient_of(study), study)
    rows = [PatientRow(key, s.patient_name, s.patient_id, s.birth_date, s.sex, counts[key])
            for key, s in first.items()]
    return sorted(rows, key=lambda p: (p.name.casefold(), p.patient_id.casefold(), p.birth_date))


def modalities(studies: Sequence[StudyRow]) -> list[str]:
    """Every modality in ``studies`` (a study lists several as ``CT\\PR`` or ``CT, PR``)."""
    found = {m for s in studies for m in split_modalities(s.modalities)}
    return sorted(found)


def split_modalities(text: str) -> list[str]:
    return [m.strip().upper() for m in text.replace("\\", ",").replace("/", ",").split(",") if m.strip()]


class DateRange(StrEnum):
    ANY = "Any date"
    TODAY = "Today"
    YESTERDAY = "Yesterday"
    WEEK = "Last 7 days"
    MONTH = "Last 30 days"
    YEAR = "Last 12 months"
    BETWEEN = "Between…"

    def bounds(self, today: date) -> tuple[date | None, date | None]:
        """The first and last day it keeps (None: open); BETWEEN's come from the user."""
        days = {DateRange.TODAY: 0, DateRange.WEEK: 6, DateRange.MONTH: 29, DateRange.YEAR: 364}
        if self is DateRange.YESTERDAY:
            day = today - timedelta(days=1)
            return day, day
        if self in days:
            return today - timedelta(days=days[self]), today
        return None, None


def study_day(study: StudyRow) -> date | None:
    """The study's date, or None when it has none (or not a valid one)."""
    key = date_key(study.study_date)
    if len(key) != 8 or not key.isdigit():
        return None
    try:
        return date(int(key[:4]), int(key[4:6]), int(key[6:]))
    except ValueError:
        return None


@dataclass(frozen=True)
class StudyCriteria:
    """The browser's filters besides the typed words: a patient, a modality, a date range."""

    patient: PatientKey | None = None
    modality: str = ""
    first_day: date | None = None
    last_day: date | None = None

    @property
    def active(self) -> bool:
        return self.patient is not None or bool(self.modality) or self.first_day is not None \
            or self.last_day is not None

    def keeps(self, study: StudyRow) -> bool:
        if self.patient is not None and patient_of(study) != self.patient:
            return False
        if self.modality and self.modality not in split_modalities(study.modalities):
            return False
        if self.first_day is None and self.last_day is None:
            return True
        day = study_day(study)
        if day is None:
            return False
        return (self.first_day is None or day >= self.first_day) and (self.last_day is None or day <= self.last_day)
