"""The Query/Retrieve panel's results: the studies a node answered with, each expandable to its
series (asked for when first expanded, as Horos and Weasis do), in a tree model.

A study row holds its :class:`StudyMatch`, a series row its :class:`SeriesMatch`; until the
series are known a study has one placeholder child ("Asking for the series…"), so the view
draws the expand arrow.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QWidget

from desktop.app.common.formatting import dicom_date, person_name
from desktop.core.network.query import SeriesMatch, StudyMatch
from desktop.core.network.retrieve import What

COLUMNS = ("Patient", "Patient ID", "Study date", "Accession", "Modality", "Series", "Images", "Description")
SERIES_COLUMN, IMAGES_COLUMN = 5, 6
MATCH_ROLE = Qt.ItemDataRole.UserRole + 1
#: A study row's state of its series: not asked, being asked, known.
STATE_ROLE = Qt.ItemDataRole.UserRole + 2
NOT_ASKED, ASKING, KNOWN = "not asked", "asking", "known"
AnyIndex = QModelIndex | QPersistentModelIndex


def _count(value: int | None) -> str:
    return "" if value is None else str(value)


def _row(texts: list[str], match: StudyMatch | SeriesMatch | None) -> list[QStandardItem]:
    items = []
    for text in texts:
        item = QStandardItem(text)
        item.setEditable(False)
        item.setToolTip(text if len(text) > 24 else "")
        items.append(item)
    items[0].setData(match, MATCH_ROLE)
    for column in (SERIES_COLUMN, IMAGES_COLUMN):
        items[column].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return items


def _placeholder(text: str) -> list[QStandardItem]:
    items = _row([text] + [""] * (len(COLUMNS) - 1), None)
    items[0].setEnabled(False)  # not selectable, greyed
    for item in items[1:]:
        item.setEnabled(False)
    return items


class QueryResultsModel(QStandardItemModel):
    """Studies, then their series (see the module)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))

    def set_studies(self, studies: list[StudyMatch]) -> None:
        """Show ``studies`` (replacing what was shown), their series not yet asked for."""
        self.removeRows(0, self.rowCount())
        for study in studies:
            items = _row([person_name(study.patient_name), study.patient_id, dicom_date(study.study_date),
                          study.accession, study.modalities, _count(study.series),
                          _count(study.instances), study.description], study)
            items[0].setData(NOT_ASKED, STATE_ROLE)
            items[0].appendRow(_placeholder("Asking for the series…"))
            self.appendRow(items)

    def studies(self) -> list[StudyMatch]:
        """Every study shown, in order."""
        return [self.item(row, 0).data(MATCH_ROLE) for row in range(self.rowCount())]

    def match_at(self, index: AnyIndex) -> StudyMatch | SeriesMatch | None:
        """The study or series of the row of ``index`` (None for a placeholder)."""
        if not index.isValid():
            return None
        match = self.index(index.row(), 0, index.parent()).data(MATCH_ROLE)
        return match if isinstance(match, StudyMatch | SeriesMatch) else None

    def state_of(self, index: AnyIndex) -> str:
        """Whether the series of the study row at ``index`` were asked for."""
        return str(self.index(index.row(), 0, index.parent()).data(STATE_ROLE) or "")

    def study_index(self, study_uid: str) -> QModelIndex:
        for row in range(self.rowCount()):
            match = self.item(row, 0).data(MATCH_ROLE)
            if isinstance(match, StudyMatch) and match.study_uid == study_uid:
                return self.index(row, 0)
        return QModelIndex()

    def set_asking(self, study_uid: str) -> None:
        index = self.study_index(study_uid)
        if index.isValid():
            self.itemFromIndex(index).setData(ASKING, STATE_ROLE)

    def set_series(self, study_uid: str, series: list[SeriesMatch], cut: bool = False) -> None:
        """The series of one study, in place of its placeholder."""
        index = self.study_index(study_uid)
        if not index.isValid():
            return  # a newer search replaced the study
        study = self.itemFromIndex(index)
        study.removeRows(0, study.rowCount())
        study.setData(KNOWN, STATE_ROLE)
        for match in series:
            number = "" if match.number is None else f" {match.number}"
            items = _row([f"Series{number}", "", "", "", match.modality, "", _count(match.instances),
                          match.description], match)
            study.appendRow(items)
        if not series:
            study.appendRow(_placeholder("The node lists no series for this study."))
        if cut:
            study.appendRow(_placeholder("More series than Veil lists: retrieve the whole study."))
        self.item(index.row(), SERIES_COLUMN).setText(str(len(series)))

    def series_failed(self, study_uid: str, reason: str) -> None:
        """Say under the study why its series could not be listed; expanding again asks again."""
        index = self.study_index(study_uid)
        if not index.isValid():
            return
        study = self.itemFromIndex(index)
        study.removeRows(0, study.rowCount())
        study.setData(NOT_ASKED, STATE_ROLE)
        study.appendRow(_placeholder(f"The series could not be listed: {reason}"))

    def to_retrieve(self, indexes: list[QModelIndex]) -> list[What]:
        """What the selected rows ask for: each selected study whole, and each selected series
        whose study is not selected itself; in the order shown, each once."""
        studies: list[str] = []
        series: list[tuple[str, str]] = []
        for index in indexes:
            match = self.match_at(index)
            if isinstance(match, StudyMatch) and match.study_uid not in studies:
                studies.append(match.study_uid)
            elif isinstance(match, SeriesMatch):
                parent = self.match_at(index.parent())
                if isinstance(parent, StudyMatch) and (parent.study_uid, match.series_uid) not in series:
                    series.append((parent.study_uid, match.series_uid))
        whats = [What(uid) for uid in studies]
        whats += [What(study, uid) for study, uid in series if study not in studies]
        order = {m.study_uid: n for n, m in enumerate(self.studies())}
        return sorted(whats, key=lambda w: order.get(w.study_uid, len(order)))


def merge_studies(found: list[list[StudyMatch]]) -> list[StudyMatch]:
    """The studies of several queries (one per accession number), each once (by its Study
    Instance UID), newest first."""
    seen: dict[str, StudyMatch] = {}
    for matches in found:
        for match in matches:
            seen.setdefault(match.study_uid, match)
    return sorted(seen.values(), key=lambda m: (m.study_date, m.study_time), reverse=True)
