"""Ask for the library passphrase: create one (twice, 8+ characters) or unlock.

The dialog stays open while the library is being unlocked, so a wrong passphrase is reported
in place and asked again.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from desktop.core.keys.keystore import MIN_PASSPHRASE_LENGTH
from desktop.ui.common import theme
from desktop.ui.common.resources import eye_icon

CREATE_EXPLANATION = (
    "No system keyring was found on this computer, so Veil protects your library with a "
    f"passphrase. Choose one of at least {MIN_PASSPHRASE_LENGTH} characters: you will need it "
    "each time you open Veil, and it cannot be recovered if it is lost."
)
UNLOCK_EXPLANATION = (
    "This library is protected by a passphrase (no system keyring was found). "
    "Enter it to open the library."
)


def passphrase_problem(passphrase: str, confirmation: str, creating: bool) -> str | None:
    """Why ``passphrase`` cannot be submitted yet, or None."""
    if not passphrase:
        return "Enter the passphrase." if not creating else "Choose a passphrase."
    if creating and len(passphrase) < MIN_PASSPHRASE_LENGTH:
        missing = MIN_PASSPHRASE_LENGTH - len(passphrase)
        return (f"At least {MIN_PASSPHRASE_LENGTH} characters "
                f"({missing} more needed).")
    if creating and passphrase != confirmation:
        return "The two passphrases differ." if confirmation else "Repeat the passphrase to confirm it."
    return None


def password_field(parent: QWidget, name: str = "") -> QLineEdit:
    """A passphrase field with a Show/Hide eye at its end."""
    field = QLineEdit(parent)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setMinimumWidth(320)
    if name:
        field.setObjectName(name)
    show = QAction("Show", field)
    show.setCheckable(True)
    show.setToolTip("Show or hide the passphrase")
    show.setIcon(eye_icon(theme.MUTED))
    show.toggled.connect(lambda on: field.setEchoMode(
        QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password))
    field.addAction(show, QLineEdit.ActionPosition.TrailingPosition)
    return field


class PassphraseDialog(QDialog):
    """Emits :attr:`submitted` with the passphrase; the caller answers with
    :meth:`show_error` (ask again) or :meth:`finish` (unlocked)."""

    submitted = Signal(str)

    def __init__(self, creating: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PassphraseDialog")
        self.creating = creating
        self.busy = False
        self.setWindowTitle("Create a passphrase" if creating else "Unlock library")
        heading = QLabel(self.windowTitle(), self)
        heading.setProperty("role", "section")
        explanation = QLabel(CREATE_EXPLANATION if creating else UNLOCK_EXPLANATION, self)
        explanation.setWordWrap(True)

        self.passphrase_edit = password_field(self)
        self.passphrase_edit.setObjectName("Passphrase")
        self.confirm_edit = password_field(self)
        self.confirm_edit.setObjectName("ConfirmPassphrase")
        form = QFormLayout()
        form.addRow("Passphrase:", self.passphrase_edit)
        if creating:
            form.addRow("Confirm:", self.confirm_edit)
        else:
            self.confirm_edit.hide()

        self.message = QLabel(self)
        self.message.setObjectName("PassphraseMessage")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Create library" if creating else "Unlock")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setToolTip("Quit Veil")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(heading)
        layout.addWidget(explanation)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(480)

        self.passphrase_edit.textChanged.connect(self._validate)
        self.confirm_edit.textChanged.connect(self._validate)
        self._validate()

    def passphrase(self) -> str:
        return self.passphrase_edit.text()

    def problem(self) -> str | None:
        return passphrase_problem(self.passphrase_edit.text(), self.confirm_edit.text(), self.creating)

    def _validate(self) -> None:
        problem = self.problem()
        self.ok_button.setEnabled(problem is None and not self.busy)
        touched = bool(self.passphrase_edit.text() or self.confirm_edit.text())
        self._say(problem if (problem and touched) else "", error=False)

    def _say(self, text: str, error: bool) -> None:
        colour = "#ff8a80" if error else theme.MUTED
        self.message.setStyleSheet(f"color: {colour};")
        self.message.setText(text)

    def accept(self) -> None:
        """Submit (the dialog stays open until :meth:`finish`)."""
        if self.busy or self.problem() is not None:
            return
        self.set_busy(True)
        self.submitted.emit(self.passphrase())

    def reject(self) -> None:
        if not self.busy:
            super().reject()

    def set_busy(self, busy: bool) -> None:
        """Lock the fields while the library is being unlocked."""
        self.busy = busy
        for widget in (self.passphrase_edit, self.confirm_edit):
            widget.setEnabled(not busy)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setEnabled(not busy)
        if busy:
            self.ok_button.setEnabled(False)
            self._say("Creating the library…" if self.creating else "Unlocking…", error=False)
            QGuiApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        else:
            QGuiApplication.restoreOverrideCursor()
            self._validate()

    def show_error(self, text: str) -> None:
        """The passphrase was refused: say why and ask again."""
        self.set_busy(False)
        self.passphrase_edit.clear()
        self.confirm_edit.clear()
        self.passphrase_edit.setFocus()
        self._say(text, error=True)

    def finish(self) -> None:
        """The library is open: close."""
        if self.busy:
            self.set_busy(False)
        super().accept()
