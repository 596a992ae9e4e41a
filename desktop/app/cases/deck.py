"""Use case: teaching cases as a PowerPoint deck, through the privacy gate.

cases -> their studies and key images as the selection (nothing else leaves) -> consent for
the purpose (teaching, conference, publication...; never care: a deck is not encrypted), a
withdrawn consent refuses -> redacted versions (a key image with masks leaves as the version
Veil burned them into) -> burned-in review and residual OCR check of the key images -> every
typed text (fields, keywords, captions, labels) searched for the patients' identifiers
(:mod:`desktop.app.gate.typed_text`) -> each key image rendered at its view with its
annotations -> the deck built and written by the gate's writer (:func:`desktop.app.gate.
writing.write_deck`), atomically -> audit line and the accounting of disclosures.

The deck: per case a title slide (title, modality, anatomy, difficulty), one slide per key
image (its caption under it; history, findings and diagnosis in the speaker notes), and for an
"unknown case" the diagnosis only on a last reveal slide (never in the notes before it).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.app.cases.passage import CaseExport, encoded_key_images, load_cases, pass_gate
from desktop.app.common.tasks import CancelToken, Progress, no_progress
from desktop.app.consent.disclosing import pending_disclosure, record_disclosure
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.durability import write_ahead
from desktop.app.gate import Channel, Deck, DeckSlide, Review, writers
from desktop.app.library.home import VeilHome
from desktop.core.cases.case import TeachingCase
from desktop.core.common.disk_full import is_disk_full
from desktop.core.common.errors import VeilError
from desktop.core.common.faults import fault_point


@dataclass
class DeckReport(CaseExport):
    """How a deck export ended."""

    path: Path = Path()
    unknown: bool = False
    cases: int = 0
    slides: int = 0
    written: int = 0  # bytes

    def headline(self) -> str:
        refusal = self.refusal("Deck export")
        if refusal is not None:
            return refusal
        return (f"Wrote {self.path.name}: {self.cases} case{'' if self.cases == 1 else 's'}, {self.slides} slides"
                f"{' (unknown cases: the diagnosis on a last reveal slide)' if self.unknown else ''}.")


def _notes(case: TeachingCase, unknown: bool) -> str:
    parts = [("History", case.history), ("Findings", case.findings)]
    if not unknown:
        parts += [("Diagnosis", case.diagnosis), ("Differential", case.differential),
                  ("Teaching points", case.teaching_points)]
    return "\n\n".join(f"{name}: {text}" for name, text in parts if text)


def _case_slides(case: TeachingCase, images: list[bytes], unknown: bool) -> list[DeckSlide]:
    facts = " · ".join(x for x in (case.modality, case.anatomy, case.difficulty.value.capitalize()) if x)
    heading = "Unknown case" if unknown else case.title
    notes = _notes(case, unknown)
    slides = [DeckSlide(heading, body=facts + (f"\n\n{case.history}" if case.history else ""), notes=notes)]
    for n, (key, png) in enumerate(zip(case.key_images, images, strict=True), 1):
        slides.append(DeckSlide(f"{heading} — image {n} of {len(images)}", png, key.caption, notes=notes))
    if unknown:
        reveal = "\n\n".join(f"{name}: {text}" for name, text in (
            ("Diagnosis", case.diagnosis), ("Differential", case.differential), ("Findings", case.findings),
            ("Teaching points", case.teaching_points)) if text)
        slides.append(DeckSlide(f"Answer: {case.title}", body=reveal or case.title))
    return slides


def export_deck(home: VeilHome, case_ids: Sequence[int], purpose: ExportPurpose, path: str | os.PathLike[str], *,
                unknown: bool = False, confirm_burned_in: bool = False, review: Review | None = None,
                progress: Progress = no_progress, cancel: CancelToken | None = None) -> DeckReport:
    """Write the cases ``case_ids`` as one deck at ``path`` (a .pptx) through the privacy gate;
    a refusal, a cancel or a failure writes nothing. ``unknown``: each case's diagnosis only on
    its last (reveal) slide."""
    target = Path(path).expanduser()
    if target.suffix.lower() != ".pptx":
        raise VeilError("A slide deck is a .pptx file; give the file name ending in .pptx.")
    cases = load_cases(home, case_ids, purpose, "A slide deck")
    cancel = cancel or CancelToken()
    report = DeckReport(purpose, confirm_burned_in, path=target, unknown=unknown)
    cleared = pass_gate(home, cases, report, Channel.DECK, review, cancel)
    if report.refused:
        _audit(home, report)
        return report
    write = writers(cleared, report.review, confirm_burned_in, report.typed)
    encoded, sent = encoded_key_images(home, cases, cleared, write.encode, "png", report, progress, cancel)
    if report.cancelled or report.failed:
        _audit(home, report)
        return report
    slides = [slide for case, pngs in zip(cases, encoded, strict=True) for slide in _case_slides(case, pngs, unknown)]
    if unknown:
        title = "Unknown case" if len(cases) == 1 else f"Unknown cases ({len(cases)})"
    else:
        title = cases[0].title if len(cases) == 1 else f"Teaching cases ({len(cases)})"
    deck = Deck(title, "Teaching file", tuple(slides))
    intent = write_ahead.begin(home, "deck", target)
    try:
        write_ahead.expect(home, intent, disclosure=pending_disclosure(
            "deck.export", cleared.request, cleared.decision, sent, recipient=purpose.recipient,
            destination=str(target), profile="deck"))
        report.written = write.write_deck(target, deck)
        fault_point("case.written")
    except BaseException as exc:
        write_ahead.settle(home, intent, write_ahead.ABANDONED)
        if not is_disk_full(exc):
            raise
        report.disk_full = sum(len(p) for pngs in encoded for p in pngs) or -1  # the deck is about its pictures
        report.disk_folder = target.parent
        _audit(home, report)
        return report
    report.cases, report.slides = len(cases), len(slides) + 1  # and the deck's title slide
    _audit(home, report)
    report.disclosure = record_disclosure(home, "deck.export", cleared.request, cleared.decision, sent,
                                          recipient=purpose.recipient, destination=str(target), profile="deck",
                                          intent=intent)
    return report


def audit_case_export(home: VeilHome, action: str, report: CaseExport, **details: object) -> None:
    """The audit line of an export of cases: its outcome and counts, never the cases' text."""
    outcome = ("failed-disk-full" if report.disk_full
               else "refused-consent" if report.consent is not None and not report.consent.allowed
               else "refused-typed-text" if report.typed else "refused-burned-in" if report.refused
               else "cancelled" if report.cancelled else "failed" if report.failed else "completed")
    conn = home.connect()
    try:
        home.record(conn, action, outcome=outcome, purpose=str(report.purpose.purpose), failed=len(report.failed),
                    typed=len(report.typed), flagged=len(report.flagged),
                    confirmed_burned_in=report.confirm_burned_in and bool(report.flagged),
                    studies=sorted({home.audit.pseudonym(s.study_uid) for s in (report.consent.studies
                                                                                 if report.consent else ())}),
                    **details)
    finally:
        conn.close()


def _audit(home: VeilHome, report: DeckReport) -> None:
    audit_case_export(home, "deck.export", report, unknown=report.unknown, slides=report.slides)
