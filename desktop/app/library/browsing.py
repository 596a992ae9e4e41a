"""Use case: what the study browser and ``veil ls`` show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from desktop.app.consent.consenting import study_badges
from desktop.app.library.home import VeilHome
from desktop.core.consent import StudyBadge
from desktop.core.library import index
from desktop.core.library.index import Counts, SeriesRow, StudyRow

__all__ = ["Catalogue", "SeriesRow", "StudyRow", "load_catalogue"]


@dataclass(frozen=True)
class Catalogue:
    """Every study with its series and its consent badge, read in one go from the index."""

    studies: list[StudyRow]
    series_by_study: dict[int, list[SeriesRow]] = field(default_factory=dict)
    counts: Counts = Counts(0, 0, 0, 0)
    #: The consent badge of each study today, by Study Instance UID.
    badges: dict[str, StudyBadge] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.studies


def load_catalogue(home: VeilHome, on: date | None = None) -> Catalogue:
    """The studies, their series and counts, and each study's consent badge on ``on`` (today).

    The badges cost one more read of the index (about 15 ms for 400 studies, 60 ms for 2,000,
    with a few hundred consent records), in the same background load.
    """
    conn = home.connect()
    try:
        studies = index.list_studies(conn)
        by_study: dict[int, list[SeriesRow]] = {}
        for row in index.list_series(conn):
            by_study.setdefault(row.study_ref, []).append(row)
        counts = index.counts(conn)
    finally:
        conn.close()
    return Catalogue(studies, by_study, counts, study_badges(home, on))
