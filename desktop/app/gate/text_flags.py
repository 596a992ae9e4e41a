"""Use case: the privacy gate's burned-in review of a selection, shown before an export (the
export wizard's Redaction page, the slide images dialog). No Qt.

There is one set of rules, the gate's (:mod:`desktop.app.gate.review`): header rules, OCR of
every image of text-prone modalities and of redacted versions, the first, middle and last image
of the other series (the whole series once one of them holds text), unreadable images, and the
residual check of the pixels that would leave for the patient's names, IDs and dates. This
module only resolves the selection to the images that would leave (their current versions,
nothing outside the chosen studies: :func:`desktop.app.gate.resolve`) and runs that review on
them, so a window can list what a person must confirm and what may not leave at all, before
the export runs the same review again.

The words OCR reads never leave the gate: labels give counts and kinds only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from desktop.app.common.tasks import CancelToken, Progress, no_progress
from desktop.app.gate import (
    Flagged,
    Image,
    Refusal,
    Review,
    Selection,
    candidates_of,
    redact_masked,
    resolve,
    review_images,
    run_review,
)
from desktop.app.library.home import VeilHome
from desktop.core.redaction.ocr import TextReader

__all__ = ["Flagged", "SelectionReview", "review_selection"]


@dataclass(frozen=True)
class SelectionReview:
    """The gate's review of the images a selection would send."""

    review: Review
    images: tuple[Image, ...]

    @property
    def flagged(self) -> list[Flagged]:
        """Images a person must redact, leave out or confirm."""
        return self.review.flagged

    @property
    def leaks(self) -> list[Refusal]:
        """The images the residual check refuses: no confirmation lets them out."""
        return self.review.leaks

    @property
    def read_all_pixels(self) -> bool:
        """False when no OCR engine was there: only the headers were reviewed."""
        return self.review.ocr

    def note(self) -> str:
        """How much was read ("OCR read 14 of 480 images for burned-in text.")."""
        return self.review.note()

    def image_of(self, flag: Flagged) -> Image | None:
        return next((i for i in self.images if i.instance_ref == flag.instance_ref), None)

    def leaking(self) -> list[tuple[Image, str]]:
        """The images the residual check refuses, with why."""
        by_ref = {i.instance_ref: i for i in self.images}
        return [(by_ref[r.key], r.why) for r in self.leaks if r.key in by_ref]

    def series_of_leak(self, label: str) -> str | None:
        """The series (UID) of the image a leak names."""
        return next((i.series_uid for i in self.images if i.label == label), None)


def review_selection(home: VeilHome, selection: Selection, *, progress: Progress = no_progress,
                     cancel: CancelToken | None = None, reader: TextReader | None = None) -> SelectionReview:
    """Resolve ``selection`` (raises :class:`desktop.app.gate.SelectionError` for anything outside
    its studies) and run the gate's review on the images that would leave. ``progress(done,
    total)`` counts the images read (the total grows when a series is read in full);
    ``cancel`` stops it between images (:class:`desktop.core.common.errors.Cancelled`). Without an
    OCR engine only the headers are reviewed, and :attr:`SelectionReview.read_all_pixels` says
    so. ``reader`` (this thread only) is for tests; the gate makes and closes its own."""
    cancel = cancel or CancelToken()
    redact_masked(home, selection.study_uids, cancel=cancel)  # what has masks leaves redacted: review that
    images = resolve(home, selection).images
    if reader is None:
        review = review_images(home, images, progress=progress, cancel=cancel)
    else:
        review = run_review(candidates_of(home, images), reader=reader, progress=progress,
                            cancelled=lambda: cancel.cancelled)
    return SelectionReview(review, tuple(images))


def selection_of(study_uids: Sequence[str], series_uids: Sequence[str] = (),
                 instance_uids: Sequence[str] = ()) -> Selection:
    """The gate's selection for these UIDs."""
    return Selection(tuple(study_uids), tuple(series_uids), tuple(instance_uids))
