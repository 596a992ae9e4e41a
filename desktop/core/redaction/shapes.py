"""The shapes a redaction mask is made of, in image pixel coordinates (column x, row y).

Shapes are immutable values: an edit replaces a shape by a moved or resized copy, which is what
makes undo exact. Each shape has an id that survives moves and resizes, so the UI can keep a
selection across edits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

Point = tuple[float, float]


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle; (x0, y0) and (x1, y1) are opposite corners, any order."""

    id: int
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return min(self.x0, self.x1), min(self.y0, self.y1), max(self.x0, self.x1), max(self.y0, self.y1)

    def moved(self, dx: float, dy: float) -> Rect:
        return replace(self, x0=self.x0 + dx, y0=self.y0 + dy, x1=self.x1 + dx, y1=self.y1 + dy)

    def resized(self, bounds: tuple[float, float, float, float]) -> Rect:
        x0, y0, x1, y1 = bounds
        return replace(self, x0=x0, y0=y0, x1=x1, y1=y1)

    def contains(self, x: float, y: float) -> bool:
        x0, y0, x1, y1 = self.bounds
        return x0 <= x <= x1 and y0 <= y <= y1


@dataclass(frozen=True)
class Polygon:
    """A closed polygon (three points or more)."""

    id: int
    points: tuple[Point, ...]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        return min(xs), min(ys), max(xs), max(ys)

    def moved(self, dx: float, dy: float) -> Polygon:
        return replace(self, points=tuple((x + dx, y + dy) for x, y in self.points))

    def resized(self, bounds: tuple[float, float, float, float]) -> Polygon:
        return replace(self, points=_rescale(self.points, self.bounds, bounds))

    def contains(self, x: float, y: float) -> bool:
        """Even-odd rule."""
        inside = False
        pts = self.points
        for (xa, ya), (xb, yb) in zip(pts, pts[1:] + pts[:1]):
            if (ya > y) != (yb > y) and x < xa + (y - ya) * (xb - xa) / (yb - ya):
                inside = not inside
        return inside


@dataclass(frozen=True)
class Stroke:
    """A freehand brush stroke: a path of points painted with a round brush of ``radius``
    pixels. An eraser stroke (``erase``) clears what earlier shapes painted."""

    id: int
    points: tuple[Point, ...]
    radius: float
    erase: bool = False

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        r = self.radius
        return min(xs) - r, min(ys) - r, max(xs) + r, max(ys) + r

    def moved(self, dx: float, dy: float) -> Stroke:
        return replace(self, points=tuple((x + dx, y + dy) for x, y in self.points))

    def resized(self, bounds: tuple[float, float, float, float]) -> Stroke:
        r = self.radius
        inner = self.bounds[0] + r, self.bounds[1] + r, self.bounds[2] - r, self.bounds[3] - r
        target = bounds[0] + r, bounds[1] + r, bounds[2] - r, bounds[3] - r
        return replace(self, points=_rescale(self.points, inner, target))

    def contains(self, x: float, y: float) -> bool:
        pts = self.points
        if len(pts) == 1:
            return math.dist(pts[0], (x, y)) <= self.radius
        return any(_segment_distance((x, y), a, b) <= self.radius for a, b in zip(pts, pts[1:]))


Shape = Rect | Polygon | Stroke


def _rescale(points: tuple[Point, ...], old: tuple[float, float, float, float],
             new: tuple[float, float, float, float]) -> tuple[Point, ...]:
    ox0, oy0, ox1, oy1 = old
    nx0, ny0, nx1, ny1 = new
    sx = (nx1 - nx0) / (ox1 - ox0) if ox1 != ox0 else 1.0
    sy = (ny1 - ny0) / (oy1 - oy0) if oy1 != oy0 else 1.0
    return tuple((nx0 + (x - ox0) * sx, ny0 + (y - oy0) * sy) for x, y in points)


def _segment_distance(p: Point, a: Point, b: Point) -> float:
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def shape_to_json(shape: Shape) -> dict[str, object]:
    if isinstance(shape, Rect):
        return {"kind": "rect", "id": shape.id, "x0": shape.x0, "y0": shape.y0, "x1": shape.x1, "y1": shape.y1}
    if isinstance(shape, Polygon):
        return {"kind": "polygon", "id": shape.id, "points": [list(p) for p in shape.points]}
    return {"kind": "stroke", "id": shape.id, "points": [list(p) for p in shape.points],
            "radius": shape.radius, "erase": shape.erase}


def shape_from_json(data: dict[str, Any]) -> Shape:
    kind = data["kind"]
    if kind == "rect":
        return Rect(int(data["id"]), float(data["x0"]), float(data["y0"]), float(data["x1"]), float(data["y1"]))
    points = tuple((float(x), float(y)) for x, y in data["points"])
    if kind == "polygon":
        if len(points) < 3:
            raise ValueError("a polygon needs three points")
        return Polygon(int(data["id"]), points)
    if kind == "stroke":
        if not points:
            raise ValueError("a stroke needs a point")
        return Stroke(int(data["id"]), points, float(data["radius"]), bool(data.get("erase", False)))
    raise ValueError(f"unknown shape kind {kind!r}")
