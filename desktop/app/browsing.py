"""Use case: what the study browser and ``veil ls`` show."""

from __future__ import annotations

from dataclasses import dataclass, field

from desktop.app.home import VeilHome
from desktop.core.library import index
from desktop.core.library.index import Counts, SeriesRow, StudyRow

__all__ = ["Catalogue", "SeriesRow", "StudyRow", "load_catalogue"]


@dataclass(frozen=True)
class Catalogue:
    """Every study with its series, read in one go from the index."""

    studies: list[StudyRow]
    series_by_study: dict[int, list[SeriesRow]] = field(default_factory=dict)
    counts: Counts = Counts(0, 0, 0, 0)

    @property
    def empty(self) -> bool:
        return not self.studies


def load_catalogue(home: VeilHome) -> Catalogue:
    conn = home.connect()
    try:
        studies = index.list_studies(conn)
        by_study: dict[int, list[SeriesRow]] = {}
        for row in index.list_series(conn):
            by_study.setdefault(row.study_ref, []).append(row)
        return Catalogue(studies, by_study, index.counts(conn))
    finally:
        conn.close()
