"""What an opened package says, for a person: who sent it (known and verified in the
address book, or not), why (purpose, consent basis), how it was prepared (de-identification,
redaction), its files, and what the import did.

Everything in a manifest comes from its sender: it is shown as plain text only, never as rich
text, and read defensively (a verified signature says who wrote it, not that it is sensible).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.app.common.formatting import plural
from desktop.app.keys.contacts import Contact
from desktop.app.share.receiving import Received
from desktop.core.consent import Basis, Purpose
from desktop.core.deid.table import OPTIONS
from desktop.ui.common.tables import read_only_rows
from desktop.ui.common.widgets import heading, label, rule, set_role
from desktop.ui.keys.key_text import fingerprint_label

MAX_FILES_SHOWN = 2000


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def purpose_words(purpose: str) -> str:
    try:
        return Purpose(purpose).description
    except ValueError:
        return purpose or "not said"


def contact_state(contact: Contact | None) -> tuple[str, str]:
    """(words, theme role): whether a package's sender is in the address book and verified."""
    if contact is None:
        return ("⚠ Unknown sender: not in your address book. Check the fingerprint with them by phone before "
                "trusting where these images come from.", "warning")
    if not contact.verified:
        return (f"⚠ In your address book as {contact.name}, but the fingerprint is not verified yet.", "warning")
    return f"✓ In your address book as {contact.name}, verified {(contact.verified_at or '')[:10]}.", "ok"


def consent_lines(basis: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(text, role) lines for the manifest's consent basis."""
    lines: list[tuple[str, str]] = []
    records = basis.get("records")
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, Mapping):
            continue
        try:
            kind = Basis(_text(record.get("basis"))).title
        except ValueError:
            kind = _text(record.get("basis")) or "Basis not said"
        purposes = record.get("purposes")
        words = ", ".join(_text(p) for p in purposes) if isinstance(purposes, list) else ""
        line = f"{kind} for {words or 'the purpose'}, obtained {_text(record.get('obtained_on')) or '?'}"
        if record.get("valid_until"):
            line += f", valid until {_text(record.get('valid_until'))}"
        if record.get("reference"):
            line += f" ({_text(record.get('reference'))})"
        lines.append((line, ""))
    limits = basis.get("limits")
    for limit in limits if isinstance(limits, list) else []:
        lines.append((f"Limit set by the patient: {_text(limit)}", "warning"))
    override = basis.get("override")
    if isinstance(override, Mapping):
        lines.append((f"⚠ Sent without consent, overridden for care by {_text(override.get('by'))}: "
                      f"{_text(override.get('justification'))}", "warning"))
    return lines or [("The package names no consent record.", "warning")]


def deid_words(deid: Mapping[str, Any]) -> tuple[str, str]:
    profile = _text(deid.get("profile"))
    if profile == "identifiable":
        return "Identifiable: the images carry the patient's identity (for care only).", "warning"
    if not profile:
        return "Not said.", "warning"
    options = deid.get("options")
    titles = [OPTIONS[o][1] if isinstance(o, str) and o in OPTIONS else _text(o)
              for o in (options if isinstance(options, list) else [])]
    words = f"De-identified with the '{profile}' profile: the DICOM PS3.15 Basic Profile"
    words += f" with the {', '.join(titles)}" if titles else ""
    pseudonyms = deid.get("pseudonyms")
    if isinstance(pseudonyms, list) and pseudonyms:
        words += f"; patients named {', '.join(_text(p) for p in pseudonyms)}"
    return words + ".", ""


def redaction_words(redaction: Mapping[str, Any]) -> str:
    confirmed = redaction.get("confirmed_burned_in")
    if isinstance(confirmed, int) and confirmed > 0:
        return (f"{plural(confirmed, 'image')} declared burned-in text without a redaction mask; the sender "
                "confirmed checking them.")
    return "No image was flagged for burned-in text without a redaction mask."


def size_words(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


class PackageSummary(QWidget):
    """The sender, the manifest and the import of one opened package."""

    #: Add the sender's card to the address book.
    add_sender_requested = Signal()
    #: Show the import report (rejected or duplicate files).
    report_requested = Signal()

    def __init__(self, received: Received, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        m = received.manifest
        card = m.sender
        self.sender_status = label("", self, name="SenderStatus")
        self.add_button = QPushButton("Add to Address Book…", self)
        self.add_button.setObjectName("AddSender")
        self.add_button.setToolTip("Keep the sender's key card, to recognise their packages and send them yours")
        self.add_button.clicked.connect(self.add_sender_requested)
        self.set_sender(received.sender)
        who = card.name + (f", {card.institution}" if card.institution else "")
        sender = QFormLayout()
        sender.addRow("Sender:", label(who + (f" <{card.email}>" if card.email else ""), self, selectable=True,
                                       name="SenderName"))
        sender.addRow("Fingerprint:", fingerprint_label(card.fingerprint, self, 1.3, "SenderFingerprint"))
        status_row = QHBoxLayout()
        status_row.addWidget(self.sender_status, 1)
        status_row.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignTop)

        details = QFormLayout()
        details.addRow("Purpose:", label(purpose_words(m.details.purpose), self, name="PackagePurpose"))
        consent = QVBoxLayout()
        for text, role in consent_lines(m.details.consent_basis):
            consent.addWidget(label(text, self, role or None, selectable=True))
        details.addRow("Consent:", consent)
        words, role = deid_words(m.details.deidentification)
        details.addRow("Content:", label(words, self, role or None, selectable=True, name="PackageDeid"))
        details.addRow("Redaction:", label(redaction_words(m.details.redaction), self, name="PackageRedaction"))
        encryption = "to your key" if m.encryption == "x25519" else "with a passphrase"
        details.addRow("Package:", label(f"Made {m.created.replace('T', ' ').rstrip('Z')} UTC, encrypted "
                                         f"{encryption}, signature and every file verified. Id {m.package_id}.",
                                         self, selectable=True))
        details.addRow("Files:", label(f"{plural(len(m.files), 'file')}, {size_words(m.total_size)}", self,
                                       name="PackageFiles"))
        self.files = self._files_table(received)

        r = received.imported
        self.import_label = label(r.summary(), self, "warning" if r.rejected else "ok", name="ImportSummary")
        report_button = QPushButton("Show Import Report…", self)
        report_button.setVisible(bool(r.rejected or r.duplicates))
        report_button.clicked.connect(self.report_requested)
        import_row = QHBoxLayout()
        import_row.addWidget(self.import_label, 1)
        import_row.addWidget(report_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = heading("✓ Verified: signed by its sender, every file intact", self, 1.1)
        title.setObjectName("OpenedHeadline")
        set_role(title, "ok")
        layout.addWidget(title)
        layout.addSpacing(4)
        layout.addLayout(sender)
        layout.addLayout(status_row)
        layout.addWidget(rule(self))
        layout.addLayout(details)
        layout.addWidget(self.files, 1)
        layout.addWidget(rule(self))
        layout.addLayout(import_row)

    def _files_table(self, received: Received) -> QTableWidget:
        files = received.manifest.files[:MAX_FILES_SHOWN]
        table = QTableWidget(len(files), 2, self)
        table.setObjectName("PackageFileTable")
        table.setHorizontalHeaderLabels(["File in the package", "Size"])
        read_only_rows(table)
        for row, record in enumerate(files):
            path = QTableWidgetItem(record.path)
            path.setToolTip(f"SHA-256 {record.sha256} (verified)")
            table.setItem(row, 0, path)
            table.setItem(row, 1, QTableWidgetItem(size_words(record.size)))
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        table.setMinimumHeight(140)
        return table

    def set_sender(self, contact: Contact | None) -> None:
        """Show the sender as the address book knows them (after adding them, too)."""
        words, role = contact_state(contact)
        self.sender_status.setText(words)
        set_role(self.sender_status, role)
        self.add_button.setVisible(contact is None)
