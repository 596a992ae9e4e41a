"""Use case: what the study browser and ``veil ls`` show, and which study a ``--study`` means.

**Study numbers.** ``veil ls`` lists the studies in one fixed order: by patient (name, then
Patient ID, then birth date), then by study date and time, then by Study Instance UID (which
is unique, so no two studies ever tie). A study's *number* is its place in that order, counted
from 1. The same library always gives the same numbers; importing a study can renumber the
studies after it, so a number is for the command typed after a ``veil ls``, and a script should
keep to Study Instance UIDs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from desktop.app.consent.consenting import study_badges
from desktop.app.library.home import VeilHome
from desktop.core.common.errors import VeilError
from desktop.core.consent import StudyBadge
from desktop.core.library import index
from desktop.core.library.index import Counts, SeriesRow, StudyRow

__all__ = ["Catalogue", "SeriesRow", "StudyMatch", "StudyRefError", "StudyRow", "find_study", "load_catalogue",
           "resolve_study"]


@dataclass(frozen=True)
class Catalogue:
    """Every study with its series and its consent badge, read in one go from the index."""

    #: In the listing order; a study's number is its place here, from 1 (see the module's docstring).
    studies: list[StudyRow]
    series_by_study: dict[int, list[SeriesRow]] = field(default_factory=dict)
    counts: Counts = Counts(0, 0, 0, 0)
    #: The consent badge of each study today, by Study Instance UID.
    badges: dict[str, StudyBadge] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.studies


def _listing_key(study: StudyRow) -> tuple[str, ...]:
    return (study.patient_name, study.patient_id, study.birth_date, study.study_date, study.study_time,
            study.study_uid)


def _numbered_studies(conn) -> list[StudyRow]:  # noqa: ANN001 - an open index connection
    """Every study in the listing order: index ``i`` is study number ``i + 1``."""
    return sorted(index.list_studies(conn), key=_listing_key)


def load_catalogue(home: VeilHome, on: date | None = None) -> Catalogue:
    """The studies, their series and counts, and each study's consent badge on ``on`` (today).

    The badges cost one more read of the index (about 15 ms for 400 studies, 60 ms for 2,000,
    with a few hundred consent records), in the same background load.
    """
    conn = home.connect()
    try:
        studies = _numbered_studies(conn)
        by_study: dict[int, list[SeriesRow]] = {}
        for row in index.list_series(conn):
            by_study.setdefault(row.study_ref, []).append(row)
        counts = index.counts(conn)
    finally:
        conn.close()
    return Catalogue(studies, by_study, counts, study_badges(home, on))


@dataclass(frozen=True)
class StudyMatch:
    """A study a ``--study`` reference named: its number, the study, and how the reference matched
    ("Study Instance UID", "study number", "accession number", "patient ID")."""

    number: int
    study: StudyRow
    how: tuple[str, ...]
    #: Other studies the reference also fits, when the study number won (e.g. "the accession
    #: number of study 7"): said beside the choice so nobody mistakes one for the other.
    also: tuple[str, ...] = ()


class StudyRefError(VeilError):
    """A ``--study`` that names no study of the library, or several. The message carries no
    identifier; ``details`` (for the person at the terminal, never for a log) echo what they typed
    and list the candidate studies by number and Study Instance UID, never by patient name."""

    def __init__(self, message: str, details: list[str]) -> None:
        super().__init__(message)
        self.details = details


def find_study(home: VeilHome, ref: str) -> StudyMatch:
    """The one library study ``ref`` names: its Study Instance UID (PS3.3 C.7.2.1, always
    enough), its number in ``veil ls``, its Accession Number (0008,0050) or its patient's
    Patient ID (0010,0020). A UID of a library study wins outright, then a number that
    ``veil ls`` shows (what a person who just listed the library means; any other study the
    number also fits is named in :attr:`StudyMatch.also`); otherwise every study that an
    accession number or patient ID matches is a candidate, and only exactly one is accepted.

    Raises :class:`StudyRefError` when nothing matches or several studies do.
    """
    text = ref.strip()
    conn = home.connect()
    try:
        studies = _numbered_studies(conn)
    finally:
        conn.close()
    found: dict[str, StudyMatch] = {}

    def add(number: int, study: StudyRow, how: str) -> None:
        known = found.get(study.study_uid)
        found[study.study_uid] = StudyMatch(number, study, (known.how if known else ()) + (how,))

    for number, study in enumerate(studies, 1):
        if text and study.study_uid == text:
            return StudyMatch(number, study, ("Study Instance UID",))
        if text.isascii() and text.isdigit() and str(number) == text:
            add(number, study, "study number")
        if text and study.accession_number.strip() == text:
            add(number, study, "accession number")
        if text and study.patient_id.strip() == text:
            add(number, study, "patient ID")
    if text.isascii() and text.isdigit() and 1 <= int(text) <= len(studies) and str(int(text)) == text:
        number = int(text)
        also = tuple(f"the {' and '.join(m.how)} of study {m.number}"
                     for m in sorted(found.values(), key=lambda m: m.number) if m.number != number)
        return StudyMatch(number, studies[number - 1], ("study number",), also)
    if len(found) == 1:
        return next(iter(found.values()))
    if not found:
        raise StudyRefError(
            "No study in the library matches this --study. Give its number or Study Instance UID as "
            "'veil ls' shows them, its accession number, or its patient's ID.",
            [f"--study {text!r}" + (f" (the library holds {len(studies)} studies)" if studies else
                                                " (the library holds no study yet: veil import ...)")])
    candidates = sorted(found.values(), key=lambda m: m.number)
    width = len(str(candidates[-1].number))
    raise StudyRefError(
        f"This --study matches {len(candidates)} studies: give the number or the Study Instance UID of "
        "the one you mean.",
        [f"--study {text!r} is"]
        + [f"  {m.number:>{width}}  {m.study.study_uid}  (its {' and '.join(m.how)})" for m in candidates])


def resolve_study(home: VeilHome, ref: str) -> str:
    """The Study Instance UID of the one library study ``ref`` names (see :func:`find_study`)."""
    return find_study(home, ref).study.study_uid

