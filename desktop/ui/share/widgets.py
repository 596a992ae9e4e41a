"""Small pieces the share windows have in common (issue 7): labels in the theme's roles, a
passphrase field, fingerprints grouped for reading aloud, a contact's verified state in words,
and where a package goes by default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop.app.keys.contacts import Contact
from desktop.app.common.tasks import Progress
from desktop.ui.common import theme

PACKAGE_SUFFIX = ".veil"
PACKAGE_FILTER = "Veil packages (*.veil)"
ARCHIVE_SUFFIX = ".zip"
ARCHIVE_FILTER = "ZIP archives (*.zip)"
CARD_FILTER = "Key cards (*.json *.card *.veilcard);;All files (*)"
#: The export wizard's step rail.
WIZARD_STYLE = f"""
QFrame#StepRail {{ background: {theme.BASE}; border: 1px solid {theme.BORDER}; border-radius: 4px; }}
QLabel[step] {{ padding: 7px 12px; border-radius: 4px; }}
QLabel[step="current"] {{ background: {theme.HIGHLIGHT}; color: white; font-weight: 600; }}
QLabel[step="done"] {{ color: {theme.TEXT}; }}
QLabel[step="todo"] {{ color: {theme.MUTED}; }}
QListWidget#FlaggedList::item {{ padding: 5px 8px; }}
"""


#: How far what belongs to a radio button is set in, under it (in pixels).
INDENT = 28


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


def fingerprint_groups(fingerprint: str | None) -> str:
    """``ABCD-EFGH-…`` as groups spaced for reading over the phone."""
    return "   ".join((fingerprint or "").split("-")) if fingerprint else "—"


def fingerprint_label(fingerprint: str | None, parent: QWidget | None = None, scale: float = 1.0,
                      name: str | None = None) -> QLabel:
    """The fingerprint in a fixed-width font, selectable, at ``scale`` times the normal size."""
    widget = label(fingerprint_groups(fingerprint), parent, wrap=False, selectable=True, name=name)
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(widget.font().pointSizeF() * scale)
    if scale > 1.2:
        font.setWeight(QFont.Weight.DemiBold)
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 1.5)
    widget.setFont(font)
    return widget


def short_recipient(recipient: str) -> str:
    """``age1qyz…wxyz``: a bare age key, shortened for a list."""
    return recipient if len(recipient) <= 24 else f"{recipient[:12]}…{recipient[-8:]}"


def verified_words(contact: Contact) -> tuple[str, str]:
    """(words, theme role) for a contact's verification state."""
    if contact.verified_at:
        return f"✓ Verified {contact.verified_at[:10]}", "ok"
    return "⚠ Not verified", "warning"


def contact_key_text(contact: Contact) -> str:
    """The contact's fingerprint, or its bare age key (it has no card)."""
    return contact.fingerprint or f"{short_recipient(contact.age_recipient)} (age key only)"


def exports_folder() -> Path:
    """``~/Veil exports``: where packages go unless the person chooses otherwise."""
    return Path.home() / "Veil exports"


def default_package_path(today: date | None = None, folder: Path | None = None) -> Path:
    """``~/Veil exports/veil-share-YYYY-MM-DD.veil``, numbered if taken: named without identity."""
    folder = folder or exports_folder()
    stem = f"veil-share-{(today or date.today()).isoformat()}"
    candidate = folder / f"{stem}{PACKAGE_SUFFIX}"
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{number}{PACKAGE_SUFFIX}"
        number += 1
    return candidate


def package_path_problem(text: str, suffix: str = PACKAGE_SUFFIX) -> str | None:
    """Why ``text`` cannot be where the package (``suffix``: or the plain archive) is written
    (no disk access), or None."""
    text = text.strip()
    what = "package" if suffix == PACKAGE_SUFFIX else "archive"
    if not text:
        return f"Choose where to write the {what}."
    path = Path(text).expanduser()
    if not path.is_absolute():
        return f"Give the {what}'s full path (or choose it)."
    if not path.name.endswith(suffix) or path.name == suffix:
        return f"The {what}'s name must end in {suffix}."
    return None


def throttled(progress: Progress, steps: int = 400) -> Progress:
    """``progress``, called at most ``steps`` times per phase (a phase: one total)."""
    last: list[tuple[int, int]] = [(-1, -1)]

    def report(done: int, total: int) -> None:
        key = (total, done * steps // total if total > 0 else 0)
        if key != last[0]:
            last[0] = key
            progress(done, total)

    return report


def single_shot(parent: QObject, ms: int, then: Callable[[], None]) -> QTimer:
    """A single-shot timer of ``parent`` that calls ``then`` ``ms`` after its last start."""
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(ms)
    timer.timeout.connect(then)
    return timer


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
