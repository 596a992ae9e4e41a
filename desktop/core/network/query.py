"""C-FIND at study and series level (PS3.4 C.6.2, Study Root Query/Retrieve Information Model):
what the Query panel and ``veil query`` ask a node, and the matches it answers with.

The identifiers asked for are the ones PS3.4 C.6.2.1 lets a node match on (patient's name with
``*`` wildcards, patient ID, accession number, a study date range, modalities in study, study
description) and the ones a person needs to choose a study. Answers are capped at
:data:`MAX_MATCHES` (a node asked for everything may send tens of thousands): the query is
then cancelled and the result says it was cut.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind  # type: ignore[attr-defined]

from desktop.core.network.dimse import VEIL, Calling, associated
from desktop.core.network.nodes import DicomNode, NodeError

MAX_MATCHES = 5000
_PENDING = (0xFF00, 0xFF01)


@dataclass(frozen=True)
class StudyQuery:
    """What to look for; empty fields match everything."""

    patient_name: str = ""
    patient_id: str = ""
    accession: str = ""
    first_day: date | None = None
    last_day: date | None = None
    modality: str = ""
    description: str = ""

    def identifier(self) -> Dataset:
        ds = Dataset()
        ds.QueryRetrieveLevel = "STUDY"
        ds.PatientName = self.patient_name
        ds.PatientID = self.patient_id
        ds.AccessionNumber = self.accession
        ds.StudyDate = _date_range(self.first_day, self.last_day)
        ds.StudyTime = ""
        ds.ModalitiesInStudy = self.modality.upper()
        ds.StudyDescription = self.description
        ds.StudyInstanceUID = ""
        ds.PatientBirthDate = ""
        ds.NumberOfStudyRelatedSeries = ""
        ds.NumberOfStudyRelatedInstances = ""
        return ds


def _date_range(first: date | None, last: date | None) -> str:
    """PS3.4 C.2.2.2.5: ``YYYYMMDD-YYYYMMDD``, open at either end."""
    if first is None and last is None:
        return ""
    return f"{first.strftime('%Y%m%d') if first else ''}-{last.strftime('%Y%m%d') if last else ''}"


@dataclass(frozen=True)
class StudyMatch:
    study_uid: str
    patient_name: str
    patient_id: str
    birth_date: str
    study_date: str
    study_time: str
    accession: str
    description: str
    modalities: str
    series: int | None
    instances: int | None


@dataclass(frozen=True)
class SeriesMatch:
    series_uid: str
    number: int | None
    modality: str
    description: str
    instances: int | None


@dataclass
class Found:
    """Matches, and whether the node had more than :data:`MAX_MATCHES`."""

    matches: list[Any] = field(default_factory=list)
    cut: bool = False


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    if value is None:
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def _number(ds: Dataset, keyword: str) -> int | None:
    try:
        value = ds.get(keyword)
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def _find(node: DicomNode, identifier: Dataset, calling: Calling) -> tuple[list[Dataset], bool]:
    found: list[Dataset] = []
    with associated(node, [StudyRootQueryRetrieveInformationModelFind], calling) as assoc:
        started = time.monotonic()
        responses = assoc.send_c_find(identifier, StudyRootQueryRetrieveInformationModelFind)
        for status, answer in responses:
            if not status:
                if assoc.is_aborted or time.monotonic() - started < calling.timeout * 0.9:
                    raise NodeError(f"{node.name} broke off the query (it closed the association): a node does "
                                    f"this when it does not know the calling AE title {calling.ae_title}; add "
                                    "Veil to its list of modalities.")
                raise NodeError(f"{node.name} stopped answering the query (no status within "
                                f"{calling.timeout:.0f} s).")
            code = int(status.Status)
            if code in _PENDING:
                if answer is not None:
                    found.append(answer)
                if len(found) >= MAX_MATCHES:
                    assoc.send_c_cancel(1, query_model=StudyRootQueryRetrieveInformationModelFind)
                    return found, True
            elif code == 0x0000:
                break
            elif code == 0xFE00:
                break  # cancelled
            else:
                raise NodeError(f"{node.name} refused the query (status 0x{code:04X}"
                                f"{': ' + str(status.ErrorComment) if 'ErrorComment' in status else ''}).")
    return found, False


def study_match(answer: Dataset) -> StudyMatch:
    """One study as a node answered it (C-FIND identifier or QIDO-RS JSON read as a Dataset)."""
    a = answer
    return StudyMatch(_text(a, "StudyInstanceUID"), _text(a, "PatientName"), _text(a, "PatientID"),
                      _text(a, "PatientBirthDate"), _text(a, "StudyDate"), _text(a, "StudyTime"),
                      _text(a, "AccessionNumber"), _text(a, "StudyDescription"), _text(a, "ModalitiesInStudy"),
                      _number(a, "NumberOfStudyRelatedSeries"), _number(a, "NumberOfStudyRelatedInstances"))


def series_match(answer: Dataset) -> SeriesMatch:
    """One series as a node answered it."""
    a = answer
    return SeriesMatch(_text(a, "SeriesInstanceUID"), _number(a, "SeriesNumber"), _text(a, "Modality"),
                       _text(a, "SeriesDescription"), _number(a, "NumberOfSeriesRelatedInstances"))


def studies_found(answers: list[Dataset], cut: bool) -> Found:
    """The studies answered, newest first."""
    matches = [study_match(a) for a in answers if _text(a, "StudyInstanceUID")]
    matches.sort(key=lambda m: (m.study_date, m.study_time), reverse=True)
    return Found(matches, cut)


def series_found(answers: list[Dataset], cut: bool) -> Found:
    """The series answered, by series number."""
    matches = [series_match(a) for a in answers if _text(a, "SeriesInstanceUID")]
    matches.sort(key=lambda m: (m.number is None, m.number or 0))
    return Found(matches, cut)


def find_studies(node: DicomNode, query: StudyQuery, calling: Calling = VEIL) -> Found:
    """The studies on ``node`` matching ``query``, newest first."""
    return studies_found(*_find(node, query.identifier(), calling))


def find_series(node: DicomNode, study_uid: str, calling: Calling = VEIL) -> Found:
    """The series of one study on ``node``, by series number."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "SERIES"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = ""
    ds.SeriesNumber = ""
    ds.Modality = ""
    ds.SeriesDescription = ""
    ds.NumberOfSeriesRelatedInstances = ""
    return series_found(*_find(node, ds, calling))
