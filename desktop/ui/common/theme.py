"""The dark look radiologists expect: Fusion style, a dark palette, readable contrast.

Reading rooms are dim; a bright window next to a diagnostic monitor is tiring. Text on the
dark base stays above WCAG AA contrast (light grey on near-black, white on the blue
highlight).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QCheckBox, QRadioButton, QStyle, QStyleFactory, QWidget

WINDOW = "#26292e"
BASE = "#1b1d21"
ALTERNATE = "#22252a"
BUTTON = "#33373d"
TEXT = "#e3e6ea"
MUTED = "#9aa3ad"
DISABLED = "#6b7178"
HIGHLIGHT = "#2f6db5"
LINK = "#7fb8f0"
ACCENT = "#8adbe3"
BORDER = "#3b4047"
WARNING = "#e0b25a"
OK = "#7ccf8a"
DANGER = "#f07a7a"

_STYLESHEET = f"""
QToolTip {{ color: {TEXT}; background-color: #30343a; border: 1px solid {BORDER}; padding: 4px; }}
QTableView {{ gridline-color: {BORDER}; selection-background-color: {HIGHLIGHT}; }}
QTableView::item {{ padding: 0px 6px; }}
QHeaderView::section {{ background-color: {BUTTON}; color: {TEXT}; padding: 4px 6px;
    border: none; border-right: 1px solid {BORDER}; border-bottom: 1px solid {BORDER}; }}
QLineEdit {{ padding: 4px 6px; border: 1px solid {BORDER}; border-radius: 3px; background: {BASE}; }}
QLineEdit:focus {{ border: 1px solid {HIGHLIGHT}; }}
QStatusBar {{ border-top: 1px solid {BORDER}; }}
QStatusBar::item {{ border: none; }}
QLabel[role="muted"] {{ color: {MUTED}; }}
QLabel[role="section"] {{ font-weight: 600; color: {TEXT}; }}
QLabel[role="warning"] {{ color: {WARNING}; }}
QLabel[role="ok"] {{ color: {OK}; }}
QLabel[role="danger"] {{ color: {DANGER}; }}
QFrame#NoticeBar {{ background: #2b3f55; border: 1px solid #3d5a78; border-radius: 4px; }}
QFrame#NoticeBar[kind="warning"] {{ background: #4a3d22; border: 1px solid #6e5a2e; }}
QPushButton[primary="true"] {{ background-color: {HIGHLIGHT}; color: white; border: 1px solid #3d80cc;
    border-radius: 3px; padding: 6px 14px; }}
QPushButton[primary="true"]:hover {{ background-color: #3a7cc7; }}
QPushButton[primary="true"]:disabled {{ background-color: {BUTTON}; color: {DISABLED}; }}
QFrame#DropOverlay {{ background: rgba(47, 109, 181, 70); border: 2px dashed {ACCENT}; border-radius: 8px; }}
"""


def dark_palette() -> QPalette:
    """The dark palette used by every window of Veil."""
    p = QPalette()
    roles = QPalette.ColorRole
    p.setColor(roles.Window, QColor(WINDOW))
    p.setColor(roles.WindowText, QColor(TEXT))
    p.setColor(roles.Base, QColor(BASE))
    p.setColor(roles.AlternateBase, QColor(ALTERNATE))
    p.setColor(roles.ToolTipBase, QColor("#30343a"))
    p.setColor(roles.ToolTipText, QColor(TEXT))
    p.setColor(roles.PlaceholderText, QColor(MUTED))
    p.setColor(roles.Text, QColor(TEXT))
    p.setColor(roles.Button, QColor(BUTTON))
    p.setColor(roles.ButtonText, QColor(TEXT))
    p.setColor(roles.BrightText, QColor("#ff6b6b"))
    p.setColor(roles.Highlight, QColor(HIGHLIGHT))
    p.setColor(roles.HighlightedText, QColor("#ffffff"))
    p.setColor(roles.Link, QColor(LINK))
    p.setColor(roles.LinkVisited, QColor("#b39ddb"))
    p.setColor(roles.Light, QColor("#4a4f57"))
    p.setColor(roles.Midlight, QColor("#3a3e45"))
    p.setColor(roles.Mid, QColor("#2c2f34"))
    p.setColor(roles.Dark, QColor("#141518"))
    p.setColor(roles.Shadow, QColor("#000000"))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText, roles.HighlightedText):
        p.setColor(disabled, role, QColor(DISABLED))
    p.setColor(disabled, roles.Highlight, QColor("#3a3e45"))
    return p


#: Fusion draws a check box's or radio button's outline from the window colour darkened, which
#: the dark theme loses; this lighter base makes every indicator's outline clearly visible.
OUTLINE_BASE = "#a4acb6"


def with_visible_indicator(widget: QWidget) -> None:
    """Give ``widget`` (a check box, a radio button, a view with tick boxes) an outline base
    that reads on the dark theme (only the indicator's outline uses the Window role)."""
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor(OUTLINE_BASE))
    widget.setPalette(palette)


class _VisibleIndicators(QObject):
    """Every check box and radio button of the application, as it is first shown."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Polish and isinstance(watched, (QCheckBox, QRadioButton)):
            with_visible_indicator(watched)
        return False


def apply_theme(app: QApplication) -> QStyle:
    """Fusion style, the dark palette and the few style rules Veil adds; the base style."""
    style = QStyleFactory.create("Fusion")
    app.setStyle(style)
    app.setPalette(dark_palette())
    app.setStyleSheet(_STYLESHEET)
    if not hasattr(app, "_veil_indicators"):
        app._veil_indicators = _VisibleIndicators(app)  # type: ignore[attr-defined]  # kept with the app
        app.installEventFilter(app._veil_indicators)  # type: ignore[attr-defined]
    return style
