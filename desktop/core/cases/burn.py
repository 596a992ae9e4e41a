"""A key image as it goes on a slide: rendered at its view (crop, flips, quarter turns, a
size for the slide) with its annotations and their measurements drawn into the pixels.

The caller renders the frame at the key image's window (:func:`desktop.core.imaging.display.
render`); this module crops and turns it exactly as :func:`desktop.core.imaging.transform.
apply_view` turns the viewer's image, maps every annotation point the same way, and draws with
Pillow. Lines are drawn without anti-aliasing in :data:`ANNOTATION_RGB` over a dark shadow, so
a test can read the colour back at the arrow.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from desktop.core.cases.annotations import Annotation, Kind, Point
from desktop.core.cases.case import KeyImage, KeyView
from desktop.core.cases.measure import describe
from desktop.core.imaging.geometry import PixelSpacing
from desktop.core.imaging.transform import apply_view

#: The colour annotations are drawn in (the yellow of Horos' and OHIF's measurements).
ANNOTATION_RGB = (255, 214, 0)
SHADOW_RGB = (0, 0, 0)
#: The longer side of a slide image, in pixels, unless the caller asks for another.
SLIDE_SIDE = 1600


def _cropped(rendered: np.ndarray, view: KeyView) -> np.ndarray:
    if view.crop is None:
        return rendered
    x0, y0, x1, y1 = view.crop
    return rendered[y0:y1, x0:x1]


def map_point(point: Point, view: KeyView, rows: int, columns: int, scale: float = 1.0) -> Point:
    """Where an image point lands in the viewed image (``rows`` x ``columns`` is the image's
    size before the view; ``scale`` the output's pixels per viewed pixel)."""
    x, y = point
    width, height = columns, rows
    if view.crop is not None:
        x0, y0, x1, y1 = view.crop
        x, y, width, height = x - x0, y - y0, x1 - x0, y1 - y0
    if view.flip_h:
        x = width - 1 - x
    if view.flip_v:
        y = height - 1 - y
    for _ in range(view.rotation_quarters % 4):  # clockwise: row r, column c -> row c, column h-1-r
        x, y, width, height = height - 1 - y, x, height, width
    return (x + 0.5) * scale - 0.5, (y + 0.5) * scale - 0.5


def unmap_point(point: Point, view: KeyView, rows: int, columns: int, scale: float = 1.0) -> Point:
    """The image point shown at ``point`` of the viewed image: :func:`map_point` undone (the
    annotation tools turn a mouse position into the image's own coordinates with it)."""
    x, y = (point[0] + 0.5) / scale - 0.5, (point[1] + 0.5) / scale - 0.5
    width, height = columns, rows
    if view.crop is not None:
        width, height = view.crop[2] - view.crop[0], view.crop[3] - view.crop[1]
    quarters = view.rotation_quarters % 4
    turned_w, turned_h = (width, height) if quarters % 2 == 0 else (height, width)
    for _ in range(quarters):  # undo one clockwise turn: (x, y) of a w-wide image came from (y, w-1-x)
        x, y = y, turned_w - 1 - x
        turned_w, turned_h = turned_h, turned_w
    if view.flip_v:
        y = height - 1 - y
    if view.flip_h:
        x = width - 1 - x
    if view.crop is not None:
        x, y = x + view.crop[0], y + view.crop[1]
    return x, y


def viewed_size(view: KeyView, rows: int, columns: int) -> tuple[int, int]:
    """Width and height of the viewed image (cropped and turned), in image pixels."""
    width, height = columns, rows
    if view.crop is not None:
        width, height = view.crop[2] - view.crop[0], view.crop[3] - view.crop[1]
    return (height, width) if view.rotation_quarters % 2 else (width, height)


def _pixel(point: Point) -> Point:
    """The output pixel a point falls in (Pillow would truncate a fraction; this rounds)."""
    return float(math.floor(point[0] + 0.5)), float(math.floor(point[1] + 0.5))


def viewed(rendered: np.ndarray, view: KeyView, max_side: int) -> tuple[Image.Image, float]:
    """The rendered frame cropped, turned and scaled to ``max_side``, as RGB; and the scale."""
    turned = apply_view(_cropped(rendered, view), view.rotation_quarters, view.flip_h, view.flip_v)
    image = Image.fromarray(turned)
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS)  # grey before colour: a third of the work
    return image.convert("RGB"), image.width / turned.shape[1]


#: Where Debian's fonts-dejavu-core puts the font (Veil's set-up installs it with Qt's
#: libraries); it has every character a measurement writes. Pillow's own font is the fallback.
DEJAVU_SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if DEJAVU_SANS.is_file():
        try:
            return ImageFont.truetype(str(DEJAVU_SANS), size)
        except OSError:  # not a font after all: Pillow's own
            pass
    return ImageFont.load_default(size=size)


def _drawable(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> str:
    """Pillow's own font has no superscript two: write mm2 rather than a box."""
    if isinstance(font, ImageFont.FreeTypeFont) and Path(str(font.path)) == DEJAVU_SANS:
        return text
    return text.replace("²", "2")


def _line(draw: ImageDraw.ImageDraw, points: list[Point], width: int) -> None:
    draw.line(points, fill=SHADOW_RGB, width=width + 2, joint="curve")
    draw.line(points, fill=ANNOTATION_RGB, width=width, joint="curve")


def _arrow(draw: ImageDraw.ImageDraw, tail: Point, tip: Point, width: int) -> None:
    dx, dy = tip[0] - tail[0], tip[1] - tail[1]
    span = math.hypot(dx, dy) or 1.0
    ux, uy = dx / span, dy / span
    head = min(span, 5.0 * width + 8)
    base = (tip[0] - ux * head, tip[1] - uy * head)
    half = head * 0.45
    wing1 = (base[0] - uy * half, base[1] + ux * half)
    wing2 = (base[0] + uy * half, base[1] - ux * half)
    _line(draw, [tail, base], width)
    draw.polygon([tip, wing1, wing2], fill=ANNOTATION_RGB, outline=SHADOW_RGB)


def _label(draw: ImageDraw.ImageDraw, at: Point, text: str, size: int, bounds: tuple[int, int]) -> None:
    font = _font(size)
    text = _drawable(text, font)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font, stroke_width=2)
    x = min(max(at[0], 2 - left), bounds[0] - right - 2)
    y = min(max(at[1], 2 - top), bounds[1] - bottom - 2)
    draw.text((x, y), text, fill=ANNOTATION_RGB, font=font, stroke_width=2, stroke_fill=SHADOW_RGB)


def _draw(draw: ImageDraw.ImageDraw, item: Annotation, points: list[Point], text: str, width: int,
          size: int, bounds: tuple[int, int]) -> None:
    if item.kind is Kind.ARROW:
        _arrow(draw, points[0], points[1], width)
        if text:  # an arrow's label sits at its tail
            _label(draw, (points[0][0] + 4, points[0][1] + 4), text, size, bounds)
        return
    if item.kind in (Kind.ELLIPSE, Kind.ROI):
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        box = (min(xs), min(ys), max(xs), max(ys))
        draw.ellipse(box, outline=SHADOW_RGB, width=width + 2)
        draw.ellipse((box[0] + 1, box[1] + 1, box[2] - 1, box[3] - 1), outline=ANNOTATION_RGB, width=width)
        at = (box[0], box[3] + 4)
    elif item.kind in (Kind.LINE, Kind.ANGLE):
        _line(draw, points, width)
        at = (points[-1][0] + 6, points[-1][1] + 6) if item.kind is Kind.LINE else (points[1][0] + 8, points[1][1])
    else:
        at = points[0]
    if text:
        _label(draw, at, text, size, bounds)


def burn_key_image(rendered: np.ndarray, key: KeyImage, spacing: PixelSpacing | None,
                   values: np.ndarray | None = None, unit: str = "", max_side: int = SLIDE_SIDE) -> np.ndarray:
    """``rendered`` (the frame at the key image's window, uint8 grey or RGB, the whole image)
    at the key image's view, ``max_side`` pixels on its longer side, with its annotations
    drawn: each label's text, and the measurement of lines, angles and ROIs (over ``values``,
    the frame's modality values, in ``unit``)."""
    rows, columns = rendered.shape[:2]
    image, scale = viewed(rendered, key.view, max_side)
    draw = ImageDraw.Draw(image)
    width = max(3, round(max(image.size) / 500)) | 1  # odd: centred on the line's own pixels
    size = max(12, round(max(image.size) / 45))
    for item in key.annotations.items:
        points = [_pixel(map_point(p, key.view, rows, columns, scale)) for p in item.points]
        measured = describe(item, spacing, values, unit)
        text = " ".join(t for t in (item.text, measured) if t)
        _draw(draw, item, points, text, width, size, image.size)
    return np.asarray(image)
