"""The viewer's "Export Image as PNG" through the privacy gate: one image, as shown on screen.

A picture of someone's scan leaving the library is a disclosure like any other: it needs a
purpose a consent allows (never care: a PNG is not encrypted), the image must be its current
version (the redacted one where Veil made one: a view of the original is refused), the image
is reviewed for burned-in text like every other exit, and the pixels that would leave (the
rendered view itself) are read by OCR for the patient's names, IDs and dates. The PNG has no
metadata at all; it is written atomically, then audited and entered in the accounting.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from desktop.app.consent.disclosing import Sent, pending_disclosure, record_disclosure
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.durability import write_ahead
from desktop.app.gate import Channel, Delivery, Review, Selection, enter, review_images, writers
from desktop.app.gate.review import read_text, residual_reason
from desktop.app.library.home import VeilHome
from desktop.core.common.errors import VeilError
from desktop.core.consent import Decision
from desktop.core.dicom.identifiers import collect_identifiers
from desktop.core.imaging.frames import read_image
from desktop.core.redaction.ocr import OcrUnavailable, TextReader


@dataclass
class StillReport:
    """How the export of one image ended."""

    path: Path
    confirm_burned_in: bool = False
    consent: Decision | None = None
    review: Review | None = None
    residual: str | None = None  # why the rendered pixels may not leave
    written: bool = False
    disclosure: int | None = None

    @property
    def refused(self) -> bool:
        return not self.written

    def headline(self) -> str:
        if self.consent is not None and not self.consent.allowed:
            return "Export refused: consent does not allow it. Nothing was written."
        if self.residual:
            return (f"Export refused: this image would still show the patient's identity; {self.residual}. "
                    "Nothing was written.")
        if self.review is not None and self.review.needs_confirmation and not self.confirm_burned_in:
            return ("This image may carry burned-in identity: redact it, or confirm you checked it. "
                    "Nothing was written.")
        if not self.written:
            return "Nothing was written."
        return f"Exported {self.path.name} (no metadata); recorded in the accounting of disclosures."


def export_image(home: VeilHome, *, study_uid: str, sop_instance_uid: str, image: np.ndarray,
                 path: str | os.PathLike[str], purpose: ExportPurpose, confirm_burned_in: bool = False) -> StillReport:
    """Write ``image`` (the rendered view of the image ``sop_instance_uid``: 8-bit grey or RGB)
    to ``path`` as a PNG, through the gate (see the module)."""
    report = StillReport(Path(path), confirm_burned_in)
    cleared = enter(home, Selection((study_uid,), (), (sop_instance_uid,)), purpose, Delivery(Channel.IMAGE))
    (shown,) = cleared.resolved.images
    if shown.sop_uid != sop_instance_uid:
        raise VeilError("The image on screen is the original; what leaves is its redacted version. "
                        "Turn off View > Show Original and export again.")
    report.consent = cleared.decision
    if not cleared.allowed:
        _audit(home, report, study_uid)
        return report
    report.review = review_images(home, [shown])
    reader = TextReader()
    try:
        identifiers = collect_identifiers(read_image(home.objects.read(shown.sha256)))
        report.residual = residual_reason(read_text(image, identifiers, reader))
    except OcrUnavailable:
        pass  # the review says the pixels were not read, and asks for the confirmation
    finally:
        reader.close()
    if report.residual or (report.review.needs_confirmation and not confirm_burned_in):
        _audit(home, report, study_uid)
        return report
    sent = [Sent(shown.patient_key, shown.study_uid, shown.series_uid, shown.sop_uid)]
    intent = write_ahead.begin(home, "image.png", report.path)
    try:
        write_ahead.expect(home, intent, disclosure=pending_disclosure(
            "image.png", cleared.request, cleared.decision, sent, recipient=cleared.purpose.recipient,
            destination=str(report.path), profile="image"))
        writers(cleared, report.review, confirm_burned_in).write_png(report.path, np.ascontiguousarray(image))
    except BaseException:
        write_ahead.settle(home, intent, write_ahead.ABANDONED)
        raise
    report.written = True
    _audit(home, report, study_uid)
    report.disclosure = record_disclosure(home, "image.png", cleared.request, cleared.decision, sent,
                                          recipient=cleared.purpose.recipient, destination=str(report.path),
                                          profile="image", intent=intent)
    return report


def _audit(home: VeilHome, report: StillReport, study_uid: str) -> None:
    outcome = ("completed" if report.written else "refused-consent" if report.consent is not None
               and not report.consent.allowed else "refused-pixels" if report.residual else "refused-burned-in")
    conn = home.connect()
    try:
        home.record(conn, "export.png", outcome=outcome, study=home.audit.pseudonym(study_uid),
                    flagged=len(report.review.flagged) if report.review else 0,
                    confirmed_burned_in=report.confirm_burned_in)
    finally:
        conn.close()
