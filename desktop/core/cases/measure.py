"""Measurements on annotations: lengths in mm, angles, and the statistics of an ellipse ROI.

Lengths and areas use the image's pixel spacing, row and column spacing apart (an anisotropic
pixel is measured as it is: PS3.3 10.7.1.3); an angle is measured in the patient's plane, so
it too follows the spacing. ROI statistics are over the modality values (Hounsfield units on
CT: the rescale of PS3.3 C.11.1.1.2 applied) of the pixels whose centres lie inside the
ellipse; the SD is the population SD, as Horos and OHIF report it; the area is the ellipse's
own, pi x a x b in mm (or pixels without spacing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from desktop.core.cases.annotations import Annotation, Kind
from desktop.core.imaging.geometry import PixelSpacing


@dataclass(frozen=True)
class RoiStats:
    """What an ellipse ROI shows: how many pixels, their mean, SD, min and max, and the area."""

    pixels: int
    mean: float
    sd: float
    minimum: float
    maximum: float
    area: float
    area_unit: str  # "mm²" or "px²"


def length(annotation: Annotation, spacing: PixelSpacing | None) -> tuple[float, str]:
    """The length of a line (or arrow) and its unit: mm with spacing, else pixels."""
    (x0, y0), (x1, y1) = annotation.points[:2]
    if spacing is None:
        return math.hypot(x1 - x0, y1 - y0), "px"
    return spacing.length_mm(x1 - x0, y1 - y0), "mm"


def angle_degrees(annotation: Annotation, spacing: PixelSpacing | None) -> float:
    """The angle at the vertex (the middle point), 0 to 180 degrees, in the patient's plane."""
    (ax, ay), (vx, vy), (bx, by) = annotation.points
    sx, sy = (spacing.column_mm, spacing.row_mm) if spacing is not None else (1.0, 1.0)
    u = ((ax - vx) * sx, (ay - vy) * sy)
    v = ((bx - vx) * sx, (by - vy) * sy)
    nu, nv = math.hypot(*u), math.hypot(*v)
    if nu == 0 or nv == 0:
        return 0.0
    cosine = max(-1.0, min(1.0, (u[0] * v[0] + u[1] * v[1]) / (nu * nv)))
    return math.degrees(math.acos(cosine))


def ellipse_mask(annotation: Annotation, rows: int, columns: int) -> np.ndarray:
    """The pixels of a ``rows`` x ``columns`` image whose centres lie inside the ellipse."""
    cx, cy, a, b = annotation.ellipse()
    if a <= 0 or b <= 0:
        return np.zeros((rows, columns), dtype=bool)
    ys, xs = np.ogrid[:rows, :columns]
    return ((xs - cx) / a) ** 2 + ((ys - cy) / b) ** 2 <= 1.0


def roi_stats(annotation: Annotation, values: np.ndarray, spacing: PixelSpacing | None) -> RoiStats | None:
    """The statistics of an ellipse ROI over ``values`` (a 2-D array of modality values);
    None when no pixel centre lies inside it or the image is not grey."""
    if values.ndim != 2:
        return None
    inside = values[ellipse_mask(annotation, values.shape[0], values.shape[1])].astype(np.float64)
    if inside.size == 0:
        return None
    _cx, _cy, a, b = annotation.ellipse()
    if spacing is None:
        area, unit = math.pi * a * b, "px²"
    else:
        area, unit = math.pi * a * spacing.column_mm * b * spacing.row_mm, "mm²"
    return RoiStats(int(inside.size), float(inside.mean()), float(inside.std()), float(inside.min()),
                    float(inside.max()), area, unit)


def _number(value: float) -> str:
    return f"{value:.1f}" if abs(value) < 1000 else f"{value:.0f}"


def describe(annotation: Annotation, spacing: PixelSpacing | None, values: np.ndarray | None = None,
             unit: str = "") -> str:
    """What is written beside a measuring annotation ('' for arrows, labels and ellipses):
    '23.4 mm', '41.2°', 'Mean 35.2 HU, SD 4.1, 120.5 mm²'. Lengths from a spacing that is
    not calibrated to the patient say so."""
    note = f" ({spacing.note})" if spacing is not None and spacing.note else ""
    if annotation.kind is Kind.LINE:
        value, length_unit = length(annotation, spacing)
        return f"{_number(value)} {length_unit}{note}"
    if annotation.kind is Kind.ANGLE:
        return f"{angle_degrees(annotation, spacing):.1f}°"
    if annotation.kind is Kind.ROI and values is not None:
        stats = roi_stats(annotation, values, spacing)
        if stats is None:
            return ""
        suffix = f" {unit}" if unit else ""
        return (f"Mean {_number(stats.mean)}{suffix}, SD {_number(stats.sd)}, "
                f"{_number(stats.area)} {stats.area_unit}{note}")
    return ""
