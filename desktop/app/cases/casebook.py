"""Use cases for the teaching cases in the library: a new case from studies (its modality and
anatomy filled from their series), saving, opening, listing with each case's consent state,
deleting, and marking a key image at the view on screen.

A draft shows the patient to its author (the Cases view lists the studies it comes from, as
the browser does); every way out sees only the de-identified case (:mod:`.deck`). The audit
log records that a case was saved or deleted, never its text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from desktop.app.consent.consenting import study_badges
from desktop.app.library.home import VeilHome
from desktop.core.cases.annotations import Annotations
from desktop.core.cases.case import CaseError, KeyImage, KeyView, TeachingCase
from desktop.core.consent.status import ConsentStatus, StudyBadge
from desktop.core.library import cases as store
from desktop.core.library.cases import CaseRow

#: The badge a case shows is its weakest study's, in this order (worst first).
_WORST_FIRST = (ConsentStatus.WITHDRAWN, ConsentStatus.EXPIRED, ConsentStatus.NONE, ConsentStatus.PARTIAL,
                ConsentStatus.VALID)


@dataclass(frozen=True)
class CaseListing:
    """A case as the Cases view shows it: its row and its consent state today."""

    row: CaseRow
    consent: ConsentStatus
    why: str

    @property
    def withdrawn(self) -> bool:
        """Consent for one of its studies was withdrawn: marked, and it cannot be exported."""
        return self.consent is ConsentStatus.WITHDRAWN


def _studies_facts(home: VeilHome, study_uids: Sequence[str]) -> tuple[str, str]:
    """The modalities and body parts of these studies' series ("CT/MR", "Chest"); the studies
    must be in the library and of one patient."""
    conn = home.connect()
    try:
        patients = set()
        for uid in study_uids:
            row = conn.execute("SELECT patient_ref FROM studies WHERE study_uid = ?", (uid,)).fetchone()
            if row is None:
                raise CaseError("A study of this case is not in the library.")
            patients.add(row[0])
        if len(patients) > 1:
            raise CaseError("A teaching case is made from the studies of one patient; make one case for each.")
        modalities: list[str] = []
        parts: list[str] = []
        for uid in study_uids:
            for modality, part in conn.execute(
                    """SELECT se.modality, se.body_part FROM series se JOIN studies st ON se.study_ref = st.id
                       WHERE st.study_uid = ? ORDER BY se.series_number, se.id""", (uid,)):
                if modality and modality not in modalities:
                    modalities.append(modality)
                nice = " ".join(w.capitalize() for w in str(part).replace("_", " ").split())
                if nice and nice not in parts:
                    parts.append(nice)
        return "/".join(modalities), ", ".join(parts)
    finally:
        conn.close()


def new_case(home: VeilHome, study_uids: Sequence[str], title: str, author: str = "") -> TeachingCase:
    """A new (unsaved) case from ``study_uids``, its modality and anatomy from their series."""
    modality, anatomy = _studies_facts(home, study_uids)
    return TeachingCase(title, tuple(study_uids), modality=modality, anatomy=anatomy, author=author)


def save(home: VeilHome, case: TeachingCase, case_id: int | None = None) -> int:
    """Keep ``case`` in the library (new, or over ``case_id``); the audit line names the case
    by its number and counts, never its text."""
    conn = home.connect()
    try:
        saved = store.save_case(conn, case, case_id)
        home.record(conn, "case.save", case=saved, created=case_id is None, studies=len(case.study_uids),
                    key_images=len(case.key_images))
        return saved
    finally:
        conn.close()


def load(home: VeilHome, case_id: int) -> TeachingCase:
    conn = home.connect()
    try:
        return store.load_case(conn, case_id)
    finally:
        conn.close()


def delete(home: VeilHome, case_id: int) -> None:
    conn = home.connect()
    try:
        store.delete_case(conn, case_id)
        home.record(conn, "case.delete", case=case_id)
    finally:
        conn.close()


def _badge(badges: dict[str, StudyBadge], study_uids: Sequence[str]) -> tuple[ConsentStatus, str]:
    found = [badges[u] for u in study_uids if u in badges]
    if not found:
        return ConsentStatus.NONE, "Its studies are no longer in the library."
    worst = min(found, key=lambda b: _WORST_FIRST.index(b.status))
    return worst.status, worst.tooltip


def listing(home: VeilHome, text: str = "", modality: str = "", on: date | None = None) -> list[CaseListing]:
    """The cases matching ``text`` and ``modality`` (see :func:`store.list_cases`), each with
    the consent state of its weakest study today."""
    conn = home.connect()
    try:
        rows = store.list_cases(conn, text, modality)
    finally:
        conn.close()
    badges = study_badges(home, on)
    return [CaseListing(row, *_badge(badges, row.study_uids)) for row in rows]


def key_image(home: VeilHome, sop_uid: str, frame: int, view: KeyView) -> KeyImage:
    """A key image of the image ``sop_uid`` (the one on screen: a redacted version is named by
    its original, so the case follows later redactions) and ``frame``, at ``view``."""
    conn = home.connect()
    try:
        row = conn.execute(
            """SELECT COALESCE(o.sop_instance_uid, i.sop_instance_uid), i.rows, i.columns,
                      COALESCE(i.number_of_frames, 1)
               FROM instances i LEFT JOIN instances o ON o.id = i.replaces_ref
               WHERE i.sop_instance_uid = ?""", (sop_uid,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise CaseError("That image is no longer in the library.")
    original, rows, columns, frames = row
    if not rows or not columns:
        raise CaseError("That object has no image to mark.")
    if not 0 <= frame < max(1, int(frames)):
        raise CaseError(f"That image has {frames} frames; frame {frame + 1} is not one of them.")
    return KeyImage(str(original), frame, view, Annotations(int(rows), int(columns)))


def mark(home: VeilHome, case: TeachingCase, sop_uid: str, frame: int, view: KeyView) -> TeachingCase:
    """``case`` with the image on screen marked as a key image (K), or its view updated."""
    return case.with_key_image(key_image(home, sop_uid, frame, view))
