"""What Redact mode paints over the image, and the left button turned into tool events.

Every mask that is burned into the frame on screen is painted semi-transparent red (the one
being edited with its outlines, the selected shape with its handles); "Preview" paints them as
they will be written instead (the darkest value: black on screen). Detection's proposals are
outlined, red for high risk, amber for low. All drawing is in image coordinates through the
view's transform (:mod:`desktop.ui.redaction.geometry`), so zoom, pan, rotation and flips
just work. The canvas sees Redact mode through :class:`~desktop.ui.redaction.host.CanvasHost`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QMouseEvent, QPainter, QPen, QPolygonF, QTransform

from desktop.app.redaction.session import RedactSession
from desktop.core.redaction.mask import Mask
from desktop.core.redaction.shapes import Polygon, Rect, Shape
from desktop.core.redaction.tools import Pointer, SelectTool
from desktop.ui.redaction.geometry import image_to_widget, widget_to_image
from desktop.ui.redaction.host import CanvasHost

MASK_RGBA = (255, 32, 32, 110)
OUTLINE = QColor(255, 80, 80)
HANDLE = QColor("#ffffff")
HIGH_RISK = QColor("#ff3b30")
HIGH_RISK_FILL = QColor(255, 59, 48, 70)
LOW_RISK = QColor("#ffb000")
PREVIEW_BANNER = "PREVIEW — as it will be written"
HANDLE_PIXELS = 7
PointerKind = Literal["press", "move", "release", "double"]
POINTER_KINDS: dict[QMouseEvent.Type, PointerKind] = {
    QMouseEvent.Type.MouseButtonPress: "press", QMouseEvent.Type.MouseButtonRelease: "release",
    QMouseEvent.Type.MouseButtonDblClick: "double", QMouseEvent.Type.MouseMove: "move"}


def _outline(painter: QPainter, shape: Shape) -> None:
    if isinstance(shape, Rect):
        x0, y0, x1, y1 = shape.bounds
        painter.drawRect(QRectF(x0, y0, x1 - x0, y1 - y0))
    elif isinstance(shape, Polygon):
        painter.drawPolygon(QPolygonF([QPointF(x, y) for x, y in shape.points]))


def _cosmetic(color: QColor, width: float = 1.5, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)  # the same width on screen at any zoom
    return pen


class RedactCanvas:
    """The viewport's editor in Redact mode (see :class:`desktop.ui.viewer.viewport.Editor`)."""

    def __init__(self, host: CanvasHost) -> None:
        self.host = host
        self.hover: tuple[float, float] | None = None
        self._raster_key: tuple[object, ...] = ()
        self._raster: QImage | None = None
        self._raster_masks: list[Mask] = []  # kept alive: the key holds their ids

    # -- geometry ----------------------------------------------------------------------------
    def transform(self) -> QTransform | None:
        here, view = self.host.here, self.host.view
        viewport = self.host.viewport
        if here is None or view is None or viewport.array is None:
            return None
        return image_to_widget(viewport.image_rect(), here.rows, here.columns, view.rotation, view.flip_h,
                               view.flip_v)

    # -- input -------------------------------------------------------------------------------
    def mouse(self, event: QMouseEvent) -> bool:
        t = self.transform()
        if t is None or not self.host.ready:
            return False
        x, y = widget_to_image(t, event.position())
        kind = POINTER_KINDS.get(event.type())
        if kind == "move":
            self.hover = (x, y)
            self.host.viewport.update()
            if not event.buttons() & Qt.MouseButton.LeftButton:
                return False  # hovering: the brush outline and the polygon's next edge follow
        elif event.button() != Qt.MouseButton.LeftButton or kind is None:
            return False
        if kind == "press" and isinstance(self.host.tool, SelectTool):
            self.host.pick_slot_at(x, y)
        self.host.tool_event(Pointer(kind, x, y))
        return True

    def leave(self) -> None:
        self.hover = None
        self.host.viewport.update()

    # -- painting ----------------------------------------------------------------------------
    def _union_image(self, masks: list[Mask], rgba: tuple[int, int, int, int]) -> QImage | None:
        if not masks:
            return None
        key: tuple[object, ...] = (rgba, *(id(m) for m in masks))
        if key != self._raster_key or self._raster is None:
            covered = masks[0].rasterize()
            for mask in masks[1:]:
                covered = covered | mask.rasterize()
            rows, columns = covered.shape
            pixels = np.zeros((rows, columns, 4), dtype=np.uint8)
            pixels[covered] = rgba
            image = QImage(pixels.data, columns, rows, pixels.strides[0], QImage.Format.Format_RGBA8888)
            self._raster = image.copy()  # owns its pixels
            self._raster_key, self._raster_masks = key, list(masks)
        return self._raster

    def paint(self, painter: QPainter) -> None:
        t = self.transform()
        here, session = self.host.here, self.host.session
        if t is None or not self.host.ready or here is None or session is None:
            return
        masks = session.masks_here()
        painter.save()
        painter.setTransform(t)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        full = QRectF(0, 0, here.columns, here.rows)
        if self.host.preview:
            shade = 255 if self.host.inverted else 0
            image = self._union_image(masks, (shade, shade, shade, 255))
            if image is not None:
                painter.drawImage(full, image)
            painter.restore()
            self._banner(painter, PREVIEW_BANNER)
            return
        image = self._union_image(masks, MASK_RGBA)
        if image is not None:
            painter.drawImage(full, image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self._paint_working(painter, session)
        self._paint_proposals(painter)
        self._paint_cursor(painter)
        painter.restore()

    def _paint_working(self, painter: QPainter, session: RedactSession) -> None:
        history = session.working_history
        if history is None:
            return
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(_cosmetic(OUTLINE))
        for shape in history.mask.shapes:
            _outline(painter, shape)
        tool = self.host.tool
        preview = tool.preview() if tool is not None else None
        if isinstance(preview, Polygon):
            painter.setPen(_cosmetic(OUTLINE, 1.5, Qt.PenStyle.DashLine))
            points = [QPointF(x, y) for x, y in preview.points]
            if self.hover is not None:
                points.append(QPointF(*self.hover))
            painter.drawPolyline(QPolygonF(points))
        if isinstance(tool, SelectTool) and tool.selected is not None:
            selected = history.mask.shape(tool.selected)
            if selected is not None:
                self._paint_selection(painter, selected)

    def _paint_selection(self, painter: QPainter, shape: Shape) -> None:
        x0, y0, x1, y1 = shape.bounds
        painter.setPen(_cosmetic(HANDLE, 1, Qt.PenStyle.DashLine))
        painter.drawRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        scale = max(painter.transform().m11() ** 2 + painter.transform().m12() ** 2, 1e-6) ** 0.5
        half = HANDLE_PIXELS / 2 / scale
        painter.setPen(_cosmetic(QColor("#000000"), 1))
        painter.setBrush(QBrush(HANDLE))
        for cx, cy in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
            painter.drawRect(QRectF(cx - half, cy - half, 2 * half, 2 * half))
        painter.setBrush(Qt.BrushStyle.NoBrush)

    def _paint_proposals(self, painter: QPainter) -> None:
        proposals = self.host.proposals_here()
        chosen = self.host.chosen_proposal()
        for group in sorted(proposals, key=lambda g: g.risk == "high"):  # high risk on top
            high = group.risk == "high"
            painter.setBrush(QBrush(HIGH_RISK_FILL) if high else Qt.BrushStyle.NoBrush)
            painter.setPen(_cosmetic(HIGH_RISK if high else LOW_RISK, 3.0 if group is chosen else 2.0,
                                     Qt.PenStyle.SolidLine if high else Qt.PenStyle.DashLine))
            x0, y0, x1, y1 = group.box
            painter.drawRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        painter.setBrush(Qt.BrushStyle.NoBrush)

    def _paint_cursor(self, painter: QPainter) -> None:
        radius = self.host.brush_radius_here()
        if radius is None or self.hover is None:
            return
        centre = QPointF(*self.hover)
        painter.setPen(_cosmetic(QColor(0, 0, 0, 200), 3))
        painter.drawEllipse(centre, radius, radius)
        painter.setPen(_cosmetic(QColor("#ffffff"), 1))
        painter.drawEllipse(centre, radius, radius)

    def _banner(self, painter: QPainter, text: str) -> None:
        painter.save()
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        viewport = self.host.viewport
        box = QRectF(0, 6, viewport.width(), 24)
        painter.setPen(QColor(0, 0, 0, 220))
        painter.drawText(box.translated(1, 1), int(Qt.AlignmentFlag.AlignHCenter), text)
        painter.setPen(QColor("#ffd166"))
        painter.drawText(box, int(Qt.AlignmentFlag.AlignHCenter), text)
        painter.restore()

