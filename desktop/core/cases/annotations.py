"""Annotations on a key image, as vector data in the image's own pixel coordinates.

A point is (x, y): x the column, y the row, the centre of the first pixel at (0, 0), as DICOM
counts them (PS3.3 C.10.5.1.2, Graphic Data in PIXEL units, less its one-based origin). Arrow,
line and ellipse-ROI keep two points (tail and tip; ends; corners of the box), an angle three
(end, vertex, end), a text label one (its anchor) and its text. Each is an immutable value and
:class:`Annotations` (all those of one image) is one too, so an edit is a new value and the
shared :class:`desktop.core.common.undo.History` undoes it.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from desktop.core.common.errors import VeilError

Point = tuple[float, float]

ANNOTATIONS_FORMAT = 1
#: Budgets: annotations on one image, characters of one label, bytes of one stored set.
MAX_ANNOTATIONS = 100
MAX_TEXT = 200
MAX_JSON_BYTES = 256 * 1024


class AnnotationError(VeilError):
    """An annotation that cannot be kept: the message says what is wrong with it."""


class Kind(StrEnum):
    ARROW = "arrow"
    TEXT = "text"
    ELLIPSE = "ellipse"
    LINE = "line"
    ANGLE = "angle"
    ROI = "roi"

    @property
    def points(self) -> int:
        """How many points this kind is drawn with."""
        return {Kind.TEXT: 1, Kind.ANGLE: 3}.get(self, 2)

    @property
    def label(self) -> str:
        return {Kind.ARROW: "arrow", Kind.TEXT: "text label", Kind.ELLIPSE: "ellipse", Kind.LINE: "line",
                Kind.ANGLE: "angle", Kind.ROI: "ellipse ROI"}[self]


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """A label as kept: one line, no control characters, trimmed; too long is an error."""
    cleaned = " ".join("".join(" " if unicodedata.category(c).startswith("C") else c for c in text).split())
    if len(cleaned) > limit:
        raise AnnotationError(f"A label holds at most {limit} characters; this one has {len(cleaned)}.")
    return cleaned


def _segment_distance(p: Point, a: Point, b: Point) -> float:
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / length2))
    return math.hypot(p[0] - (ax + t * dx), p[1] - (ay + t * dy))


@dataclass(frozen=True)
class Annotation:
    """One arrow, label, ellipse, line, angle or ellipse ROI (see the module for its points)."""

    id: int
    kind: Kind
    points: tuple[Point, ...]
    text: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind(self.kind))
        points = tuple((float(x), float(y)) for x, y in self.points)
        if len(points) != self.kind.points:
            raise AnnotationError(f"An {self.kind.label} is drawn with {self.kind.points} points, not {len(points)}.")
        if not all(math.isfinite(v) for p in points for v in p):
            raise AnnotationError(f"An {self.kind.label} has a point that is not a number.")
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "text", clean_text(self.text))
        if self.kind is Kind.TEXT and not self.text:
            raise AnnotationError("A text label needs its text.")

    def moved(self, dx: float, dy: float) -> Annotation:
        return replace(self, points=tuple((x + dx, y + dy) for x, y in self.points))

    def with_point(self, index: int, point: Point) -> Annotation:
        """The annotation with one of its points (a handle) moved to ``point``."""
        points = list(self.points)
        points[index] = point
        return replace(self, points=tuple(points))

    def box(self) -> tuple[float, float, float, float]:
        """x0, y0, x1, y1 around its points."""
        xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
        return min(xs), min(ys), max(xs), max(ys)

    def ellipse(self) -> tuple[float, float, float, float]:
        """Centre x, centre y and the two semi-axes of an ellipse or ROI."""
        x0, y0, x1, y1 = self.box()
        return (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2

    def distance_to(self, point: Point) -> float:
        """How far ``point`` is from what is drawn (to pick the annotation under the mouse)."""
        if self.kind is Kind.TEXT:
            return math.dist(point, self.points[0])
        if self.kind in (Kind.ELLIPSE, Kind.ROI):
            cx, cy, a, b = self.ellipse()
            steps = 72
            outline = [(cx + a * math.cos(2 * math.pi * i / steps), cy + b * math.sin(2 * math.pi * i / steps))
                       for i in range(steps + 1)]
            return min(_segment_distance(point, p, q) for p, q in zip(outline, outline[1:]))
        return min(_segment_distance(point, p, q) for p, q in zip(self.points, self.points[1:]))

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "kind": self.kind.value, "points": [list(p) for p in self.points]}
        if self.text:
            data["text"] = self.text
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Annotation:
        try:
            return cls(int(data["id"]), Kind(data["kind"]), tuple((x, y) for x, y in data["points"]),
                       str(data.get("text", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise AnnotationError(f"A stored annotation cannot be read ({type(exc).__name__}).") from None


@dataclass(frozen=True)
class Annotations:
    """The annotations of one image (``rows`` x ``columns``), drawn in order (last on top)."""

    rows: int
    columns: int
    items: tuple[Annotation, ...] = ()
    next_id: int = 1

    def __post_init__(self) -> None:
        if not (0 < self.rows <= 65535 and 0 < self.columns <= 65535):
            raise AnnotationError(f"An image of {self.rows} x {self.columns} pixels cannot be annotated.")
        if len(self.items) > MAX_ANNOTATIONS:
            raise AnnotationError(f"An image holds at most {MAX_ANNOTATIONS} annotations.")
        for item in self.items:
            self._check_inside(item)
        if len({a.id for a in self.items}) != len(self.items):
            raise AnnotationError("Two annotations of an image have the same id.")

    def _check_inside(self, item: Annotation) -> None:
        for x, y in item.points:
            if not (-0.5 <= x <= self.columns - 0.5 and -0.5 <= y <= self.rows - 0.5):
                raise AnnotationError(f"The {item.kind.label} reaches outside the image.")

    def clamp(self, point: Point) -> Point:
        """``point`` brought inside the image."""
        return (min(max(point[0], -0.5), self.columns - 0.5), min(max(point[1], -0.5), self.rows - 0.5))

    def find(self, annotation_id: int) -> Annotation:
        for item in self.items:
            if item.id == annotation_id:
                return item
        raise AnnotationError("That annotation is no longer on this image.")

    def add(self, kind: Kind, points: Sequence[Point], text: str = "") -> Annotations:
        """With a new annotation on top (its id is ``next_id``)."""
        item = Annotation(self.next_id, kind, tuple(points), text)
        return replace(self, items=self.items + (item,), next_id=self.next_id + 1)

    def replaced(self, item: Annotation) -> Annotations:
        self.find(item.id)
        return replace(self, items=tuple(item if a.id == item.id else a for a in self.items))

    def moved(self, annotation_id: int, dx: float, dy: float) -> Annotations:
        """With one annotation moved by (``dx``, ``dy``), stopped at the image's edges."""
        item = self.find(annotation_id)
        x0, y0, x1, y1 = item.box()
        dx = min(max(dx, -0.5 - x0), self.columns - 0.5 - x1)
        dy = min(max(dy, -0.5 - y0), self.rows - 0.5 - y1)
        return self.replaced(item.moved(dx, dy))

    def deleted(self, annotation_id: int) -> Annotations:
        self.find(annotation_id)
        return replace(self, items=tuple(a for a in self.items if a.id != annotation_id))

    def hit(self, point: Point, tolerance: float) -> Annotation | None:
        """The topmost annotation within ``tolerance`` pixels of ``point``."""
        for item in reversed(self.items):
            if item.distance_to(point) <= tolerance:
                return item
        return None

    def texts(self) -> list[str]:
        """Every typed label (checked for the patient's identifiers before anything leaves)."""
        return [a.text for a in self.items if a.text]

    def to_json(self) -> str:
        return json.dumps({"format": ANNOTATIONS_FORMAT, "rows": self.rows, "columns": self.columns,
                           "next_id": self.next_id, "items": [a.to_data() for a in self.items]})

    @classmethod
    def from_json(cls, text: str) -> Annotations:
        if len(text.encode()) > MAX_JSON_BYTES:
            raise AnnotationError("The stored annotations are too large to be read.")
        try:
            data = json.loads(text)
            if data.get("format") != ANNOTATIONS_FORMAT:
                raise AnnotationError("The stored annotations are in an unknown format.")
            items = tuple(Annotation.from_data(d) for d in data["items"])
            next_id = max([int(data.get("next_id", 1))] + [a.id + 1 for a in items])
            return cls(int(data["rows"]), int(data["columns"]), items, next_id)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise AnnotationError(f"The stored annotations cannot be read ({type(exc).__name__}).") from None
