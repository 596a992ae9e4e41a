"""Export teaching cases: a PowerPoint deck or the key images as annotated slide images, for
a purpose a consent allows (never care: neither is encrypted), through the privacy gate. The
export runs off the UI thread with its progress and Cancel; a refusal says why (consent, a
typed text that names the patient, an image that may carry burned-in text) and writes nothing.
A teaching-file package (DICOM, IHE TCE, case.html) continues in the share wizard, which asks
for the recipients or a passphrase (:mod:`desktop.ui.share.teaching_wizard`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from desktop.app.cases.case_slides import export_case_slides
from desktop.app.cases.deck import export_deck
from desktop.app.cases.passage import CaseExport
from desktop.app.common.tasks import CancelToken
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.consent.purpose_rules import needs_protocol, unencrypted_purposes
from desktop.app.library.home import VeilHome
from desktop.core.common.errors import VeilError
from desktop.ui.common.background import run_in_background
from desktop.ui.common.widgets import label, set_role
from desktop.ui.share.widgets import exports_folder


class CaseExportDialog(QDialog):
    """Export the cases ``case_ids`` (see the module)."""

    #: An export ended (its report).
    exported = Signal(object)
    #: Continue in the share wizard: a teaching-file package of this case (its id).
    package_requested = Signal(int)

    def __init__(self, home: VeilHome, case_ids: Sequence[int], titles: Sequence[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CaseExportDialog")
        self.setWindowTitle("Export Teaching Case" if len(case_ids) == 1 else "Export Teaching Cases")
        self.home, self.case_ids = home, tuple(case_ids)
        self._token: CancelToken | None = None
        self.last_report: CaseExport | None = None
        self.purpose_combo = QComboBox(self)
        self.purpose_combo.setObjectName("CasePurpose")
        for purpose in unencrypted_purposes():
            self.purpose_combo.addItem(purpose.description, purpose)
        self.recipient_edit = QLineEdit(self)
        self.recipient_edit.setPlaceholderText("e.g. Radiology residents' teaching file")
        self.protocol_edit = QLineEdit(self)
        self.protocol_edit.setPlaceholderText("The research protocol's ID, as the consent names it")
        self.deck_radio = QRadioButton("PowerPoint deck (.pptx)", self)
        self.folder_radio = QRadioButton("Slide images in a folder", self)
        self.zip_radio = QRadioButton("Slide images in a zip file", self)
        self.package_radio = QRadioButton("Teaching-file package: DICOM key images, the case as IHE TCE "
                                          "documents and case.html; encrypted, or a journal ZIP", self)
        self.package_radio.setObjectName("CasePackageChoice")
        self.package_radio.setEnabled(len(case_ids) == 1)
        self.package_radio.setToolTip("Continues in the Export Package wizard (purpose, consent, recipients)"
                                      if len(case_ids) == 1 else "One case per package: export them one by one")
        self.kind = QButtonGroup(self)
        for button in (self.deck_radio, self.folder_radio, self.zip_radio, self.package_radio):
            self.kind.addButton(button)
        self.deck_radio.setChecked(True)
        self.format_combo = QComboBox(self)
        self.format_combo.addItem("PNG (lossless)", "png")
        self.format_combo.addItem("JPEG (smaller)", "jpeg")
        self.unknown_box = QCheckBox("Unknown case: the diagnosis only on a last reveal slide", self)
        self.confirm_box = QCheckBox("I checked the flagged key images: they show no identity", self)
        self.confirm_box.hide()
        self.target_edit = QLineEdit(self)
        self.target_edit.setObjectName("CaseTarget")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        target_row = QHBoxLayout()
        target_row.addWidget(self.target_edit, 1)
        target_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Purpose", self.purpose_combo)
        form.addRow("Recipient", self.recipient_edit)
        self.protocol_label = label("Protocol", self)
        form.addRow(self.protocol_label, self.protocol_edit)
        kinds = QVBoxLayout()
        for button in (self.deck_radio, self.folder_radio, self.zip_radio, self.package_radio):
            kinds.addWidget(button)
        form.addRow("Write", kinds)
        form.addRow("Images", self.format_combo)
        form.addRow("", self.unknown_box)
        form.addRow("To", target_row)
        self.result_label = label("", self, name="CaseExportResult", selectable=True)
        self.progress = QProgressBar(self)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel Export", self)
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.close)
        self.export_button = QPushButton("Export", self)
        self.export_button.setObjectName("CaseExportButton")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.export)
        footer = QHBoxLayout()
        footer.addWidget(self.progress, 1)
        footer.addWidget(self.cancel_button)
        footer.addStretch(0)
        footer.addWidget(self.close_button)
        footer.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        names = ", ".join(f"\u201c{t}\u201d" for t in titles[:3]) + (" …" if len(titles) > 3 else "")
        layout.addWidget(label(f"{names}: de-identified, with each key image at its view and its annotations. "
                               "Consent must allow the purpose; text that names the patient stops the export.",
                               self, "muted"))
        layout.addLayout(form)
        layout.addWidget(self.confirm_box)
        layout.addWidget(self.result_label)
        layout.addStretch(1)
        layout.addLayout(footer)
        self.kind.buttonToggled.connect(lambda *_: self._kind_changed())
        self.purpose_combo.currentIndexChanged.connect(lambda _i: self._kind_changed())
        self._kind_changed()
        self.resize(620, 460)

    # -- state -----------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._token is not None

    def _default_target(self) -> Path:
        stem = f"teaching-case-{date.today().isoformat()}"
        if self.deck_radio.isChecked():
            return exports_folder() / f"{stem}.pptx"
        return exports_folder() / (f"{stem}.zip" if self.zip_radio.isChecked() else stem)

    def _kind_changed(self) -> None:
        deck, package = self.deck_radio.isChecked(), self.package_radio.isChecked()
        self.unknown_box.setEnabled(deck)
        self.format_combo.setEnabled(not deck and not package)
        for widget in (self.purpose_combo, self.recipient_edit, self.protocol_edit, self.target_edit):
            widget.setEnabled(not package)  # the wizard asks for each
        research = needs_protocol(self.purpose_combo.currentData())
        self.protocol_label.setVisible(research)
        self.protocol_edit.setVisible(research)
        self.export_button.setText("Continue…" if package else "Export")
        self.export_button.setToolTip("The Export Package wizard asks for the purpose, the recipients or a "
                                      "passphrase, and where to write it" if package else "")
        self.target_edit.setText("" if package else str(self._default_target()))

    def _browse(self) -> None:
        start = self.target_edit.text()
        if self.folder_radio.isChecked():
            chosen = QFileDialog.getExistingDirectory(self, "Folder for the slide images", start)
        else:
            pattern = "PowerPoint (*.pptx)" if self.deck_radio.isChecked() else "Zip (*.zip)"
            chosen, _ = QFileDialog.getSaveFileName(self, "Export to", start, pattern)
        if chosen:
            self.target_edit.setText(chosen)

    # -- export ------------------------------------------------------------------------------------
    def export(self) -> None:
        if self.busy:
            return
        if self.package_radio.isChecked():
            self.package_requested.emit(self.case_ids[0])
            self.close()
            return
        try:
            purpose = ExportPurpose(self.purpose_combo.currentData(), self.recipient_edit.text().strip(),
                                    self.protocol_edit.text().strip())
        except VeilError as exc:
            self._show(str(exc), "danger")
            return
        target = Path(self.target_edit.text().strip()).expanduser()
        home, ids, token = self.home, self.case_ids, CancelToken()
        confirm, unknown = self.confirm_box.isChecked(), self.unknown_box.isChecked()
        fmt = self.format_combo.currentData()
        deck, zipped = self.deck_radio.isChecked(), self.zip_radio.isChecked()

        def op(progress: object) -> CaseExport:
            if deck:
                return export_deck(home, ids, purpose, target, unknown=unknown, confirm_burned_in=confirm,
                                   progress=progress, cancel=token)  # type: ignore[arg-type]
            return export_case_slides(home, ids, purpose, None if zipped else target,
                                      zip_path=target if zipped else None, fmt=fmt, confirm_burned_in=confirm,
                                      progress=progress, cancel=token)  # type: ignore[arg-type]

        self._set_busy(token)
        run_in_background(op, self._done, self._failed, self._progress, context=self)

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    def _done(self, report: CaseExport) -> None:
        self._set_busy(None)
        self.last_report = report
        failed = report.refused or report.cancelled or bool(report.failed) or bool(report.disk_full)
        self._show(report.headline(), "danger" if failed else "ok")
        if report.flagged and not report.confirm_burned_in:
            self.confirm_box.show()
        self.exported.emit(report)

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(None)
        self._show(str(exc) if isinstance(exc, VeilError) else f"The export failed ({type(exc).__name__}).",
                   "danger")

    def _show(self, text: str, role: str) -> None:
        self.result_label.setText(text)
        set_role(self.result_label, role)

    def _set_busy(self, token: CancelToken | None) -> None:
        self._token = token
        running = token is not None
        self.progress.setVisible(running)
        self.progress.setRange(0, 0)
        self.cancel_button.setVisible(running)
        self.export_button.setEnabled(not running)
        if running:
            self._show("Exporting…", "muted")

    def cancel(self) -> None:
        if self._token is not None:
            self._token.cancel()
            self.cancel_button.setEnabled(False)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.busy:
            self.cancel()
            event.ignore()  # it closes once the export has stopped
            return
        super().closeEvent(event)
