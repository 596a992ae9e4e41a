"""The export wizard's last page: progress and Cancel while the package is written, then what
happened: where the package is, who can open it, the consent's limits, the accounting of
disclosures; or why nothing was written (and that no file was left behind)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from desktop.app.browsing.catalogue import SeriesRow, StudyRow
from desktop.app.common.formatting import plural
from desktop.app.keys.contacts import Contact
from desktop.app.network.sending import SendReport
from desktop.app.share.sharing import ShareReport
from desktop.core.common.errors import VeilError
from desktop.ui.common.widgets import heading, label, rule, set_role
from desktop.ui.consent.purpose_form import PurposeForm
from desktop.ui.keys.key_text import contact_key_text
from desktop.ui.share.pages import ProfilePage, RedactionPage, WizardPage
from desktop.ui.share.recipients import RecipientsPage
from desktop.ui.share.send_page import node_text, transit_text

#: Progress phases: de-identifying (instances), then writing (bytes).
PHASES = {True: ("De-identifying the images…", "Packaging, encrypting and signing…"),
          False: ("Packaging, encrypting and signing…",)}


def recipients_text(recipients: Sequence[Contact], passphrase: str | None) -> str:
    """Who can open the package, in words."""
    if passphrase:
        return ("Anyone with the passphrase. Tell it to them by phone or in person, never in the same message "
                "as the package.")
    parts = []
    for c in recipients:
        state = "verified" if c.verified else "NOT verified"
        parts.append(f"{c.name} [{contact_key_text(c)}], {state}")
    return "Only " + "; ".join(parts) + " (encrypted to their keys)."


def prepare_output(output: Path) -> None:
    """Make the package's folder (worker thread); refuse a name already taken."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VeilError(f"Cannot make the folder for the package ({exc.strerror or type(exc).__name__}). "
                        "Choose another place.") from None
    if output.exists():
        raise VeilError(f"{output.name} already exists; go back and choose another name.")


def summary_rows(studies: Sequence[StudyRow], series: Sequence[SeriesRow], form: PurposeForm, profile_page: ProfilePage,
                 redaction_page: RedactionPage, recipients_page: RecipientsPage) -> list[tuple[str, str, str]]:
    """(heading, text, theme role) rows: everything the export is about to do."""
    images = sum(s.image_count for s in series) if series else sum(s.image_count for s in studies)
    rows = [("Images", f"{plural(len(studies), 'study', 'studies')}, {plural(images, 'image')}", "")]
    purpose = form.purpose()
    if purpose is not None:
        who = f" ({purpose.recipient})" if purpose.recipient else ""
        rows.append(("Purpose", purpose.purpose.description + who, ""))
    decision = form.decision
    if decision is not None and decision.allowed:
        rows.append(("Consent", f"✓ Allows {decision.purpose.title}", "ok"))
    elif form.justification:
        rows.append(("Consent", f"⚠ Overridden for care: {form.justification}", "warning"))
    for limit in decision.limits if decision is not None else ():
        rows.append(("Patient's limit", limit, "warning"))
    profile = profile_page.profile()
    if profile_page.identifiable:
        rows.append(("Content", "Identifiable originals, with the patient's identity (care only)", "warning"))
    elif profile is not None:
        rows.append(("Content", f"De-identified: {profile.title}, patients named {profile.pseudonym_prefix}-0001…", ""))
    flagged = redaction_page.flagged or []
    if flagged:
        rows.append(("Burned-in text", f"{plural(len(flagged), 'image')} checked by you", ""))
    elif redaction_page.unchecked:
        rows.append(("Burned-in text", "Pixels not read for text (no OCR); you looked at the images", "warning"))
    else:
        rows.append(("Burned-in text", "None flagged", ""))
    node = recipients_page.node_choice.chosen_node() if recipients_page.node() else None
    if node is not None:
        rows.append(("Sent to", f"{node_text(node)}: named as the recipient in the accounting of disclosures", ""))
        rows.append(("On the network", *transit_text(node)))
    elif recipients_page.unencrypted():
        rows.append(("Who can open it", "Anyone who gets the file: a signed ZIP, not encrypted", "warning"))
    else:
        rows.append(("Who can open it", recipients_text(recipients_page.chosen(), recipients_page.passphrase_text()),
                     ""))
    return rows


class RunPage(WizardPage):
    """Progress while exporting; the outcome once it ended."""

    title = "Export"
    subtitle = "The images are prepared, packed, encrypted and signed. Nothing is written until the end."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.output: Path | None = None
        self.node: str | None = None  # sending to this DICOM node (not writing a file)
        self.node_where = ""
        self._phases = PHASES[True]
        self._done = 0
        self._phase = 0
        self._total = -1
        self._deid = True
        self.progress_label = label("", self, name="ExportPhase")
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setObjectName("PackageProgress")
        self.headline = heading("", self, 1.15)
        self.headline.setObjectName("ExportHeadline")
        self.details = QFormLayout()
        self.details.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.details.setVerticalSpacing(8)
        self.where = label("", self, selectable=True, name="PackageWhere")
        self.show_button = QPushButton("Show in Folder", self)
        self.show_button.setToolTip("Open the folder holding the package")
        self.show_button.clicked.connect(self.show_folder)
        self.copy_button = QPushButton("Copy Path", self)
        self.copy_button.clicked.connect(self.copy_path)
        where_row = QHBoxLayout()
        where_row.addWidget(self.where, 1)
        where_row.addWidget(self.show_button)
        where_row.addWidget(self.copy_button)
        self.result = QWidget(self)
        result_layout = QVBoxLayout(self.result)
        result_layout.setContentsMargins(0, 0, 0, 0)
        result_layout.addWidget(self.headline)
        result_layout.addLayout(where_row)
        result_layout.addWidget(rule(self))
        result_layout.addLayout(self.details)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.result)
        layout.addStretch(1)
        self.result.hide()

    # -- running ------------------------------------------------------------------------------
    def set_mode(self, plain: bool, node: str | None) -> None:
        """Say what the export is about to do: write a package, a plain ZIP, or send to ``node``."""
        self.title = "Send" if node is not None else type(self).title
        self.subtitle = (f"The images are de-identified, checked and sent to {node}." if node is not None else
                         "The images are prepared, packed and signed (not encrypted). Nothing is written until the "
                         "end." if plain else type(self).subtitle)

    def start(self, output: Path | None, deidentify: bool, node: str | None = None, where: str = "") -> None:
        """Show progress of writing ``output``, or of sending to ``node`` (``where``: it in words)."""
        self.output, self.node, self.node_where = output, node, where
        self._deid, self._phase, self._total = deidentify, 0, -1
        self._phases = (PHASES[True][0], f"Sending to {node}…") if node is not None else PHASES[deidentify]
        self._done = 0
        self.result.hide()
        for widget in (self.progress_label, self.progress_bar):
            widget.show()
        self.progress_label.setText("Checking consent and the images…")
        self.progress_bar.setRange(0, 0)

    def cancelling(self) -> None:
        self.progress_label.setText("Cancelling… (images already sent stay on the node)" if self.node else
                                    "Cancelling… (nothing will be written)")

    def set_progress(self, done: int, total: int) -> None:
        phases = self._phases
        if total != self._total or (self.node and done < self._done):  # sending counts the images again
            if self._total >= 0:
                self._phase = min(self._phase + 1, len(phases) - 1)
            self._total = total
        self._done = done
        if not self.progress_label.text().startswith("Cancelling"):
            self.progress_label.setText(phases[self._phase])
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(int(1000 * done / total) if total > 0 else 0)

    # -- outcome ------------------------------------------------------------------------------
    def end(self, title: str, role: str, where: str = "", can_show: bool = False) -> None:
        for widget in (self.progress_label, self.progress_bar):
            widget.hide()
        while self.details.rowCount():
            self.details.removeRow(0)
        self.headline.setText(title)
        set_role(self.headline, role)
        self.where.setText(where)
        self.where.setVisible(bool(where))
        self.show_button.setVisible(can_show)
        self.copy_button.setVisible(can_show)
        self.result.show()

    def add(self, heading: str, text: str, role: str | None = None, name: str | None = None) -> QLabel:
        widget = label(text, self, role, selectable=True, name=name)
        title = label(f"{heading}:" if heading else "", self, "muted", wrap=False)
        self.details.addRow(title, widget)
        title.show()  # now, not when the layout gets round to it
        widget.show()
        return widget

    def show_report(self, report: ShareReport) -> None:
        """Show how the export ended (written, or refused with the reason)."""
        if report.package is None:
            self.end(report.headline(), "danger", self._nothing_left())
            if report.consent is not None and not report.consent.allowed:
                self.add("Consent", report.consent.message, "warning", "RefusalReason")
            if report.flagged and not report.request.confirm_burned_in:
                self.add("Not checked", "\n".join(f.label for f in report.flagged), "warning")
            if report.deid is not None and report.deid.refused:
                self.add("", "Go back to choose another profile, or redact the images first.", "muted")
            return
        package = report.package
        self.end("✓ " + report.headline(), "ok", f"Saved as {package.path}", can_show=True)
        plain = report.request.unencrypted
        self.add("Who can open it", "Anyone who gets the file (a signed ZIP, not encrypted): send it only where the "
                  "purpose says" if plain else recipients_text(report.request.recipients, report.request.passphrase),
                  "warning" if plain else None, name="ResultRecipients")
        if report.consent is not None:
            consent = report.consent
            if consent.overridden:
                self.add("Consent", f"⚠ Overridden for the patient's care: {consent.justification}", "warning")
            else:
                self.add("Consent", f"✓ Allows {consent.purpose.title}.", "ok")
            for limit in consent.limits:
                self.add("Patient's limit", f"{limit} (tell the recipient)", "warning", "ResultLimit")
        if report.request.confirm_burned_in and report.flagged:
            self.add("Burned-in text", f"You confirmed {plural(len(report.flagged), 'image')}; the manifest says so.")
        self.add("Accounting", "Recorded in the accounting of disclosures of every patient in it (Consent > "
                  "Accounting of Disclosures…) and in the audit log.", name="ResultAccounting")
        self.add("Archive id" if plain else "Package id", f"{package.manifest.package_id}. " + (
            "Any DICOM viewer opens the unzipped folder (DICOMDIR); its README says how to check the signature."
            if plain else "The recipient opens it in Veil (File > Open Package…) or with the age tool."), "muted")

    def show_sent(self, report: SendReport) -> None:
        """How a send to a DICOM node ended: sent (some refused by the node, or cancelled part
        way), or refused by the privacy gate with the reason."""
        where = self.node_where or report.node
        if report.refused or not report.sent:
            self.end(report.headline(), "warning" if report.cancelled else "danger")
            if report.consent is not None and not report.consent.allowed:
                self.add("Consent", report.consent.message, "warning", "RefusalReason")
            if report.flagged and not report.confirm_burned_in:
                self.add("Not checked", "\n".join(f.label for f in report.flagged), "warning")
        else:
            self.end(("✓ " if not report.failed and not report.cancelled else "⚠ ") + report.headline(),
                     "ok" if not report.failed and not report.cancelled else "warning")
            self.add("Recipient", where, name="ResultRecipients")
            if report.consent is not None:
                self.add("Consent", f"✓ Allows {report.consent.purpose.title}.", "ok")
                for limit in report.consent.limits:
                    self.add("Patient's limit", f"{limit} (tell the node's owner)", "warning", "ResultLimit")
            if report.confirm_burned_in and report.flagged:
                self.add("Burned-in text", f"You confirmed {plural(len(report.flagged), 'image')}.")
            self.add("Accounting", f"Recorded in the accounting of disclosures of every patient in it, naming {where} "
                     "as the recipient (Consent > Accounting of Disclosures…), and in the audit log.",
                     name="ResultAccounting")
        for name, reason in report.failed:
            self.add("Not stored", f"{name}: {reason}", "danger", "SendFailed")
        if report.refused:
            self.add("", "Go back to change something and send again, or close the wizard.", "muted")

    def show_stopped(self, message: str, cancelled: bool) -> None:
        """The export was cancelled or failed: say so, and that no file is left (or, sending to a
        node, that the accounting counts whatever may have reached it)."""
        what = "Send" if self.node else "Export"
        self.end(f"{what} cancelled." if cancelled else f"{what} failed.", "warning" if cancelled else "danger",
                  "" if self.node else self._nothing_left())
        if not cancelled:
            self.add("Why", message, "danger", "ExportError")
        if self.node:
            self.add("What left", "Nothing was sent." if cancelled else "Any image that may have reached "
                      f"{self.node} is counted in the accounting of disclosures (Consent > Accounting of "
                      "Disclosures…).", "muted", "SendLeft")
        self.add("", f"Go back to change something and {what.lower()} again, or close the wizard.", "muted")

    def show_outcome(self, report: ShareReport | SendReport) -> None:
        """How the export (a package written, or images sent to a node) ended."""
        if isinstance(report, SendReport):
            self.show_sent(report)
        else:
            self.show_report(report)

    def _nothing_left(self) -> str:
        if self.output is None:
            return "No package was written."
        if self.output.exists():  # a file of that name was there before: not ours
            return f"No package was written; {self.output.name} is an older file of that name."
        return f"No package was written: no file was left at {self.output}."

    def show_folder(self) -> None:
        if self.output is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.output.parent)))

    def copy_path(self) -> None:
        if self.output is not None:
            QGuiApplication.clipboard().setText(str(self.output))
