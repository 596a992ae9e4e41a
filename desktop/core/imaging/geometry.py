"""Where an image sits in the patient and how big its pixels are: the pixel spacing behind
every length and area, and the orientation letters at the edges of the view.

- Pixel Spacing (0028,0030) is row spacing then column spacing, in mm in the patient
  (PS3.3 10.7.1.3); in an enhanced image it is in the Pixel Measures functional group
  (PS3.3 C.7.6.16.2.1). Imager Pixel Spacing (0018,1164) is measured at the detector and
  Nominal Scanned Pixel Spacing (0018,2010) on the scanned film: lengths from them are not
  calibrated to the patient (PS3.3 C.8.11.4.1.1), and say so.
- Image Orientation (Patient) (0020,0037) gives the direction cosines of the first row and
  the first column in the patient coordinate system, x to the patient's left, y posterior,
  z to the head (PS3.3 C.7.6.2.1.1); an enhanced image has it in the Plane Orientation
  functional group. Without it, Patient Orientation (0020,0020) names the row and column
  directions with the letters of PS3.3 C.7.6.1.1.1 (A/P, R/L, H/F), which are used here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydicom.dataset import Dataset

from desktop.core.imaging.display import functional_group, numbers

#: A direction cosine smaller than this does not earn its letter (an oblique shows up to three).
OBLIQUE_THRESHOLD = 0.25


@dataclass(frozen=True)
class PixelSpacing:
    """Millimetres between the centres of adjacent rows and of adjacent columns."""

    row_mm: float
    column_mm: float
    calibrated: bool = True
    source: str = "Pixel Spacing"

    @property
    def note(self) -> str:
        """What a length measured with it means, for a caption ('' when in the patient)."""
        return "" if self.calibrated else f"not calibrated ({self.source})"

    def length_mm(self, dx: float, dy: float) -> float:
        """The length of a step of ``dx`` columns and ``dy`` rows."""
        return math.hypot(dx * self.column_mm, dy * self.row_mm)


def _spacing(item: Dataset | None, keyword: str) -> tuple[float, float] | None:
    if item is None or keyword not in item:
        return None
    try:
        values = numbers(item.get(keyword))
    except (TypeError, ValueError):
        return None
    if len(values) != 2 or not all(math.isfinite(v) and 0 < v < 1e4 for v in values):
        return None
    return values[0], values[1]


def pixel_spacing(ds: Dataset, frame: int = 0) -> PixelSpacing | None:
    """The spacing lengths on frame ``frame`` are measured with, or None (lengths in pixels)."""
    measures = functional_group(ds, frame, "PixelMeasuresSequence")
    for item, keyword, calibrated, name in (
            (measures, "PixelSpacing", True, "Pixel Spacing"),
            (ds, "PixelSpacing", True, "Pixel Spacing"),
            (ds, "ImagerPixelSpacing", False, "Imager Pixel Spacing"),
            (ds, "NominalScannedPixelSpacing", False, "Nominal Scanned Pixel Spacing")):
        found = _spacing(item, keyword)
        if found is not None:
            return PixelSpacing(found[0], found[1], calibrated, name)
    return None


@dataclass(frozen=True)
class EdgeLetters:
    """The patient directions at the four edges of the view, e.g. top 'A', right 'L'."""

    top: str
    right: str
    bottom: str
    left: str

    def viewed(self, rotation_quarters: int = 0, flip_h: bool = False, flip_v: bool = False) -> EdgeLetters:
        """The letters after the view's flips and clockwise quarter turns, in the order
        :func:`desktop.core.imaging.transform.apply_view` applies them."""
        top, right, bottom, left = self.top, self.right, self.bottom, self.left
        if flip_h:
            left, right = right, left
        if flip_v:
            top, bottom = bottom, top
        for _ in range(rotation_quarters % 4):  # clockwise: the left edge comes to the top
            top, right, bottom, left = left, top, right, bottom
        return EdgeLetters(top, right, bottom, left)


_OPPOSITE = {"L": "R", "R": "L", "A": "P", "P": "A", "H": "F", "F": "H"}


def direction_letters(cosines: tuple[float, float, float]) -> str:
    """The letters of a direction in the patient, strongest first: (1, 0, 0) is 'L',
    (0, -0.7, 0.7) 'AH' or 'HA' (PS3.3 C.7.6.1.1.1)."""
    letters = []
    for value, positive, negative in zip(cosines, "LPH", "RAF"):
        if abs(value) >= OBLIQUE_THRESHOLD:
            letters.append((abs(value), positive if value > 0 else negative))
    return "".join(letter for _, letter in sorted(letters, key=lambda pair: -pair[0]))


def _opposite(letters: str) -> str:
    return "".join(_OPPOSITE[c] for c in letters)


def edge_letters(ds: Dataset, frame: int = 0) -> EdgeLetters | None:
    """The letters at the edges of frame ``frame`` as stored (no view applied), or None."""
    plane = functional_group(ds, frame, "PlaneOrientationSequence")
    for item in (plane, ds):
        if item is None or "ImageOrientationPatient" not in item:
            continue
        try:
            values = numbers(item.get("ImageOrientationPatient"))
        except (TypeError, ValueError):
            continue
        if len(values) != 6 or not all(math.isfinite(v) for v in values):
            continue
        row, column = (values[0], values[1], values[2]), (values[3], values[4], values[5])
        right, bottom = direction_letters(row), direction_letters(column)
        if right and bottom:
            return EdgeLetters(_opposite(bottom), right, bottom, _opposite(right))
    orientation = ds.get("PatientOrientation")
    named = [] if not orientation else [orientation] if isinstance(orientation, str) else list(orientation)
    if len(named) == 2:
        right, bottom = (str(v).strip().upper() for v in named)
        if right and bottom and set(right + bottom) <= set(_OPPOSITE):
            return EdgeLetters(_opposite(bottom), right, bottom, _opposite(right))
    return None
