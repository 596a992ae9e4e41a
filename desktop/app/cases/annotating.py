"""The annotation tools' behaviour, without Qt: which tool is chosen, what a press, a drag and
a release of the mouse do with it, in the image's own pixel coordinates.

- **Select** (V): a press on an annotation selects it, a drag moves it; a press on a handle
  (a point) of the selected one drags that point; a press on nothing clears the selection.
- **Arrow** (A), **Line** (L), **Ellipse** (E), **ROI** (R): drag from one end (corner) to the
  other.
- **Angle** (G): drag the first arm from its end to the vertex, then click the other end
  (as Horos draws one).
- **Text** (T): click where the label goes; the window asks for its text.

A finished gesture is one :class:`Edit`: the new :class:`Annotations` and the undo label; the
case draft keeps it as one undoable step. While a drag runs, :attr:`AnnotateSession.live`
holds what to paint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from desktop.core.cases.annotations import Annotation, AnnotationError, Annotations, Kind, Point

#: A drag shorter than this (image pixels) draws nothing: a click is not an arrow.
MIN_DRAG = 2.0


class Tool(StrEnum):
    SELECT = "select"
    ARROW = "arrow"
    TEXT = "text"
    ELLIPSE = "ellipse"
    LINE = "line"
    ANGLE = "angle"
    ROI = "roi"

    @property
    def kind(self) -> Kind | None:
        return None if self is Tool.SELECT else Kind(self.value)

    @property
    def hint(self) -> str:
        return {Tool.SELECT: "Click an annotation to select it, drag to move it or its handles; "
                             "Delete removes it; double-click edits its label.",
                Tool.ARROW: "Drag from the tail to the tip of the arrow.",
                Tool.TEXT: "Click where the label goes.",
                Tool.ELLIPSE: "Drag from one corner of the ellipse to the other.",
                Tool.LINE: "Drag from one end to the other: its length is measured in mm.",
                Tool.ANGLE: "Drag the first arm from its end to the vertex, then click the other end.",
                Tool.ROI: "Drag an ellipse over the region: mean, SD and area are measured."}[self]


@dataclass(frozen=True)
class Edit:
    annotations: Annotations
    label: str


class AnnotateSession:
    """The tools over the annotations of one key image (see the module)."""

    def __init__(self, annotations: Annotations) -> None:
        self.base = annotations
        self.tool = Tool.SELECT
        self.selected: int | None = None
        #: Points placed of the annotation being drawn, and where the mouse is.
        self.pending: list[Point] = []
        self.cursor: Point | None = None
        self.live: Annotations | None = None
        self._grab: tuple[int, int | None, Point] | None = None  # (id, handle or None, start)

    # -- state ---------------------------------------------------------------------------------
    @property
    def shown(self) -> Annotations:
        return self.live if self.live is not None else self.base

    def reset(self, annotations: Annotations) -> None:
        """The annotations changed elsewhere (undo, redo): drop a gesture in progress."""
        self.base, self.live, self._grab, self.pending = annotations, None, None, []
        if self.selected is not None and all(a.id != self.selected for a in annotations.items):
            self.selected = None

    def choose(self, tool: Tool) -> None:
        self.tool, self.pending, self.live, self._grab = tool, [], None, None
        if tool is not Tool.SELECT:
            self.selected = None

    def cancel(self) -> bool:
        """Esc: drop the annotation being drawn (or the selection); whether anything was."""
        if self.pending or self.live is not None:
            self.pending, self.live, self._grab = [], None, None
            return True
        if self.selected is not None:
            self.selected = None
            return True
        return False

    def selection(self) -> Annotation | None:
        return next((a for a in self.shown.items if a.id == self.selected), None)

    # -- the mouse -----------------------------------------------------------------------------
    def press(self, point: Point, tolerance: float) -> bool:
        """The left button went down at ``point``; True when the tool wants the text of a label
        there (the Text tool: the window asks, then calls :meth:`add_text`)."""
        point = self.base.clamp(point)
        self.cursor = point
        if self.tool is Tool.SELECT:
            self._press_select(point, tolerance)
            return False
        if self.tool is Tool.TEXT:
            return True
        if self.tool is Tool.ANGLE and len(self.pending) == 2:
            return False  # the third point is placed on release
        self.pending = [point]
        return False

    def _press_select(self, point: Point, tolerance: float) -> None:
        current = self.selection()
        if current is not None:
            for n, handle in enumerate(current.points):
                if math.dist(handle, point) <= tolerance:
                    self._grab = (current.id, n, point)
                    return
        hit = self.base.hit(point, tolerance)
        self.selected = hit.id if hit is not None else None
        self._grab = (hit.id, None, point) if hit is not None else None

    def move(self, point: Point) -> None:
        """The mouse moved to ``point`` (a button down or not)."""
        point = self.base.clamp(point)
        self.cursor = point
        if self._grab is None:
            return
        annotation_id, handle, start = self._grab
        try:
            if handle is None:
                self.live = self.base.moved(annotation_id, point[0] - start[0], point[1] - start[1])
            else:
                self.live = self.base.replaced(self.base.find(annotation_id).with_point(handle, point))
        except AnnotationError:
            self.live = None

    def release(self, point: Point) -> Edit | None:
        """The left button came up at ``point``: the finished gesture, if it made one."""
        point = self.base.clamp(point)
        self.cursor = point
        if self.tool is Tool.SELECT:
            grab, live = self._grab, self.live
            self._grab, self.live = None, None
            if grab is None or live is None or live == self.base:
                return None
            item = self.base.find(grab[0])
            return Edit(live, f"Move {item.kind.label.capitalize()}" if grab[1] is None
                        else f"Reshape {item.kind.label.capitalize()}")
        kind = self.tool.kind
        if kind is None or kind is Kind.TEXT or not self.pending:
            return None
        if kind is Kind.ANGLE:
            if len(self.pending) == 1:
                if math.dist(self.pending[0], point) < MIN_DRAG:
                    self.pending = []
                    return None
                self.pending.append(point)  # the vertex: the next click places the other end
                return None
            points = [*self.pending, point]
        else:
            points = [self.pending[0], point]
            if math.dist(points[0], points[1]) < MIN_DRAG:
                self.pending = []
                return None
        self.pending = []
        return self._added(kind, points)

    def add_text(self, point: Point, text: str) -> Edit | None:
        """A text label at ``point`` (nothing for empty text)."""
        if not text.strip():
            return None
        return self._added(Kind.TEXT, [self.base.clamp(point)], text)

    def _added(self, kind: Kind, points: list[Point], text: str = "") -> Edit:
        annotations = self.base.add(kind, points, text)
        self.selected = annotations.items[-1].id
        return Edit(annotations, f"Draw {kind.label.capitalize()}")

    # -- commands ------------------------------------------------------------------------------
    def delete_selected(self) -> Edit | None:
        item = self.selection()
        if item is None:
            return None
        self.selected = None
        return Edit(self.base.deleted(item.id), f"Delete {item.kind.label.capitalize()}")

    def relabelled(self, annotation_id: int, text: str) -> Edit | None:
        """The annotation with its label changed (a text label cannot lose its text)."""
        item = self.base.find(annotation_id)
        if text == item.text or (item.kind is Kind.TEXT and not text.strip()):
            return None
        return Edit(self.base.replaced(Annotation(item.id, item.kind, item.points, text)),
                    f"Edit {item.kind.label.capitalize()} Label")
