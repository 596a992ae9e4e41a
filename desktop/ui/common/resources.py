"""Files the window shows that are not code: the application icon, package data of
``desktop.resources`` (``icons/veil.svg``) read through :mod:`importlib.resources`, so the
window has its icon in a wheel or a bundle as in a checkout."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QPointF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtSvg import QSvgRenderer

from desktop.core.common.resources import read_resource, resource_path

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
#: The application icon, under ``desktop/resources``.
APP_ICON_FILE = ("icons", "veil.svg")


def icon_path(name: str = APP_ICON_FILE[-1]) -> Path:
    """Where the named icon lives (``resources/icons``)."""
    return resource_path(APP_ICON_FILE[0], name)


def app_icon() -> QIcon:
    """The Veil icon, rendered at the usual sizes (empty icon if the file is missing)."""
    try:
        svg = read_resource(*APP_ICON_FILE)
    except OSError:
        return QIcon()
    renderer = QSvgRenderer(QByteArray(svg))
    icon = QIcon()
    for size in ICON_SIZES:
        pixmap = QPixmap(QSize(size, size))
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        icon.addPixmap(pixmap)
    return icon


def eye_icon(colour: str) -> QIcon:
    """An eye (off state: show the passphrase) and a struck-through eye (on state: hide it)."""
    icon = QIcon()
    for state, struck in ((QIcon.State.Off, False), (QIcon.State.On, True)):
        pixmap = QPixmap(QSize(32, 32))
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(colour), 2.4)
        painter.setPen(pen)
        eye = QPainterPath()
        eye.moveTo(3, 16)
        eye.quadTo(16, 3, 29, 16)
        eye.quadTo(16, 29, 3, 16)
        painter.drawPath(eye)
        painter.setBrush(QColor(colour))
        painter.drawEllipse(QPointF(16, 16), 4.5, 4.5)
        if struck:
            painter.drawLine(QPointF(6, 27), QPointF(26, 5))
        painter.end()
        icon.addPixmap(pixmap, QIcon.Mode.Normal, state)
    return icon
