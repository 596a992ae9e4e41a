"""The study browser's patient level and its modality and date filters (Horos' and Weasis'
patient, modality and date pickers): :class:`PatientList` on the left, :class:`FilterBar`
beside the filter box. Both say what they keep as a
:class:`desktop.app.browsing.filters.StudyCriteria` part; the browser combines them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import QComboBox, QDateEdit, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QWidget

from desktop.app.browsing.filters import DateRange, PatientKey, modalities, patients
from desktop.app.common.formatting import dicom_date, person_name, plural
from desktop.core.library.index import StudyRow

ALL_PATIENTS = "All patients"
ALL_MODALITIES = "All modalities"


class PatientList(QListWidget):
    """"All patients", then each patient (name, ID, birth date, how many studies)."""

    #: The chosen patient changed (None: all).
    patient_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PatientList")
        self.setToolTip("Choose a patient to see only their studies")
        self.setMinimumWidth(150)
        self.setAlternatingRowColors(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setUniformItemSizes(True)
        self.setStyleSheet("QListWidget#PatientList::item { padding: 3px 4px; }")
        self._keys: list[PatientKey | None] = []
        self.currentRowChanged.connect(self._on_row)

    def set_studies(self, studies: Sequence[StudyRow]) -> None:
        """List the patients of ``studies``, keeping the chosen one while it is still there."""
        chosen = self.patient()
        rows = patients(studies)
        self.blockSignals(True)
        self.clear()
        self._keys = [None] + [p.key for p in rows]
        QListWidgetItem(f"{ALL_PATIENTS}\n{plural(len(rows), 'patient', 'patients')} · "
                        f"{plural(len(studies), 'study', 'studies')}", self)
        for p in rows:
            name = person_name(p.name) or "(no name)"
            details = " · ".join(x for x in (p.patient_id, dicom_date(p.birth_date)) if x)
            studies_text = plural(p.study_count, "study", "studies")
            item = QListWidgetItem(f"{name}\n{details + ' · ' if details else ''}{studies_text}", self)
            item.setToolTip(f"{name}: {studies_text}")
        row = self._keys.index(chosen) if chosen in self._keys else 0
        self.setCurrentRow(row)
        self.blockSignals(False)
        if chosen is not None and row == 0:
            self.patient_changed.emit(None)  # their studies left the library

    def patient(self) -> PatientKey | None:
        row = self.currentRow()
        return self._keys[row] if 0 <= row < len(self._keys) else None

    def choose(self, key: PatientKey | None) -> None:
        self.setCurrentRow(self._keys.index(key) if key in self._keys else 0)

    def _on_row(self, _row: int) -> None:
        self.patient_changed.emit(self.patient())


class FilterBar(QWidget):
    """A modality and a date range (presets, or between two days)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None, today: date | None = None) -> None:
        super().__init__(parent)
        self._today = today
        self.modality_combo = QComboBox(self)
        self.modality_combo.setObjectName("ModalityFilter")
        self.modality_combo.setToolTip("Show only the studies with this modality")
        self.modality_combo.addItem(ALL_MODALITIES, "")
        self.date_combo = QComboBox(self)
        self.date_combo.setObjectName("DateFilter")
        self.date_combo.setToolTip("Show only the studies acquired in this period (by Study Date)")
        for choice in DateRange:
            self.date_combo.addItem(choice.value, choice)
        self.from_edit, self.to_edit = QDateEdit(self), QDateEdit(self)
        for edit, name in ((self.from_edit, "DateFrom"), (self.to_edit, "DateTo")):
            edit.setObjectName(name)
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setDate(QDate.currentDate())
            edit.dateChanged.connect(lambda _d: self.changed.emit())
            edit.hide()
        self.and_label = QLabel("and", self)
        self.and_label.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.modality_combo, self.date_combo, self.from_edit, self.and_label, self.to_edit):
            layout.addWidget(widget)
        self.modality_combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.date_combo.currentIndexChanged.connect(self._on_date_choice)

    def set_studies(self, studies: Sequence[StudyRow]) -> None:
        """Offer the modalities of ``studies``, keeping the chosen one."""
        chosen = self.modality()
        found = modalities(studies)
        if chosen and chosen not in found:
            found = sorted([*found, chosen])  # kept while chosen: the person sees why nothing shows
        if [self.modality_combo.itemData(i) for i in range(1, self.modality_combo.count())] == found:
            return
        self.modality_combo.blockSignals(True)
        self.modality_combo.clear()
        self.modality_combo.addItem(ALL_MODALITIES, "")
        for modality in found:
            self.modality_combo.addItem(modality, modality)
        self.modality_combo.setCurrentIndex(max(0, self.modality_combo.findData(chosen)))
        self.modality_combo.blockSignals(False)

    def modality(self) -> str:
        return str(self.modality_combo.currentData() or "")

    def day_bounds(self) -> tuple[date | None, date | None]:
        choice = self.date_range()
        if choice is DateRange.BETWEEN:
            first: date = self.from_edit.date().toPython()  # type: ignore[assignment]
            last: date = self.to_edit.date().toPython()  # type: ignore[assignment]
            return (first, last) if first <= last else (last, first)
        return choice.bounds(self._today or date.today())

    def date_range(self) -> DateRange:
        return DateRange(self.date_combo.currentData())  # Qt hands an enum member back as its str

    def _on_date_choice(self, _index: int) -> None:
        between = self.date_range() is DateRange.BETWEEN
        for widget in (self.from_edit, self.and_label, self.to_edit):
            widget.setVisible(between)
        self.changed.emit()
