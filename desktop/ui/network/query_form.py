"""The search fields of the Query/Retrieve panel, as Horos' and Weasis' query windows have them:
patient name and ID, accession number (or a list of them, pasted or read from a file: one query
each), a study date range with quick choices, modality and description. What they ask becomes
one :class:`StudyQuery` per accession number (or one).

A name is matched from its start and a description anywhere in it (``*`` added, PS3.4
C.2.2.2.4) unless the user wrote a wildcard; IDs and accession numbers are matched exactly.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

from desktop.app.network.nodes import MAX_ACCESSIONS, read_accessions
from desktop.core.common.errors import VeilError
from desktop.core.network.query import StudyQuery

#: The study date's quick choices: (label, days back from today; None: any date, -1: typed).
DATE_CHOICES: tuple[tuple[str, int | None], ...] = (
    ("Any date", None), ("Today", 0), ("Last 7 days", 6), ("Last 30 days", 29), ("Between…", -1))
MODALITIES = ("", "CT", "MR", "US", "CR", "DX", "MG", "PT", "NM", "XA", "RF", "OT", "SC")
MAX_FILE_BYTES = 1_000_000


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _day(edit: QDateEdit) -> date:
    shown = edit.date()
    return date(shown.year(), shown.month(), shown.day())


def _wild(text: str, leading: bool) -> str:
    """``text`` matched from its start (or anywhere, ``leading``) unless it has a wildcard."""
    text = text.strip()
    if not text or "*" in text or "?" in text:
        return text
    return f"{'*' if leading else ''}{text}*"


def _unique(numbers: list[str]) -> list[str]:
    """Each accession number once, in the order given."""
    return list(dict.fromkeys(numbers))


def _name(text: str) -> str:
    """A name as people type it ("Smith, John") in DICOM's form (``Smith^John``), from its start."""
    parts = [part.strip() for part in text.replace("^", ",").split(",")]
    return _wild("^".join(part for part in parts if part), leading=False)


class QueryForm(QWidget):
    """The search fields (see the module); ``submitted`` when Return is pressed in one."""

    submitted = Signal()
    #: Something the user did could not be done (a file unreadable): the words to show.
    problem = Signal(str)

    def __init__(self, parent: QWidget | None = None, today: date | None = None) -> None:
        super().__init__(parent)
        self.today = today or date.today()
        self.name_edit, self.id_edit = QLineEdit(self), QLineEdit(self)
        self.name_edit.setObjectName("QueryPatientName")
        self.name_edit.setPlaceholderText("e.g. Smith, John (from its start; * anywhere)")
        self.id_edit.setObjectName("QueryPatientId")
        self.id_edit.setPlaceholderText("exact, e.g. 4471902")
        self.accession_edit = QLineEdit(self)
        self.accession_edit.setObjectName("QueryAccession")
        self.accession_edit.setPlaceholderText("exact; several: List…")
        self.list_button = QPushButton("List…", self)
        self.list_button.setCheckable(True)
        self.list_button.setToolTip("Search for several accession numbers, one a line (pasted): one query each")
        self.file_button = QPushButton("From file…", self)
        self.file_button.setToolTip("Read the accession numbers from a text file, one a line")
        self.accession_list = QPlainTextEdit(self)
        self.accession_list.setObjectName("QueryAccessionList")
        self.accession_list.setPlaceholderText("One accession number a line (paste a column from a worklist)")
        self.accession_list.setFixedHeight(self.fontMetrics().lineSpacing() * 5 + 12)
        self.list_label = QLabel("Accession numbers", self)
        self.modality_combo = QComboBox(self)
        self.modality_combo.setObjectName("QueryModality")
        self.modality_combo.setEditable(True)
        self.modality_combo.addItems(list(MODALITIES))
        self.modality_edit = self.modality_combo.lineEdit() or QLineEdit(self)
        self.modality_edit.setPlaceholderText("any")
        self.description_edit = QLineEdit(self)
        self.description_edit.setObjectName("QueryDescription")
        self.description_edit.setPlaceholderText("words of the study description")
        self.date_combo = QComboBox(self)
        self.date_combo.setObjectName("QueryDates")
        self.date_combo.addItems([text for text, _days in DATE_CHOICES])
        self.from_edit, self.to_edit = QDateEdit(self), QDateEdit(self)
        for day_edit in (self.from_edit, self.to_edit):
            day_edit.setCalendarPopup(True)
            day_edit.setDisplayFormat("yyyy-MM-dd")
            day_edit.setDate(_qdate(self.today))
        self._build_layout()
        self.list_button.toggled.connect(self._show_list)
        self.file_button.clicked.connect(self.choose_file)
        self.accession_list.textChanged.connect(self._list_changed)
        self.date_combo.currentIndexChanged.connect(self._date_choice)
        for edit in (self.name_edit, self.id_edit, self.accession_edit, self.description_edit, self.modality_edit):
            edit.returnPressed.connect(self.submitted)
        self._show_list(False)
        self._date_choice(0)

    def _build_layout(self) -> None:
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        accession = QHBoxLayout()
        accession.addWidget(self.accession_edit, 1)
        accession.addWidget(self.list_button)
        accession.addWidget(self.file_button)
        dates = QHBoxLayout()
        dates.addWidget(self.date_combo)
        dates.addWidget(QLabel("from", self))
        dates.addWidget(self.from_edit)
        dates.addWidget(QLabel("to", self))
        dates.addWidget(self.to_edit)
        dates.addStretch(1)
        rows: tuple[tuple[str, QWidget | QHBoxLayout, str, QWidget], ...] = (
            ("Patient name", self.name_edit, "Patient ID", self.id_edit),
            ("Accession", accession, "Modality", self.modality_combo),
            ("Study date", dates, "Description", self.description_edit))
        for row, (left, left_field, right, right_field) in enumerate(rows):
            grid.addWidget(QLabel(left, self), row, 0)
            if isinstance(left_field, QHBoxLayout):
                grid.addLayout(left_field, row, 1)
            else:
                grid.addWidget(left_field, row, 1)
            grid.addWidget(QLabel(right, self), row, 2)
            grid.addWidget(right_field, row, 3)
        grid.addWidget(self.list_label, 3, 0)
        grid.addWidget(self.accession_list, 3, 1, 1, 3)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(3, 2)

    # -- accession numbers ---------------------------------------------------------------------
    def _show_list(self, shown: bool) -> None:
        self.accession_list.setVisible(shown)
        self.list_label.setVisible(shown)
        if shown and not self.accession_list.toPlainText() and self.accession_edit.text().strip():
            self.accession_list.setPlainText(self.accession_edit.text().strip() + "\n")
        self._list_changed()

    def _list_changed(self) -> None:
        listing = self.listing()
        self.accession_edit.setEnabled(not listing)
        count = len(self.accession_list.toPlainText().split())
        self.accession_edit.setPlaceholderText(f"{count} in the list below" if listing else "exact; several: List…")

    def listing(self) -> bool:
        """The accession numbers come from the list (shown, and not empty)."""
        return self.list_button.isChecked() and bool(self.accession_list.toPlainText().strip())

    def set_accession_list(self, numbers: list[str]) -> None:
        """Show the list holding ``numbers`` (as pasted)."""
        self.accession_list.setPlainText("\n".join(numbers))
        self.list_button.setChecked(True)
        self._show_list(True)

    def choose_file(self) -> None:
        """From file…: read a text file of accession numbers into the list."""
        chosen, _ = QFileDialog.getOpenFileName(self, "Accession numbers, one a line", "",
                                                "Text (*.txt *.csv);;All files (*)")
        if chosen:
            try:
                self.read_file(Path(chosen))
            except VeilError as exc:
                self.problem.emit(str(exc))

    def read_file(self, path: Path) -> list[str]:
        """Put the accession numbers of ``path`` (one a line) in the list; a VeilError if it cannot be read."""
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise VeilError(f"{path.name} is larger than a list of accession numbers ({MAX_FILE_BYTES:,} bytes).")
            numbers = _unique(read_accessions(path.read_text(encoding="utf-8-sig", errors="replace")))
        except OSError as exc:
            raise VeilError(f"{path.name} cannot be read ({exc.strerror or type(exc).__name__}).") from None
        self.set_accession_list(numbers)
        return numbers

    # -- dates -----------------------------------------------------------------------------------
    def _date_choice(self, index: int) -> None:
        days = DATE_CHOICES[index][1]
        typed = days == -1
        for edit in (self.from_edit, self.to_edit):
            edit.setEnabled(typed)
        if days is not None and days >= 0:
            self.from_edit.setDate(_qdate(self.today - timedelta(days=days)))
            self.to_edit.setDate(_qdate(self.today))

    def choose_dates(self, choice: str) -> None:
        """Choose a quick date choice by its label (Any date, Today, Last 7 days…)."""
        self.date_combo.setCurrentIndex([text for text, _days in DATE_CHOICES].index(choice))

    def date_range(self) -> tuple[date | None, date | None]:
        if DATE_CHOICES[self.date_combo.currentIndex()][1] is None:
            return None, None
        first, last = _day(self.from_edit), _day(self.to_edit)
        if first > last:
            raise VeilError("The study date range ends before it starts: choose a 'from' date before the 'to' date.")
        return first, last

    # -- the queries -----------------------------------------------------------------------------
    def accessions(self) -> list[str]:
        """The accession numbers asked for: the list's, else the field's (a NodeError names a bad one)."""
        text = self.accession_list.toPlainText() if self.listing() else self.accession_edit.text()
        return _unique(read_accessions(text))

    def queries(self) -> list[StudyQuery]:
        """One query per accession number (or one without); a VeilError says what is wrong."""
        first, last = self.date_range()
        accessions = self.accessions()
        if len(accessions) > MAX_ACCESSIONS:
            raise VeilError(f"{len(accessions)} accession numbers: Veil asks for at most {MAX_ACCESSIONS} "
                            "in one search; split the list.")
        base = StudyQuery(patient_name=_name(self.name_edit.text()), patient_id=self.id_edit.text().strip(),
                          first_day=first, last_day=last, modality=self.modality_combo.currentText().strip(),
                          description=_wild(self.description_edit.text(), leading=True))
        return [replace(base, accession=a) for a in accessions] or [base]

    def clear(self) -> None:
        """Empty every field; any date."""
        for edit in (self.name_edit, self.id_edit, self.accession_edit, self.description_edit):
            edit.clear()
        self.accession_list.clear()
        self.list_button.setChecked(False)
        self.modality_combo.setCurrentIndex(0)
        self.date_combo.setCurrentIndex(0)
