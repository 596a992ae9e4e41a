"""The page the main window shows while Veil is locked (automatic logoff, HIPAA
45 CFR 164.312(a)(2)(iii)): "Veil is locked", the library's folder, who locked it and when,
and how to unlock. It shows no patient data: it has none to show.

For a passphrase library the passphrase is typed here; for a keyring library the Unlock button
asks the desktop keyring again, and the page says plainly what that does and does not prove
(see :mod:`desktop.app.lock.session_lock`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.ui.common.resources import app_icon
from desktop.ui.keys.passphrase_dialog import password_field

KEYRING_HINT = ("Unlocks with your desktop keyring: Veil asks the keyring for this library's key "
                "again. Anyone at this desktop while your keyring is open can unlock it, so lock "
                "your computer too when you leave it.")
PASSPHRASE_HINT = "Enter the library passphrase to unlock."
WORK_GOES_ON = ("Imports and exports that were running carry on; their results appear once "
                "Veil is unlocked.")


@dataclass(frozen=True)
class LockInfo:
    """What the lock screen says: which library, who locked it, when and why."""

    library: Path
    user: str
    at: datetime
    idle_minutes: int | None  # None: locked by hand ("Lock Now")
    passphrase: bool  # True: unlocked with the passphrase; False: with the keyring

    @property
    def how(self) -> str:
        """"Locked at 14:05 by alice after 10 minutes without input", or "… from the menu"."""
        when = self.at.strftime("%H:%M")
        if self.idle_minutes is None:
            return f"Locked at {when} by {self.user}."
        return (f"Locked at {when} after {self.idle_minutes} minute"
                f"{'' if self.idle_minutes == 1 else 's'} without input (user {self.user}).")


class LockScreen(QWidget):
    """Emits :attr:`unlock_requested` with the passphrase typed (None for keyring libraries)."""

    unlock_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LockScreen")
        self._passphrase = False
        icon = QLabel(self)
        icon.setPixmap(app_icon().pixmap(QSize(96, 96)))
        icon.setFixedSize(96, 96)
        self.title = QLabel("Veil is locked", self)
        self.title.setObjectName("LockTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.9)
        font.setWeight(QFont.Weight.DemiBold)
        self.title.setFont(font)
        self.library = self._label("LockLibrary", muted=True)
        self.how = self._label("LockHow")
        self.hint = self._label("LockHint", muted=True)
        self.hint.setWordWrap(True)
        self.hint.setFixedWidth(520)
        self.field = password_field(self, "LockPassphrase")
        self.field.setPlaceholderText("Library passphrase")
        self.field.returnPressed.connect(self._submit)
        self.unlock_button = QPushButton("&Unlock", self)
        self.unlock_button.setObjectName("UnlockButton")
        self.unlock_button.setProperty("primary", True)
        self.unlock_button.setMinimumSize(150, 34)
        self.unlock_button.clicked.connect(self._submit)
        self.message = self._label("LockMessage")
        self.message.setProperty("role", "danger")
        self.work = self._label("LockWork", muted=True)
        self.work.setText(WORK_GOES_ON)

        entry = QHBoxLayout()
        entry.setSpacing(8)
        entry.addStretch(1)
        entry.addWidget(self.field)
        entry.addWidget(self.unlock_button)
        entry.addStretch(1)
        column = QVBoxLayout()
        column.setSpacing(12)
        column.addWidget(icon, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(self.title, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(self.library, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(self.how, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addSpacing(6)
        column.addWidget(self.hint, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addLayout(entry)
        column.addWidget(self.message, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addSpacing(10)
        column.addWidget(self.work, 0, Qt.AlignmentFlag.AlignHCenter)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addLayout(column)
        layout.addStretch(3)

    def _label(self, name: str, muted: bool = False) -> QLabel:
        label = QLabel(self)
        label.setObjectName(name)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        if muted:
            label.setProperty("role", "muted")
        return label

    def show_lock(self, info: LockInfo) -> None:
        """Fill the page for a new lock: library, who and when, how to unlock."""
        self._passphrase = info.passphrase
        self.library.setText(f"Library: {info.library}")
        self.how.setText(info.how)
        self.hint.setText(PASSPHRASE_HINT if info.passphrase else KEYRING_HINT)
        self.field.setVisible(info.passphrase)
        self.field.clear()
        self.message.clear()
        self.set_busy(False)

    def focus_entry(self) -> None:
        """Put the keyboard focus where the person unlocks."""
        (self.field if self._passphrase else self.unlock_button).setFocus(Qt.FocusReason.OtherFocusReason)

    def set_busy(self, busy: bool) -> None:
        """While the check runs: nothing to press twice."""
        self.field.setEnabled(not busy)
        self.unlock_button.setEnabled(not busy)
        self.unlock_button.setText("Checking…" if busy else "&Unlock")
        if busy:
            self.message.clear()

    def show_error(self, text: str) -> None:
        """Say why the unlock failed; the field is cleared for another try."""
        self.set_busy(False)
        self.field.clear()
        self.message.setText(text)
        self.focus_entry()

    def clear(self) -> None:
        """Forget what was typed and said (at the unlock)."""
        self.field.clear()
        self.message.clear()
        self.set_busy(False)

    def _submit(self) -> None:
        if self.unlock_button.isEnabled():
            self.unlock_requested.emit(self.field.text() if self._passphrase else None)
