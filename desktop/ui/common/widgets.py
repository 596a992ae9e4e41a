"""Small pieces every window has in common: plain-text labels in the theme's roles, headings
and rules, what belongs to a radio button set in under it, tick boxes that stay visible on the
dark theme, a debounce timer, throttled progress and an export dialog's last row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from desktop.app.common.tasks import Progress
from desktop.ui.common import theme

#: How far what belongs to a radio button is set in, under it (in pixels).
INDENT = 28
#: Fusion draws a check box's outline 40% darker than this window colour.


def indented(*widgets: QWidget) -> QVBoxLayout:
    """A layout holding ``widgets`` set in under the radio button they belong to."""
    layout = QVBoxLayout()
    layout.setContentsMargins(INDENT, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget)
    return layout


def label(text: str = "", parent: QWidget | None = None, role: str | None = None, wrap: bool = True,
          selectable: bool = False, name: str | None = None) -> QLabel:
    """A plain-text label (never rich text: some texts come from a package's sender)."""
    widget = QLabel(text, parent)
    widget.setTextFormat(Qt.TextFormat.PlainText)
    widget.setWordWrap(wrap)
    if role:
        widget.setProperty("role", role)
    if selectable:
        widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        widget.setObjectName(name)
    return widget


def set_role(widget: QWidget, role: str) -> None:
    """Give ``widget`` the theme role (muted, ok, warning, danger, section) and repaint it."""
    widget.setProperty("role", role)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def heading(text: str, parent: QWidget | None = None, scale: float = 1.25) -> QLabel:
    """A larger bold label, for the title of a page or a dialog."""
    widget = label(text, parent, "section")
    font = widget.font()
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setWeight(QFont.Weight.DemiBold)
    widget.setFont(font)
    return widget


def rule(parent: QWidget | None = None) -> QFrame:
    """A thin horizontal line between sections."""
    line = QFrame(parent)
    line.setFrameShape(QFrame.Shape.HLine)
    line.setStyleSheet(f"color: {theme.BORDER};")
    return line


def visible_indicator(widget: QWidget) -> None:
    """Fusion outlines a check box (or a radio button, or the tick boxes of a table or a tree)
    in the window colour darkened, lost on the dark theme: base the outline on a lighter colour
    (only the outline uses it). Check boxes and radio buttons get it from the theme by
    themselves; views with tick boxes ask for it here."""
    theme.with_visible_indicator(widget)


def single_shot(parent: QObject, ms: int, then: Callable[[], None]) -> QTimer:
    """A single-shot timer of ``parent`` that calls ``then`` ``ms`` after its last start."""
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(ms)
    timer.timeout.connect(then)
    return timer


def throttled(progress: Progress, steps: int = 400) -> Progress:
    """``progress``, called at most ``steps`` times per phase (a phase: one total)."""
    last: list[tuple[int, int]] = [(-1, -1)]

    def report(done: int, total: int) -> None:
        key = (total, done * steps // total if total > 0 else 0)
        if key != last[0]:
            last[0] = key
            progress(done, total)

    return report


def dialog_footer(problem: QWidget, busy: Sequence[QWidget], buttons: Sequence[QWidget],
                  problem_stretch: int = 1) -> QHBoxLayout:
    """An export dialog's last row: why Export is disabled (left), what is running (progress,
    Cancel), then the dialog's buttons, kept their size while no problem is shown."""
    footer = QHBoxLayout()
    footer.addWidget(problem, problem_stretch)
    footer.addStretch(1)
    for widget in busy:
        footer.addWidget(widget)
    footer.addSpacing(12)
    for widget in buttons:
        footer.addWidget(widget)
    return footer


def pem_file_row(edit: QLineEdit, parent: QWidget) -> QWidget:
    """``edit`` (a PEM file's path) with a Browse… button beside it that chooses the file."""
    row = QWidget(parent)
    line = QHBoxLayout(row)
    line.setContentsMargins(0, 0, 0, 0)
    line.addWidget(edit, 1)
    browse = QPushButton("Browse…", row)

    def choose() -> None:
        chosen, _ = QFileDialog.getOpenFileName(parent, "Choose a PEM file", edit.text(),
                                                "PEM (*.pem *.crt *.key);;All (*)")
        if chosen:
            edit.setText(chosen)

    browse.clicked.connect(choose)
    line.addWidget(browse)
    return row
