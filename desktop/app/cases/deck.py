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
from dataclasses import dataclass, field
from pathlib import Path

from desktop.app.cases import casebook
from desktop.app.common.formatting import plural
from desktop.app.common.tasks import CancelToken, Progress, no_progress
from desktop.app.consent.disclosing import Sent, pending_disclosure, record_disclosure
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.consent.purpose_rules import unencrypted_allowed
from desktop.app.durability import write_ahead
from desktop.app.gate import (
    Channel,
    Deck,
    DeckSlide,
    Delivery,
    Image,
    Review,
    Selection,
    TypedLeak,
    enter,
    find_typed_leaks,
    patient_identifiers,
    review_images,
    writers,
)
from desktop.app.gate.review import Reviewed
from desktop.app.library.home import VeilHome
from desktop.app.share.slides import slide_pixels
from desktop.core.cases.burn import burn_key_image
from desktop.core.cases.case import KeyImage, TeachingCase
from desktop.core.common.errors import VeilError
from desktop.core.consent import Decision
from desktop.core.imaging.display import Window, display_params, modality_values
from desktop.core.imaging.frames import decode_frame, read_image
from desktop.core.imaging.geometry import pixel_spacing

#: The longer side of a key image on a slide, in pixels.
DECK_IMAGE_SIDE = 1600


@dataclass
class DeckReport(Reviewed):
    """How a deck export ended."""

    purpose: ExportPurpose
    path: Path
    unknown: bool = False
    confirm_burned_in: bool = False
    consent: Decision | None = None
    review: Review | None = None
    typed: list[TypedLeak] = field(default_factory=list)
    cases: int = 0
    slides: int = 0
    written: int = 0  # bytes
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key image, reason)
    cancelled: bool = False
    disclosure: int | None = None

    @property
    def refused(self) -> bool:
        return ((self.consent is not None and not self.consent.allowed) or bool(self.residual) or bool(self.typed)
                or (self.review is not None and self.review.needs_confirmation and not self.confirm_burned_in))

    def headline(self) -> str:
        if self.consent is not None and not self.consent.allowed:
            return "Deck export refused: consent does not allow it. Nothing was written."
        if self.typed:
            return ("Deck export refused: " + "; ".join(t.describe() for t in self.typed)
                    + ". Rewrite it without the patient's identity. Nothing was written.")
        if self.residual:
            return (f"Deck export refused: {plural(len(self.residual), 'key image')} would still show the patient's "
                    "identity in the pixels; redact them. Nothing was written.")
        if self.refused:
            return (f"{plural(len(self.flagged), 'key image')} may carry burned-in identity and have no redaction "
                    "mask: redact them, or confirm you checked them. Nothing was written.")
        if self.cancelled:
            return "Deck export cancelled. Nothing was written."
        if self.failed:
            return (f"Deck not written: {plural(len(self.failed), 'key image')} could not be rendered "
                    f"({self.failed[0][0]}: {self.failed[0][1]}).")
        return (f"Wrote {self.path.name}: {plural(self.cases, 'case')}, {plural(self.slides, 'slide')}"
                f"{' (unknown cases: the diagnosis on a last reveal slide)' if self.unknown else ''}.")


def render_key_image(ds_bytes: bytes, key: KeyImage, max_side: int = DECK_IMAGE_SIDE):  # noqa: ANN201 - ndarray
    """The key image from its DICOM bytes: its frame at its window, inversion and view, with
    its annotations and measurements burned in (HU on CT)."""
    ds = read_image(ds_bytes)
    view = key.view
    window = (Window(view.window_center, view.window_width)
              if view.window_center is not None and view.window_width is not None else None)
    shown = slide_pixels(ds, key.frame, window=window, invert=view.invert)
    values = None
    if shown.ndim == 2:
        pixels = decode_frame(ds, key.frame)
        values = modality_values(pixels, display_params(ds, key.frame))
    unit = "HU" if str(ds.get("Modality", "")).upper() == "CT" else ""
    return burn_key_image(shown, key, pixel_spacing(ds, key.frame), values, unit, max_side)


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


def _image_of(images: Sequence[Image], key: KeyImage) -> Image:
    for image in images:
        if key.sop_uid in (image.sop_uid, image.original_uid):
            return image
    raise VeilError("A key image is no longer in the library; open the case and mark it again.")


def export_deck(home: VeilHome, case_ids: Sequence[int], purpose: ExportPurpose, path: str | os.PathLike[str], *,
                unknown: bool = False, confirm_burned_in: bool = False, review: Review | None = None,
                progress: Progress = no_progress, cancel: CancelToken | None = None) -> DeckReport:
    """Write the cases ``case_ids`` as one deck at ``path`` (a .pptx) through the privacy gate;
    a refusal, a cancel or a failure writes nothing. ``unknown``: each case's diagnosis only on
    its last (reveal) slide."""
    target = Path(path).expanduser()
    if target.suffix.lower() != ".pptx":
        raise VeilError("A slide deck is a .pptx file; give the file name ending in .pptx.")
    if not unencrypted_allowed(purpose.purpose, identifiable=False):
        raise VeilError("A slide deck is not encrypted and leaves de-identified: not for the patient's care. "
                        "Send an encrypted package to the colleague instead.")
    cases = [casebook.load(home, case_id) for case_id in dict.fromkeys(case_ids)]
    if not cases:
        raise VeilError("Choose at least one case for the deck.")
    for case in cases:
        if not case.key_images:
            raise VeilError(f"The case \u201c{case.title}\u201d has no key image: mark at least one (K in the viewer).")
    cancel = cancel or CancelToken()
    report = DeckReport(purpose, target, unknown, confirm_burned_in)
    selection = Selection(tuple(dict.fromkeys(u for c in cases for u in c.study_uids)), (),
                          tuple(dict.fromkeys(k.sop_uid for c in cases for k in c.key_images)))
    cleared = enter(home, selection, purpose, Delivery(Channel.DECK), cancel=cancel)
    report.consent = cleared.decision
    images = cleared.resolved.images
    if cleared.allowed:
        report.review = review_images(home, images, cancel=cancel, shown=review)
        texts = [(f"Case \u201c{c.title}\u201d: {where}", text) for c in cases for where, text in c.typed_texts()]
        report.typed = find_typed_leaks(texts, patient_identifiers(home, images))
    if report.refused:
        _audit(home, report)
        return report
    write = writers(cleared, report.review, confirm_burned_in, report.typed)
    slides: list[DeckSlide] = []
    sent: list[Sent] = []
    total, done = sum(len(c.key_images) for c in cases), 0
    progress(0, total)
    for case in cases:
        pngs = []
        for n, key in enumerate(case.key_images, 1):
            if cancel.cancelled:
                report.cancelled = True
                _audit(home, report)
                return report
            image = _image_of(images, key)
            try:
                pngs.append(write.encode(render_key_image(home.objects.read(image.sha256), key), "png", fast=True))
            except Exception as exc:  # noqa: BLE001 - a hostile or undecodable image is reported, not raised
                report.failed.append((f"\u201c{case.title}\u201d image {n}",
                                      str(exc) if isinstance(exc, VeilError) else type(exc).__name__))
                continue
            sent.append(Sent(image.patient_key, image.study_uid, image.series_uid, image.sop_uid))
            done += 1
            progress(done, total)
        if len(pngs) == len(case.key_images):
            slides.extend(_case_slides(case, pngs, unknown))
    if report.failed:
        _audit(home, report)
        return report
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
    except BaseException:
        write_ahead.settle(home, intent, write_ahead.ABANDONED)
        raise
    report.cases, report.slides = len(cases), len(slides) + 1  # and the deck's title slide
    _audit(home, report)
    report.disclosure = record_disclosure(home, "deck.export", cleared.request, cleared.decision, sent,
                                          recipient=purpose.recipient, destination=str(target), profile="deck",
                                          intent=intent)
    return report


def _audit(home: VeilHome, report: DeckReport) -> None:
    outcome = ("refused-consent" if report.consent is not None and not report.consent.allowed
               else "refused-typed-text" if report.typed else "refused-burned-in" if report.refused
               else "cancelled" if report.cancelled else "failed" if report.failed else "completed")
    conn = home.connect()
    try:
        home.record(conn, "deck.export", outcome=outcome, purpose=str(report.purpose.purpose), unknown=report.unknown,
                    slides=report.slides, failed=len(report.failed), typed=len(report.typed),
                    flagged=len(report.flagged), confirmed_burned_in=report.confirm_burned_in and bool(report.flagged),
                    studies=sorted({home.audit.pseudonym(s.study_uid) for s in (report.consent.studies
                                                                                 if report.consent else ())}))
    finally:
        conn.close()
