"""Use case: ``veil redact IN OUT`` — headless pixel redaction of a folder, for sites that clean
files in batches, with a review report a person checks afterwards.

For each image: the scanner templates that match its header give regions on every frame;
with ``detect``, text found by OCR that matches the header's identifiers (high-risk) is added.
The regions are burned in (:mod:`desktop.core.redaction.burn_in`) and the new file written
under OUT with the input's relative path. Alongside: ``redaction-report.json`` (every file,
what matched, which frames, where) and ``redaction-contact-sheet.png`` (every redacted frame,
after redaction, with the regions outlined) for review. ``dry_run`` writes only the report and
the sheet (which still shows frames as they would be after redaction: never the originals).
"""

from __future__ import annotations

import io
import json
import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image, ImageDraw

from desktop.app.deid_runner import Input, read_input as _read
from desktop.app.deidentifying import file_inputs
from desktop.core.library.sources import ZipMember
from desktop.app.formatting import plural
from desktop.app.home import VeilHome
from desktop.app.redacting import derived_uid
from desktop.app.tasks import CancelToken, Progress, no_progress
from desktop.core.atomic_files import atomic_write_bytes, fsync_dir, sync_filesystem
from desktop.core.errors import VeilError
from desktop.core.imaging.display import display_params, render
from desktop.core.redaction.burn_in import burn_in, mark_redacted
from desktop.core.redaction.templates import Template, matching
from desktop.core.library.sources import Rejected

REPORT_NAME = "redaction-report.json"
SHEET_NAME = "redaction-contact-sheet.png"
THUMB = 256
SHEET_COLUMNS = 6
#: The contact sheet stops growing past this many frames (the JSON still lists them all).
SHEET_LIMIT = 600


@dataclass
class FileRedactionReport:
    total: int = 0
    redacted: int = 0
    untouched: int = 0  # no template or detection applied
    frames: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)
    report_path: Path | None = None
    sheet_path: Path | None = None
    dry_run: bool = False
    cancelled: bool = False
    seconds: float = 0.0

    def headline(self) -> str:
        verb = "Would redact" if self.dry_run else "Redacted"
        text = (f"{verb} {plural(self.frames, 'frame')} in {self.redacted} of {plural(self.total, 'file')}; "
                f"{self.untouched} had nothing to redact")
        if self.rejected:
            text += f"; {len(self.rejected)} could not be read"
        if self.cancelled:
            text += " (cancelled: nothing written)"
        return text + "."


def _relative(item: Input, roots: list[Path]) -> Path:
    if isinstance(item, ZipMember):
        return Path(Path(item.archive).stem) / item.member
    path = Path(item.path).resolve()
    for root in roots:
        if root.is_dir() and root in path.parents:
            return path.relative_to(root)
    return Path(path.name)


def redact_paths(home: VeilHome, paths: Iterable[str | os.PathLike[str]], out_dir: str | os.PathLike[str],
                 templates: list[Template], detector=None, dry_run: bool = False,  # noqa: ANN001
                 progress: Progress = no_progress, cancel: CancelToken | None = None) -> FileRedactionReport:
    """Redact every DICOM image under ``paths`` into ``out_dir`` (see the module docstring).

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
    try:
        for n, item in enumerate(inputs, 1):
            if cancel.cancelled:
                report.cancelled = True
                break
            try:
                entry = _one(item, roots, out, templates, detector, dry_run, thumbs, len(report.entries) + 1)
            except Exception as exc:  # one bad file never stops the batch
                report.rejected.append(Rejected(item.label, _reason(exc)))
                continue
            if entry is None:
                report.untouched += 1
            else:
                report.entries.append(entry)
                report.redacted += 1
                report.frames += len(entry["frames"])
                if entry.get("output"):
                    written.append(out / entry["output"])
            progress(n, len(inputs))
        if report.cancelled:
            for path in written:
                path.unlink(missing_ok=True)
            written.clear()
        elif written:
            sync_filesystem(out)
            for folder in {p.parent for p in written}:
                fsync_dir(folder)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    report.seconds = time.perf_counter() - started
    _write_review(report, out, thumbs)
    conn = home.connect()
    try:
        home.record(conn, "redact.files", dry_run=dry_run, files=report.total, redacted=report.redacted,
                    frames=report.frames, rejected=len(report.rejected), cancelled=report.cancelled,
                    templates=len(templates), detect=detector is not None)
    finally:
        conn.close()
    return report


def _one(item: Input, roots: list[Path], out: Path, templates: list[Template], detector,  # noqa: ANN001
         dry_run: bool, thumbs: list, number: int) -> dict | None:
    data = _read(item, None)
    ds = pydicom.dcmread(io.BytesIO(data))
    if "PixelData" not in ds:
        return None
    rows, columns = int(ds.Rows), int(ds.Columns)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    hits = matching(templates, ds)
    template_mask = None
    if hits:
        template_mask = np.zeros((rows, columns), dtype=bool)
        for template in hits:
            template_mask |= template.mask(rows, columns).rasterize()
    detected: dict[int, list[tuple[tuple[int, int, int, int], str]]] = {}
    if detector is not None:
        for frame, box, reason in detector(ds, range(frames)):
            detected.setdefault(frame, []).append((box, reason))
    if template_mask is None and not detected:
        return None

    def mask_for(frame: int) -> np.ndarray | None:
        boxes = detected.get(frame, [])
        if template_mask is None and not boxes:
            return None
        mask = template_mask.copy() if template_mask is not None else np.zeros((rows, columns), dtype=bool)
        for (x0, y0, x1, y1), _reason in boxes:
            mask[max(0, y0):min(rows, y1), max(0, x0):min(columns, x1)] = True
        return mask

    regions = json.dumps([[t.name for t in hits], sorted((f, b) for f, bs in detected.items() for b, _ in bs)])
    result = burn_in(ds, mask_for, derived_uid(str(ds.SOPInstanceUID), regions))
    mark_redacted(result.dataset)
    relative = _relative(item, roots)
    entry = {"number": number, "input": item.label, "output": None if dry_run else str(relative),
             "templates": [t.name for t in hits], "frames": result.frames_redacted,
             "detected": [{"frame": f, "box": list(b), "reason": r} for f, bs in sorted(detected.items())
                          for b, r in bs],
             "transfer_syntax": result.transfer_syntax, "note": result.note}
    if not dry_run:
        buffer = io.BytesIO()
        result.dataset.save_as(buffer, enforce_file_format=True)
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, buffer.getvalue(), mode=0o600)
    for frame in result.frames_redacted:
        if len(thumbs) < SHEET_LIMIT:
            thumbs.append((f"#{number} f{frame + 1}", _thumbnail(result.dataset, frame, mask_for(frame))))
    return entry


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
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "dry_run": report.dry_run, "files": report.total, "redacted": report.redacted,
        "untouched": report.untouched, "frames": report.frames, "cancelled": report.cancelled,
        "entries": report.entries,
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

