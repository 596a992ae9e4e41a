"""The image area: paints an 8-bit frame centred on black, fitted or zoomed, with the corner
overlays; turns the wheel and drags into requests (scroll, window, zoom, pan).

The Qt layer only wraps the numpy array: the QImage shares its buffer, so the array is kept.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop.ui.common.qimages import to_qimage
from desktop.ui.viewer.overlays import Corners, paint_corners

__all__ = ["Editor", "Viewport", "to_qimage"]

BACKGROUND = QColor("#000000")
MESSAGE_COLOR = QColor("#d8d8d8")
ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.05, 40.0
SMOOTH_UP_TO = 3.0


class Editor(Protocol):
    def paint(self, painter: QPainter) -> None: ...
    def mouse(self, event: QMouseEvent) -> bool: ...
    def leave(self) -> None: ...


#: A right-button zoom drag multiplies the zoom by this for every pixel it moves up.
DRAG_ZOOM_PER_PIXEL = 1.01


class Viewport(QWidget):
    """Shows one image; the owner sets the image, the message and the overlay texts."""

    #: Move this many frames (wheel: down is forward).
    scroll_requested = Signal(int)
    #: A window/level drag moved (dx, dy) screen pixels.
    window_dragged = Signal(float, float)
    #: Zoom or pan changed (the overlay shows the zoom).
    view_changed = Signal()
    #: The mouse is over pixel (x, y) of the image shown, or (-1, -1) when it left it.
    hovered = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Viewport")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 200)
        self.setAutoFillBackground(False)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMouseTracking(True)  # the value under the cursor, as Horos and OHIF show it
        self.array: np.ndarray | None = None
        self._qimage: QImage | None = None
        self.message = ""
        self.corners = Corners()
        self.overlays_visible = True
        self.zoom: float | None = None  # None: fit to the window
        self.pan = QPointF(0, 0)
        self.left_pans = False  # the left button's tool: window/level (False) or pan
        self.right_zooms = False  # the right button's tool: window/level (False) or zoom (Horos, OHIF)
        self._drag: tuple[str, QPointF] | None = None
        self._space = False
        self._wheel = 0
        #: Redact mode's editor: paints over the image and takes the left button (see
        #: :class:`desktop.ui.redaction.canvas.RedactCanvas`); None when viewing.
        self.editor: Editor | None = None

    # -- content -----------------------------------------------------------------------------
    def set_image(self, array: np.ndarray | None) -> None:
        """Show ``array`` (None: no image, only the message)."""
        if array is not None:
            array = np.ascontiguousarray(array)
        self.array = array
        self._qimage = to_qimage(array) if array is not None else None
        self.update()

    def set_message(self, text: str) -> None:
        """A message centred in the viewport (loading, or why the image cannot be shown)."""
        self.message = text
        self.update()

    def set_corners(self, corners: Corners) -> None:
        self.corners = corners
        self.update()

    def set_overlays_visible(self, visible: bool) -> None:
        self.overlays_visible = visible
        self.update()

    # -- geometry ----------------------------------------------------------------------------
    def fit_scale(self) -> float:
        if self.array is None:
            return 1.0
        h, w = self.array.shape[:2]
        return max(min(self.width() / max(w, 1), self.height() / max(h, 1)), 1e-3)

    def scale(self) -> float:
        return self.zoom if self.zoom is not None else self.fit_scale()

    def image_rect(self) -> QRectF:
        """Where the image is painted, in widget coordinates."""
        if self.array is None:
            return QRectF()
        h, w = self.array.shape[:2]
        s = self.scale()
        centre = QPointF(self.width() / 2, self.height() / 2) + (self.pan if self.zoom is not None else QPointF())
        return QRectF(centre.x() - w * s / 2, centre.y() - h * s / 2, w * s, h * s)

    def fit(self) -> None:
        """Fit the whole image in the viewport, centred."""
        self.zoom = None
        self.pan = QPointF(0, 0)
        self.view_changed.emit()
        self.update()

    def actual_size(self) -> None:
        """One image pixel per screen pixel, centred."""
        self.zoom = 1.0
        self.pan = QPointF(0, 0)
        self.view_changed.emit()
        self.update()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by ``factor`` keeping the image point under ``anchor`` (default: centre) still."""
        old = self.scale()
        new = max(MIN_ZOOM, min(MAX_ZOOM, old * factor))
        centre = QPointF(self.width() / 2, self.height() / 2)
        anchor = anchor if anchor is not None else centre
        pan = self.pan if self.zoom is not None else QPointF(0, 0)
        image_point = (anchor - centre - pan) / old
        self.pan = anchor - centre - image_point * new
        self.zoom = new
        self.view_changed.emit()
        self.update()

    def pan_by(self, delta: QPointF) -> None:
        if self.zoom is None:
            self.zoom = self.fit_scale()
            self.pan = QPointF(0, 0)
        self.pan += delta
        self.view_changed.emit()
        self.update()

    # -- painting ----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self._qimage is not None:
            # Interpolate when shrinking or magnifying a little; show pixels as pixels beyond.
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.scale() < SMOOTH_UP_TO)
            painter.drawImage(self.image_rect(), self._qimage)
            if self.editor is not None:
                self.editor.paint(painter)
        if self.message:
            painter.setPen(MESSAGE_COLOR)
            box = QRectF(self.rect()).adjusted(40, 40, -40, -40)
            painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self.message)
        if self.overlays_visible:
            paint_corners(painter, QRectF(self.rect()), self.corners)
        painter.end()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.zoom is None:
            self.view_changed.emit()  # the fitted zoom changed

    # -- input -------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            if delta:
                self.zoom_by(ZOOM_STEP ** (delta / 120), event.position())
        else:
            self._wheel += delta
            steps = int(self._wheel / 120)
            if steps:
                self._wheel -= steps * 120
                self.scroll_requested.emit(-steps)
        event.accept()

    def _mode_for(self, event: QMouseEvent) -> str | None:
        b = Qt.MouseButton
        if event.button() == b.MiddleButton or (event.button() == b.LeftButton and (self._space or self.left_pans)):
            return "pan"
        if event.button() == b.RightButton and self.right_zooms:
            return "zoom"
        if event.button() in (b.LeftButton, b.RightButton):
            return "window"
        return None

    def _edits(self, event: QMouseEvent) -> bool:
        """Redact mode: the editor takes the event (not while Space pans or another drag runs)."""
        return self.editor is not None and not self._space and self._drag is None and self.editor.mouse(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if self._edits(event):
            event.accept()
            return
        mode = self._mode_for(event)
        if mode is None:
            super().mousePressEvent(event)
            return
        self._drag = (mode, event.position())
        self.setCursor(Qt.CursorShape.ClosedHandCursor if mode == "pan" else Qt.CursorShape.SizeAllCursor)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._edits(event):
            event.accept()
            return
        if self._drag is None:
            self._hover(event.position())
            super().mouseMoveEvent(event)
            return
        mode, last = self._drag
        delta = event.position() - last
        self._drag = (mode, event.position())
        if mode == "pan":
            self.pan_by(delta)
        elif mode == "zoom":  # drag up to magnify, down to shrink, about the image's centre on screen
            self.zoom_by(DRAG_ZOOM_PER_PIXEL ** -delta.y(), self.image_rect().center())
        else:
            self.window_dragged.emit(delta.x(), delta.y())
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._edits(event):
            event.accept()
            return
        if self._drag is not None:
            self._drag = None
            self.unsetCursor()
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self._edits(event):
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def _hover(self, at: QPointF) -> None:
        rect, scale = self.image_rect(), self.scale()
        if self.array is None or not rect.contains(at):
            self.hovered.emit(-1, -1)
            return
        self.hovered.emit(int((at.x() - rect.x()) / scale), int((at.y() - rect.y()) / scale))

    def leaveEvent(self, event: QEvent) -> None:
        self.hovered.emit(-1, -1)
        if self.editor is not None:
            self.editor.leave()
        super().leaveEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space = True
                self.setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            if self._drag is None:
                self.unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)
