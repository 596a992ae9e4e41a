"""Every check box and radio button is clearly visible on the dark theme, wherever it is made."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QCheckBox, QRadioButton, QVBoxLayout, QWidget

from desktop.ui.common.theme import OUTLINE_BASE, apply_theme


def test_check_boxes_and_radio_buttons_get_a_visible_outline_by_themselves(qtbot, qapp):
    apply_theme(qapp)
    apply_theme(qapp)  # applied twice (two windows): one filter
    holder = QWidget()
    qtbot.addWidget(holder)
    layout = QVBoxLayout(holder)
    boxes = [QCheckBox("Unknown case", holder), QRadioButton("PowerPoint deck", holder)]
    for box in boxes:
        layout.addWidget(box)
    holder.show()
    qtbot.waitExposed(holder)
    for box in boxes:
        assert box.palette().color(QPalette.ColorRole.Window) == QColor(OUTLINE_BASE)
    assert holder.palette().color(QPalette.ColorRole.Window) != QColor(OUTLINE_BASE)  # only the indicators
