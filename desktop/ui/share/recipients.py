"""The export wizard's recipients page (colleagues from the address book, a passphrase, or no
encryption for de-identified images going to a journal) and its output page (where
``NAME.veil``, or ``NAME.zip``, goes, and a summary of what is about to leave)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.app.keys.contacts import Contact
from desktop.app.share.sharing import passphrase_problem
from desktop.core.consent.policy import same_person
from desktop.ui.common import theme
from desktop.ui.common.tables import cell, read_only_rows
from desktop.ui.common.widgets import indented, label, set_role, visible_indicator
from desktop.ui.keys.key_text import contact_key_text, verified_words
from desktop.ui.keys.passphrase_dialog import password_field
from desktop.ui.share.pages import WizardPage
from desktop.ui.share.send_page import NodeChoice
from desktop.ui.share.widgets import (
    ARCHIVE_FILTER,
    ARCHIVE_SUFFIX,
    PACKAGE_FILTER,
    PACKAGE_SUFFIX,
    default_package_path,
    package_path_problem,
)

COLUMNS = ("Name", "Institution", "Fingerprint", "Verified")
ROLE_COLOURS = {"ok": theme.OK, "warning": theme.WARNING}
PASSPHRASE_HINT = ("Tell them the passphrase by phone or in person, never in the same message as the package. "
                   "They can open it with Veil, or with the age tool: age -d -o case.zip NAME.veil")
PLAIN_HINT = ("A signed ZIP that any DICOM viewer opens, not encrypted: anyone who gets the file sees the images. "
              "Only for de-identified images for teaching, publication or research, such as a journal's "
              "submission system. The recipient named under Purpose goes in the accounting of disclosures.")
PLAIN_UNAVAILABLE = ("Only de-identified images for teaching, publication or research may leave unencrypted: "
                     "choose a de-identification profile and such a purpose.")


class RecipientsPage(WizardPage):
    """Tick colleagues (their keys encrypt the package), or give a passphrase twice."""

    title = "Recipients"
    subtitle = ("Who receives the images: colleagues from your address book (encrypted to their keys), anyone "
                "you give a passphrase to, or, for de-identified images only, anyone (a plain ZIP) or a DICOM node.")
    #: The person wants to change the address book (the page reloads it afterwards).
    address_book_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.contacts: list[Contact] = []
        self.contacts_radio = QRadioButton("Colleagues from my address book", self)
        self.contacts_radio.setObjectName("ContactsChoice")
        self.pass_radio = QRadioButton("A passphrase, for someone without Veil or without a key card", self)
        self.pass_radio.setObjectName("PassphraseChoice")
        self.plain_radio = QRadioButton("No encryption: a de-identified ZIP for a journal or an archive", self)
        self.plain_radio.setObjectName("PlainChoice")
        self.plain_hint = label(PLAIN_HINT, self, "muted", name="PlainHint")
        self.node_choice = NodeChoice(self)
        self.node_choice.changed.connect(self.changed)
        self.node_choice.combo.currentIndexChanged.connect(lambda _i: self.mode_changed.emit())
        group = QButtonGroup(self)
        for radio in (self.contacts_radio, self.pass_radio, self.plain_radio, self.node_choice.radio):
            visible_indicator(radio)
            group.addButton(radio)
            radio.toggled.connect(self._on_mode)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("RecipientTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        read_only_rows(self.table)
        visible_indicator(self.table)  # the tick boxes
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemChanged.connect(lambda _item: self._on_ticked())
        self.table.cellClicked.connect(self._toggle_row)
        self.empty = label("Your address book is empty. Add a colleague from the key card file they sent you, "
                           "or from their age key.", self, "muted", name="NoContacts")
        self.book_button = QPushButton("Address Book…", self)
        self.book_button.setObjectName("OpenAddressBook")
        self.book_button.setToolTip("Add, verify or remove colleagues")
        self.book_button.clicked.connect(self.address_book_requested)
        self.warning = label("", self, "warning", name="RecipientWarning")
        self.passphrase = password_field(self, "PackagePassphrase")
        self.passphrase.setPlaceholderText("Several unrelated words, 12 characters or more")
        self.confirm = password_field(self, "ConfirmPackagePassphrase")
        self.confirm.setPlaceholderText("The same passphrase again")
        for field in (self.passphrase, self.confirm):
            field.textChanged.connect(lambda _t: self._on_passphrase())
        self.strength = label("", self, "muted", name="PassphraseStrength")
        self.pass_hint = label(PASSPHRASE_HINT, self, "muted", selectable=True)
        self._build_layout()
        self.contacts_radio.setChecked(True)

    def _build_layout(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.book_button)
        row.addStretch(1)
        self.pass_box = QWidget(self)
        box = QVBoxLayout(self.pass_box)
        box.setContentsMargins(28, 0, 0, 0)
        form = QFormLayout()
        form.addRow("Passphrase:", self.passphrase)
        form.addRow("Confirm:", self.confirm)
        box.addLayout(form)
        box.addWidget(self.strength)
        box.addWidget(self.pass_hint)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.contacts_radio)
        inset = QVBoxLayout()
        inset.setContentsMargins(28, 0, 0, 0)
        inset.addWidget(self.table, 1)
        inset.addWidget(self.empty)
        inset.addLayout(row)
        inset.addWidget(self.warning)
        layout.addLayout(inset, 1)
        layout.addSpacing(10)
        layout.addWidget(self.pass_radio)
        layout.addWidget(self.pass_box)
        layout.addSpacing(10)
        layout.addWidget(self.plain_radio)
        layout.addLayout(indented(self.plain_hint))
        layout.addSpacing(10)
        layout.addWidget(self.node_choice)

    # -- a DICOM node -----------------------------------------------------------------------
    def node(self) -> str | None:
        """The DICOM node the images are sent to, when that is the choice (else None)."""
        return self.node_choice.node()

    def allow_node(self, refusal: str | None) -> None:
        """Offer the DICOM node (``refusal`` None), or say why not (care, identifiable images)."""
        self.node_choice.allow(refusal)
        if refusal is not None and self.node_choice.radio.isChecked():
            self.contacts_radio.setChecked(True)

    # -- unencrypted ------------------------------------------------------------------------
    def allow_unencrypted(self, allowed: bool) -> None:
        """Offer the plain ZIP only for de-identified images and a purpose other than care."""
        self.plain_radio.setEnabled(allowed)
        self.plain_radio.setToolTip("" if allowed else PLAIN_UNAVAILABLE)
        self.plain_hint.setText(PLAIN_HINT if allowed else PLAIN_UNAVAILABLE)
        if not allowed and self.plain_radio.isChecked():
            self.contacts_radio.setChecked(True)

    def unencrypted(self) -> bool:
        """True when the plain, unencrypted ZIP is chosen."""
        return self.plain_radio.isChecked()

    # -- contacts ---------------------------------------------------------------------------
    def set_contacts(self, contacts: Sequence[Contact]) -> None:
        """Show the address book, keeping the ticks of contacts still in it."""
        ticked = {c.id for c in self.chosen()}
        self.contacts = list(contacts)
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.contacts))
        for row, contact in enumerate(self.contacts):
            name = QTableWidgetItem(contact.name)
            name.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            name.setCheckState(Qt.CheckState.Checked if contact.id in ticked else Qt.CheckState.Unchecked)
            words, role = verified_words(contact)
            cells = [name, QTableWidgetItem(contact.institution), QTableWidgetItem(contact_key_text(contact)),
                     QTableWidgetItem(words)]
            cells[3].setForeground(QColor(ROLE_COLOURS[role]))
            cells[2].setToolTip(contact.age_recipient)
            cells[2].setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
            for column, table_item in enumerate(cells):
                self.table.setItem(row, column, table_item)
        self.table.blockSignals(False)
        self.empty.setVisible(not self.contacts)
        self.table.setVisible(bool(self.contacts))
        self._on_ticked()

    def _toggle_row(self, row: int, column: int) -> None:
        if column == 0 or not self.contacts_radio.isChecked():
            return  # the check box handles its own clicks
        item = cell(self.table, row, 0)
        item.setCheckState(Qt.CheckState.Unchecked if item.checkState() == Qt.CheckState.Checked
                           else Qt.CheckState.Checked)

    def tick(self, name: str) -> bool:
        """Tick the contact called ``name`` (for care: the colleague the purpose names)."""
        for row, contact in enumerate(self.contacts):
            if same_person(contact.name, name):
                cell(self.table, row, 0).setCheckState(Qt.CheckState.Checked)
                return True
        return False

    def chosen(self) -> tuple[Contact, ...]:
        """The ticked contacts (none in passphrase or unencrypted mode)."""
        if not self.contacts_radio.isChecked():
            return ()
        return tuple(c for row, c in enumerate(self.contacts)
                     if (item := self.table.item(row, 0)) is not None
                     and item.checkState() == Qt.CheckState.Checked)

    def _on_ticked(self) -> None:
        unverified = [c.name for c in self.chosen() if not c.verified]
        if unverified:
            self.warning.setText(f"⚠ Not verified: {', '.join(unverified)}. Check the fingerprint with them by "
                                 "phone (Address Book > Verify) before sending: an unverified key may be an "
                                 "impostor's.")
        self.warning.setVisible(bool(unverified))
        self.changed.emit()

    # -- passphrase -------------------------------------------------------------------------
    def passphrase_text(self) -> str | None:
        return self.passphrase.text() if self.pass_radio.isChecked() else None

    #: The person chose, or left, the unencrypted ZIP (the output's name changes with it).
    mode_changed = Signal()

    def _on_mode(self) -> None:
        contacts, passphrase = self.contacts_radio.isChecked(), self.pass_radio.isChecked()
        self.table.setEnabled(contacts)
        self.book_button.setEnabled(contacts)
        self.pass_box.setEnabled(passphrase)
        self.warning.setVisible(contacts and bool(self.warning.text()) and bool(self.chosen()))
        self._on_passphrase()
        if passphrase:
            self.passphrase.setFocus()
        self.mode_changed.emit()

    def _on_passphrase(self) -> None:
        text = self.passphrase.text()
        if not text:
            words, role = "Use at least 12 characters: four unrelated words are strong and easy to read out.", "muted"
        elif problem := passphrase_problem(text):
            words, role = f"✗ {problem}", "danger"
        else:
            words, role = "✓ Strong enough.", "ok"
        self.strength.setText(words)
        set_role(self.strength, role)
        self.changed.emit()

    def problem(self) -> str | None:
        if self.node_choice.radio.isChecked():
            return self.node_choice.problem()
        if self.plain_radio.isChecked():
            return None if self.plain_radio.isEnabled() else PLAIN_UNAVAILABLE
        if self.contacts_radio.isChecked():
            return None if self.chosen() else "Tick at least one colleague, or choose a passphrase."
        text = self.passphrase.text()
        if not text:
            return "Choose a passphrase."
        if problem := passphrase_problem(text):
            return problem
        if self.confirm.text() != text:
            return "Repeat the passphrase in Confirm." if not self.confirm.text() else "The two passphrases differ."
        return None


class OutputPage(WizardPage):
    """Where the package is written, and everything the export will do, in one place."""

    title = "Output file"
    subtitle = "Where the encrypted package is written. Its name says nothing about the patient: keep it so."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path_edit = QLineEdit(str(default_package_path()), self)
        self.path_edit.setObjectName("PackagePath")
        self.path_edit.textChanged.connect(lambda _t: self.changed.emit())
        self.choose_button = QPushButton("Choose…", self)
        self.choose_button.setToolTip("Choose the package's folder and name")
        self.choose_button.clicked.connect(self.choose)
        self.summary = QFormLayout()
        self.summary.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.summary.setVerticalSpacing(8)
        self.node: str | None = None
        self.file_box = QWidget(self)  # hidden when the images go to a DICOM node
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.choose_button)
        box = QVBoxLayout(self.file_box)
        box.setContentsMargins(0, 0, 0, 12)
        box.addLayout(row)
        box.addWidget(label("The folder is made if missing. The file appears only when the package is "
                            "complete: a cancelled or failed export leaves nothing behind.", self, "muted"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.file_box)
        self.summary_title = label("About to export", self, "section")
        layout.addWidget(self.summary_title)
        layout.addLayout(self.summary)
        layout.addStretch(1)

    suffix = PACKAGE_SUFFIX

    def output(self) -> Path:
        return Path(self.path_edit.text().strip()).expanduser()

    def set_unencrypted(self, unencrypted: bool) -> None:
        """Write a plain ``NAME.zip`` (or the encrypted ``NAME.veil``): the name follows."""
        suffix = ARCHIVE_SUFFIX if unencrypted else PACKAGE_SUFFIX
        if suffix == self.suffix:
            return
        text, old = self.path_edit.text().strip(), self.suffix
        self.suffix = suffix
        self.path_edit.setText(text[:-len(old)] + suffix if text.endswith(old) else text)
        self.subtitle = ("Where the de-identified ZIP is written (not encrypted). Its name says nothing about the "
                         "patient: keep it so." if unencrypted else type(self).subtitle)
        self.changed.emit()

    def set_node(self, node: str | None) -> None:
        """Send to the DICOM node ``node`` (no file is written), or write a file (None)."""
        self.node = node
        self.file_box.setVisible(node is None)
        self.title = "Check and send" if node is not None else type(self).title
        self.summary_title.setText("About to send" if node is not None else "About to export")
        if node is not None:
            self.subtitle = (f"What leaves, and where it goes. Nothing is sent until you press Send: then the images "
                             f"are de-identified and sent to {node}.")
        else:
            self.subtitle = ("Where the de-identified ZIP is written (not encrypted). Its name says nothing about the "
                             "patient: keep it so." if self.suffix == ARCHIVE_SUFFIX else type(self).subtitle)
        self.changed.emit()

    def choose(self) -> None:
        """Pick the output's folder and name with the system's file chooser."""
        plain = self.suffix == ARCHIVE_SUFFIX
        chosen, _filter = QFileDialog.getSaveFileName(self, "Save archive as" if plain else "Save package as",
                                                      str(self.output()), ARCHIVE_FILTER if plain else PACKAGE_FILTER)
        if chosen:
            self.path_edit.setText(chosen if chosen.endswith(self.suffix) else chosen + self.suffix)

    def set_summary(self, rows: Sequence[tuple[str, str, str]]) -> None:
        """Show (heading, text, theme role) rows."""
        while self.summary.rowCount():
            self.summary.removeRow(0)
        for heading, text, role in rows:
            self.summary.addRow(label(heading + ":", self, "muted", wrap=False), label(text, self, role or None,
                                                                                         selectable=True))

    def problem(self) -> str | None:
        return None if self.node is not None else package_path_problem(self.path_edit.text(), self.suffix)
