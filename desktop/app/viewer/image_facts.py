"""What the viewer's overlay says of where an image is: the orientation letters at its edges,
the pixel spacing its scale bar is drawn with, and its slice location and thickness."""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset

from desktop.core.imaging.display import numbers
from desktop.core.imaging.geometry import EdgeLetters, PixelSpacing, edge_letters, pixel_spacing

#: Scale bar lengths a reader expects (mm): the longest that fits in a fifth of the view.
BAR_LENGTHS_MM = (1, 2, 5, 10, 20, 50, 100, 200, 500)


@dataclass(frozen=True)
class ImageFacts:
    letters: EdgeLetters | None = None
    spacing: PixelSpacing | None = None
    #: "Loc -12.5 mm  Thk 5 mm" (Slice Location (0020,1041), Slice Thickness (0018,0050)); "" unknown.
    slice_text: str = ""


def _mm(ds: Dataset, keyword: str) -> float | None:
    try:
        values = numbers(ds.get(keyword))
    except (TypeError, ValueError):
        return None
    return values[0] if len(values) == 1 else None


def image_facts(ds: Dataset, frame: int = 0) -> ImageFacts:
    """The facts of frame ``frame`` of ``ds`` (a hostile value is left out, never raised)."""
    location, thickness = _mm(ds, "SliceLocation"), _mm(ds, "SliceThickness")
    parts = []
    if location is not None:
        parts.append(f"Loc {location:.1f} mm")
    if thickness is not None and thickness > 0:
        parts.append(f"Thk {thickness:g} mm")
    return ImageFacts(edge_letters(ds, frame), pixel_spacing(ds, frame), "  ".join(parts))


def scale_bar(spacing: PixelSpacing | None, screen_per_pixel: float, view_width: float,
              turned: bool = False) -> tuple[float, str] | None:
    """A horizontal scale bar for a view ``view_width`` screen pixels wide showing image pixels
    ``screen_per_pixel`` screen pixels apart: its length in screen pixels and its label ("1 cm",
    "5 mm", with "not calibrated" when the spacing is the detector's); None without spacing.
    ``turned``: the image is on screen a quarter turn round, so its rows run across."""
    if spacing is None or screen_per_pixel <= 0:
        return None
    mm_per_screen = (spacing.row_mm if turned else spacing.column_mm) / screen_per_pixel
    fitting = [mm for mm in BAR_LENGTHS_MM if mm / mm_per_screen <= view_width / 5]
    if not fitting:
        return None
    mm = fitting[-1]
    label = f"{mm // 10} cm" if mm >= 10 and mm % 10 == 0 else f"{mm} mm"
    return mm / mm_per_screen, label + ("" if spacing.calibrated else " (not calibrated)")
