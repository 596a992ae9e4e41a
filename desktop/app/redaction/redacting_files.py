"""Use case: ``veil redact IN OUT`` — headless pixel redaction of a folder, for sites that clean
files in batches, with a review report a person checks afterwards.

For each image: the scanner templates that match its header give regions on every frame;
with ``detect``, text found by OCR that matches the header's identifiers (high-risk) is added
(:func:`desktop.app.redaction.region_plan.plan_regions`). The regions are burned in
(:func:`desktop.app.redaction.region_plan.burn_regions`) and the new file, marked as redacted so that its
de-identification records the Clean Pixel Data Option (PS3.15 E.3.1), is written under OUT
with the input's relative path. Every other readable DICOM input is copied there unchanged,
byte for byte, under its relative path too: OUT is complete, the folder to de-identify next.
Inputs that cannot be read (or redacted) are listed in the report, never copied. Every file is
written atomically (temp name, fsync, rename); a cancelled run removes what it wrote.
Alongside: ``redaction-report.json`` (every file, what matched, which frames, where) and
``redaction-contact-sheet.png`` (every redacted frame, after redaction, with the regions
outlined) for review. ``dry_run`` writes only the report and the sheet (which still shows
frames as they would be after redaction: never the originals).

OUT holds identifiable copies on this machine, as IN does: this is not a disclosure (nothing
is de-identified or sent; ``veil deid`` is the way out, through the privacy gate). It is
recorded in the audit log with counts only.

The same region plan serves ``veil deid --redact``, which burns the same regions in memory on
the way to de-identification (:class:`desktop.app.deid.runner.RedactedInput`).
"""

from __future__ import annotations

import io
import json
import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pydicom
from PIL import Image, ImageDraw

from desktop.app.common.formatting import megabytes, plural
from desktop.app.common.tasks import CancelToken, Progress, no_progress
from desktop.app.durability import write_ahead
from desktop.app.library.source_files import file_inputs, read_source
from desktop.app.redaction.region_plan import Detector, burn_regions, plan_regions
from desktop.core.common.atomic_files import OUTPUT_TEMP_PREFIX, atomic_write_bytes, fsync_dir, sync_filesystem
from desktop.core.common.disk_full import DiskFullError, is_disk_full
from desktop.core.common.errors import VeilError
from desktop.core.common.faults import fault_point
from desktop.core.dicom.input_budget import check_structure
from desktop.core.imaging.display import display_params, render
from desktop.core.library.sources import Rejected, Source, ZipMember
from desktop.core.redaction.templates import Template

if TYPE_CHECKING:
    from desktop.app.library.home import VeilHome

REPORT_NAME = "redaction-report.json"
SHEET_NAME = "redaction-contact-sheet.png"
THUMB = 256
SHEET_COLUMNS = 6
#: The contact sheet stops growing past this many frames (the JSON still lists them all).
SHEET_LIMIT = 600


@dataclass
class FileRedactionReport:
    """What ``veil redact`` did: files redacted, copied unchanged, refused."""

    total: int = 0
    redacted: int = 0
    copied: int = 0  # nothing to redact: copied unchanged (byte for byte)
    frames: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)  # the copies, relative to the output folder
    report_path: Path | None = None
    sheet_path: Path | None = None
    dry_run: bool = False
    cancelled: bool = False
    seconds: float = 0.0

    def headline(self) -> str:
        if self.cancelled:
            return (f"Cancelled after {self.redacted + self.copied + len(self.rejected)} of "
                    f"{plural(self.total, 'file')}: nothing written but the review.")
        if self.dry_run:
            text = (f"Would redact {plural(self.frames, 'frame')} in {self.redacted} of "
                    f"{plural(self.total, 'file')}; {self.copied} would be copied unchanged")
        else:
            text = (f"Redacted {plural(self.frames, 'frame')} in {self.redacted} of {plural(self.total, 'file')}; "
                    f"{self.copied} copied unchanged: the output folder holds every readable input")
        if self.rejected:
            text += f"; {len(self.rejected)} could not be read or redacted (not written)"
        return text + "."


def _relative(item: Source, roots: list[Path]) -> Path:
    if isinstance(item, ZipMember):
        return Path(Path(item.archive).stem) / item.member
    path = Path(item.path).resolve()
    for root in roots:
        if root.is_dir() and root in path.parents:
            return path.relative_to(root)
    return Path(path.name)


def redact_paths(home: VeilHome, paths: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str],
                 templates: list[Template], detector: Detector | None = None, dry_run: bool = False,
                 progress: Progress = no_progress, cancel: CancelToken | None = None) -> FileRedactionReport:
    """Redact every DICOM image under ``paths`` into ``out_dir``, and copy every other readable
    DICOM input there unchanged (see the module docstring).

    ``detector(ds, frames) -> list[(frame, box, reason)]`` proposes high-risk text boxes (OCR);
    None skips detection."""
    cancel = cancel or CancelToken()
    started = time.perf_counter()
    roots = [Path(p).resolve() for p in paths]
    out = Path(out_dir).resolve()
    if any(out == r or r in out.parents for r in roots if r.is_dir()):
        raise VeilError("Write the redacted files outside the folder being read.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VeilError(f"The output folder cannot be created ({exc.strerror or type(exc).__name__}).") from None
    inputs, rejected = file_inputs(roots, cancel)
    report = FileRedactionReport(total=len(inputs), rejected=list(rejected), dry_run=dry_run)
    thumbs: list[tuple[str, Image.Image]] = []
    written: list[Path] = []
    targets: set[Path] = {Path(REPORT_NAME), Path(SHEET_NAME)}
    intent = None
    if not dry_run:  # write ahead: a restart removes what a killed run had written, or audits it
        intent = write_ahead.begin(home, "redact", out)
        write_ahead.expect(home, intent, sorted({str(_relative(item, roots)) for item in inputs}),
                           audit=("redact.files", {"files": report.total, "dry_run": False}))
    try:
        for n, item in enumerate(inputs, 1):
            if cancel.cancelled:
                report.cancelled = True
                break
            relative = _relative(item, roots)
            if relative in targets:  # two inputs, one path (or the review's own files): never overwritten
                report.rejected.append(Rejected(item.label, "another input has the same path under the output folder"))
                progress(n, len(inputs))
                continue
            try:
                data = read_source(item)
                entry = _one(data, item.label, relative, out, templates, detector, dry_run, thumbs,
                             len(report.entries) + 1)
            except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch; a full disk stops it all
                if is_disk_full(exc):
                    size = sum(p.stat().st_size for p in written if p.exists())
                    raise DiskFullError(f"The disk holding {out} is full (the redacted copies need about "
                                        f"{megabytes(size * len(inputs) // max(n, 1))}). Nothing was kept; free "
                                        "some room or choose another folder, and redact again.") from None
                report.rejected.append(Rejected(item.label, _reason(exc)))
                progress(n, len(inputs))
                continue
            targets.add(relative)
            if entry is None:
                report.copied += 1
                report.copies.append(str(relative))
            else:
                report.entries.append(entry)
                report.redacted += 1
                report.frames += len(entry["frames"])
            if not dry_run:
                written.append(out / relative)
            progress(n, len(inputs))
        if report.cancelled:
            _remove(written, out)
            written.clear()
        elif written:
            sync_filesystem(out)
            for folder in {p.parent for p in written}:
                fsync_dir(folder)
            if intent is not None:  # all written: what a restart finds whole, if this dies now
                write_ahead.expect(home, intent, [str(p.relative_to(out)) for p in written],
                                   audit=("redact.files", {"files": report.total, "dry_run": False}))
    except BaseException:
        _remove(written, out)
        write_ahead.settle(home, intent, write_ahead.ABANDONED)
        raise
    report.seconds = time.perf_counter() - started
    _write_review(report, out, thumbs)
    conn = home.connect()
    try:
        home.record(conn, "redact.files", dry_run=dry_run, files=report.total, redacted=report.redacted,
                    copied=report.copied, frames=report.frames, rejected=len(report.rejected),
                    cancelled=report.cancelled, templates=len(templates), detect=detector is not None)
    finally:
        conn.close()
    write_ahead.settle(home, intent, write_ahead.ABANDONED if report.cancelled else write_ahead.DONE)
    return report


def _remove(written: list[Path], out: Path) -> None:
    """Remove what this run wrote, and the folders it made that are left empty."""
    for path in written:
        path.unlink(missing_ok=True)
    for folder in sorted({f for p in written for f in p.parents if out in f.parents},
                         key=lambda f: len(f.parts), reverse=True):
        try:
            folder.rmdir()
        except OSError:
            pass  # not empty: something else is in it


def _one(data: bytes, label: str, relative: Path, out: Path, templates: list[Template],
         detector: Detector | None, dry_run: bool, thumbs: list, number: int) -> dict | None:
    """Redact one input into ``out / relative`` (its entry in the report), or copy it there
    unchanged when nothing matches (None). With ``dry_run`` nothing is written."""
    if bytes(data[128:132]) == b"DICM":  # what pydicom parses here (no force): budget it first
        check_structure(data)
    ds = pydicom.dcmread(io.BytesIO(data))
    plan = plan_regions(ds, templates, detector)
    if not plan:
        if not dry_run:
            _write(out / relative, data)
        return None
    result = burn_regions(ds, plan)
    entry = {"number": number, "input": label, "output": None if dry_run else str(relative),
             "templates": [name for name, _ in plan.templates], "frames": result.frames_redacted,
             "detected": [{"frame": f, "box": list(b), "reason": r}
                          for f, b, r in sorted(plan.detected, key=lambda d: d[0])],
             "transfer_syntax": result.transfer_syntax, "note": result.note}
    mask_for = plan.mask_for(int(ds.Rows), int(ds.Columns))
    shown = [(f"#{number} f{frame + 1}", _thumbnail(result.dataset, frame, mask_for(frame)))
             for frame in result.frames_redacted[:max(0, SHEET_LIMIT - len(thumbs))]]
    if not dry_run:  # last: a file that fails above is refused, and nothing of it written
        buffer = io.BytesIO()
        result.dataset.save_as(buffer, enforce_file_format=True)
        _write(out / relative, buffer.getvalue())
    thumbs.extend(shown)
    return entry


def _write(target: Path, data: bytes) -> None:
    """Atomically: a temp name in the same folder, fsync, rename (names carry nothing but the
    input's own relative path)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, data, mode=0o600, prefix=OUTPUT_TEMP_PREFIX)
    fault_point("redact.written")


def _thumbnail(ds: pydicom.Dataset, frame: int, mask: np.ndarray | None) -> Image.Image:
    """The frame after redaction, with its regions outlined in red."""
    from desktop.core.imaging.frames import decode_frame

    pixels = decode_frame(ds, frame)
    shown = render(pixels, display_params(ds, frame))
    image = Image.fromarray(shown).convert("RGB")
    if mask is not None:
        inner = mask.copy()
        inner[1:, :] &= mask[:-1, :]
        inner[:-1, :] &= mask[1:, :]
        inner[:, 1:] &= mask[:, :-1]
        inner[:, :-1] &= mask[:, 1:]
        rgb = np.asarray(image).copy()
        rgb[mask & ~inner] = (255, 40, 40)  # the regions' edges
        image = Image.fromarray(rgb)
    image.thumbnail((THUMB, THUMB))
    return image


def _write_review(report: FileRedactionReport, out: Path, thumbs: list[tuple[str, Image.Image]]) -> None:
    document = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "dry_run": report.dry_run, "files": report.total, "redacted": report.redacted,
        "copied": report.copied, "frames": report.frames, "cancelled": report.cancelled,
        "entries": report.entries, "copies": [] if report.cancelled else report.copies,
        "rejected": [{"input": r.label, "reason": r.reason} for r in report.rejected],
        "review": "Check every frame of the contact sheet: regions are outlined in red.",
    }
    report.report_path = out / REPORT_NAME
    atomic_write_bytes(report.report_path, json.dumps(document, indent=2).encode("utf-8"), mode=0o600)
    if thumbs:
        report.sheet_path = out / SHEET_NAME
        atomic_write_bytes(report.sheet_path, _sheet(thumbs), mode=0o600)


def _sheet(thumbs: list[tuple[str, Image.Image]]) -> bytes:
    cell = THUMB + 20
    columns = min(SHEET_COLUMNS, len(thumbs))
    rows = math.ceil(len(thumbs) / columns)
    sheet = Image.new("RGB", (columns * cell, rows * cell), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    for n, (label, thumb) in enumerate(thumbs):
        x, y = (n % columns) * cell + 10, (n // columns) * cell + 4
        draw.text((x, y), label, fill=(230, 230, 230))
        sheet.paste(thumb, (x, y + 14))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()


def _reason(exc: Exception) -> str:
    if isinstance(exc, VeilError):
        return str(exc)
    if isinstance(exc, pydicom.errors.InvalidDicomError):
        return "not a DICOM file"
    if isinstance(exc, OSError):
        return f"cannot be read: {exc.strerror or type(exc).__name__}"
    return f"cannot be redacted ({type(exc).__name__})"

