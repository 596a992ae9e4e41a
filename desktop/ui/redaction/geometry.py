"""Image pixel coordinates <-> viewport coordinates, through the view's flips, quarter turns,
zoom and pan. Masks are drawn and stored in image coordinates (column x, row y, pixel (c, r)
covering [c, c+1) x [r, r+1)); the viewport paints the rotated, flipped image in a rectangle.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QTransform


def image_to_widget(rect: QRectF, rows: int, columns: int, rotation: int = 0, flip_h: bool = False,
                    flip_v: bool = False) -> QTransform:
    """The transform from image coordinates to the viewport, for an image of ``rows`` x
    ``columns`` shown in ``rect`` flipped, then turned ``rotation`` quarter turns clockwise
    (the order of :func:`desktop.core.imaging.transform.apply_view`)."""
    t = QTransform()
    w, h = float(columns), float(rows)
    if flip_h:
        t = t * QTransform(-1, 0, 0, 1, w, 0)
    if flip_v:
        t = t * QTransform(1, 0, 0, -1, 0, h)
    for _ in range(rotation % 4):
        t = t * QTransform(0, 1, -1, 0, h, 0)  # (x, y) -> (h - y, x): a quarter turn clockwise
        w, h = h, w
    scale = rect.width() / w if w else 1.0
    return t * QTransform(scale, 0, 0, scale, rect.x(), rect.y())


def widget_to_image(transform: QTransform, point: QPointF) -> tuple[float, float]:
    inverse, ok = transform.inverted()
    mapped = inverse.map(point) if ok else point
    return mapped.x(), mapped.y()
