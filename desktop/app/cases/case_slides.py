"""Use case: the key images of teaching cases as slide images (PNG or JPEG), each at its view
with its annotations and measurements drawn in, instead of every frame of the study, through
the privacy gate (:mod:`.passage`: consent, redacted versions, burned-in review, the typed-text
check of the captions and labels drawn into them).

Names say nothing of the patient: ``case-<n>/<k>.png`` in case order and key-image order, in
a folder or a plain zip, written by the gate's writers (staged under random names, renamed
into place at the end: a refusal, a cancel or a failure writes nothing), then the audit line
and the accounting of disclosures.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from desktop.app.cases.deck import audit_case_export
from desktop.app.cases.passage import CaseExport, encoded_key_images, load_cases, pass_gate
from desktop.app.common.tasks import CancelToken, Progress, no_progress
from desktop.app.consent.disclosing import pending_disclosure, record_disclosure
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.durability import write_ahead
from desktop.app.gate import Channel, Review, writers
from desktop.app.library.home import VeilHome
from desktop.core.common.disk_full import is_disk_full
from desktop.core.common.errors import VeilError
from desktop.core.common.faults import fault_point

SUFFIXES = {"png": ".png", "jpeg": ".jpg"}


@dataclass
class CaseSlidesReport(CaseExport):
    """How an export of key images as slide images ended."""

    destination: Path = Path()
    fmt: str = "png"
    zipped: bool = False
    files: list[str] = field(default_factory=list)

    def headline(self) -> str:
        refusal = self.refusal("Slide export")
        if refusal is not None:
            return refusal
        return f"Wrote {len(self.files)} key image(s) ({self.fmt.upper()}, annotated) to {self.destination.name}."


def export_case_slides(home: VeilHome, case_ids: Sequence[int], purpose: ExportPurpose,
                       out_dir: str | os.PathLike[str] | None = None, *, zip_path: str | os.PathLike[str] | None = None,
                       fmt: str = "png", confirm_burned_in: bool = False, review: Review | None = None,
                       progress: Progress = no_progress, cancel: CancelToken | None = None) -> CaseSlidesReport:
    """Write the key images of ``case_ids`` into ``out_dir`` (or ``zip_path``) through the
    privacy gate (see the module)."""
    if fmt not in SUFFIXES:
        raise VeilError("Choose PNG or JPEG for slide images.")
    if (out_dir is None) == (zip_path is None):
        raise VeilError("Give either an output folder or a zip file for the slide images.")
    cases = load_cases(home, case_ids, purpose, "A slide image")
    destination = Path(zip_path if zip_path is not None else out_dir).expanduser()  # type: ignore[arg-type]
    cancel = cancel or CancelToken()
    report = CaseSlidesReport(purpose, confirm_burned_in, destination=destination, fmt=fmt,
                              zipped=zip_path is not None)
    cleared = pass_gate(home, cases, report, Channel.SLIDES, review, cancel)
    if report.refused:
        _audit(home, report)
        return report
    write = writers(cleared, report.review, confirm_burned_in, report.typed)
    encoded, sent = encoded_key_images(home, cases, cleared, write.encode, fmt, report, progress, cancel)
    if report.cancelled or report.failed:
        _audit(home, report)
        return report
    names = [f"case-{c}/{k:02d}{SUFFIXES[fmt]}"
             for c, images in enumerate(encoded, 1) for k in range(1, len(images) + 1)]
    writer = write.ZipWriter(destination) if report.zipped else write.FolderWriter(destination)
    intent = write_ahead.begin(home, "slides", destination, getattr(writer, "temp", None))
    try:
        writer.open(names)
        for name, data in zip(names, (d for images in encoded for d in images), strict=True):
            writer.add(name, data)
        write_ahead.expect(home, intent, [] if report.zipped else names, pending_disclosure(
            "slides.export", cleared.request, cleared.decision, sent, recipient=purpose.recipient,
            destination=str(destination), profile="case-slides"))
        writer.commit()
        fault_point("case.written")
    except BaseException as exc:
        try:
            writer.discard()
        except OSError:  # a zip's close may fail to flush on a full disk: its temp goes all the same
            Path(getattr(writer, "temp", destination)).unlink(missing_ok=True)
        finally:
            write_ahead.settle(home, intent, write_ahead.ABANDONED)
        if not is_disk_full(exc):
            raise
        report.disk_full = sum(len(d) for images in encoded for d in images) or -1
        report.disk_folder = destination.parent if report.zipped else destination
        _audit(home, report)
        return report
    report.files = names
    _audit(home, report)
    report.disclosure = record_disclosure(home, "slides.export", cleared.request, cleared.decision, sent,
                                          recipient=purpose.recipient, destination=str(destination),
                                          profile="case-slides", intent=intent)
    return report


def _audit(home: VeilHome, report: CaseSlidesReport) -> None:
    audit_case_export(home, "case.slides", report, format=report.fmt, written=len(report.files))
