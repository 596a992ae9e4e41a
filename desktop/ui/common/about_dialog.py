"""Help > About Veil."""

from __future__ import annotations

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop import __version__

ABOUT_TEXT = f"""
<h3>Veil {__version__}</h3>
<p>Share medical images without leaking the patient.</p>
<p>Veil keeps a private, encrypted library of your DICOM studies: originals are sealed on
disk, the index is encrypted, and every action is written to a tamper-evident audit log.</p>
<p style="color:#9aa3ad">Built with pydicom and Qt for Python (PySide6 {pyside_version}).</p>
"""


def show_about(parent: QWidget | None) -> QMessageBox:
    """Show the About box (window-modal, not blocking)."""
    box = QMessageBox(QMessageBox.Icon.NoIcon, "About Veil", ABOUT_TEXT, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("AboutBox")
    box.setTextFormat(Qt.TextFormat.RichText)
    if parent is not None and not parent.windowIcon().isNull():
        box.setIconPixmap(parent.windowIcon().pixmap(64, 64))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
