"""My Key Card: the user's public key card, to give colleagues.

Name, institution, e-mail, the ``age1`` key and the fingerprint in large groups to read over
the phone; Copy, Export Card… and Edit Details. The identity is made on first use, in the
background (the keyring may be slow), by ``desktop.app.keys.identity``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.app.keys.identity import identity_storage, my_card, set_my_details, write_my_card
from desktop.app.library.home import VeilHome
from desktop.core.share.identity import KeyCard
from desktop.ui.common.background import run_in_background
from desktop.ui.common.errors import message_for, show_error
from desktop.ui.common.widgets import heading, label, rule, set_role
from desktop.ui.keys.key_text import CARD_FILTER, fingerprint_label

INTRO = ("Colleagues add this card to their address book to send you packages and to recognise the ones you "
         "send. It holds only public keys: it is safe to e-mail. Read the fingerprint to them over the phone so "
         "they can verify it.")


def card_text(card: KeyCard) -> str:
    """The card in words, for the clipboard (a colleague with the age tool needs the age1 key)."""
    lines = [f"Veil key card of {card.name}"]
    lines += [text for text in (card.institution, card.email) if text]
    lines += [f"Fingerprint: {card.fingerprint}", f"age public key: {card.age_recipient}"]
    return "\n".join(lines) + "\n"


def card_file_name(card: KeyCard) -> str:
    """``veil-card-anna-jones.json``: a name for the card file (public, the user's own name)."""
    slug = re.sub(r"[^a-z0-9]+", "-", card.name.casefold()).strip("-") or "me"
    return f"veil-card-{slug}.json"


class KeyCardDialog(QDialog):
    """Show, copy, export and edit the user's key card."""

    #: The card changed (details saved): the new KeyCard.
    card_changed = Signal(object)

    def __init__(self, home: VeilHome, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("KeyCardDialog")
        self.setWindowTitle("My Key Card")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.home = home
        self.card: KeyCard | None = None
        self.name_label, self.institution_label, self.email_label = (
            label("", self, selectable=True, name=n) for n in ("CardName", "CardInstitution", "CardEmail"))
        self.fingerprint = fingerprint_label(None, self, 2.2, "MyFingerprint")
        self.fingerprint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.recipient = label("", self, selectable=True, name="MyAgeKey")
        self.storage = label("", self, "muted", name="KeyStorage")
        self.status = label("Loading your key card…", self, "muted", name="CardStatus")
        self.name_edit, self.institution_edit, self.email_edit = QLineEdit(self), QLineEdit(self), QLineEdit(self)
        self.name_edit.setObjectName("EditName")
        self.email_edit.setPlaceholderText("name@example.org")
        self.copy_button = self._button("Copy", "Copy the card's name, fingerprint and age key as text", self.copy)
        self.export_button = self._button("Export Card…", "Save the card as a file to send to colleagues",
                                          self.choose_export)
        self.edit_button = self._button("Edit Details…", "Change the name, institution and e-mail on the card",
                                        self.edit)
        self.save_button = self._button("Save", "Save the details on your card", self.save)
        self.save_button.setProperty("primary", True)
        self.cancel_edit_button = self._button("Cancel", "Keep the details as they were", self.cancel_edit)
        self.close_button = self._button("Close", "Close this window", self.close)
        self._build()
        self.set_editing(False)
        for button in (self.copy_button, self.export_button, self.edit_button):
            button.setEnabled(False)
        self.resize(720, 0)
        self.load()

    def _button(self, text: str, tip: str, slot: Callable[[], object]) -> QPushButton:
        button = QPushButton(text, self)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _build(self) -> None:
        shown = QWidget(self)
        shown_form = QFormLayout(shown)
        shown_form.setContentsMargins(0, 0, 0, 0)
        shown_form.addRow("Name:", self.name_label)
        shown_form.addRow("Institution:", self.institution_label)
        shown_form.addRow("E-mail:", self.email_label)
        editing = QWidget(self)
        edit_form = QFormLayout(editing)
        edit_form.setContentsMargins(0, 0, 0, 0)
        edit_form.addRow("Name:", self.name_edit)
        edit_form.addRow("Institution:", self.institution_edit)
        edit_form.addRow("E-mail:", self.email_edit)
        self.details = QStackedWidget(self)
        self.details.addWidget(shown)
        self.details.addWidget(editing)
        buttons = QHBoxLayout()
        for button in (self.copy_button, self.export_button, self.edit_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for button in (self.cancel_edit_button, self.save_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("My Key Card", self, 1.3))
        layout.addWidget(label(INTRO, self, "muted"))
        layout.addSpacing(6)
        layout.addWidget(self.details)
        layout.addWidget(rule(self))
        layout.addWidget(label("Fingerprint", self, "section"))
        layout.addWidget(self.fingerprint)
        layout.addWidget(label("age public key (for colleagues who use the age tool)", self, "section"))
        layout.addWidget(self.recipient)
        layout.addWidget(self.storage)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    # -- loading -------------------------------------------------------------------------------
    def load(self) -> None:
        """Read the card (making the identity on first use) in the background."""
        home = self.home
        run_in_background(lambda _p: (my_card(home), identity_storage(home)), self._show, self._load_failed,
                          key=f"key-card-{id(self)}", context=self)

    def _show(self, result: tuple[KeyCard, str]) -> None:
        card, storage = result
        self.card = card
        self.name_label.setText(card.name)
        self.institution_label.setText(card.institution or "—")
        self.email_label.setText(card.email or "—")
        self.fingerprint.setText("   ".join(card.fingerprint.split("-")))
        self.recipient.setText(card.age_recipient)
        self.storage.setText(f"Your secret keys stay on this computer, in {storage}.")
        if self.status.property("role") == "muted":
            self.status.setText("")
        for button in (self.copy_button, self.export_button, self.edit_button):
            button.setEnabled(True)

    def _load_failed(self, exc: BaseException) -> None:
        self.status.setText(message_for(exc))
        set_role(self.status, "danger")

    # -- actions -------------------------------------------------------------------------------
    def copy(self) -> None:
        if self.card is not None:
            QGuiApplication.clipboard().setText(card_text(self.card))
            self._say("Copied the card's name, fingerprint and age key.", "ok")

    def choose_export(self) -> None:
        """Export Card…: choose a file and write the card to it."""
        if self.card is None:
            return
        path, _filter = QFileDialog.getSaveFileName(self, "Export key card",
                                                    str(Path.home() / card_file_name(self.card)), CARD_FILTER)
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        """Write the card file at ``path`` (background); replaces a file the person chose to overwrite."""
        home = self.home
        run_in_background(lambda _p: write_my_card(home, path, overwrite=True),
                          lambda _card: self._say(f"Saved your key card as {path}.", "ok"),
                          lambda exc: show_error(self, exc, "Export card"), context=self)

    def edit(self) -> None:
        if self.card is None:
            return
        self.name_edit.setText(self.card.name)
        self.institution_edit.setText(self.card.institution)
        self.email_edit.setText(self.card.email)
        self.set_editing(True)
        self.name_edit.setFocus()

    def cancel_edit(self) -> None:
        self.set_editing(False)
        self._say("", "muted")

    def set_editing(self, editing: bool) -> None:
        self.details.setCurrentIndex(1 if editing else 0)
        for button in (self.save_button, self.cancel_edit_button):
            button.setVisible(editing)
        for button in (self.copy_button, self.export_button, self.edit_button, self.close_button):
            button.setVisible(not editing)
        self.save_button.setDefault(editing)

    def save(self) -> None:
        """Save the edited details (background); the card shows the new ones."""
        home = self.home
        name, institution, email = (e.text() for e in (self.name_edit, self.institution_edit, self.email_edit))

        def saved(card: KeyCard) -> None:
            self.set_editing(False)
            self._say("Saved. Send colleagues your new card: the fingerprint is unchanged.", "ok")
            self.card_changed.emit(card)
            self.load()

        run_in_background(lambda _p: set_my_details(home, name, institution, email), saved,
                          lambda exc: self._say(message_for(exc), "danger"), context=self)

    def _say(self, text: str, role: str) -> None:
        self.status.setText(text)
        set_role(self.status, role)
