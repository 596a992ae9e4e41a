"""Where an image's pixels are redacted, planned once and burned the same way every time.

A :class:`RegionPlan` holds the regions of every scanner template whose condition the image's
header meets (on every frame) and, with a :data:`Detector`, the boxes OCR found around text that
matches the header's identifiers. :func:`burn_regions` burns a plan into a new instance
(:mod:`desktop.core.redaction.burn_in`) marked as redacted, so that its de-identification records
the Clean Pixel Data Option (PS3.15 E.3.1).

Both ways Veil redacts files use it: ``veil redact`` writes the redacted copies
(:mod:`desktop.app.redaction.redacting_files`) and ``veil deid --redact`` burns the same regions
in memory on the way to de-identification (:class:`desktop.app.deid.runner.RedactedInput`). It
imports neither, so each can import it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pydicom

from desktop.app.redaction.redacting import derived_uid
from desktop.core.redaction.burn_in import BurnInResult, burn_in, mark_redacted
from desktop.core.redaction.templates import Region, Template, matching

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in image pixels, x1 and y1 exclusive
#: ``detector(ds, frames) -> [(frame, box, reason)]``: high-risk text boxes (OCR), reasons
#: naming the identifier's kind, never its value (:func:`desktop.app.redaction.detecting.high_risk_detector`).
Detector = Callable[[pydicom.Dataset, Iterable[int]], list[tuple[int, Box, str]]]


@dataclass(frozen=True)
class RegionPlan:
    """Where one image is redacted: the regions of each scanner template that matches its
    header, (name, regions), on every frame; and the boxes OCR found, (frame, box, reason).
    Plain data, so it goes to worker processes; the same plan burns the same pixels."""

    templates: tuple[tuple[str, tuple[Region, ...]], ...] = ()
    detected: tuple[tuple[int, Box, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.templates or self.detected)

    def template_mask(self, rows: int, columns: int) -> np.ndarray | None:
        """The templates' regions, or None without any."""
        if not self.templates:
            return None
        mask = np.zeros((rows, columns), dtype=bool)
        for name, regions in self.templates:
            mask |= Template(name, _never, regions).mask(rows, columns).rasterize()
        return mask

    def mask_for(self, rows: int, columns: int) -> Callable[[int], np.ndarray | None]:
        """Each frame's mask (None: nothing to burn in that frame)."""
        template_mask = self.template_mask(rows, columns)
        boxes: dict[int, list[Box]] = {}
        for frame, box, _reason in self.detected:
            boxes.setdefault(frame, []).append(box)

        def mask_for(frame: int) -> np.ndarray | None:
            found = boxes.get(frame, [])
            if template_mask is None and not found:
                return None
            mask = template_mask.copy() if template_mask is not None else np.zeros((rows, columns), dtype=bool)
            for x0, y0, x1, y1 in found:
                mask[max(0, y0):min(rows, y1), max(0, x0):min(columns, x1)] = True
            return mask

        return mask_for

    def burns(self, rows: int, columns: int, frames: int) -> bool:
        """Whether any pixel of the image lies under a region (then it is really redacted)."""
        mask = self.template_mask(rows, columns)
        if mask is not None and mask.any():
            return True
        return any(0 <= f < frames and min(columns, x1) > max(0, x0) and min(rows, y1) > max(0, y0)
                   for f, (x0, y0, x1, y1), _reason in self.detected)

    def uid_part(self) -> str:
        """What the redacted instance's SOP Instance UID is derived from, with the original's."""
        return json.dumps([[name for name, _ in self.templates],
                           sorted((f, list(b)) for f, b, _ in self.detected)])


def _never(_ds: pydicom.Dataset) -> bool:
    return False


def plan_regions(ds: pydicom.Dataset, templates: Iterable[Template], detector: Detector | None) -> RegionPlan:
    """The regions to redact in ``ds``: every template whose condition its header meets, and
    with a ``detector`` the boxes around text that matches the header's identifiers."""
    if "PixelData" not in ds:
        return RegionPlan()
    hits = tuple((t.name, tuple(t.regions)) for t in matching(list(templates), ds))
    detected: tuple[tuple[int, Box, str], ...] = ()
    if detector is not None:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        detected = tuple((int(f), _int_box(b), r) for f, b, r in detector(ds, range(frames)))
    return RegionPlan(hits, detected)


def _int_box(box: Box) -> Box:
    """The box with plain ints (a detector may give numpy integers; the plan goes to JSON)."""
    x0, y0, x1, y1 = box
    return int(x0), int(y0), int(x1), int(y1)


def burn_regions(ds: pydicom.Dataset, plan: RegionPlan) -> BurnInResult:
    """A new instance with the plan's regions burned into every frame, marked as redacted by
    Veil (Derivation Description, Burned In Annotation NO): an export of it records the Clean
    Pixel Data Option (PS3.15 E.3.1). ``ds`` is not modified."""
    rows, columns = int(ds.Rows), int(ds.Columns)
    result = burn_in(ds, plan.mask_for(rows, columns), derived_uid(str(ds.SOPInstanceUID), plan.uid_part()))
    mark_redacted(result.dataset)
    return result
