"""Use case: slide-ready images for teaching, talks and journals (issue 7).

selection -> purpose and consent check (de-identified; never for care: these files are not
encrypted) -> redaction review (images that declare burned-in text and have no mask must be
confirmed, as for a package) -> each frame rendered as Veil shows it (header window or an auto
window, MONOCHROME1 inverted, colour as is) with every stored redaction mask burned in black ->
PNG or JPEG with no metadata (no text chunks, no EXIF, no comment; no DICOM header) -> a folder
``case-<n>/<series>-<instance>-<frame>.png`` or a plain zip of the same -> audit line and the
accounting of disclosures.

Files are staged under random names and renamed into place only when every frame is done; a
refusal or a cancel writes nothing.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset

from desktop.app.consenting import check_items, selection_items
from desktop.app.disclosing import Sent, record_disclosure
from desktop.app.export_consent import ExportPurpose
from desktop.app.formatting import plural
from desktop.app.home import VeilHome
from desktop.app.sharing import Flagged, flagged_images
from desktop.app.tasks import CancelToken, Progress, no_progress
from desktop.core.atomic_files import fsync_dir, sync_filesystem, temp_name
from desktop.core.consent import Decision, ExportItem, Purpose
from desktop.core.errors import VeilError
from desktop.core.imaging.display import Window, full_range_window, modality_values, render
from desktop.core.imaging.display import display_params
from desktop.core.imaging.frames import decode_frame, read_image
from desktop.core.library import index
from desktop.core.library.masks import masks_for, masks_of_series
from desktop.core.redaction.mask import Mask

Format = Literal["png", "jpeg"]
Frames = Literal["all", "middle"]
SUFFIXES: dict[str, str] = {"png": ".png", "jpeg": ".jpg"}
JPEG_QUALITY = 92
TEMP_PREFIX = ".veil-partial-"


@dataclass(frozen=True)
class _Image:
    """One library image to render, and where its frames go."""

    item: ExportItem
    instance_ref: int
    sha256: str
    rows: int | None
    columns: int | None
    frames: tuple[int, ...]
    stem: str  # "case-1/003-0014"
    label: str  # for a person: "CT 2004-01-19 'e+1', series 3, image 14"


@dataclass
class SlidesReport:
    """How a slide export ended."""

    purpose: ExportPurpose
    destination: Path
    fmt: str = "png"
    confirm_burned_in: bool = False
    consent: Decision | None = None
    flagged: list[Flagged] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # written, relative to the folder or the zip
    cases: int = 0
    masked: int = 0  # frames with a redaction burned in
    failed: list[tuple[str, str]] = field(default_factory=list)  # (image, reason)
    cancelled: bool = False
    disclosure: int | None = None

    @property
    def refused(self) -> bool:
        return (self.consent is not None and not self.consent.allowed) or (
            bool(self.flagged) and not self.confirm_burned_in)

    def headline(self) -> str:
        if self.consent is not None and not self.consent.allowed:
            return "Slide export refused: consent does not allow it. Nothing was written."
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
            text += f"; redactions burned into {plural(self.masked, 'frame')}"
        if self.failed:
            text += f"; {plural(len(self.failed), 'image')} could not be rendered"
        return text + "."


# -- pixels ------------------------------------------------------------------------------------
def auto_window(values: np.ndarray) -> Window:
    """A window over the bulk of the data (0.5th to 99.5th percentile), for images whose header
    gives none: a few very bright or dark pixels do not wash the picture out."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return full_range_window(values)
    lo, hi = (float(v) for v in np.percentile(finite, [0.5, 99.5]))
    if hi - lo < 1.0:
        return full_range_window(values)
    return Window((lo + hi) / 2.0, hi - lo, "LINEAR", "auto")


def slide_pixels(ds: Dataset, frame: int, covered: np.ndarray | None = None) -> np.ndarray:
    """Frame ``frame`` as Veil displays it by default, 8-bit grey or RGB, with the ``covered``
    pixels (a bool array, rows x columns) black. Nothing but pixels: no overlay, no text."""
    pixels = decode_frame(ds, frame)
    params = display_params(ds, frame)
    if pixels.ndim == 2 and pixels.dtype.kind == "u" and 0 < params.bits_stored < pixels.dtype.itemsize * 8:
        pixels = pixels & ((1 << params.bits_stored) - 1)  # bits above Bits Stored (old overlays) never show
    window = None
    if pixels.ndim == 2 and not params.windows and params.voi_lut is None:
        window = auto_window(modality_values(pixels, params))
    shown = render(pixels, params, window)
    if covered is not None:
        if covered.shape != shown.shape[:2]:
            raise VeilError("its redaction mask does not fit the image")
        shown = shown.copy()
        shown[covered] = 0
    return np.ascontiguousarray(shown)


def encode(image: np.ndarray, fmt: str) -> bytes:
    """PNG or JPEG bytes of an 8-bit image, with no metadata at all."""
    out = io.BytesIO()
    picture = Image.fromarray(image)
    picture.info.clear()
    if fmt == "png":
        picture.save(out, format="PNG", optimize=False)
    else:
        picture.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


# -- where the files go --------------------------------------------------------------------------
class _FolderWriter:
    """Stages files under random names in the folder; renames them into place at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staged: list[tuple[Path, str]] = []
        self.made = False

    def open(self, names: Sequence[str]) -> None:
        taken = [n for n in names if (self.root / n).exists()]
        if taken:
            raise VeilError(f"The output folder already holds slide images ({taken[0]}); choose an empty folder.")
        self.made = not self.root.exists()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VeilError(f"The output folder cannot be created ({exc.strerror or type(exc).__name__}).") from None

    def add(self, name: str, data: bytes) -> None:
        temp = self.root / temp_name(TEMP_PREFIX)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.staged.append((temp, name))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)

    def commit(self) -> None:
        if not self.staged:
            return self.discard()
        sync_filesystem(self.root)
        folders = {self.root}
        for temp, name in self.staged:
            final = self.root / name
            final.parent.mkdir(mode=0o700, exist_ok=True)
            os.replace(temp, final)
            folders.add(final.parent)
        for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            fsync_dir(folder)

    def discard(self) -> None:
        for temp, _name in self.staged:
            temp.unlink(missing_ok=True)
        self.staged = []
        if self.made:
            try:
                self.root.rmdir()
            except OSError:
                pass


class _ZipWriter:
    """A plain zip (stored: PNG and JPEG are compressed already), written to a temp name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.temp = path.with_name(temp_name(TEMP_PREFIX))
        self.archive: zipfile.ZipFile | None = None
        self.count = 0

    def open(self, names: Sequence[str]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VeilError(f"The zip file's folder cannot be made ({exc.strerror or type(exc).__name__}).") from None
        fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.archive = zipfile.ZipFile(os.fdopen(fd, "wb"), "w", zipfile.ZIP_STORED)

    def add(self, name: str, data: bytes) -> None:
        assert self.archive is not None
        info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
        info.external_attr = 0o600 << 16
        self.archive.writestr(info, data)
        self.count += 1

    def commit(self) -> None:
        if not self.count:
            return self.discard()
        assert self.archive is not None
        fh = self.archive.fp
        self.archive.close()
        assert fh is not None
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        os.replace(self.temp, self.path)
        fsync_dir(self.path.parent)

    def discard(self) -> None:
        if self.archive is not None:
            fh = self.archive.fp
            try:
                self.archive.close()
            except (OSError, ValueError):
                pass
            if fh is not None:
                fh.close()
        self.temp.unlink(missing_ok=True)


# -- the plan ------------------------------------------------------------------------------------
def _plan(home: VeilHome, items: Sequence[ExportItem], frames: str, suffix: str
          ) -> tuple[list[_Image], dict[int, dict[int, list[Mask]]], dict[int, int]]:
    """The images of the selection in order, each series' masks, and each image's series."""
    cases = {uid: n for n, uid in enumerate(dict.fromkeys(i.study_uid for i in items), 1)}
    images: list[_Image] = []
    masks: dict[int, dict[int, list[Mask]]] = {}
    series_of: dict[int, int] = {}
    used: set[str] = set()
    conn = home.connect()
    try:
        for position, item in enumerate(items, 1):
            row = conn.execute(
                """SELECT se.id, se.series_number FROM series se JOIN studies st ON se.study_ref = st.id
                   WHERE se.series_uid = ? AND st.study_uid = ?""", (item.series_uid, item.study_uid)).fetchone()
            if row is None:
                continue
            series_ref, number = row
            masks[series_ref] = masks_of_series(conn, series_ref)
            for n, inst in enumerate(index.list_instances(conn, series_ref), 1):
                count = max(1, inst.number_of_frames or 1)
                chosen = tuple(range(count)) if frames == "all" else ((count - 1) // 2,)
                stem = f"case-{cases[item.study_uid]}/{number or position:03d}-{inst.instance_number or n:04d}"
                while any(f"{stem}-{f + 1:03d}{suffix}" in used for f in chosen):
                    stem += "b"  # two series with the same number (a redacted copy keeps it)
                used.update(f"{stem}-{f + 1:03d}{suffix}" for f in chosen)
                label = f"{item.label}, series {number or '?'}, image {inst.instance_number or n}"
                images.append(_Image(item, inst.instance_ref, inst.object_sha256, inst.rows, inst.columns,
                                     chosen, stem, label))
                series_of[inst.instance_ref] = series_ref
    finally:
        conn.close()
    return images, masks, series_of


# -- the use case ----------------------------------------------------------------------------------
def export_slides(home: VeilHome, study_uids: Sequence[str], purpose: ExportPurpose,
                  out_dir: str | os.PathLike[str] | None = None, series_uids: Sequence[str] = (),
                  fmt: Format = "png", frames: Frames = "all", progress: Progress = no_progress,
                  cancel: CancelToken | None = None, *, zip_path: str | os.PathLike[str] | None = None,
                  confirm_burned_in: bool = False) -> SlidesReport:
    """Write slide images of library studies (or of ``series_uids`` of them) into ``out_dir``
    or ``zip_path``; a refusal, a cancel or a failure writes nothing.

    ``frames``: every frame of each image, or the middle frame of each (multi-frame) image."""
    if fmt not in SUFFIXES:
        raise VeilError("Choose PNG or JPEG for slide images.")
    if frames not in ("all", "middle"):
        raise VeilError("Choose every frame or the middle frame of each image.")
    if (out_dir is None) == (zip_path is None):
        raise VeilError("Give either an output folder or a zip file for the slide images.")
    if purpose.purpose is Purpose.CARE:
        raise VeilError("Slide images are not encrypted and leave de-identified: not for the patient's care. "
                        "Send an encrypted package to the colleague instead.")
    cancel = cancel or CancelToken()
    destination = Path(zip_path if zip_path is not None else out_dir).expanduser()  # type: ignore[arg-type]
    report = SlidesReport(purpose, destination, fmt, confirm_burned_in)
    items = selection_items(home, study_uids, series_uids)
    request, report.consent = check_items(home, purpose.purpose, items, deidentified=True,
                                          protocol_id=purpose.protocol_id or None)
    report.flagged = flagged_images(home, items)
    if report.refused:
        _audit(home, report, frames)
        return report
    images, masks, series_of = _plan(home, items, frames, SUFFIXES[fmt])
    names = [f"{i.stem}-{f + 1:03d}{SUFFIXES[fmt]}" for i in images for f in i.frames]
    writer = _ZipWriter(destination) if zip_path is not None else _FolderWriter(destination)
    writer.open(names)
    sent: list[Sent] = []
    try:
        _render_all(home, images, masks, series_of, fmt, writer, report, sent, progress, cancel, len(names))
        if report.cancelled:
            writer.discard()
            report.files, sent = [], []
        else:
            writer.commit()
    except BaseException:
        writer.discard()
        raise
    report.cases = len({name.split("/", 1)[0] for name in report.files})
    _audit(home, report, frames)
    if sent and report.consent is not None:
        report.disclosure = record_disclosure(home, "slides.export", request, report.consent, sent,
                                              recipient=purpose.recipient, destination=str(destination),
                                              profile="slides")
    return report


def _render_all(home: VeilHome, images: list[_Image], masks: dict[int, dict[int, list[Mask]]],
                series_of: dict[int, int], fmt: str, writer: _FolderWriter | _ZipWriter, report: SlidesReport,
                sent: list[Sent], progress: Progress, cancel: CancelToken, total: int) -> None:
    rasters: dict[str, np.ndarray] = {}

    def raster(mask: Mask) -> np.ndarray:
        key = mask.to_json()
        if key not in rasters:
            rasters[key] = mask.rasterize()
        return rasters[key]

    done = 0
    progress(0, total)
    for image in images:
        if cancel.cancelled:
            report.cancelled = True
            return
        try:
            ds = read_image(home.objects.read(image.sha256))
            rows, columns = image.rows or int(ds.Rows), image.columns or int(ds.Columns)
            encoded = []
            for frame in image.frames:
                if cancel.cancelled:
                    report.cancelled = True
                    return
                applying = masks_for(masks[series_of[image.instance_ref]], image.instance_ref, frame, rows, columns)
                covered = np.logical_or.reduce([raster(m) for m in applying]) if applying else None
                encoded.append((f"{image.stem}-{frame + 1:03d}{SUFFIXES[fmt]}",
                                encode(slide_pixels(ds, frame, covered), fmt), covered is not None))
                progress(done + len(encoded), total)
        except Exception as exc:  # one image that cannot be rendered does not stop the others
            report.failed.append((image.label, str(exc) if isinstance(exc, VeilError) else type(exc).__name__))
            done += len(image.frames)
            progress(done, total)
            continue
        for name, data, masked in encoded:
            writer.add(name, data)
            report.files.append(name)
            report.masked += masked
        sent.append(Sent(image.item.patient_key, image.item.study_uid, image.item.series_uid or ""))
        done += len(image.frames)
    report.cancelled = cancel.cancelled  # a cancel at the very end still writes nothing


def _audit(home: VeilHome, report: SlidesReport, frames: str) -> None:
    outcome = ("refused-consent" if report.consent is not None and not report.consent.allowed
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
