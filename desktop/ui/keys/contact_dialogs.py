"""The small dialogs of the address book: add a colleague from a key card, add a bare ``age1``
key, verify a fingerprint with its owner. They collect what the person says; the address book
does the work."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QVBoxLayout, QWidget

from desktop.app.keys.contacts import Contact
from desktop.core.share.errors import CardError
from desktop.core.share.identity import KeyCard, age_recipient_key
from desktop.ui.common.widgets import heading, label, visible_indicator
from desktop.ui.keys.key_text import fingerprint_groups, fingerprint_label

VERIFY_HOW = ("Call them on a number you already know (not one from the message that brought the key) and "
              "ask them to read their fingerprint from My Key Card. It must match exactly.")


def _buttons(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, dialog)
    ok = box.button(QDialogButtonBox.StandardButton.Ok)
    ok.setText(ok_text)
    ok.setProperty("primary", True)
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    return box


def _verified_box(parent: QWidget, whom: str) -> QCheckBox:
    box = QCheckBox(f"I compared the fingerprint with {whom} (by phone or in person), and it matches", parent)
    box.setObjectName("AlreadyVerified")
    visible_indicator(box)
    return box


class AddCardDialog(QDialog):
    """Show a key card read from a file; the name to keep it under; verified already or not."""

    def __init__(self, card: KeyCard, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AddCardDialog")
        self.setWindowTitle("Add a colleague")
        self.card = card
        self.name_edit = QLineEdit(card.name, self)
        self.name_edit.setObjectName("ContactName")
        self.verified = _verified_box(self, card.name)
        form = QFormLayout()
        form.addRow("Name:", self.name_edit)
        form.addRow("Institution:", label(card.institution or "—", self, selectable=True))
        form.addRow("E-mail:", label(card.email or "—", self, selectable=True))
        form.addRow("Fingerprint:", fingerprint_label(card.fingerprint, self, 1.5, "CardFingerprint"))
        self.buttons = _buttons(self, "Add to Address Book")
        self.name_edit.textChanged.connect(
            lambda t: self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(t.strip())))
        layout = QVBoxLayout(self)
        layout.addWidget(heading(f"Add {card.name}'s key card", self))
        layout.addLayout(form)
        layout.addWidget(label(VERIFY_HOW, self, "muted"))
        layout.addWidget(self.verified)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.resize(680, 340)

    def name(self) -> str:
        return self.name_edit.text().strip()


def recipient_problem(recipient: str, name: str) -> str | None:
    """Why a bare age key cannot be added yet, or None."""
    if not recipient.strip():
        return "Paste the colleague's age public key (age1…)."
    try:
        age_recipient_key(recipient.strip())
    except CardError as exc:
        return str(exc)
    if not name.strip():
        return "Give the contact a name."
    return None


class AddKeyDialog(QDialog):
    """A colleague known only by an ``age1...`` key (someone who uses the age tool)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AddKeyDialog")
        self.setWindowTitle("Add an age key")
        self.key_edit = QLineEdit(self)
        self.key_edit.setObjectName("AgeKey")
        self.key_edit.setPlaceholderText("age1…")
        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("ContactName")
        self.institution_edit = QLineEdit(self)
        self.email_edit = QLineEdit(self)
        self.email_edit.setPlaceholderText("name@example.org")
        self.verified = _verified_box(self, "them: the whole age1… key")
        self.problem = label("", self, "warning", name="KeyProblem")
        form = QFormLayout()
        form.addRow("age key:", self.key_edit)
        form.addRow("Name:", self.name_edit)
        form.addRow("Institution:", self.institution_edit)
        form.addRow("E-mail:", self.email_edit)
        self.buttons = _buttons(self, "Add to Address Book")
        for edit in (self.key_edit, self.name_edit):
            edit.textChanged.connect(lambda _t: self._check())
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Add a colleague by their age key", self))
        layout.addWidget(label("For someone who has the age tool but not Veil. Packages can be sent to them, "
                               "but nothing they send can be verified as theirs (an age key cannot sign).",
                               self, "muted"))
        layout.addLayout(form)
        layout.addWidget(self.verified)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.resize(680, 380)
        self._check()

    def _check(self) -> None:
        problem = recipient_problem(self.key_edit.text(), self.name_edit.text())
        self.problem.setText(problem or "")
        self.problem.setVisible(problem is not None and bool(self.key_edit.text()))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(problem is None)

    def values(self) -> dict[str, str]:
        return {"recipient": self.key_edit.text().strip(), "name": self.name_edit.text().strip(),
                "institution": self.institution_edit.text().strip(), "email": self.email_edit.text().strip()}


class VerifyDialog(QDialog):
    """Read the fingerprint with its owner; "It Matches" marks the contact verified."""

    def __init__(self, contact: Contact, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("VerifyDialog")
        self.setWindowTitle(f"Verify {contact.name}")
        layout = QVBoxLayout(self)
        layout.addWidget(heading(f"Verify {contact.name}'s key", self))
        layout.addWidget(label(VERIFY_HOW, self, "muted"))
        if contact.fingerprint:
            shown = fingerprint_label(contact.fingerprint, self, 2.0, "VerifyFingerprint")
        else:
            shown = label(contact.age_recipient, self, selectable=True, name="VerifyFingerprint")
        shown.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addSpacing(8)
        layout.addWidget(shown)
        layout.addSpacing(8)
        if not contact.fingerprint:
            layout.addWidget(label("This contact has only an age key: compare the whole key.", self, "warning"))
        self.buttons = _buttons(self, "It Matches")
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.resize(680, 250)
        self.setAccessibleDescription(fingerprint_groups(contact.fingerprint))
