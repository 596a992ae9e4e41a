"""The parts of the Record Consent form: the basis and its details, whose images, the
purposes, validity and limits (the scanned form is in :mod:`desktop.ui.consent.form_view`).
Each part says when it changed; the dialog builds the record from them
(:mod:`desktop.ui.consent.dialog`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QRadioButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.app.browsing.catalogue import SeriesRow
from desktop.app.common.formatting import plural
from desktop.core.consent import EVERY_PATIENT, Basis, ConsentError, Method, Purpose, Scope

DATE_FORMAT = "yyyy-MM-dd"
LIMITS_HINT = "e.g. no facial images; not for public release; cultural or religious wishes"
BASIS_TEXT = {
    Basis.CONSENT: ("Patient's consent", "The patient agreed: on a signed form, electronically, or aloud "
                    "before a witness"),
    Basis.WAIVER: ("Ethics committee waiver", "An ethics committee (IRB) waived consent, e.g. for a research "
                   "protocol; it may cover every patient"),
    Basis.NOT_REQUIRED: ("Not required: site policy", "The site's written policy allows this without consent, "
                         "for de-identified exports only"),
}
DATE_LABEL = {Basis.CONSENT: "Obtained on", Basis.WAIVER: "Granted on", Basis.NOT_REQUIRED: "In force since"}


def to_date(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


def date_edit(parent: QWidget, tip: str) -> QDateEdit:
    edit = QDateEdit(QDate.currentDate(), parent)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat(DATE_FORMAT)
    edit.setToolTip(tip)
    edit.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance("2026-12-31") + 48)
    return edit


def _line(parent: QWidget, name: str, hint: str) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setObjectName(name)
    edit.setPlaceholderText(hint)
    return edit


def _form(*rows: tuple[str | QLabel, QWidget]) -> QWidget:
    page, form = QWidget(), QFormLayout()
    form.setContentsMargins(0, 0, 0, 0)
    for label, field in rows:
        form.addRow(label, field)
    page.setLayout(form)
    return page


class BasisBox(QGroupBox):
    """Patient's consent (how, witness, by whom), waiver (reference, committee) or site policy."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Basis", parent)
        self.buttons = QButtonGroup(self)
        self.radios: dict[Basis, QRadioButton] = {}
        radios = QHBoxLayout()
        for n, basis in enumerate(Basis):
            radio = QRadioButton(BASIS_TEXT[basis][0], self)
            radio.setObjectName(f"Basis-{basis.value}")
            radio.setToolTip(BASIS_TEXT[basis][1])
            self.buttons.addButton(radio, n)
            self.radios[basis] = radio
            radios.addWidget(radio)
        radios.addStretch(1)
        self.radios[Basis.CONSENT].setChecked(True)
        self.method = QComboBox(self)
        self.method.setObjectName("ConsentMethod")
        self.method.setToolTip("How the patient gave consent")
        for method in Method:
            self.method.addItem(method.title[0].upper() + method.title[1:], method)
        self.witness = _line(self, "Witness", "Who heard the patient agree, e.g. Nurse Li Wei")
        self.witness_label = QLabel("Witness", self)
        self.obtained_by = _line(self, "ObtainedBy", "Who asked the patient, e.g. Dr Ana Silva")
        self.waiver_reference = _line(self, "WaiverReference", "The committee's reference, e.g. IRB-2025-0142")
        self.committee = _line(self, "Committee", "e.g. University Hospital Research Ethics Committee")
        self.policy = _line(self, "Policy", "The site policy's name, e.g. Teaching file policy v3")
        note = QLabel("Allows de-identified exports only, never care consultation.", self)
        note.setProperty("role", "muted")
        note.setWordWrap(True)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(_form(("How given", self.method), (self.witness_label, self.witness),
                                   ("Obtained by", self.obtained_by)))
        self.pages.addWidget(_form(("Reference", self.waiver_reference), ("Committee", self.committee)))
        self.pages.addWidget(_form(("Policy", self.policy), ("", note)))
        self.obtained_on = date_edit(self, "The day the consent was given, the waiver granted or the policy adopted")
        self.obtained_on.setObjectName("ObtainedOn")
        self.date_label = QLabel(DATE_LABEL[Basis.CONSENT], self)
        dates = QFormLayout()
        dates.setContentsMargins(0, 0, 0, 0)
        dates.addRow(self.date_label, self.obtained_on)
        layout = QVBoxLayout(self)
        layout.addLayout(radios)
        layout.addWidget(self.pages)
        layout.addLayout(dates)
        layout.addStretch(1)
        self.buttons.idToggled.connect(lambda _id, on: self._show() if on else None)
        self.method.currentIndexChanged.connect(lambda _i: self._show())
        for edit in (self.witness, self.obtained_by, self.waiver_reference, self.committee, self.policy):
            edit.textChanged.connect(self.changed)
        self.obtained_on.dateChanged.connect(self.changed)
        self._show()

    def basis(self) -> Basis:
        return next(b for b, radio in self.radios.items() if radio.isChecked())

    def _show(self) -> None:
        basis = self.basis()
        self.pages.setCurrentIndex(list(Basis).index(basis))
        self.date_label.setText(DATE_LABEL[basis])
        verbal = self.method.currentData() == Method.VERBAL
        self.witness.setVisible(verbal)
        self.witness_label.setVisible(verbal)
        self.changed.emit()

    def fields(self) -> dict:
        """The record's fields of the chosen basis (those of the others are left out)."""
        basis = self.basis()
        if basis is Basis.CONSENT:
            method = Method(self.method.currentData())
            return dict(method=method, obtained_by=self.obtained_by.text(),
                        witness=self.witness.text() if method is Method.VERBAL else "")
        if basis is Basis.WAIVER:
            return dict(waiver_reference=self.waiver_reference.text(), committee=self.committee.text())
        return dict(policy=self.policy.text())


class ScopeBox(QGroupBox):
    """The whole patient, the selected studies, some series of the study, or every patient."""

    changed = Signal()

    def __init__(self, series: Sequence[SeriesRow], parent: QWidget | None = None) -> None:
        super().__init__("Whose images", parent)
        self.buttons = QButtonGroup(self)
        self.patient = QRadioButton("Every study of this patient, now and in future", self)
        self.patient.setToolTip("The consent covers the patient's images, including studies imported later")
        self.studies = QRadioButton("Only the selected study", self)
        self.studies.setToolTip("The consent covers these studies only (the least data necessary)")
        self.series = QRadioButton("Only these series of the selected study:", self)
        self.series.setToolTip("Tick the series the consent covers; the others of the study stay without it")
        self.everyone = QRadioButton("Every patient (site-wide)", self)
        self.everyone.setToolTip("A waiver or a site policy may cover every patient, present and future; "
                                 "a patient's consent never does")
        for n, radio in enumerate((self.patient, self.studies, self.series, self.everyone)):
            self.buttons.addButton(radio, n)
            radio.setObjectName(f"Scope{n}")
        self.studies.setChecked(True)
        self.series_list = QListWidget(self)
        self.series_list.setObjectName("SeriesChoice")
        self.series_list.setToolTip("The series of the selected study: tick those the consent covers")
        for row in series:
            words = [f"#{row.series_number}" if row.series_number is not None else "", row.modality,
                     row.description or "(no description)", plural(row.image_count, "image")]
            item = QListWidgetItem(" · ".join(w for w in words if w), self.series_list)
            item.setData(Qt.ItemDataRole.UserRole, row.series_uid)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
        rows = max(2, min(5, len(series)))
        self.series_list.setFixedHeight(rows * (self.series_list.fontMetrics().height() + 8) + 6)
        self.note = QLabel(self)
        self.note.setObjectName("OtherPatientsNote")
        self.note.setProperty("role", "muted")
        self.note.setWordWrap(True)
        self.note.hide()
        indented = QHBoxLayout()
        indented.setContentsMargins(24, 0, 0, 0)
        indented.addWidget(self.series_list)
        layout = QVBoxLayout(self)
        for radio in (self.patient, self.studies, self.series):
            layout.addWidget(radio)
        layout.addLayout(indented)
        layout.addWidget(self.everyone)
        layout.addWidget(self.note)
        layout.addStretch(1)
        self.buttons.idToggled.connect(lambda _id, on: self._on_choice() if on else None)
        self.series_list.itemChanged.connect(self._on_ticked)

    def set_studies(self, count: int, others: int) -> None:
        """``count`` selected studies are the patient's; ``others`` of other patients are left out."""
        self.studies.setText("Only the selected study" if count == 1 else f"Only the {count} selected studies")
        if others:
            self.note.setText(f"{others} selected {'study is' if others == 1 else 'studies are'} of other "
                              "patients and left out: a consent is given by one patient.")
        self.note.setVisible(bool(others))

    def allow_everyone(self, allowed: bool) -> None:
        self.everyone.setEnabled(allowed)
        if not allowed and self.everyone.isChecked():
            self.patient.setChecked(True)

    def _on_choice(self) -> None:
        self.changed.emit()

    def _on_ticked(self, _item: QListWidgetItem) -> None:
        if not self.series.isChecked() and self.ticked():
            self.series.setChecked(True)  # ticking a series chooses "these series"
        self.changed.emit()

    def ticked(self) -> list[str]:
        items = [self.series_list.item(i) for i in range(self.series_list.count())]
        return [i.data(Qt.ItemDataRole.UserRole) for i in items if i.checkState() == Qt.CheckState.Checked]

    def scope(self, patient_key: str, study_uids: Sequence[str], current_uid: str) -> Scope:
        if self.everyone.isChecked():
            return Scope(EVERY_PATIENT)
        if self.patient.isChecked():
            return Scope(patient_key)
        if self.studies.isChecked():
            return Scope(patient_key, frozenset(study_uids))
        if not self.ticked():
            raise ConsentError("Tick the series the consent covers, or choose the whole study.")
        return Scope(patient_key, frozenset({current_uid}), frozenset(self.ticked()))


class PurposeBox(QGroupBox):
    """A check box per purpose, with the colleague (care) and the protocol (research) when ticked."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Purposes it allows", parent)
        self.boxes: dict[Purpose, QCheckBox] = {}
        self.colleague = _line(self, "Colleague", "The colleague named, e.g. Dr Anna Jones")
        self.protocol = _line(self, "ProtocolId", "The research protocol's ID, e.g. NEURO-2025-07")
        layout = QVBoxLayout(self)
        for purpose in Purpose:
            box = QCheckBox(purpose.description, self)
            box.setObjectName(f"Purpose-{purpose.value}")
            box.setToolTip(f"Allows exports for {purpose.title}; no purpose implies another")
            box.toggled.connect(self._on_ticked)
            self.boxes[purpose] = box
            layout.addWidget(box)
            detail = {Purpose.CARE: self.colleague, Purpose.RESEARCH: self.protocol}.get(purpose)
            if detail is not None:
                row = QHBoxLayout()
                row.setContentsMargins(26, 0, 0, 4)
                row.addWidget(detail)
                layout.addLayout(row)
                detail.hide()
                detail.textChanged.connect(self.changed)
        layout.addStretch(1)

    def allow_care(self, allowed: bool) -> None:
        care = self.boxes[Purpose.CARE]
        if not allowed:
            care.setChecked(False)
        care.setEnabled(allowed)
        care.setToolTip(f"Allows exports for {Purpose.CARE.title}" if allowed else
                        "A site policy cannot allow care consultation: it needs the patient's consent")

    def _on_ticked(self) -> None:
        self.colleague.setVisible(self.boxes[Purpose.CARE].isChecked())
        self.protocol.setVisible(self.boxes[Purpose.RESEARCH].isChecked())
        self.changed.emit()

    def purposes(self) -> frozenset[Purpose]:
        return frozenset(p for p, box in self.boxes.items() if box.isChecked() and box.isEnabled())

    def fields(self) -> dict:
        chosen = self.purposes()
        return dict(purposes=chosen, colleague=self.colleague.text() if Purpose.CARE in chosen else "",
                    protocol_id=self.protocol.text() if Purpose.RESEARCH in chosen else "")


class ValidityBox(QGroupBox):
    """Valid from (follows the date obtained until changed), valid until or no end, limits."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Validity and limits", parent)
        self._follows = True
        self._obtained = QDate.currentDate()
        self.valid_from = date_edit(self, "The first day exports may rely on it (usually the day it was obtained)")
        self.valid_from.setObjectName("ValidFrom")
        self.valid_until = date_edit(self, "The last day exports may rely on it (that day included)")
        self.valid_until.setObjectName("ValidUntil")
        self.valid_until.setDate(QDate.currentDate().addYears(5))
        self.valid_until.setEnabled(False)
        self.no_end = QCheckBox("No end date", self)
        self.no_end.setObjectName("NoEndDate")
        self.no_end.setToolTip("Valid until withdrawn")
        self.no_end.setChecked(True)
        self.limits = QPlainTextEdit(self)
        self.limits.setObjectName("Limits")
        self.limits.setPlaceholderText(LIMITS_HINT)
        self.limits.setToolTip("Shown before every export that relies on this record")
        self.limits.setFixedHeight(self.limits.fontMetrics().lineSpacing() * 3 + 14)
        until = QHBoxLayout()
        until.addWidget(self.valid_until)
        until.addWidget(self.no_end)
        until.addStretch(1)
        form = QFormLayout()
        form.addRow("Valid from", self.valid_from)
        form.addRow("Valid until", until)
        form.addRow("Limits", self.limits)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)
        self.valid_from.dateChanged.connect(self._on_from)
        self.valid_until.dateChanged.connect(self.changed)
        self.no_end.toggled.connect(self._on_no_end)
        self.limits.textChanged.connect(self.changed)

    def follow(self, obtained: QDate) -> None:
        """The date obtained changed: valid from follows it, unless the person set it."""
        if self._follows:
            self.valid_from.blockSignals(True)
            self.valid_from.setDate(obtained)
            self.valid_from.blockSignals(False)
        self._obtained = obtained
        self.changed.emit()

    def _on_from(self, value: QDate) -> None:
        self._follows = value == self._obtained
        self.changed.emit()

    def _on_no_end(self, on: bool) -> None:
        self.valid_until.setEnabled(not on)
        self.changed.emit()

    def fields(self, obtained: date) -> dict:
        start = to_date(self.valid_from.date())
        return dict(valid_from=None if start == obtained else start,
                    valid_until=None if self.no_end.isChecked() else to_date(self.valid_until.date()),
                    limits=self.limits.toPlainText())
