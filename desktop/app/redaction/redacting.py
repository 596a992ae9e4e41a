"""Use case: burn a series' redaction masks into redacted versions of its images.

For each image of the series that a stored mask applies to (its own masks, and series-wide
masks of same-size images), the pixels under the masks are burned in
(:mod:`desktop.core.redaction.burn_in`) and the result is stored in the library as a *version*
of the image: a new instance (new SOP Instance UID, PS3.3 C.12.1.1.1; Derivation
Description and BurnedInAnnotation NO, PS3.3 C.7.6.1.1) in the same series, recorded as
replacing its original (``instances.replaces_ref``). The browser counts it once, the viewer
opens it by default and every export takes it, never the original beside it. Originals are
never touched. The new UIDs are derived from the original UID and the masks, so applying the
same masks again adds nothing; an image whose masks were all removed gets its original back as
its current version.
"""

from __future__ import annotations

import hashlib
import io
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pydicom

from desktop.app.common.formatting import plural
from desktop.app.common.tasks import CancelToken, Progress, no_progress
from desktop.app.library.home import VeilHome
from desktop.core.audit.log import os_user
from desktop.core.common.atomic_files import sync_filesystem
from desktop.core.common.errors import VeilError
from desktop.core.dicom.header import parse_header
from desktop.core.library import index
from desktop.core.library.database import Connection, rollback
from desktop.core.library.masks import masks_for, masks_of_series
from desktop.core.redaction.burn_in import burn_in, mark_redacted
from desktop.core.redaction.mask import Mask

UID_PREFIX = "2.25."


@dataclass
class RedactionReport:
    images: int = 0  # images with a mask
    written: int = 0
    already_present: int = 0
    frames: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (instance, reason)
    series_uid: str = ""
    notes: set[str] = field(default_factory=set)
    cancelled: bool = False
    seconds: float = 0.0

    def headline(self) -> str:
        if self.images == 0:
            return "No image of this series has a redaction mask."
        text = (f"Redacted {plural(self.frames, 'frame')} in {self.written + self.already_present} "
                f"of {plural(self.images, 'image')}")
        if self.failed:
            text += f"; {len(self.failed)} could not be redacted"
        return text + "."


def derived_uid(*parts: str) -> str:
    """A UID derived from ``parts`` (PS3.5 B.2: 2.25 and a 128-bit number): the same parts,
    the same UID."""
    digest = hashlib.sha256("\x00".join(("veil-redaction", *parts)).encode()).digest()
    return UID_PREFIX + str(int.from_bytes(digest[:16], "big"))


def _union(rasters: list[np.ndarray]) -> np.ndarray | None:
    if not rasters:
        return None
    out = rasters[0].copy()
    for r in rasters[1:]:
        out |= r
    return out


def _frame_masks(per_frame: list[list[Mask]], raster: Callable[[Mask], np.ndarray]
                 ) -> Callable[[int], np.ndarray | None]:
    """Each frame's mask for :func:`burn_in`: the union of the masks that burn into it."""
    def mask_for(frame: int) -> np.ndarray | None:
        return _union([raster(m) for m in per_frame[frame]]) if frame < len(per_frame) else None

    return mask_for


def apply_series_masks(home: VeilHome, series_ref: int, progress: Progress = no_progress,
                       cancel: CancelToken | None = None) -> RedactionReport:
    """Burn the series' masks into new instances of a derived series; originals untouched."""
    cancel = cancel or CancelToken()
    started = time.perf_counter()
    report = RedactionReport()
    conn = home.connect()
    try:
        instances = index.list_instances(conn, series_ref, versions="originals")
        stored = masks_of_series(conn, series_ref)
        series_uid = conn.execute("SELECT series_uid FROM series WHERE id = ?", (series_ref,)).fetchone()
        if series_uid is None:
            raise VeilError("This series is no longer in the library.")
        rasters: dict[str, np.ndarray] = {}

        def raster(mask: Mask) -> np.ndarray:
            key = mask.to_json()
            if key not in rasters:
                rasters[key] = mask.rasterize()
            return rasters[key]

        work = []
        for inst in instances:
            frames = max(1, inst.number_of_frames or 1)
            if inst.rows is None or inst.columns is None:
                continue
            per_frame = [masks_for(stored, inst.instance_ref, f, inst.rows, inst.columns) for f in range(frames)]
            if any(per_frame):
                work.append((inst, per_frame))
        report.images = len(work)
        report.series_uid = series_uid[0] if work else ""
        masked = {inst.instance_ref for inst, _ in work}
        with conn:  # an image whose masks were all removed is its original again
            for inst in instances:
                if inst.instance_ref not in masked:
                    index.set_current_version(conn, inst.instance_ref, None)
        import_id = index.start_import(conn, os_user()) if work else None
        staged = []
        for n, (inst, per_frame) in enumerate(work, 1):
            if cancel.cancelled:
                report.cancelled = True
                break
            digest = hashlib.sha256("".join(m.to_json() for ms in per_frame for m in ms).encode()).hexdigest()
            new_uid = derived_uid(inst.sop_instance_uid, digest)
            known = index.version_of(conn, inst.instance_ref, new_uid)
            if known is not None:  # these very masks were applied before: that version is current again
                with conn:
                    index.set_current_version(conn, inst.instance_ref, known)
                report.already_present += 1
                progress(n, len(work))
                continue
            try:
                ds = pydicom.dcmread(io.BytesIO(home.objects.read(inst.object_sha256)))
                result = burn_in(ds, _frame_masks(per_frame, raster), new_uid)
                out = result.dataset
                mark_redacted(out)
                buffer = io.BytesIO()
                out.save_as(buffer, enforce_file_format=True)
                data = buffer.getvalue()
                header = parse_header(data)
                sha = hashlib.sha256(data).hexdigest()
                staged.append((header, sha, len(data), home.objects.stage(data, sha), zlib.crc32(data),
                               inst.instance_ref))
                report.frames += len(result.frames_redacted)
                report.notes.add(result.note)
            except Exception as exc:  # noqa: BLE001 - one image that cannot be decoded or redacted does not stop the series
                report.failed.append((f"instance {inst.instance_number or inst.instance_ref}", _reason(exc)))
            progress(n, len(work))
        if staged and not report.cancelled and import_id is not None:  # staged: there was work, so an import
            _store(home, conn, staged, import_id, report)
        elif import_id is not None:
            for _header, _sha, _size, temp, _crc, _orig in staged:
                if temp is not None:
                    temp.unlink(missing_ok=True)
            index.finish_import(conn, import_id, 0, 0, len(report.failed), report.cancelled)
        home.record(conn, "redact.apply", series=home.audit.pseudonym(series_uid[0]),
                    images=report.images, written=report.written, frames=report.frames,
                    failed=len(report.failed), cancelled=report.cancelled)
    finally:
        conn.close()
    report.seconds = time.perf_counter() - started
    return report


def _store(home: VeilHome, conn: Connection, staged: list, import_id: int, report: RedactionReport) -> None:
    sync_filesystem(home.objects.root)
    conn.execute("BEGIN IMMEDIATE")
    try:
        for _header, sha, _size, temp, _crc, _orig in staged:
            if temp is not None:
                home.objects.commit(temp, sha)
        sync_filesystem(home.objects.root)
        for header, sha, size, _temp, crc, original in staged:
            added = index.add_instance(conn, header, sha, size, "redacted by Veil", import_id, crc32=crc,
                                       replaces=original)
            if added is index.Added.NEW:
                report.written += 1
            elif added is index.Added.ALREADY_PRESENT:
                report.already_present += 1
            else:
                report.failed.append((header.sop_instance_uid, "its new UID collides with another instance"))
        index.finish_import(conn, import_id, report.written, report.already_present, len(report.failed), False)
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise


def _reason(exc: Exception) -> str:
    if isinstance(exc, VeilError):
        return str(exc)
    return f"{type(exc).__name__} while burning in the mask"
