"""Use case: slide-ready images for teaching, talks and journals, through the privacy
gate (:mod:`desktop.app.gate`).

selection -> purpose and consent check (de-identified; never for care: these files are not
encrypted) -> redacted versions (every image with masks leaves as the version Veil burned them
into) -> burned-in review and residual OCR check (header rules, OCR; images to confirm, and
images whose pixels still show the patient's name, ID or a date refuse the export) -> each
frame rendered as Veil shows it (header window or an auto window, MONOCHROME1 inverted, colour
as is) -> PNG or JPEG with no metadata (no text chunks, no EXIF, no comment; no DICOM header)
-> a folder ``case-<n>/<series>-<instance>-<frame>.png`` or a plain zip of the same -> audit
line and the accounting of disclosures.

Files are staged under random names and renamed into place only when every frame is done; a
refusal or a cancel writes nothing. A full output disk stops the export: what was
staged (or already renamed) is removed, the report names the disk and about how much room the
slides need, the audit line says ``failed-disk-full`` and no disclosure is recorded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from desktop.app.common.formatting import megabytes, plural
from desktop.app.common.tasks import CancelToken, Progress, no_progress
from desktop.app.consent.disclosing import Sent, pending_disclosure, record_disclosure
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.consent.purpose_rules import unencrypted_allowed
from desktop.app.durability import write_ahead
from desktop.app.gate import Channel, Delivery, Image, Review, Selection, enter, review_images, writers
from desktop.app.gate.review import Reviewed
from desktop.app.library.home import VeilHome
from desktop.core.common.disk_full import is_disk_full
from desktop.core.common.errors import VeilError
from desktop.core.common.faults import fault_point
from desktop.core.consent import Decision, ExportRequest
from desktop.core.imaging.frames import read_image
from desktop.core.imaging.shown import slide_pixels

Format = Literal["png", "jpeg"]
Frames = Literal["all", "middle"]
SUFFIXES: dict[str, str] = {"png": ".png", "jpeg": ".jpg"}


@dataclass(frozen=True)
class _Image:
    """One library image to render, and where its frames go."""

    image: Image
    frames: tuple[int, ...]
    stem: str  # "case-1/003-0014"


@dataclass
class SlidesReport(Reviewed):
    """How a slide export ended."""

    purpose: ExportPurpose
    destination: Path
    fmt: str = "png"
    confirm_burned_in: bool = False
    consent: Decision | None = None
    review: Review | None = None
    files: list[str] = field(default_factory=list)  # written, relative to the folder or the zip
    cases: int = 0
    masked: int = 0  # frames with a redaction burned in
    failed: list[tuple[str, str]] = field(default_factory=list)  # (image, reason)
    cancelled: bool = False
    disclosure: int | None = None
    #: The output disk filled up: about how many bytes the slides need (the export stopped,
    #: nothing was written); -1 when it filled before any slide was encoded.
    disk_full: int = 0
    zipped: bool = False  # the destination is a zip file

    @property
    def refused(self) -> bool:
        return (self.consent is not None and not self.consent.allowed) or bool(self.residual) or (
            self.review is not None and self.review.needs_confirmation and not self.confirm_burned_in)

    @property
    def folder(self) -> Path:
        """The folder the slides go to (the zip file's folder for a zip)."""
        return self.destination.parent if self.zipped else self.destination

    def headline(self) -> str:
        if self.disk_full:
            need = f" (the slides need about {megabytes(self.disk_full)})" if self.disk_full > 0 else ""
            return (f"Slide export stopped: the disk holding {self.folder} is full{need}. Nothing was written; "
                    "free some space and export again.")
        if self.consent is not None and not self.consent.allowed:
            return "Slide export refused: consent does not allow it. Nothing was written."
        if self.residual:
            return (f"Slide export refused: {plural(len(self.residual), 'image')} would still show the patient's "
                    "identity in the pixels; redact them or leave them out. Nothing was written.")
        if self.refused:
            return (f"{plural(len(self.flagged), 'image')} may carry burned-in identity and have no redaction "
                    "mask: redact them, leave them out, or confirm you checked them. Nothing was written.")
        if self.cancelled:
            return "Slide export cancelled. Nothing was written."
        if not self.files:
            return f"No slide image could be written ({plural(len(self.failed), 'image')} failed)."
        text = (f"Wrote {plural(len(self.files), 'slide image')} ({self.fmt.upper()}) of "
                f"{plural(self.cases, 'case')} to {self.destination.name}")
        if self.masked:
            text += f"; {plural(self.masked, 'frame')} redacted in Veil"
        if self.failed:
            text += f"; {plural(len(self.failed), 'image')} could not be rendered"
        return text + "."


# -- the plan ------------------------------------------------------------------------------------
def _plan(images: Sequence[Image], frames: str, suffix: str) -> list[_Image]:
    """The images of the selection in order, and where each frame goes."""
    cases = {uid: n for n, uid in enumerate(dict.fromkeys(i.study_uid for i in images), 1)}
    positions = {uid: n for n, uid in enumerate(dict.fromkeys(i.series_uid for i in images), 1)}
    out: list[_Image] = []
    used: set[str] = set()
    for n, image in enumerate(images, 1):
        count = max(1, image.frames)
        chosen = tuple(range(count)) if frames == "all" else ((count - 1) // 2,)
        number = image.series_number or positions[image.series_uid]
        stem = f"case-{cases[image.study_uid]}/{number:03d}-{image.instance_number or n:04d}"
        while any(f"{stem}-{f + 1:03d}{suffix}" in used for f in chosen):
            stem += "b"  # two series with the same number
        used.update(f"{stem}-{f + 1:03d}{suffix}" for f in chosen)
        out.append(_Image(image, chosen, stem))
    return out


# -- the use case ----------------------------------------------------------------------------------
def export_slides(home: VeilHome, study_uids: Sequence[str], purpose: ExportPurpose,
                  out_dir: str | os.PathLike[str] | None = None, series_uids: Sequence[str] = (),
                  fmt: Format = "png", frames: Frames = "all", progress: Progress = no_progress,
                  cancel: CancelToken | None = None, *, zip_path: str | os.PathLike[str] | None = None,
                  confirm_burned_in: bool = False, instance_uids: Sequence[str] = (),
                  review: Review | None = None) -> SlidesReport:
    """Write slide images of library studies (or of ``series_uids`` and ``instance_uids`` of
    them) into ``out_dir`` or ``zip_path`` through the privacy gate; a refusal, a cancel or a
    failure writes nothing. ``review``: the gate's review the person saw (the dialog's), reused
    when it read exactly the images that leave.

    ``frames``: every frame of each image, or the middle frame of each (multi-frame) image."""
    if fmt not in SUFFIXES:
        raise VeilError("Choose PNG or JPEG for slide images.")
    if frames not in ("all", "middle"):
        raise VeilError("Choose every frame or the middle frame of each image.")
    if (out_dir is None) == (zip_path is None):
        raise VeilError("Give either an output folder or a zip file for the slide images.")
    if not unencrypted_allowed(purpose.purpose, identifiable=False):
        raise VeilError("Slide images are not encrypted and leave de-identified: not for the patient's care. "
                        "Send an encrypted package to the colleague instead.")
    cancel = cancel or CancelToken()
    destination = Path(zip_path if zip_path is not None else out_dir).expanduser()  # type: ignore[arg-type]
    report = SlidesReport(purpose, destination, fmt, confirm_burned_in)
    cleared = enter(home, Selection(tuple(study_uids), tuple(series_uids), tuple(instance_uids)), purpose,
                    Delivery(Channel.SLIDES), cancel=cancel)
    report.consent = cleared.decision
    if cleared.allowed:
        report.review = review_images(home, cleared.resolved.images, cancel=cancel, shown=review)
    if report.refused:
        _audit(home, report, frames)
        return report
    images = _plan(cleared.resolved.images, frames, SUFFIXES[fmt])
    names = [f"{i.stem}-{f + 1:03d}{SUFFIXES[fmt]}" for i in images for f in i.frames]
    write = writers(cleared, report.review, confirm_burned_in)
    writer = write.ZipWriter(destination) if zip_path is not None else write.FolderWriter(destination)
    report.zipped = zip_path is not None
    counted = _Counted(writer)
    made = report.zipped and not destination.parent.exists()  # the zip's folder, made for it
    sent: list[Sent] = []
    intent = write_ahead.begin(home, "slides", destination, getattr(writer, "temp", None))
    try:
        writer.open(names)
        _render_all(home, images, fmt, counted, write.encode, report, sent, progress, cancel, len(names))
        if report.cancelled:
            writer.discard()
            report.files, sent = [], []
        else:
            _expect(home, intent, report, cleared.request, sent)
            counted.committing = True
            writer.commit()
            fault_point("slides.committed")
    except BaseException as exc:
        write_ahead.settle(home, intent, write_ahead.ABANDONED)
        _discard(writer, destination, names if counted.committing and zip_path is None else ())
        if made:
            _remove_empty(destination.parent)
        if not is_disk_full(exc):
            raise
        report.disk_full = counted.needed(len(names))
        report.files, sent, report.masked = [], [], 0
    report.cases = len({name.split("/", 1)[0] for name in report.files})
    _audit(home, report, frames)
    if sent and report.consent is not None:
        report.disclosure = record_disclosure(home, "slides.export", cleared.request, report.consent, sent,
                                              recipient=purpose.recipient, destination=str(destination),
                                              profile="slides", intent=intent)
    else:
        write_ahead.settle(home, intent, write_ahead.DONE if report.files else write_ahead.ABANDONED)
    return report


def _expect(home: VeilHome, intent: int, report: SlidesReport, request: ExportRequest, sent: list[Sent]) -> None:
    """Write ahead, before the slides are renamed into place: which files appear, and the
    disclosure a restart accounts for if this process dies before it does."""
    disclosure = None
    if sent and report.consent is not None:
        disclosure = pending_disclosure("slides.export", request, report.consent, sent,
                                        recipient=report.purpose.recipient, destination=str(report.destination),
                                        profile="slides")
    write_ahead.expect(home, intent, [] if report.zipped else list(report.files), disclosure,
                       ("slides.export", {"outcome": "completed", "written": len(report.files)}))


def _render_all(home: VeilHome, images: list[_Image], fmt: str, writer, encode,  # noqa: ANN001 - the gate's
                report: SlidesReport, sent: list[Sent], progress: Progress, cancel: CancelToken, total: int) -> None:
    done = 0
    progress(0, total)
    for planned in images:
        image = planned.image
        if cancel.cancelled:
            report.cancelled = True
            return
        try:
            ds = read_image(home.objects.read(image.sha256))
            encoded = []
            for frame in planned.frames:
                if cancel.cancelled:
                    report.cancelled = True
                    return
                encoded.append((f"{planned.stem}-{frame + 1:03d}{SUFFIXES[fmt]}", encode(slide_pixels(ds, frame), fmt)))
                progress(done + len(encoded), total)
        except Exception as exc:  # noqa: BLE001 - one image that cannot be decoded or rendered does not stop the others
            report.failed.append((image.label, str(exc) if isinstance(exc, VeilError) else type(exc).__name__))
            done += len(planned.frames)
            progress(done, total)
            continue
        for name, data in encoded:
            writer.add(name, data)
            report.files.append(name)
        report.masked += len(encoded) if image.redacted else 0
        sent.append(Sent(image.patient_key, image.study_uid, image.series_uid, image.sop_uid))
        done += len(planned.frames)
    report.cancelled = cancel.cancelled  # a cancel at the very end still writes nothing


class _Counted:
    """The writer, counting what it was handed (to tell how much room the slides need)."""

    def __init__(self, writer) -> None:  # noqa: ANN001 - a gate writer
        self.writer = writer
        self.files = 0
        self.size = 0
        self.committing = False

    def add(self, name: str, data: bytes) -> None:
        self.files += 1
        self.size += len(data)
        self.writer.add(name, data)

    def needed(self, total: int) -> int:
        """About how many bytes all ``total`` files need, from those handed so far (-1: none)."""
        return self.size * total // self.files if self.files else -1


def _discard(writer, folder: Path, placed: Sequence[str]) -> None:  # noqa: ANN001 - a gate writer
    """Remove everything a failed export started, even when the disk is full: the writer's
    staged files (a zip writer's close may fail to flush; its temp file goes all the same) and,
    when the failure came while renaming into place, the ``placed`` names already renamed (the
    writer checked none of them existed before) and the case folders left empty."""
    try:
        writer.discard()
    except OSError:
        pass
    temp = getattr(writer, "temp", None)
    if temp is not None:
        Path(temp).unlink(missing_ok=True)
    for name in placed:
        (folder / name).unlink(missing_ok=True)
    for case in sorted({(folder / name).parent for name in placed}, key=lambda p: len(p.parts), reverse=True):
        _remove_empty(case)
    if placed and getattr(writer, "made", False):  # the output folder, made for this export
        _remove_empty(folder)


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:  # not empty (another export's slides), or gone
        pass


def _audit(home: VeilHome, report: SlidesReport, frames: str) -> None:
    outcome = ("failed-disk-full" if report.disk_full else
               "refused-consent" if report.consent is not None and not report.consent.allowed
               else "refused-burned-in" if report.refused else "cancelled" if report.cancelled else "completed")
    conn = home.connect()
    try:
        home.record(conn, "slides.export", outcome=outcome, purpose=str(report.purpose.purpose), format=report.fmt,
                    frames=frames, written=len(report.files), masked=report.masked, failed=len(report.failed),
                    flagged=len(report.flagged), confirmed_burned_in=report.confirm_burned_in and bool(report.flagged),
                    studies=sorted({home.audit.pseudonym(s.study_uid) for s in (report.consent.studies
                                                                                 if report.consent else ())}))
    finally:
        conn.close()
