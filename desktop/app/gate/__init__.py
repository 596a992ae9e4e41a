"""The privacy gate: the one way out of Veil.

Every exit (de-identified folder, share package, journal ZIP, slide images, the viewer's image,
and any later one: PPTX, a DICOM send) passes the same six steps, here; none writes pixels or
headers on its own (an import-linter contract keeps the writers, :mod:`desktop.app.gate.writing`,
reachable only through this package):

1. **selection and consent**: the studies, series and images chosen (nothing outside them,
   :mod:`.selection`); who receives bound to who may (:mod:`.binding`); a consent valid today
   for the purpose for every study (:mod:`desktop.app.consent.consenting`; care only may be overridden,
   with a justification in the audit log);
2. **redaction**: an image with masks leaves as its redacted version only (:mod:`.selection`);
3. **burned-in review**: header rules, OCR, unreadable images (:mod:`.review`): listed for a
   person to redact or confirm;
4. **header de-identification**: PS3.15 Annex E (:mod:`desktop.app.deid.deidentifying`), with the
   Clean Pixel Data Option recorded where Veil cleaned the pixels;
5. **residual check**: every output searched for every identifier of its original, in the
   header and the bytes (the engine), by OCR in the pixels of every image that was redacted
   or held text (:mod:`.review`), and in any text typed to leave beside them: a teaching
   case's fields, captions and labels (:mod:`.typed_text`);
6. **write**: atomic, no plaintext on disk (:mod:`.writing`), then the audit line and the
   accounting of disclosures naming the real recipient (:mod:`desktop.app.consent.disclosing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial

from desktop.app.common.tasks import CancelToken, Progress, no_progress
from desktop.app.consent.consenting import override_refusal
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.consent.purpose_rules import check_for_purpose, identifiable_allowed
from desktop.app.gate import writing
from desktop.app.gate.binding import BindingError, Channel, Delivery, bind, unverified
from desktop.app.gate.review import TEXT_PRONE_MODALITIES, Candidate, Flagged, Refusal, Review, run_review
from desktop.app.gate.selection import Image, Resolved, Selection, SelectionError, redact_masked, resolve
from desktop.app.gate.typed_text import TypedLeak, find_typed_leaks, patient_identifiers
from desktop.app.gate.writing import ARCHIVE_SUFFIX, Deck, DeckSlide, WrittenPackage
from desktop.app.library.home import VeilHome
from desktop.core.common.errors import VeilError
from desktop.core.consent import Decision, ExportRequest

__all__ = [
    "ARCHIVE_SUFFIX", "Deck", "DeckSlide",
    "GateClosed", "Refusal", "WrittenPackage", "writers", "BindingError", "Candidate", "Channel",
    "Cleared", "Delivery", "Flagged", "Image", "Resolved", "Review", "Selection", "SelectionError",
    "TEXT_PRONE_MODALITIES", "bind", "candidates_of", "enter", "header_flags", "redact_masked", "resolve",
    "review_images", "review_prepared", "run_review", "unverified", "TypedLeak", "find_typed_leaks",
    "patient_identifiers",
]


@dataclass(frozen=True)
class Cleared:
    """A library export past step 1 and 2: what leaves (current versions), for which purpose
    (bound to the recipient), and the consent decision (allowed or not)."""

    resolved: Resolved
    purpose: ExportPurpose
    request: ExportRequest
    decision: Decision

    @property
    def allowed(self) -> bool:
        return self.decision.allowed


def enter(home: VeilHome, selection: Selection, purpose: ExportPurpose, delivery: Delivery, *,
          identifiable: bool = False, progress: Progress = no_progress,
          cancel: CancelToken | None = None) -> Cleared:
    """Steps 1 and 2 for library studies: bind the recipient (raises :class:`BindingError`),
    redact what has masks, resolve the selection to current versions (raises
    :class:`SelectionError`), check consent (a care refusal with a justification is
    overridden and audited). The caller looks at :attr:`Cleared.allowed` before going on."""
    if identifiable and not identifiable_allowed(purpose.purpose):
        raise BindingError("Identifiable images leave only for the patient's care; choose a de-identification profile.")
    bound = bind(purpose, delivery)
    redact_masked(home, selection.study_uids, progress, cancel)
    resolved = resolve(home, selection)
    request, decision = check_for_purpose(home, bound.purpose, resolved.items, not identifiable, bound.recipient,
                                          bound.protocol_id)
    if not decision.allowed and bound.justification and decision.override_allowed:
        decision = override_refusal(home, request, decision, bound.justification)
    return Cleared(resolved, bound, request, decision)


class GateClosed(VeilError):
    """An exit asked for the writers without passing the gate."""


def writers(cleared: Cleared, review: Review | None, confirmed: bool,  # noqa: ANN201 - the writing module
            typed_leaks: Sequence[TypedLeak] = ()):
    """The writers (:mod:`desktop.app.gate.writing`), handed only to an export the gate let
    through: consent allows it, no residual identity in the pixels or in the text typed beside
    them (``typed_leaks``, :mod:`.typed_text`), and every flagged image confirmed (``review``
    None: identifiable images for care, not reviewed)."""
    if typed_leaks:
        raise GateClosed("Typed text names the patient: " + "; ".join(t.describe() for t in typed_leaks)
                         + ". Nothing was written.")
    if not cleared.allowed:
        raise GateClosed("Consent does not allow this export; nothing was written.")
    if review is not None and review.leaks:
        raise GateClosed("Images would still show the patient's identity in the pixels; nothing was written.")
    if review is not None and review.needs_confirmation and not confirmed:
        raise GateClosed("Images may carry burned-in identity and nobody confirmed them; nothing was written.")
    return writing


def candidates_of(home: VeilHome, images: Sequence[Image]) -> list[Candidate]:
    """The review's view of library images (read from the sealed store)."""
    return [Candidate(i.instance_ref, i.series_uid, i.label, i.modality, i.burned_in, i.redacted,
                      partial(home.objects.read, i.sha256), i.sha256) for i in images]


def header_flags(images: Sequence[Image]) -> list[Flagged]:
    """The images whose header alone flags them for review (no pixel read)."""
    return run_review(candidates_of_header(images), ocr=False).flagged


def candidates_of_header(images: Sequence[Image]) -> list[Candidate]:
    def unread() -> bytes:
        raise AssertionError("a header-only review reads no pixels")

    return [Candidate(i.instance_ref, i.series_uid, i.label, i.modality, i.burned_in, i.redacted, unread)
            for i in images]


def review_images(home: VeilHome, images: Sequence[Image], *, progress: Progress = no_progress,
                  cancel: CancelToken | None = None, ocr: bool = True, shown: Review | None = None) -> Review:
    """Steps 3 and 5 (the pixels) for library images. ``shown``: the review a person already
    saw (the wizard's Redaction page, the slides dialog), reused when it read exactly these
    images' bytes; otherwise the images are read again."""
    if shown is not None and shown.covers([i.sha256 for i in images]):
        return shown
    cancel = cancel or CancelToken()
    return run_review(candidates_of(home, images), ocr=ocr, progress=progress, cancelled=lambda: cancel.cancelled)


def review_prepared(home: VeilHome, images: Sequence[Image], *, shown: Review | None = None,
                    seen: Sequence[Flagged] = (), cancel: CancelToken | None = None) -> Review:
    """Step 3 for an export a person prepared (the wizard, whether it writes a package or sends to
    a node): the review they were shown, when it read exactly these images, else a new one;
    with every image flagged on their page (``seen``: header and OCR flags as listed there)
    kept flagged, so a confirmation covers no fewer images than the person looked at."""
    review = review_images(home, images, cancel=cancel, shown=shown)
    known = {f.instance_ref for f in review.flagged}
    added: list[Flagged] = []
    for flag in seen:
        if flag.instance_ref not in known:
            known.add(flag.instance_ref)
            added.append(flag)
    return replace(review, flagged=[*review.flagged, *added]) if added else review
