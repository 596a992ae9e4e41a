"""What every exit of teaching cases does before it writes (a deck, slide images): the cases
and their key images as the gate's selection, the gate's steps 1-3 and 5 (consent, redacted
versions, burned-in review, the typed-text check), then each key image rendered at its view
with its annotations, by the gate's encoder. Each exit then writes with the gate's writers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from desktop.app.cases import casebook
from desktop.app.cases.picture import key_frame
from desktop.app.common.formatting import megabytes
from desktop.app.common.tasks import CancelToken, Progress
from desktop.app.consent.disclosing import Sent
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.consent.purpose_rules import unencrypted_allowed
from desktop.app.gate import (
    Channel,
    Cleared,
    Delivery,
    Image,
    Review,
    Selection,
    TypedLeak,
    enter,
    find_typed_leaks,
    patient_identifiers,
    review_images,
)
from desktop.app.gate.review import Reviewed
from desktop.app.library.home import VeilHome
from desktop.core.cases.burn import burn_key_image
from desktop.core.cases.case import KeyImage, TeachingCase
from desktop.core.common.errors import VeilError
from desktop.core.consent import Decision

#: The longer side of a rendered key image, in pixels.
KEY_IMAGE_SIDE = 1600


@dataclass
class CaseExport(Reviewed):
    """What the gate said of an export of cases, and how it ended (the exits' reports)."""

    purpose: ExportPurpose
    confirm_burned_in: bool = False
    consent: Decision | None = None
    review: Review | None = None
    typed: list[TypedLeak] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key image, reason)
    cancelled: bool = False
    disclosure: int | None = None
    #: The disk the output went to was full: about how many bytes it needed (-1: unknown), and
    #: the folder on that disk.
    disk_full: int = 0
    disk_folder: Path | None = None

    @property
    def refused(self) -> bool:
        return ((self.consent is not None and not self.consent.allowed) or bool(self.residual) or bool(self.typed)
                or (self.review is not None and self.review.needs_confirmation and not self.confirm_burned_in))

    def headline(self) -> str:
        """How it ended, in a sentence (each exit says what it wrote)."""
        return self.refusal("Export") or "Exported."

    def refusal(self, what: str) -> str | None:
        """Why ``what`` ("Deck export") was refused, cancelled or failed, in a sentence; None
        when it was not."""
        if self.disk_full:
            need = f" (it needs about {megabytes(self.disk_full)})" if self.disk_full > 0 else ""
            return (f"{what} stopped: the disk holding {self.disk_folder} is full{need}. Nothing was written; "
                    "free some space and export again.")
        if self.consent is not None and not self.consent.allowed:
            return f"{what} refused: consent does not allow it. Nothing was written."
        if self.typed:
            return (f"{what} refused: " + "; ".join(t.describe() for t in self.typed)
                    + ". Rewrite it without the patient's identity. Nothing was written.")
        if self.residual:
            return (f"{what} refused: {len(self.residual)} key image(s) would still show the patient's identity "
                    "in the pixels; redact them. Nothing was written.")
        if self.refused:
            return (f"{len(self.flagged)} key image(s) may carry burned-in identity and have no redaction mask: "
                    "redact them, or confirm you checked them. Nothing was written.")
        if self.cancelled:
            return f"{what} cancelled. Nothing was written."
        if self.failed:
            return (f"{what} not written: {len(self.failed)} key image(s) could not be rendered "
                    f"({self.failed[0][0]}: {self.failed[0][1]}).")
        return None


def load_cases(home: VeilHome, case_ids: Sequence[int], purpose: ExportPurpose, what: str) -> list[TeachingCase]:
    """The cases to export, each with at least one key image; never for care (``what``: "A
    slide deck" and the like, for the message)."""
    if not unencrypted_allowed(purpose.purpose, identifiable=False):
        raise VeilError(f"{what} is not encrypted and leaves de-identified: not for the patient's care. "
                        "Send an encrypted package to the colleague instead.")
    cases = [casebook.load(home, case_id) for case_id in dict.fromkeys(case_ids)]
    if not cases:
        raise VeilError("Choose at least one case.")
    for case in cases:
        if not case.key_images:
            raise VeilError(f"The case \u201c{case.title}\u201d has no key image: mark at least one (K in the viewer).")
    return cases


def pass_gate(home: VeilHome, cases: Sequence[TeachingCase], report: CaseExport, channel: Channel,
              review: Review | None, cancel: CancelToken) -> Cleared:
    """Steps 1-3 and 5 of the gate for ``cases``: the report says what each found; the caller
    writes only when ``report.refused`` is false."""
    selection = Selection(tuple(dict.fromkeys(u for c in cases for u in c.study_uids)), (),
                          tuple(dict.fromkeys(k.sop_uid for c in cases for k in c.key_images)))
    cleared = enter(home, selection, report.purpose, Delivery(channel), cancel=cancel)
    report.consent = cleared.decision
    images = cleared.resolved.images
    if cleared.allowed:
        report.review = review_images(home, images, cancel=cancel, shown=review)
        texts = [(f"Case \u201c{c.title}\u201d: {where}", text) for c in cases for where, text in c.typed_texts()]
        report.typed = find_typed_leaks(texts, patient_identifiers(home, images))
    return cleared


def render_key_image(ds_bytes: bytes, key: KeyImage, max_side: int = KEY_IMAGE_SIDE) -> np.ndarray:
    """The key image from its DICOM bytes: its frame at its window, inversion and view, with
    its annotations and measurements burned in (HU on CT)."""
    frame = key_frame(ds_bytes, key)
    return burn_key_image(frame.shown, key, frame.spacing, frame.values, frame.unit, max_side)


def _image_of(images: Sequence[Image], key: KeyImage) -> Image:
    for image in images:
        if key.sop_uid in (image.sop_uid, image.original_uid):
            return image
    raise VeilError("A key image is no longer in the library; open the case and mark it again.")


def encoded_key_images(home: VeilHome, cases: Sequence[TeachingCase], cleared: Cleared, encode,  # noqa: ANN001
                       fmt: str, report: CaseExport, progress: Progress, cancel: CancelToken
                       ) -> tuple[list[list[bytes]], list[Sent]]:
    """Each case's key images rendered and encoded by the gate's ``encode`` (``fmt``: png or
    jpeg), in order, and the instances that leave; a key image that cannot be rendered is in
    ``report.failed``, a cancel sets ``report.cancelled`` (the caller then writes nothing)."""
    out: list[list[bytes]] = []
    sent: list[Sent] = []
    total, done = sum(len(c.key_images) for c in cases), 0
    progress(0, total)
    for case in cases:
        encoded: list[bytes] = []
        for n, key in enumerate(case.key_images, 1):
            if cancel.cancelled:
                report.cancelled = True
                return out, sent
            image = _image_of(cleared.resolved.images, key)
            try:
                encoded.append(encode(render_key_image(home.objects.read(image.sha256), key), fmt, fast=True))
            except Exception as exc:  # noqa: BLE001 - a hostile or undecodable image is reported, not raised
                report.failed.append((f"\u201c{case.title}\u201d image {n}",
                                      str(exc) if isinstance(exc, VeilError) else type(exc).__name__))
                continue
            sent.append(Sent(image.patient_key, image.study_uid, image.series_uid, image.sop_uid))
            done += 1
            progress(done, total)
        out.append(encoded)
    report.cancelled = cancel.cancelled
    return out, sent
