"""Table models of the study browser: studies, the series of one study, and the filter.

Display text is formatted for a person (``Family, Given``, ``YYYY-MM-DD``); sorting uses the
raw values (numbers as numbers, DICOM dates as ``YYYYMMDD`` strings, so chronological).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QFont, QPixmap

from desktop.app.browsing.catalogue import SeriesRow, StudyRow
from desktop.app.browsing.filters import StudyCriteria
from desktop.app.common.formatting import date_key, dicom_date, person_name, plural
from desktop.core.consent import ConsentStatus, StudyBadge
from desktop.ui.common import theme

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
NO_NAME = "(no name)"

R = TypeVar("R")
Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column(Generic[R]):
    """One column: its title, how a row reads in it, and what it sorts on."""

    title: str
    tooltip: str
    display: Callable[[R], str]
    sort_key: Callable[[R], Any]
    numeric: bool = False


STUDY_COLUMNS: list[Column[StudyRow]] = [
    Column("Patient", "Patient's name (family, given)", lambda s: person_name(s.patient_name),
           lambda s: person_name(s.patient_name).casefold()),
    Column("Patient ID", "Patient ID as issued by the hospital", lambda s: s.patient_id,
           lambda s: s.patient_id.casefold()),
    Column("Birth date", "Patient's birth date", lambda s: dicom_date(s.birth_date),
           lambda s: date_key(s.birth_date)),
    Column("Study date", "Date the study was acquired", lambda s: dicom_date(s.study_date),
           lambda s: date_key(s.study_date) + s.study_time),
    Column("Modality", "Modalities in the study (CT, MR, US…)", lambda s: s.modalities,
           lambda s: s.modalities),
    Column("Description", "Study description", lambda s: s.description,
           lambda s: s.description.casefold()),
    Column("Series", "Number of series in the study", lambda s: f"{s.series_count:,}",
           lambda s: s.series_count, numeric=True),
    Column("Images", "Number of instances (files) in the study; \"no image to show\" when none holds pixels "
           "(reports, structured documents)",
           lambda s: f"{s.image_count:,}" + (" (no image to show)" if s.nothing_to_show else ""),
           lambda s: s.image_count, numeric=True),
    # Shown from the catalogue's badges (StudyTableModel.data), not from the row itself.
    Column("Consent", "Consent, waiver or site policy for the study today (hover for what it covers)",
           lambda s: "", lambda s: 0),
]

#: How a consent badge reads in the study table: a sign (for those who cannot tell the colours
#: apart) and its colour. Valid green, partial amber, expired dim amber, withdrawn red, none muted.
BADGE_LOOK: dict[ConsentStatus, tuple[str, str]] = {
    ConsentStatus.VALID: ("✓", theme.OK),
    ConsentStatus.PARTIAL: ("◐", theme.WARNING),
    ConsentStatus.EXPIRED: ("◷", "#b59a6e"),
    ConsentStatus.WITHDRAWN: ("✗", theme.DANGER),
    ConsentStatus.NONE: ("–", theme.MUTED),
}
#: Sorting by the badge: what can be used today first.
BADGE_ORDER = {status: n for n, status in enumerate(
    (ConsentStatus.VALID, ConsentStatus.PARTIAL, ConsentStatus.EXPIRED, ConsentStatus.WITHDRAWN, ConsentStatus.NONE))}
NO_BADGE = StudyBadge(ConsentStatus.NONE, "No consent recorded for this study")


def badge_text(badge: StudyBadge) -> str:
    """ "✓ Consent", "✗ Consent withdrawn"…"""
    return f"{BADGE_LOOK[badge.status][0]} {badge.status.title}"

#: How the Redacted column of the series table reads: a sign and a colour, as the consent badges.
REDACTED_SIGN, REDACTED_COLOUR = "◼", theme.ACCENT


def redacted_text(series: SeriesRow) -> str:
    """ "◼ 3 of 12 redacted" for a series Veil redacted images of; empty otherwise."""
    if not series.redacted_count:
        return ""
    return f"{REDACTED_SIGN} {series.redacted_count:,} of {series.image_count:,} redacted"


def redacted_tooltip(series: SeriesRow) -> str:
    """What a redacted series means for its exports (the tooltip of its mark)."""
    some = (f"{series.redacted_count:,} of {series.image_count:,} images of this series were"
            if series.redacted_count != 1 or series.image_count != 1 else "The image of this series was")
    return (f"{some} redacted in Veil. Exports take the redacted versions; the originals stay in the "
            "library, untouched (the viewer's View ▸ Show Original shows them).")


SERIES_COLUMNS: list[Column[SeriesRow]] = [
    Column("#", "Series number", lambda s: "" if s.series_number is None else str(s.series_number),
           lambda s: -1 if s.series_number is None else s.series_number, numeric=True),
    Column("Modality", "Modality of the series", lambda s: s.modality, lambda s: s.modality),
    Column("Description", "Series description", lambda s: s.description,
           lambda s: s.description.casefold()),
    Column("Body part", "Body part examined", lambda s: s.body_part, lambda s: s.body_part),
    Column("Images", "Number of instances (files) in the series", lambda s: f"{s.image_count:,}",
           lambda s: s.image_count, numeric=True),
    Column("Frames", "Number of frames (multi-frame images count each frame)",
           lambda s: f"{s.frame_count:,}", lambda s: s.frame_count, numeric=True),
    Column("Redacted", "Images Veil redacted (masks applied): exports take the redacted versions, the "
           "originals stay in the library untouched", redacted_text, lambda s: s.redacted_count),
    Column("Manufacturer / model", "Equipment that acquired the series",
           lambda s: " / ".join(p for p in (s.manufacturer, s.model_name) if p),
           lambda s: (s.manufacturer + s.model_name).casefold()),
]


class RowTableModel(QAbstractTableModel, Generic[R]):
    """A read-only table of dataclass rows described by :class:`Column` s."""

    def __init__(self, columns: Sequence[Column[R]], parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self._rows: list[R] = []
        self._muted = QColor(theme.MUTED)

    def set_rows(self, rows: Sequence[R]) -> None:
        """Replace every row (views keep their sort and filter)."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> R:
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self._rows[index.row()], self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.display(row)
        if role == SORT_ROLE:
            return column.sort_key(row)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row, index.column())
        return None

    def tooltip(self, row: R, column: int) -> str | None:
        text = self.columns[column].display(row)
        return text if len(text) > 24 else None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        column = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.tooltip
        if role == Qt.ItemDataRole.TextAlignmentRole:
            side = Qt.AlignmentFlag.AlignRight if column.numeric else Qt.AlignmentFlag.AlignLeft
            return int(side | Qt.AlignmentFlag.AlignVCenter)
        return None


class StudyTableModel(RowTableModel[StudyRow]):
    """Every study of the library, one row each."""

    PATIENT, PATIENT_ID, BIRTH_DATE, STUDY_DATE, MODALITY, DESCRIPTION, SERIES, IMAGES, CONSENT = range(9)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(STUDY_COLUMNS, parent)
        self._haystacks: list[str] = []
        self._badges: dict[str, StudyBadge] = {}
        self._redacted: dict[int, int] = {}
        self._badge_colours = {status: QColor(colour) for status, (_sign, colour) in BADGE_LOOK.items()}
        self._italic = QFont()
        self._italic.setItalic(True)

    def set_rows(self, rows: Sequence[StudyRow], badges: dict[str, StudyBadge] | None = None,
                 redacted: dict[int, int] | None = None) -> None:
        """Replace every row; ``badges`` are the consent badges by Study Instance UID,
        ``redacted`` the number of images Veil redacted by study_ref."""
        self._badges = dict(badges or {})
        self._redacted = {ref: n for ref, n in (redacted or {}).items() if n}
        self._haystacks = [self._haystack(r) for r in rows]
        super().set_rows(rows)

    def badge(self, row: int) -> StudyBadge:
        """The consent badge of row ``row`` (none when the catalogue has none for it)."""
        return self._badges.get(self.row_at(row).study_uid, NO_BADGE)

    def _haystack(self, s: StudyRow) -> str:
        shown = [c.display(s) for c in STUDY_COLUMNS]
        raw = [s.patient_name, date_key(s.birth_date), date_key(s.study_date), s.accession_number,
               self._badges.get(s.study_uid, NO_BADGE).status.title,
               "redacted" if s.study_ref in self._redacted else ""]
        return "\n".join(shown + raw).casefold()

    def search_text(self, row: int) -> str:
        """Everything a filter may match in row ``row``, case-folded."""
        return self._haystacks[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and index.column() == self.CONSENT:
            return self._badge_data(self.badge(index.row()), role)
        nameless = (index.isValid() and index.column() == self.PATIENT
                    and not person_name(self.row_at(index.row()).patient_name))
        if nameless and role == Qt.ItemDataRole.DisplayRole:
            return NO_NAME
        if nameless and role == Qt.ItemDataRole.ForegroundRole:
            return self._muted
        if nameless and role == Qt.ItemDataRole.FontRole:
            return self._italic
        return super().data(index, role)

    def _badge_data(self, badge: StudyBadge, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return badge_text(badge)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._badge_colours[badge.status]
        if role == Qt.ItemDataRole.ToolTipRole:
            return badge.tooltip
        if role == SORT_ROLE:
            return BADGE_ORDER[badge.status]
        return None

    def tooltip(self, row: StudyRow, column: int) -> str | None:
        if column == self.IMAGES:
            text = f"{plural(row.image_count, 'instance')}, {plural(row.frame_count, 'frame')}"
            redacted = self._redacted.get(row.study_ref, 0)
            return text + (f"; {redacted:,} redacted in Veil (exports take the redacted versions)" if redacted else "")
        if column == self.PATIENT and row.sex:
            return f"{person_name(row.patient_name) or NO_NAME} (sex: {row.sex})"
        if column == self.STUDY_DATE and row.accession_number:
            return f"Accession number {row.accession_number}"
        return super().tooltip(row, column)


class SeriesTableModel(RowTableModel[SeriesRow]):
    """The series of the selected study."""

    FRAMES, REDACTED = 5, 6

    def __init__(self, parent: Any = None) -> None:
        super().__init__(SERIES_COLUMNS, parent)
        self._redacted_colour = QColor(REDACTED_COLOUR)
        self._thumbnails: dict[int, QPixmap] = {}

    def set_thumbnails(self, thumbnails: dict[int, QPixmap]) -> None:
        """Pictures of the series (by series ref), shown in the first column."""
        self._thumbnails = thumbnails
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, 0),
                                  [Qt.ItemDataRole.DecorationRole])

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and index.column() == 0 and role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnails.get(self.row_at(index.row()).series_ref)
        if (index.isValid() and index.column() == self.REDACTED and role == Qt.ItemDataRole.ForegroundRole
                and self.row_at(index.row()).redacted_count):
            return self._redacted_colour
        return super().data(index, role)

    def tooltip(self, row: SeriesRow, column: int) -> str | None:
        if column == self.FRAMES and row.frame_count == 0:
            return "No pixel data: these instances hold no image (reports, structured data…)"
        if column == self.REDACTED:
            return redacted_tooltip(row) if row.redacted_count else None
        return super().tooltip(row, column)


class StudyFilterProxy(QSortFilterProxyModel):
    """Sorts on :data:`SORT_ROLE`; keeps rows that contain every typed word (any case)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._terms: list[str] = []
        self._criteria = StudyCriteria()
        self.setSortRole(SORT_ROLE)
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setDynamicSortFilter(True)

    def set_filter_text(self, text: str) -> None:
        """Filter on ``text``: each whitespace-separated word must appear in the row."""
        terms = text.casefold().split()
        if terms != self._terms:
            self._refilter(terms, self._criteria)

    def set_criteria(self, criteria: StudyCriteria) -> None:
        """Keep only the studies of a patient, a modality, a date range (with the words)."""
        if criteria != self._criteria:
            self._refilter(self._terms, criteria)

    def _refilter(self, terms: list[str], criteria: StudyCriteria) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9
            self.beginFilterChange()
            self._terms, self._criteria = terms, criteria
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._terms, self._criteria = terms, criteria
            self.invalidateFilter()

    @property
    def filter_text(self) -> str:
        return " ".join(self._terms)

    @property
    def filtering(self) -> bool:
        """Words typed, or a patient, modality or date chosen."""
        return bool(self._terms) or self._criteria.active

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, StudyTableModel):
            return True
        if self._criteria.active and not self._criteria.keeps(model.row_at(source_row)):
            return False
        if not self._terms:
            return True
        haystack = model.search_text(source_row)
        return all(term in haystack for term in self._terms)
