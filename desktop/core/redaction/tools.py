"""The redaction tools as plain state machines fed with event records, so the Qt view only
translates mouse and key events (in image coordinates) and repaints.

Each tool edits an :class:`EditHistory`; a drag is one gesture, hence one undo step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from desktop.core.redaction.history import EditHistory
from desktop.core.redaction.mask import Scope
from desktop.core.redaction.shapes import Polygon, Rect, Shape, Stroke

#: A click within this distance (image pixels) of a polygon's first point closes it.
CLOSE_DISTANCE = 6.0
#: Corner handles of the selected shape are grabbed within this distance (image pixels).
HANDLE_DISTANCE = 6.0
MIN_BRUSH, MAX_BRUSH = 1.0, 200.0


@dataclass(frozen=True)
class Pointer:
    """A mouse event in image coordinates: press, move (with the button down or not),
    release, or double (a double click)."""

    kind: Literal["press", "move", "release", "double"]
    x: float
    y: float


@dataclass(frozen=True)
class Key:
    key: Literal["enter", "escape", "delete"]


Event = Pointer | Key


class Tool:
    """Base: ignores everything."""

    name = "none"

    def __init__(self, history: EditHistory) -> None:
        self.history = history

    def handle(self, event: Event) -> None:
        if isinstance(event, Pointer):
            getattr(self, f"on_{event.kind}")(event.x, event.y)
        else:
            getattr(self, f"on_{event.key}")()

    def on_press(self, x: float, y: float) -> None: ...
    def on_move(self, x: float, y: float) -> None: ...
    def on_release(self, x: float, y: float) -> None: ...
    def on_double(self, x: float, y: float) -> None: ...
    def on_enter(self) -> None: ...
    def on_delete(self) -> None: ...

    def on_escape(self) -> None:
        self.history.cancel_gesture()

    def preview(self) -> Shape | None:
        """A shape being drawn that is not in the mask yet (a polygon's open outline)."""
        return None


class RectTool(Tool):
    """Drag from one corner to the opposite corner."""

    name = "rectangle"

    def __init__(self, history: EditHistory) -> None:
        super().__init__(history)
        self._start: tuple[float, float] | None = None
        self._base = history.mask

    def on_press(self, x: float, y: float) -> None:
        self._start, self._base = (x, y), self.history.mask
        self.history.begin_gesture()

    def on_move(self, x: float, y: float) -> None:
        if self._start is not None:
            self.history.update_gesture(self._base.with_shape(Rect(0, *self._start, x, y)))

    def on_release(self, x: float, y: float) -> None:
        if self._start is None:
            return
        x0, y0 = self._start
        self._start = None
        if abs(x - x0) < 1 and abs(y - y0) < 1:  # a click, not a box
            self.history.cancel_gesture()
            return
        self.history.update_gesture(self._base.with_shape(Rect(0, x0, y0, x, y)))
        self.history.end_gesture("Rectangle")

    def on_escape(self) -> None:
        self._start = None
        super().on_escape()


class PolygonTool(Tool):
    """Click each corner; close with a click on the first point, a double click or Enter."""

    name = "polygon"

    def __init__(self, history: EditHistory) -> None:
        super().__init__(history)
        self.points: list[tuple[float, float]] = []

    def on_press(self, x: float, y: float) -> None:
        if len(self.points) >= 3 and _near(self.points[0], (x, y), CLOSE_DISTANCE):
            self._close()
        else:
            self.points.append((x, y))

    def on_double(self, x: float, y: float) -> None:
        self._close()

    def on_enter(self) -> None:
        self._close()

    def on_escape(self) -> None:
        self.points = []

    def _close(self) -> None:
        points = _dedupe(self.points)
        self.points = []
        if len(points) >= 3:
            self.history.apply(self.history.mask.with_shape(Polygon(0, tuple(points))), "Polygon")

    def preview(self) -> Shape | None:
        return Polygon(0, tuple(self.points)) if len(self.points) >= 2 else None


class BrushTool(Tool):
    """Paint with a round brush of ``radius`` pixels; the eraser is the same with ``erase``."""

    name = "brush"

    def __init__(self, history: EditHistory, radius: float = 8.0, erase: bool = False) -> None:
        super().__init__(history)
        self.radius = radius
        self.erase = erase
        self._points: list[tuple[float, float]] | None = None
        self._base = history.mask

    def set_radius(self, radius: float) -> None:
        self.radius = max(MIN_BRUSH, min(MAX_BRUSH, radius))

    def on_press(self, x: float, y: float) -> None:
        self._points, self._base = [(x, y)], self.history.mask
        self._show()

    def on_move(self, x: float, y: float) -> None:
        if self._points is not None:
            if not self._points or not _near(self._points[-1], (x, y), 0.5):
                self._points.append((x, y))
                self._show()

    def on_release(self, x: float, y: float) -> None:
        if self._points is None:
            return
        self.on_move(x, y)
        self._points = None
        self.history.end_gesture("Eraser" if self.erase else "Brush")

    def _show(self) -> None:
        assert self._points is not None
        stroke = Stroke(0, tuple(self._points), self.radius, self.erase)
        self.history.update_gesture(self._base.with_shape(stroke))

    def on_escape(self) -> None:
        self._points = None
        super().on_escape()


class EraserTool(BrushTool):
    name = "eraser"

    def __init__(self, history: EditHistory, radius: float = 12.0) -> None:
        super().__init__(history, radius, erase=True)


class SelectTool(Tool):
    """Click a shape to select it; drag it to move it, drag a corner handle to resize it;
    Delete removes it."""

    name = "select"

    def __init__(self, history: EditHistory) -> None:
        super().__init__(history)
        self.selected: int | None = None
        self._grab: tuple[str, float, float, Shape] | None = None  # (mode, x, y, shape at press)

    def on_press(self, x: float, y: float) -> None:
        mask = self.history.mask
        current = mask.shape(self.selected) if self.selected is not None else None
        corner = _corner_at(current, x, y) if current is not None else None
        if current is not None and corner is not None:
            self._grab = (corner, x, y, current)
        else:
            hit = mask.shape_at(x, y)
            self.selected = hit.id if hit is not None else None
            self._grab = ("move", x, y, hit) if hit is not None else None
        if self._grab is not None:
            self.history.begin_gesture()

    def on_move(self, x: float, y: float) -> None:
        if self._grab is None:
            return
        mode, x0, y0, shape = self._grab
        if mode == "move":
            edited = shape.moved(x - x0, y - y0)
        else:
            bx0, by0, bx1, by1 = shape.bounds
            if "left" in mode:
                bx0 = min(x, bx1 - 1)
            else:
                bx1 = max(x, bx0 + 1)
            if "top" in mode:
                by0 = min(y, by1 - 1)
            else:
                by1 = max(y, by0 + 1)
            edited = shape.resized((bx0, by0, bx1, by1))
        self.history.update_gesture(self.history.mask.replacing(edited))

    def on_release(self, x: float, y: float) -> None:
        if self._grab is None:
            return
        mode = self._grab[0]
        self.on_move(x, y)
        self._grab = None
        self.history.end_gesture("Move" if mode == "move" else "Resize")

    def on_delete(self) -> None:
        if self.selected is not None and self.history.mask.shape(self.selected) is not None:
            self.history.apply(self.history.mask.without(self.selected), "Delete shape")
        self.selected = None

    def on_escape(self) -> None:
        self._grab = None
        self.selected = None
        super().on_escape()


def set_scope(history: EditHistory, scope: Scope, frame: int) -> None:
    """Change where the mask applies, as one undoable step."""
    history.apply(replace(history.mask, scope=scope, frame=frame), f"Apply to {scope.value}")


def _near(a: tuple[float, float], b: tuple[float, float], distance: float) -> bool:
    return abs(a[0] - b[0]) <= distance and abs(a[1] - b[1]) <= distance


def _dedupe(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for p in points:
        if not out or not _near(out[-1], p, 0.5):
            out.append(p)
    return out


def _corner_at(shape: Shape, x: float, y: float) -> str | None:
    x0, y0, x1, y1 = shape.bounds
    for name, (cx, cy) in {"top-left": (x0, y0), "top-right": (x1, y0),
                           "bottom-left": (x0, y1), "bottom-right": (x1, y1)}.items():
        if _near((cx, cy), (x, y), HANDLE_DISTANCE):
            return name
    return None
