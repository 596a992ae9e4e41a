"""Consent Records: the patient's consents, waivers and site policies (and the site-wide ones),
with their state today; record, withdraw, view the scanned form, see the accounting.

Reading the records, withdrawing and reading a form run off the UI thread.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QColor
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.app.browsing.catalogue import Catalogue, StudyRow
from desktop.app.consent.consenting import Patient, Withdrawal, consents_of, find_patient, study_label, withdraw_consent
from desktop.app.library.home import VeilHome
from desktop.app.site.defaults import site_policy
from desktop.core.consent import Basis, ConsentRecord, Purpose, RecordState, state_on
from desktop.ui.common import theme
from desktop.ui.common.background import run_in_background
from desktop.ui.common.errors import message_for, show_error
from desktop.ui.common.tables import cell
from desktop.ui.consent.form_view import (
    FormImageDialog,
    OpenedForm,
    discard,
    open_form,
    open_pdf,
    remove_copy,
    size_text,
)
from desktop.ui.consent.report_dialog import select_row, set_rows, wrapped_table
from desktop.ui.consent.withdraw import WithdrawalDialog, WithdrawDialog

COLUMNS = ("Basis", "Purposes", "Covers", "Valid", "Today", "Limits", "Scanned form")
WEIGHTS = (2.0, 1.9, 2.0, 1.3, 1.6, 1.9, 1.3)
STATE_COLOURS = {RecordState.VALID: theme.OK, RecordState.PENDING: theme.MUTED,
                 RecordState.EXPIRED: "#b59a6e", RecordState.WITHDRAWN: theme.DANGER}


def catalogue_labels(catalogue: Catalogue | None) -> tuple[dict[str, str], dict[str, str]]:
    """(study label by Study Instance UID, series label by Series Instance UID), no identity."""
    if catalogue is None:
        return {}, {}
    studies = {s.study_uid: study_label(s.modalities, s.study_date, s.description) for s in catalogue.studies}
    series = {}
    for rows in catalogue.series_by_study.values():
        for se in rows:
            number = f"#{se.series_number} " if se.series_number is not None else ""
            series[se.series_uid] = f"{number}{se.modality} {se.description}".strip()
    return studies, series


def basis_words(r: ConsentRecord) -> str:
    if r.basis is Basis.CONSENT:
        method = r.method.title if r.method else "consent"
        text = f"Patient's consent\n{method[0].upper() + method[1:]}, obtained by {r.obtained_by}"
        return text + (f"; witness {r.witness}" if r.witness else "")
    if r.basis is Basis.WAIVER:
        return f"Ethics committee waiver\nRef. {r.waiver_reference}" + (f", {r.committee}" if r.committee else "")
    policy = site_policy()  # the site file's own policy: its text too
    if policy is not None and policy.text and policy.name.casefold() == r.policy.strip().casefold():
        return f"Site policy (de-identified only)\n{r.policy}\n{policy.text}"
    return f"Site policy (de-identified only)\n{r.policy}"


def purposes_words(r: ConsentRecord) -> str:
    out = []
    for purpose in Purpose:
        if purpose in r.purposes:
            text = purpose.title[0].upper() + purpose.title[1:]
            if purpose is Purpose.CARE:
                text += f" with {r.colleague}"
            if purpose is Purpose.RESEARCH:
                text += f" (protocol {r.protocol_id})"
            out.append(text)
    return "\n".join(out)


def covers_words(r: ConsentRecord, studies: dict[str, str], series: dict[str, str]) -> str:
    scope = r.scope
    if scope.site_wide:
        return "Every patient (site-wide)"
    if scope.whole_patient:
        return "Every study of the patient"
    names = [studies.get(uid, "a study not in the library") for uid in sorted(scope.study_uids)]
    if scope.series_only:
        parts = [series.get(uid, "a series not in the library") for uid in sorted(scope.series_uids)]
        return f"{len(parts)} series of {', '.join(names)}:\n" + "\n".join(parts)
    return "\n".join(names)


def valid_words(r: ConsentRecord) -> str:
    until = r.valid_until.isoformat() if r.valid_until else "no end date"
    return f"from {r.starts_on.isoformat()}\nuntil {until}"


def state_words(r: ConsentRecord, today: date) -> tuple[RecordState, str]:
    state = state_on(r, today)
    text = {RecordState.VALID: "Valid",
            RecordState.PENDING: f"Starts {r.starts_on.isoformat()}",
            RecordState.EXPIRED: f"Expired {r.valid_until.isoformat() if r.valid_until else ''}",
            RecordState.WITHDRAWN: f"Withdrawn {r.withdrawn_on.isoformat() if r.withdrawn_on else ''}"}[state]
    if r.withdrawn_on is not None and state is not RecordState.WITHDRAWN:
        text += f"\n(withdrawn from {r.withdrawn_on.isoformat()})"
    if r.withdrawn_on is not None:
        text += f"\nReason: {r.withdrawal_reason}"
    return state, text


def record_row(r: ConsentRecord, today: date, studies: dict[str, str], series: dict[str, str]) -> list[str]:
    form = f"{r.form.file_name}\n{size_text(r.form.size)}" if r.form else "—"
    return [basis_words(r), purposes_words(r), covers_words(r, studies, series), valid_words(r),
            state_words(r, today)[1], r.limits or "—", form]


class ConsentRecordsDialog(QDialog):
    """The records of one patient (the selected study's) and the site-wide ones."""

    #: Record… was pressed: open Record Consent for this study's patient (the StudyRow).
    record_requested = Signal(object)
    #: Accounting of Disclosures… was pressed: the patient's key.
    disclosures_requested = Signal(str)
    #: A record was withdrawn: badges must be read again.
    changed = Signal()
    #: The records were (re)loaded and are shown.
    loaded = Signal()

    def __init__(self, home: VeilHome, study: StudyRow, catalogue: Catalogue | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ConsentRecordsDialog")
        self.setWindowTitle("Consent Records")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.home = home
        self.study = study
        self.patient: Patient | None = None
        self.records: list[ConsentRecord] = []
        self.pdf_copies: list[Path] = []
        self.study_labels, self.series_labels = catalogue_labels(catalogue)
        self.withdraw_dialog: WithdrawDialog | None = None

        self.title = QLabel("Reading the consent records…", self)
        self.title.setObjectName("RecordsTitle")
        self.title.setProperty("role", "section")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.hint = QLabel("Records of this patient, and the site-wide waivers and policies that cover every "
                           "patient. A record is never deleted: withdraw it instead.", self)
        self.hint.setProperty("role", "muted")
        self.hint.setWordWrap(True)
        self.table = wrapped_table(COLUMNS, [], self, WEIGHTS)
        self.table.setObjectName("ConsentRecordsTable")
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.status = QLabel(self)
        self.status.setObjectName("RecordsStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.record_button = self._button("Record…", "Record a consent, waiver or site policy for this patient",
                                          lambda: self.record_requested.emit(self.study))
        self.withdraw_button = self._button("Withdraw…", "Withdraw the selected record from a date, with the "
                                            "reason; then see every export that relied on it", self.ask_withdraw)
        self.view_button = self._button("View Form", "Show the scanned form of the selected record (the viewing "
                                        "is audited)", self.view_form)
        self.report_button = self._button("Accounting of Disclosures…", "Every export of this patient's images: "
                                          "when, why, to whom, what, on which consent", self._request_report)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for button in (self.record_button, self.withdraw_button, self.view_button, self.report_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.resize(1320, 560)
        self._update_buttons()
        self.reload()

    def _button(self, text: str, tip: str, slot) -> QPushButton:  # noqa: ANN001
        button = QPushButton(text, self)
        button.setObjectName(text.strip("…").replace(" ", ""))
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    # -- reading -----------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the patient and their records again, in the background."""
        home, uid = self.home, self.study.study_uid

        def op(_p):  # noqa: ANN001, ANN202
            patient = find_patient(home, study_uid=uid)
            return patient, consents_of(home, [patient.key])

        run_in_background(op, self._show, self._on_failed, key=f"records-{id(self)}", context=self)

    def _show(self, result: tuple[Patient, list[ConsentRecord]]) -> None:
        selected = self.selected()
        self.patient, self.records = result
        self.title.setText(f"Consent records of {self.patient.title}")
        today = date.today()
        self.table.setRowCount(0)
        rows = [record_row(r, today, self.study_labels, self.series_labels) for r in self.records]
        set_rows(self.table, rows)
        for n, r in enumerate(self.records):
            state = state_on(r, today)
            item = cell(self.table, n, COLUMNS.index("Today"))
            item.setForeground(QColor(STATE_COLOURS[state]))
            tip = (f"Recorded by {r.recorded_by} on {r.recorded_at.astimezone():%Y-%m-%d %H:%M}"
                   f" · obtained {r.obtained_on.isoformat()} · record {r.id[:8]}")
            for c in range(len(COLUMNS)):
                cell(self.table, n, c).setToolTip(tip)
            if selected is not None and r.id == selected.id:
                select_row(self.table, n)
        self.status.setText("No consent, waiver or site policy is recorded for this patient yet."
                            if not self.records else "")
        self.status.setProperty("role", "muted")
        self.status.style().polish(self.status)
        self._update_buttons()
        self.loaded.emit()

    def _on_failed(self, exc: BaseException) -> None:
        self.title.setText(f"The consent records cannot be read: {message_for(exc)}")
        self.title.setProperty("role", "danger")
        self.title.style().polish(self.title)
        self.loaded.emit()

    def selected(self) -> ConsentRecord | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        return self.records[min(rows)] if rows and min(rows) < len(self.records) else None

    def _update_buttons(self) -> None:
        record = self.selected()
        self.record_button.setEnabled(self.patient is not None)
        self.report_button.setEnabled(self.patient is not None)
        self.withdraw_button.setEnabled(record is not None and record.withdrawn_on is None)
        self.view_button.setEnabled(record is not None and record.form is not None)

    def _request_report(self) -> None:
        if self.patient is not None:
            self.disclosures_requested.emit(self.patient.key)

    # -- withdrawing -------------------------------------------------------------------------
    def ask_withdraw(self) -> WithdrawDialog | None:
        """Ask the date and reason (window-modal); withdraw when confirmed."""
        record = self.selected()
        if record is None or record.withdrawn_on is not None:
            return None
        dialog = WithdrawDialog(record, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.withdraw(record, dialog.day(), dialog.reason_text()))
        self.withdraw_dialog = dialog
        dialog.open()
        return dialog

    def withdraw(self, record: ConsentRecord, on: date, reason: str) -> None:
        home = self.home
        self.withdraw_button.setEnabled(False)
        self.status.setText("Withdrawing…")
        run_in_background(lambda _p: withdraw_consent(home, record.id, on, reason), self._on_withdrawn,
                          lambda exc: show_error(self, exc, "Cannot withdraw"), key=f"withdraw-{id(self)}",
                          context=self)

    def _on_withdrawn(self, withdrawal: Withdrawal) -> None:
        self.status.setText("")
        self.result_dialog = WithdrawalDialog(withdrawal, self.study_labels, self)
        self.result_dialog.show()
        self.changed.emit()
        self.reload()

    # -- the scanned form --------------------------------------------------------------------
    def view_form(self) -> None:
        """Read the selected record's form in the background and show it."""
        record = self.selected()
        if record is None or record.form is None:
            return
        home = self.home
        self.status.setText("Opening the scanned form…")
        run_in_background(lambda _p: open_form(home, record), self._on_form, self._on_form_failed,
                          key=f"form-{id(self)}", context=self, on_dropped=discard)

    def _on_form(self, opened: OpenedForm) -> None:
        self.status.setText("")
        form = opened.record.form
        assert form is not None
        if opened.image is not None:
            self.form_dialog = FormImageDialog(opened.image, f"Scanned form: {form.file_name}", self)
            self.form_dialog.show()
            return
        assert opened.pdf is not None
        self.pdf_copies.append(opened.pdf)
        if not open_pdf(opened.pdf):
            self.status.setText("No PDF viewer could open the form.")
        else:
            self.status.setText(f"{form.file_name} is open in the PDF viewer; its temporary copy is deleted "
                                "when this window closes.")
        self.status.setProperty("role", "muted")
        self.status.style().polish(self.status)

    def _on_form_failed(self, exc: BaseException) -> None:
        self.status.setText("")
        show_error(self, exc, "Cannot show the scanned form")

    # -- window ------------------------------------------------------------------------------
    def remove_copies(self) -> None:
        """Delete the temporary copies of the PDF forms shown from this window."""
        for path in self.pdf_copies:
            remove_copy(path)
        self.pdf_copies.clear()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.remove_copies()
        super().closeEvent(event)

    def done(self, result: int) -> None:  # Esc closes without a close event
        self.remove_copies()
        super().done(result)
