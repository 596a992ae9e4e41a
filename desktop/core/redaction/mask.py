"""A redaction mask: shapes painted on one image, where it applies, and its pixels.

A mask is an immutable value (edits make a new one), drawn on an image of ``rows`` x
``columns``. Its scope says where it is burned in:

- ``FRAME``: the one frame it was drawn on;
- ``IMAGE``: every frame of that image (multi-frame ultrasound: the banner is on all of them);
- ``SERIES``: every image of the series with the same size (burned-in banners sit in the same
  place on every image a scanner writes).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np
from PIL import Image, ImageDraw

from desktop.core.redaction.shapes import Polygon, Rect, Shape, Stroke, shape_from_json, shape_to_json

MASK_FORMAT = 1


class Scope(Enum):
    FRAME = "frame"
    IMAGE = "image"
    SERIES = "series"


@dataclass(frozen=True)
class Mask:
    """Shapes in painting order (an eraser clears only what was painted before it)."""

    rows: int
    columns: int
    shapes: tuple[Shape, ...] = ()
    scope: Scope = Scope.FRAME
    frame: int = 0
    next_id: int = field(default=1)

    @property
    def empty(self) -> bool:
        return not any(not (isinstance(s, Stroke) and s.erase) for s in self.shapes)

    def with_shape(self, shape: Shape) -> Mask:
        """Add ``shape`` (its id is replaced by a fresh one)."""
        shape = replace(shape, id=self.next_id)
        return replace(self, shapes=self.shapes + (shape,), next_id=self.next_id + 1)

    def replacing(self, shape: Shape) -> Mask:
        return replace(self, shapes=tuple(shape if s.id == shape.id else s for s in self.shapes))

    def without(self, shape_id: int) -> Mask:
        return replace(self, shapes=tuple(s for s in self.shapes if s.id != shape_id))

    def shape(self, shape_id: int) -> Shape | None:
        return next((s for s in self.shapes if s.id == shape_id), None)

    def shape_at(self, x: float, y: float) -> Shape | None:
        """The topmost painted (not eraser) shape under a point."""
        for shape in reversed(self.shapes):
            if not (isinstance(shape, Stroke) and shape.erase) and shape.contains(x, y):
                return shape
        return None

    def applies_to(self, frame: int, rows: int, columns: int, same_image: bool) -> bool:
        """Whether this mask is burned into ``frame`` of an image of that size."""
        if (rows, columns) != (self.rows, self.columns):
            return False
        if self.scope is Scope.SERIES:
            return True
        if not same_image:
            return False
        return self.scope is Scope.IMAGE or frame == self.frame

    def rasterize(self) -> np.ndarray:
        """The mask's pixels: a bool array (rows, columns), True where the image is covered.

        A pixel is covered when the shape touches it: rectangles cover every pixel they
        overlap, so a box drawn around text never leaves a half-covered edge."""
        canvas = Image.new("L", (self.columns, self.rows), 0)
        draw = ImageDraw.Draw(canvas)
        for shape in self.shapes:
            fill = 0 if isinstance(shape, Stroke) and shape.erase else 255
            if isinstance(shape, Rect):
                x0, y0, x1, y1 = shape.bounds
                draw.rectangle([math.floor(x0), math.floor(y0), max(math.ceil(x1) - 1, math.floor(x0)),
                                max(math.ceil(y1) - 1, math.floor(y0))], fill=fill)
            elif isinstance(shape, Polygon):
                draw.polygon([(x, y) for x, y in shape.points], fill=fill, outline=fill)
            else:
                _stroke(draw, shape, fill)
        return np.asarray(canvas, dtype=np.uint8) > 0

    def to_json(self) -> str:
        return json.dumps({"format": MASK_FORMAT, "rows": self.rows, "columns": self.columns,
                           "scope": self.scope.value, "frame": self.frame, "next_id": self.next_id,
                           "shapes": [shape_to_json(s) for s in self.shapes]})

    @classmethod
    def from_json(cls, text: str) -> Mask:
        data = json.loads(text)
        if data.get("format") != MASK_FORMAT:
            raise ValueError("unknown mask format")
        shapes = tuple(shape_from_json(s) for s in data["shapes"])
        next_id = max([int(data.get("next_id", 1))] + [s.id + 1 for s in shapes])
        return cls(int(data["rows"]), int(data["columns"]), shapes, Scope(data["scope"]),
                   int(data["frame"]), next_id)


def _stroke(draw: ImageDraw.ImageDraw, stroke: Stroke, fill: int) -> None:
    r = stroke.radius
    for x, y in stroke.points:
        draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)
    if len(stroke.points) > 1:
        draw.line([(x, y) for x, y in stroke.points], fill=fill, width=max(1, round(2 * r)), joint="curve")


def covered_fraction(mask: np.ndarray) -> float:
    return float(mask.mean()) if mask.size else 0.0
