"""The address book: colleagues packages are encrypted to, and senders recognised.

A list with each colleague's fingerprint and when it was verified; add one from a key card file
or a bare ``age1`` key, verify a fingerprint with its owner, remove one. Every change runs in
the background through ``desktop.app.keys.contacts`` and the list is read again after it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.app.keys import contacts
from desktop.app.keys.contacts import Contact
from desktop.app.library.home import VeilHome
from desktop.core.share.identity import KeyCard
from desktop.ui.common import theme
from desktop.ui.common.background import run_in_background
from desktop.ui.common.errors import show_error
from desktop.ui.common.tables import read_only_rows
from desktop.ui.common.widgets import heading, label
from desktop.ui.keys.contact_dialogs import AddCardDialog, AddKeyDialog, VerifyDialog
from desktop.ui.keys.key_text import CARD_FILTER, contact_key_text, verified_words

COLUMNS = ("Name", "Institution", "E-mail", "Fingerprint", "Verified")
#: A dialog opened over the address book (handed back as the kind it is).
Opened = TypeVar("Opened", bound=QDialog)
ROLE_COLOURS = {"ok": theme.OK, "warning": theme.WARNING}
INTRO = ("Colleagues whose key cards you have. Packages for them are encrypted to their keys; packages from "
         "them are recognised by their fingerprint. Verify each fingerprint with its owner by phone.")


def contact_row(contact: Contact) -> list[str]:
    """The cells of a contact's row, as shown."""
    words, _role = verified_words(contact)
    if contact.verified_at and contact.verified_by:
        words += f" by {contact.verified_by}"
    return [contact.name, contact.institution, contact.email, contact_key_text(contact), words]


class AddressBookDialog(QDialog):
    """List, add, verify and remove contacts."""

    #: The address book changed (a contact added, verified or removed).
    changed = Signal()

    def __init__(self, home: VeilHome, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AddressBookDialog")
        self.setWindowTitle("Address Book")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.home = home
        self.contacts: list[Contact] | None = None
        self.pending: QDialog | None = None  # the add/verify dialog open over this one
        self._select_after: str | None = None
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("ContactTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        read_only_rows(self.table)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _i: self.verify_selected())
        self.empty = label("No colleague yet. Ask them for their key card (My Key Card > Export Card… in their "
                           "Veil) and add it here.", self, "muted", name="EmptyAddressBook")
        self.status = label("", self, "muted", name="AddressBookStatus")
        self.add_card_button = self._button("Add from Card File…", "Add a colleague from the key card file they "
                                            "sent you", self.choose_card_file)
        self.add_key_button = self._button("Add age Key…", "Add a colleague who uses the age tool, by their "
                                           "age1… public key", self.add_key)
        self.verify_button = self._button("Verify…", "Read the fingerprint with its owner by phone; mark it "
                                          "verified", self.verify_selected)
        self.remove_button = self._button("Remove…", "Remove the selected colleague", self.remove_selected)
        close = self._button("Close", "Close the address book", self.close)
        buttons = QHBoxLayout()
        for button in (self.add_card_button, self.add_key_button, self.verify_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Address Book", self, 1.3))
        layout.addWidget(label(INTRO, self, "muted"))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.resize(980, 520)
        self.reload()

    def _button(self, text: str, tip: str, slot: Callable[[], object]) -> QPushButton:
        button = QPushButton(text, self)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    # -- the list ----------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the address book again (in the background)."""
        home = self.home
        run_in_background(lambda _p: contacts.list_contacts(home), self._show, self._failed,
                          key=f"address-book-{id(self)}", context=self)

    def _show(self, rows: list[Contact]) -> None:
        selected = self.selected()
        wanted = self._select_after or (selected.name if selected else None)
        self._select_after = None
        self.contacts = list(rows)
        self.table.setRowCount(len(rows))
        for r, contact in enumerate(rows):
            for c, text in enumerate(contact_row(contact)):
                item = QTableWidgetItem(text)
                item.setToolTip(contact.age_recipient)
                if c == 3:
                    item.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
                if c == 4:
                    item.setForeground(QColor(ROLE_COLOURS[verified_words(contact)[1]]))
                self.table.setItem(r, c, item)
            if contact.name == wanted:
                self.table.selectRow(r)
        self.table.setVisible(bool(rows))
        self.empty.setVisible(not rows)
        self._update_buttons()

    def selected(self) -> Contact | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or self.contacts is None or rows[0].row() >= len(self.contacts):
            return None
        return self.contacts[rows[0].row()]

    def select(self, name: str) -> None:
        """Select the contact called ``name``."""
        for r, contact in enumerate(self.contacts or []):
            if contact.name == name:
                self.table.selectRow(r)
                self.table.setFocus()

    def _update_buttons(self) -> None:
        contact = self.selected()
        self.verify_button.setEnabled(contact is not None and not contact.verified)
        self.remove_button.setEnabled(contact is not None)

    # -- changes -----------------------------------------------------------------------------
    def _change(self, op: Callable[[], Contact], done: str) -> None:
        def on_done(contact: Contact) -> None:
            self.status.setText(done.format(name=contact.name))
            self._select_after = contact.name
            self.changed.emit()
            self.reload()

        run_in_background(lambda _p: op(), on_done, self._failed, context=self)

    def _failed(self, exc: BaseException) -> None:
        show_error(self, exc, "Address book")

    def choose_card_file(self) -> None:
        """Add from Card File…: pick the file, read it, show the card to confirm."""
        path, _filter = QFileDialog.getOpenFileName(self, "Add a colleague's key card", str(Path.home()),
                                                    CARD_FILTER)
        if path:
            self.add_card_path(Path(path))

    def add_card_path(self, path: Path) -> None:
        """Read the card at ``path`` (background) and ask to confirm adding it."""
        run_in_background(lambda _p: contacts.read_card_file(path), self.confirm_card, self._failed, context=self)

    def confirm_card(self, card: KeyCard) -> AddCardDialog:
        """Show ``card``; add it when the person confirms."""
        dialog = AddCardDialog(card, self)
        home = self.home

        def add() -> None:  # read the dialog here, on the UI thread
            name, verified = dialog.name(), dialog.verified.isChecked()
            self._change(lambda: contacts.add_card(home, card, name, verified=verified), "Added {name}.")

        dialog.accepted.connect(add)
        return self._open(dialog)

    def add_key(self) -> AddKeyDialog:
        """Add age Key…: a colleague known by a bare age1… key."""
        dialog = AddKeyDialog(self)
        home = self.home

        def add() -> None:
            values, verified = dialog.values(), dialog.verified.isChecked()
            self._change(lambda: contacts.add_recipient(home, **values, verified=verified),
                         "Added {name} (age key only: nothing from them can be verified as theirs).")

        dialog.accepted.connect(add)
        return self._open(dialog)

    def verify_selected(self) -> VerifyDialog | None:
        """Verify…: read the fingerprint with its owner; mark it verified if it matches."""
        contact = self.selected()
        if contact is None or contact.verified:
            return None
        dialog = VerifyDialog(contact, self)
        home = self.home
        dialog.accepted.connect(lambda: self._change(lambda: contacts.verify_contact(home, contact.name),
                                                     "Verified {name}'s key."))
        return self._open(dialog)

    def remove_selected(self) -> QMessageBox | None:
        """Remove…: after a confirmation."""
        contact = self.selected()
        if contact is None:
            return None
        box = QMessageBox(QMessageBox.Icon.Question, "Remove contact",
                          f"Remove {contact.name} from the address book? Packages can no longer be sent to them, "
                          "and packages from them will show as from an unknown sender.",
                          QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("RemoveContactBox")
        remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        home = self.home
        box.buttonClicked.connect(lambda button: self._change(
            lambda: contacts.remove_contact(home, contact.name), "Removed {name}.") if button is remove else None)
        return self._open(box)

    def _open(self, dialog: Opened) -> Opened:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: setattr(self, "pending", None) if self.pending is dialog else None)
        self.pending = dialog
        dialog.open()
        return dialog
