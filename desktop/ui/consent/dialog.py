"""Record Consent: a patient's consent, an ethics committee waiver or a site policy.

The dialog builds a :class:`ConsentRecord` from the form on every change; the record validates
itself, and its message (written for a person) shows under the form while Save stays disabled.
Finding the patient and saving (with the scanned form, which may be large) run off the UI thread.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.app.browsing.catalogue import SeriesRow, StudyRow
from desktop.app.consent.consenting import Patient, add_consent, find_patient
from desktop.app.library.home import VeilHome
from desktop.core.audit.log import os_user
from desktop.core.common.errors import VeilError
from desktop.core.consent import Basis, ConsentRecord
from desktop.ui.common.background import run_in_background
from desktop.ui.common.errors import message_for, show_error
from desktop.ui.consent.fields import BasisBox, PurposeBox, ScopeBox, ValidityBox, to_date
from desktop.ui.consent.form_view import FormBox

SAVE_TIP = "Record it in the library (the change goes into the audit log)"


class ConsentDialog(QDialog):
    """Whose images, the basis and its details, purposes, validity, limits, the scanned form."""

    #: The record was saved (ConsentRecord, with its form reference).
    recorded = Signal(object)
    #: The patient was found (or could not be): the form can be used.
    patient_loaded = Signal()

    def __init__(self, home: VeilHome, studies: Sequence[StudyRow], current: StudyRow,
                 series: Sequence[SeriesRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ConsentDialog")
        self.setWindowTitle("Record Consent")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.home = home
        self.current = current
        self.studies = [current] + [s for s in studies if s.study_uid != current.study_uid]
        self.patient: Patient | None = None
        self.patient_studies: list[StudyRow] = [current]
        self.recorded_by = os_user()
        self.saving = False

        self.title = QLabel("Finding the patient…", self)
        self.title.setObjectName("ConsentTitle")
        self.title.setProperty("role", "section")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.basis = BasisBox(self)
        self.scope = ScopeBox(series, self)
        self.purposes = PurposeBox(self)
        self.validity = ValidityBox(self)
        self.form = FormBox(self)
        self.problem_label = QLabel(self)
        self.problem_label.setObjectName("ConsentProblem")
        self.problem_label.setProperty("role", "warning")
        self.problem_label.setWordWrap(True)
        self.problem_label.setTextFormat(Qt.TextFormat.PlainText)
        recorder = QLabel(f"Recorded by {self.recorded_by}, now", self)
        recorder.setProperty("role", "muted")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Close without recording anything")
        self.save_button = QPushButton("Save", self)
        self.save_button.setObjectName("SaveConsent")
        self.save_button.setProperty("primary", True)
        self.save_button.setDefault(True)
        self.save_button.setEnabled(False)

        grid = QGridLayout()
        grid.addWidget(self.basis, 0, 0)
        grid.addWidget(self.scope, 1, 0, 2, 1)
        grid.addWidget(self.purposes, 0, 1)
        grid.addWidget(self.validity, 1, 1)
        grid.addWidget(self.form, 2, 1)
        grid.setRowStretch(3, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        footer = QHBoxLayout()
        footer.addWidget(recorder)
        footer.addStretch(1)
        footer.addWidget(self.cancel_button)
        footer.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(grid, 1)
        layout.addWidget(self.problem_label)
        layout.addLayout(footer)

        self.basis.changed.connect(self._on_basis_changed)
        self.basis.obtained_on.dateChanged.connect(self.validity.follow)
        for part in (self.scope, self.purposes, self.validity, self.form):
            part.changed.connect(self.validate)
        self.cancel_button.clicked.connect(self.reject)
        self.save_button.clicked.connect(self.save)
        self._on_basis_changed()
        self.resize(1080, self.sizeHint().height() + 20)
        self._find_patient()

    # -- the patient -----------------------------------------------------------------------
    def _find_patient(self) -> None:
        home, uids = self.home, [s.study_uid for s in self.studies]
        run_in_background(lambda _p: {uid: find_patient(home, study_uid=uid) for uid in uids},
                          self._on_patients, self._on_patient_failed, key=f"consent-patient-{id(self)}",
                          context=self)

    def _on_patients(self, patients: dict[str, Patient]) -> None:
        self.patient = patients[self.current.study_uid]
        self.patient_studies = [s for s in self.studies if patients[s.study_uid].key == self.patient.key]
        self.scope.set_studies(len(self.patient_studies), len(self.studies) - len(self.patient_studies))
        self.validate()
        self.patient_loaded.emit()

    def _on_patient_failed(self, exc: BaseException) -> None:
        self.title.setText(f"The patient cannot be found: {message_for(exc)}")
        self.title.setProperty("role", "danger")
        self.title.style().polish(self.title)
        self.validate()
        self.patient_loaded.emit()

    # -- the record --------------------------------------------------------------------------
    def _on_basis_changed(self) -> None:
        basis = self.basis.basis()
        self.scope.allow_everyone(basis is not Basis.CONSENT)
        self.purposes.allow_care(basis is not Basis.NOT_REQUIRED)
        self.validate()

    def record(self) -> ConsentRecord:
        """The record as filled in; a VeilError (ConsentError) says what is missing."""
        if self.patient is None:
            raise VeilError("Finding the patient…")
        obtained = to_date(self.basis.obtained_on.date())
        scope = self.scope.scope(self.patient.key, [s.study_uid for s in self.patient_studies],
                                 self.current.study_uid)
        return ConsentRecord(basis=self.basis.basis(), scope=scope, obtained_on=obtained,
                             recorded_by=self.recorded_by, **self.basis.fields(), **self.purposes.fields(),
                             **self.validity.fields(obtained))

    def problem(self) -> str | None:
        """Why the record cannot be saved yet, for a person; None when it can."""
        try:
            self.record()
        except VeilError as exc:
            return self.form.problem() or str(exc)
        return self.form.problem()

    def _show_title(self) -> None:
        if self.patient is None:
            return
        what = {Basis.CONSENT: "consent", Basis.WAIVER: "a waiver", Basis.NOT_REQUIRED: "a site policy"}
        whom = "every patient (site-wide)" if self.scope.everyone.isChecked() else self.patient.title
        self.title.setText(f"Record {what[self.basis.basis()]} for {whom}")

    def validate(self) -> None:
        if not hasattr(self, "save_button"):
            return  # still being built
        self._show_title()
        problem = None if self.saving else self.problem()
        self.problem_label.setText(problem or "")
        self.problem_label.setVisible(problem is not None)
        self.save_button.setEnabled(problem is None and not self.saving)
        self.save_button.setToolTip(SAVE_TIP if problem is None else problem)

    # -- saving ------------------------------------------------------------------------------
    def save(self) -> None:
        """Store the record (and the scanned form, encrypted) in the background, then close."""
        if self.saving or self.problem() is not None:
            return
        record, home, form = self.record(), self.home, self.form.path
        self._set_saving(True)
        run_in_background(lambda _p: add_consent(home, record, form=form), self._on_saved, self._on_save_failed,
                          key=f"consent-save-{id(self)}", context=self)

    def _set_saving(self, saving: bool) -> None:
        self.saving = saving
        for part in (self.basis, self.scope, self.purposes, self.validity, self.form, self.cancel_button):
            part.setEnabled(not saving)
        self.save_button.setText("Saving…" if saving else "Save")
        self.validate()

    def _on_saved(self, record: ConsentRecord) -> None:
        self._set_saving(False)
        self.recorded.emit(record)
        self.accept()

    def _on_save_failed(self, exc: BaseException) -> None:
        self._set_saving(False)
        show_error(self, exc, "Cannot record the consent")

    # -- closing -----------------------------------------------------------------------------
    def reject(self) -> None:
        if not self.saving:  # the save must land (and be reported) before the dialog goes
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.saving:
            event.ignore()
            return
        super().closeEvent(event)
