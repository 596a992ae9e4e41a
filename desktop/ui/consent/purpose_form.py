"""Why an export leaves and to whom, and whether consent allows it.

The form shows the consent check of the selection for the chosen purpose as it changes (the
check itself runs in the background, in the dialog that owns the form): allowed (with the
patient's limits to respect), or refused with every study named and what is missing. A refusal
for the patient's care can be overridden with a written justification, which goes into the
audit log when the export runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.consent.purpose_rules import needs_colleague, needs_protocol
from desktop.core.common.errors import VeilError
from desktop.core.consent import Decision, Purpose, is_real_justification

RECIPIENT_HINTS = {
    Purpose.CARE: "The colleague the consent names, e.g. Dr Anna Jones",
    Purpose.TEACHING: "e.g. Radiology residents' teaching file",
    Purpose.CONFERENCE: "e.g. RSNA 2026 talk",
    Purpose.PUBLICATION: "e.g. European Radiology",
    Purpose.RESEARCH: "e.g. the study's data centre",
    Purpose.PUBLIC: "e.g. an open dataset",
}


class OverrideDialog(QDialog):
    """Ask for the justification of sharing for care without consent."""

    def __init__(self, refusal: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Share for care without consent")
        self.setObjectName("OverrideDialog")
        intro = QLabel("Where the law permits sharing for the patient's care without consent, write why "
                       "this export is needed now. The justification, your user name and the studies go "
                       "into the audit log.", self)
        intro.setWordWrap(True)
        missing = QLabel(refusal, self)
        missing.setProperty("role", "warning")
        missing.setWordWrap(True)
        missing.setTextFormat(Qt.TextFormat.PlainText)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("Justification")
        self.text.setPlaceholderText("e.g. Patient transferred tonight; the on-call neurosurgeon must see the scan.")
        buttons = QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        self.buttons = QDialogButtonBox(buttons, self)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Override and allow")
        self.ok.setEnabled(False)
        self.ok.setToolTip("Write a sentence of at least 20 characters first")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.text.textChanged.connect(lambda: self.ok.setEnabled(is_real_justification(self.justification())))
        layout = QVBoxLayout(self)
        for widget in (intro, missing, self.text, self.buttons):
            layout.addWidget(widget)
        self.resize(560, 320)

    def justification(self) -> str:
        return " ".join(self.text.toPlainText().split())


class PurposeForm(QGroupBox):
    """Purpose, recipient, protocol; the consent check's verdict; the care override."""

    #: The purpose, recipient or protocol changed: check consent again.
    changed = Signal()

    def __init__(self, parent: QWidget | None = None, default: Purpose = Purpose.TEACHING,
                 purposes: Sequence[Purpose] = tuple(Purpose)) -> None:
        super().__init__("Purpose and consent", parent)
        self.setObjectName("PurposeForm")
        self.decision: Decision | None = None
        self.justification = ""
        self.combo = QComboBox(self)
        self.combo.setObjectName("PurposeCombo")
        for purpose in purposes:
            self.combo.addItem(purpose.description, purpose)
        self.combo.setCurrentIndex(list(purposes).index(default))
        self.combo.setToolTip("Why the images leave: every study needs a valid consent, waiver or site policy for it")
        self.recipient = QLineEdit(self)
        self.recipient.setObjectName("Recipient")
        self.protocol = QLineEdit(self)
        self.protocol.setObjectName("Protocol")
        self.protocol.setPlaceholderText("The research protocol's ID, as the consent names it")
        self.verdict = QLabel(self)
        self.verdict.setObjectName("ConsentVerdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.limits = QLabel(self)
        self.limits.setObjectName("ConsentLimits")
        self.limits.setProperty("role", "warning")
        self.limits.setWordWrap(True)
        self.limits.setTextFormat(Qt.TextFormat.PlainText)
        self.override_button = QPushButton("Override for care…", self)
        self.override_button.setObjectName("OverrideButton")
        self.override_button.setToolTip("Share for the patient's care without consent, where the law permits "
                                        "it, with a written justification kept in the audit log")
        self.override_button.clicked.connect(self.ask_override)
        form = QFormLayout()
        form.addRow("Purpose", self.combo)
        self.recipient_label = QLabel("Recipient", self)
        form.addRow(self.recipient_label, self.recipient)
        self.protocol_label = QLabel("Protocol", self)
        form.addRow(self.protocol_label, self.protocol)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.verdict)
        layout.addWidget(self.limits)
        layout.addWidget(self.override_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.combo.currentIndexChanged.connect(self._on_edit)
        self.recipient.textChanged.connect(self._on_edit)
        self.protocol.textChanged.connect(self._on_edit)
        self._show_fields()
        self.show_checking()

    # -- reading -------------------------------------------------------------------------------
    def current(self) -> Purpose:
        return Purpose(self.combo.currentData())

    def purpose(self) -> ExportPurpose | None:
        """The export's purpose as filled in; None while a required field is empty."""
        try:
            return ExportPurpose(self.current(), self.recipient.text().strip(), self.protocol.text().strip(),
                                 self.justification)
        except VeilError:
            return None

    def check_key(self) -> tuple[Purpose, str, str] | None:
        """What a consent check depends on (purpose, recipient, protocol); a check made for
        another key is stale and dropped. None while a required field is empty."""
        purpose = self.purpose()
        return None if purpose is None else (purpose.purpose, purpose.recipient, purpose.protocol_id)

    def problem(self) -> str | None:
        """What keeps the export from running, for a person; None when consent allows it."""
        purpose = self.current()
        if needs_colleague(purpose) and not self.recipient.text().strip():
            return "Name the colleague this is for."
        if needs_protocol(purpose) and not self.protocol.text().strip():
            return "Give the research protocol's ID."
        if self.decision is None:
            return "Checking consent…"
        if not self.decision.allowed and not self.justification:
            return "Consent does not allow this export (see Purpose and consent)."
        return None

    # -- showing -------------------------------------------------------------------------------
    def _on_edit(self) -> None:
        self.justification = ""
        self.decision = None
        self._show_fields()
        self.show_checking()
        self.changed.emit()

    def _show_fields(self) -> None:
        purpose = self.current()
        self.recipient_label.setText("Colleague" if needs_colleague(purpose) else "Recipient")
        self.recipient.setPlaceholderText(RECIPIENT_HINTS[purpose])
        protocol = needs_protocol(purpose)
        self.protocol.setVisible(protocol)
        self.protocol_label.setVisible(protocol)

    def _set_verdict(self, text: str, role: str) -> None:
        self.verdict.setText(text)
        self.verdict.setProperty("role", role)
        self.verdict.style().unpolish(self.verdict)
        self.verdict.style().polish(self.verdict)

    def show_checking(self) -> None:
        self._set_verdict("Checking consent…", "muted")
        self.limits.hide()
        self.override_button.hide()

    def show_failure(self, message: str) -> None:
        self.decision = None
        self._set_verdict(f"Consent could not be checked: {message}", "danger")

    def show_decision(self, decision: Decision) -> None:
        """Show the check's verdict (from the background check of the current purpose)."""
        self.decision = decision
        if decision.allowed:
            count = len(decision.studies)
            self._set_verdict(f"✓ Consent allows {decision.purpose.title} for "
                              f"{'this study' if count == 1 else f'all {count} studies'}.", "ok")
        elif self.justification:
            self._set_verdict(f"⚠ Overridden for the patient's care: {self.justification}", "warning")
        else:
            self._set_verdict("✗ " + decision.message, "danger")
        self.limits.setText("\n".join(f"Limit set by the patient: {limit}" for limit in decision.limits))
        self.limits.setVisible(bool(decision.limits))
        self.override_button.setVisible(decision.override_allowed and not self.justification)

    def ask_override(self) -> bool:
        """Ask for a justification; True when the person gave one."""
        if self.decision is None or not self.decision.override_allowed:
            return False
        dialog = OverrideDialog(self.decision.message, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        self.justification = dialog.justification()
        self.show_decision(self.decision)
        self.changed.emit()
        return True
