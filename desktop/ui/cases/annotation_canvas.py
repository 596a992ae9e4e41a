"""The annotation canvas: a key image at its view, with its annotations painted live over it
(arrows, labels, ellipses, lines with their length in mm, angles, ROIs with mean, SD and area)
in the colour and places the slides burn them (:mod:`desktop.core.cases.burn`). The mouse goes
to the Qt-free :class:`desktop.app.cases.annotating.AnnotateSession`, in image coordinates.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop.app.cases.annotating import AnnotateSession, Edit, Tool
from desktop.app.cases.picture import KeyPicture
from desktop.core.cases.annotations import Annotation, Kind, Point
from desktop.core.cases.burn import ANNOTATION_RGB, map_point, unmap_point, viewed_size
from desktop.core.cases.case import KeyImage
from desktop.core.cases.measure import describe
from desktop.ui.viewer.viewport import to_qimage

COLOUR = QColor(*ANNOTATION_RGB)
SELECTED = QColor("#4fc3f7")
SHADOW = QColor(0, 0, 0, 230)
#: How near (screen pixels) a click must be to pick an annotation or a handle.
PICK_PIXELS = 7.0
HANDLE = 4.0


class AnnotationCanvas(QWidget):
    """Paints one key image and its annotations; the owner commits the edits it emits."""

    #: A finished gesture: an :class:`Edit` for the case draft.
    edited = Signal(object)
    #: The Text tool was clicked at this image point: ask for the label.
    text_wanted = Signal(float, float)
    #: A double-click on an annotation (its id): edit its label.
    relabel_wanted = Signal(int)
    #: The selection or the gesture changed (the window updates its status line).
    changed = Signal()

    def __init__(self, key: KeyImage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AnnotationCanvas")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 320)
        self.key = key
        self.session = AnnotateSession(key.annotations)
        self.picture: KeyPicture | None = None
        self._qimage: QImage | None = None
        self._described: dict[Annotation, str] = {}

    def set_picture(self, picture: KeyPicture) -> None:
        self.picture = picture
        self._qimage = to_qimage(picture.pixels)
        self._described.clear()
        self.update()

    def set_key(self, key: KeyImage) -> None:
        """The key image as the draft has it now (after an edit, undo or redo)."""
        self.key = key
        if key.annotations != self.session.base:
            self.session.reset(key.annotations)
        self.update()
        self.changed.emit()

    # -- geometry ----------------------------------------------------------------------------
    def _size(self) -> tuple[int, int]:
        return viewed_size(self.key.view, self.key.annotations.rows, self.key.annotations.columns)

    def scale(self) -> float:
        """Screen pixels per image pixel."""
        width, height = self._size()
        return max(min((self.width() - 16) / width, (self.height() - 16) / height), 1e-3)

    def image_rect(self) -> QRectF:
        width, height = self._size()
        s = self.scale()
        return QRectF((self.width() - width * s) / 2, (self.height() - height * s) / 2, width * s, height * s)

    def to_widget(self, point: Point) -> QPointF:
        """Where an image point is on screen."""
        vx, vy = map_point(point, self.key.view, self.key.annotations.rows, self.key.annotations.columns)
        rect, s = self.image_rect(), self.scale()
        return QPointF(rect.x() + (vx + 0.5) * s, rect.y() + (vy + 0.5) * s)

    def to_image(self, at: QPointF) -> Point:
        """The image point under a screen position."""
        rect, s = self.image_rect(), self.scale()
        viewed_point = ((at.x() - rect.x()) / s - 0.5, (at.y() - rect.y()) / s - 0.5)
        return unmap_point(viewed_point, self.key.view, self.key.annotations.rows, self.key.annotations.columns)

    # -- the mouse ---------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.to_image(event.position())
        if self.session.press(point, PICK_PIXELS / self.scale()):
            point = self.session.base.clamp(point)
            self.text_wanted.emit(point[0], point[1])
        self.update()
        self.changed.emit()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.session.move(self.to_image(event.position()))
        if self.session.pending or self.session.live is not None:
            self.changed.emit()
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            return
        edit = self.session.release(self.to_image(event.position()))
        self.update()
        if edit is not None:
            self.edited.emit(edit)
        self.changed.emit()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.session.tool is Tool.SELECT:
            hit = self.session.base.hit(self.to_image(event.position()), PICK_PIXELS / self.scale())
            if hit is not None:
                self.relabel_wanted.emit(hit.id)
                return
        self.mousePressEvent(event)

    def emit_edit(self, edit: Edit | None) -> None:
        if edit is not None:
            self.edited.emit(edit)
        self.update()
        self.changed.emit()

    # -- painting ----------------------------------------------------------------------------
    def describe(self, item: Annotation) -> str:
        """The label drawn beside ``item``: its text and its measurement."""
        if item not in self._described:
            picture = self.picture
            measured = (describe(item, picture.spacing, picture.values, picture.unit) if picture is not None
                        else describe(item, None))
            if len(self._described) > 256:
                self._described.clear()
            self._described[item] = " ".join(t for t in (item.text, measured) if t)
        return self._described[item]

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#000000"))
        if self._qimage is None:
            painter.setPen(QColor("#d8d8d8"))
            painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter), "Loading the key image…")
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(self.image_rect(), self._qimage)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for item in self.session.shown.items:
            selected = item.id == self.session.selected
            self._paint(painter, item.kind, [self.to_widget(p) for p in item.points], self.describe(item), selected)
            if selected:
                self._handles(painter, [self.to_widget(p) for p in item.points])
        self._paint_pending(painter)
        painter.end()

    def _paint_pending(self, painter: QPainter) -> None:
        session = self.session
        kind = session.tool.kind
        if kind is None or not session.pending or session.cursor is None:
            return
        points = [*session.pending, session.cursor]
        if kind is Kind.ANGLE and len(points) == 2:
            kind = Kind.LINE  # the first arm
        self._paint(painter, kind, [self.to_widget(p) for p in points], "", False)

    def _paint(self, painter: QPainter, kind: Kind, points: list[QPointF], text: str, selected: bool) -> None:
        colour = COLOUR  # as it will be burned; the selection shows by its handles
        for pen in (QPen(SHADOW, 4.0), QPen(colour, 2.0)):
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            if kind in (Kind.ELLIPSE, Kind.ROI):
                painter.drawEllipse(QRectF(points[0], points[1]).normalized())
            elif kind in (Kind.LINE, Kind.ANGLE, Kind.ARROW):
                painter.drawPolyline(QPolygonF(points))
        if kind is Kind.ARROW:
            self._arrow_head(painter, points[0], points[1], colour)
        if kind is Kind.TEXT and not text:
            return
        if text:
            self._label(painter, self._anchor(kind, points), text, colour)

    @staticmethod
    def _anchor(kind: Kind, points: list[QPointF]) -> QPointF:
        if kind in (Kind.ELLIPSE, Kind.ROI):
            box = QRectF(points[0], points[1]).normalized()
            return QPointF(box.left(), box.bottom() + 4)
        if kind is Kind.LINE:
            return points[-1] + QPointF(6, 6)
        if kind is Kind.ANGLE:
            return points[1] + QPointF(8, 0)
        if kind is Kind.ARROW:
            return points[0] + QPointF(4, 4)
        return points[0]

    @staticmethod
    def _arrow_head(painter: QPainter, tail: QPointF, tip: QPointF, colour: QColor) -> None:
        dx, dy = tip.x() - tail.x(), tip.y() - tail.y()
        span = math.hypot(dx, dy) or 1.0
        ux, uy = dx / span, dy / span
        head = min(span, 16.0)
        base = QPointF(tip.x() - ux * head, tip.y() - uy * head)
        half = head * 0.45
        painter.setPen(QPen(SHADOW, 1.0))
        painter.setBrush(QBrush(colour))
        painter.drawPolygon(QPolygonF([tip, QPointF(base.x() - uy * half, base.y() + ux * half),
                                       QPointF(base.x() + uy * half, base.y() - ux * half)]))

    def _label(self, painter: QPainter, at: QPointF, text: str, colour: QColor) -> None:
        metrics = painter.fontMetrics()
        box = QRectF(metrics.boundingRect(text)).translated(0, metrics.ascent())
        x = min(max(at.x(), 2.0), self.width() - box.width() - 4)
        y = min(max(at.y(), 2.0), self.height() - box.height() - 4)
        origin = QPointF(x, y + metrics.ascent())
        painter.setPen(SHADOW)
        for dx, dy in ((1, 1), (-1, -1), (1, -1), (-1, 1)):
            painter.drawText(origin + QPointF(dx, dy), text)
        painter.setPen(colour)
        painter.drawText(origin, text)

    @staticmethod
    def _handles(painter: QPainter, points: list[QPointF]) -> None:
        painter.setPen(QPen(SHADOW, 1.0))
        painter.setBrush(QBrush(SELECTED))
        for point in points:
            painter.drawRect(QRectF(point.x() - HANDLE, point.y() - HANDLE, 2 * HANDLE, 2 * HANDLE))
