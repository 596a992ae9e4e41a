"""Use case: look at a series. List its images, load them from the sealed store, decode
frames ahead of the viewer, and account for the view in the audit log (identifiable data
was shown to someone: PS3.15 E does not apply, HIPAA's accounting does).

A series opens on its current versions (each image once: the redacted version where Veil made
one, which is what every export sends); "originals" shows the images as imported (Show
Original, and Redact mode, whose masks belong to the originals)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset

if TYPE_CHECKING:
    from desktop.app.consent.export_consent import ExportPurpose
    from desktop.app.gate.still import StillReport

from desktop.app.library.home import VeilHome
from desktop.app.viewer.frame_cache import FrameCache, Prefetcher
from desktop.core.imaging.display import DisplayParams, display_params, render
from desktop.core.imaging.frames import decode_frame, read_image
from desktop.core.library import index
from desktop.core.library.index import InstanceRow

#: How many frames either side of the one on screen are decoded ahead.
PREFETCH_RADIUS = 8
#: How many whole datasets (with their pixel data) stay in memory.
DATASETS_KEPT = 2 * PREFETCH_RADIUS + 4


@dataclass
class OpenSeries:
    """A series opened for viewing: its images in order and their frames, flattened."""

    home: VeilHome
    series_ref: int
    images: list[InstanceRow]
    study_uid: str = ""
    #: (image position, frame index) for every frame of the series, in viewing order.
    frames: list[tuple[int, int]] = field(default_factory=list)
    cache: FrameCache = field(default_factory=FrameCache)
    #: Which versions of the images are open: "current" (each image once, its redacted version
    #: where Veil made one: what exports send) or "originals" (as imported: what masks are on).
    versions: str = "current"
    #: Original instance ref -> SOP Instance UID of the redacted version that is its current
    #: version, for every image of the series Veil redacted (empty: nothing redacted).
    redacted: dict[int, str] = field(default_factory=dict)
    #: Full datasets (pixel data included) of the last few images read: bounded, because a
    #: 2,000-slice series would otherwise keep every compressed original in memory.
    _datasets: OrderedDict[int, Dataset] = field(default_factory=OrderedDict, repr=False)
    _params: dict[tuple[int, int], DisplayParams] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _prefetcher: Prefetcher[tuple[int, int]] | None = field(default=None, repr=False)

    def dataset(self, position: int) -> Dataset:
        """The full dataset of image ``position`` (decrypted from the store, hash checked)."""
        with self._lock:
            ds = self._datasets.get(position)
            if ds is not None:
                self._datasets.move_to_end(position)
                return ds
        ds = read_image(self.home.objects.read(self.images[position].object_sha256))
        with self._lock:
            self._datasets[position] = ds
            while len(self._datasets) > DATASETS_KEPT:
                self._datasets.popitem(last=False)
        return ds

    def params(self, key: tuple[int, int]) -> DisplayParams:
        """How to display frame ``key`` (read from its header once)."""
        found = self._params.get(key)
        if found is None:
            found = self._params[key] = display_params(self.dataset(key[0]), key[1])
        return found

    def _decode(self, key: tuple[int, int]) -> np.ndarray:
        position, frame = key
        return decode_frame(self.dataset(position), frame)

    def frame(self, number: int) -> tuple[np.ndarray, DisplayParams]:
        """Frame ``number`` of the series (0-based, across images) and how to display it;
        the frames around it are decoded ahead in the background."""
        key = self.frames[number]
        pixels = self.cache.get(key)
        if pixels is None:
            pixels = self._decode(key)
            self.cache.put(key, pixels)
        self.prefetch_around(number)
        return pixels, self.params(key)

    def prefetch_around(self, number: int) -> None:
        image = self.images[self.frames[number][0]]
        if (image.rows or 0) * (image.columns or 0) * 8 > self.cache.budget // 4:
            return  # frames this large are decoded when shown, not several at a time ahead
        if self._prefetcher is None:
            self._prefetcher = Prefetcher(self.cache, self._decode)
        order = sorted(range(max(0, number - PREFETCH_RADIUS), min(len(self.frames), number + PREFETCH_RADIUS + 1)),
                       key=lambda n: abs(n - number))
        self._prefetcher.want([self.frames[n] for n in order if n != number])

    def export_png(self, path: str | Path, image: np.ndarray, position: int, purpose: ExportPurpose,
                   confirm_burned_in: bool = False) -> StillReport:
        """Save what is on screen (``image``: the rendered, transformed view of image
        ``position``) as a PNG through the privacy gate (:mod:`desktop.app.gate.still`): a
        picture of someone's scan leaving the library needs a purpose consent allows, is
        reviewed for burned-in identity and is entered in the accounting of disclosures."""
        from desktop.app.gate.still import export_image

        return export_image(self.home, study_uid=self.study_uid,
                            sop_instance_uid=self.images[position].sop_instance_uid,
                            image=image, path=path, purpose=purpose, confirm_burned_in=confirm_burned_in)

    def wait_for_prefetch(self) -> None:
        if self._prefetcher is not None:
            self._prefetcher.wait()

    def close(self) -> None:
        if self._prefetcher is not None:
            self._prefetcher.close()
        with self._lock:
            self._datasets.clear()

    # -- redacted versions -------------------------------------------------------------------
    @property
    def has_redacted_versions(self) -> bool:
        """Veil redacted at least one image of the series (its original can be shown)."""
        return bool(self.redacted)

    def replaced(self, position: int) -> bool:
        """Image ``position`` is an original that a redacted version replaces (exports send that)."""
        image = self.images[position]
        return not image.redacted_version and image.instance_ref in self.redacted

    def current_uid(self, position: int) -> str:
        """The SOP Instance UID of the current version of image ``position``: what an export of
        it sends (the redacted version, when an original that one replaces is on screen)."""
        image = self.images[position]
        if image.redacted_version:
            return image.sop_instance_uid
        return self.redacted.get(image.instance_ref, image.sop_instance_uid)


def open_series(home: VeilHome, series_ref: int, cache_budget: int | None = None,
                versions: str = "current") -> OpenSeries:
    """Open a series for viewing and record the view in the audit log.

    ``versions``: "current" (the default: each image once, its redacted version where Veil made
    one) or "originals" (the images as imported: Show Original, and Redact mode's masks)."""
    if versions not in ("current", "originals"):
        raise ValueError(f"versions must be 'current' or 'originals', not {versions!r}")
    conn = home.connect()
    try:
        images = index.list_instances(conn, series_ref, versions=versions)
        current = images if versions == "current" else index.list_instances(conn, series_ref)
        redacted = {i.replaces_ref: i.sop_instance_uid for i in current if i.replaces_ref is not None}
        study_uid = index.study_uid_of_series(conn, series_ref)
        if study_uid is not None:
            details: dict[str, object] = {"images": len(images)}
            if versions != "current":
                details["versions"] = versions
            home.record(conn, "view", study=home.audit.pseudonym(study_uid), series_ref=series_ref, **details)
    finally:
        conn.close()
    frames = [(position, f) for position, image in enumerate(images) for f in range(max(1, image.number_of_frames))]
    cache = FrameCache(cache_budget) if cache_budget else FrameCache()
    return OpenSeries(home, series_ref, images, study_uid or "", frames, cache, versions, redacted)


def series_thumbnails(home: VeilHome, series_refs: list[int], size: int = 96) -> dict[int, np.ndarray]:
    """A small picture of each series (its middle frame at its default display), for the
    viewer's series panel. A series whose image cannot be decoded gets no thumbnail."""
    out: dict[int, np.ndarray] = {}
    conn = home.connect()
    try:
        listed = {ref: index.list_instances(conn, ref) for ref in series_refs}
    finally:
        conn.close()
    for ref, images in listed.items():
        if not images:
            continue
        image = images[len(images) // 2]
        try:
            ds = read_image(home.objects.read(image.object_sha256))
            frame = (max(1, image.number_of_frames) - 1) // 2
            shown = render(decode_frame(ds, frame), display_params(ds, frame))
        except Exception:  # noqa: BLE001 - one series that cannot be decoded has no picture; the others still get theirs
            continue
        picture = Image.fromarray(shown)
        scale = size / max(picture.size)  # fit the square, enlarging tiny images crisply
        target = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        picture = picture.resize(target, Image.Resampling.NEAREST if scale > 1 else Image.Resampling.BILINEAR)
        out[ref] = np.ascontiguousarray(np.asarray(picture))
    return out
