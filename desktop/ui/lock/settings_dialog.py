"""Tools > Automatic Lock…: how many idle minutes before Veil locks itself (0 = never).

The value is a setting of the library (``ui.lock_after_minutes``), so every workstation that
opens it follows the same rule; the change is audited. An automatic logoff is an addressable
safeguard of HIPAA (45 CFR 164.312(a)(2)(iii)); "never" is allowed for a single-user computer
that locks itself, and the dialog says what it gives up.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from desktop.app.lock.session_lock import MAX_LOCK_AFTER_MINUTES

EXPLANATION = ("Veil hides every image, name and window after this many minutes without keyboard "
               "or mouse input to it, until the library passphrase or your desktop keyring "
               "unlocks it. Imports and exports carry on meanwhile. The setting belongs to the "
               "library, and its changes are recorded in the audit log.")
NEVER_WARNING = ("Never: Veil will not lock itself. Only choose this where the computer's own "
                 "screen lock covers Veil.")


class LockSettingsDialog(QDialog):
    """Emits :attr:`chosen` with the minutes when the person presses OK."""

    chosen = Signal(int)

    def __init__(self, minutes: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LockSettingsDialog")
        self.setWindowTitle("Automatic Lock")
        explanation = QLabel(EXPLANATION, self)
        explanation.setWordWrap(True)
        explanation.setMinimumWidth(420)
        self.minutes = QSpinBox(self)
        self.minutes.setObjectName("LockAfterMinutes")
        self.minutes.setRange(0, MAX_LOCK_AFTER_MINUTES)
        self.minutes.setSuffix(" minutes")
        self.minutes.setSpecialValueText("Never")
        self.minutes.setValue(minutes)
        self.warning = QLabel(NEVER_WARNING, self)
        self.warning.setWordWrap(True)
        self.warning.setProperty("role", "warning")
        self.minutes.valueChanged.connect(lambda value: self.warning.setVisible(value == 0))
        self.warning.setVisible(minutes == 0)
        form = QFormLayout()
        form.addRow("Lock after:", self.minutes)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                   self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addLayout(form)
        layout.addWidget(self.warning)
        layout.addWidget(buttons)

    def accept(self) -> None:
        self.chosen.emit(self.minutes.value())
        super().accept()
