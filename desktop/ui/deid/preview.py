"""The preview pane: pick an instance of the selection, see what the profile does to each
attribute (original beside result, with the rule), filtered and searched as you type."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.app.browsing.catalogue import SeriesRow, StudyRow
from desktop.app.common.formatting import plural
from desktop.core.deid.engine import Change
from desktop.ui.common.tables import read_only_rows
from desktop.ui.deid.preview_model import FILTERS, ChangeFilterProxy, ChangeTableModel, summary

COLUMN_WIDTHS = {ChangeTableModel.ATTRIBUTE: 290, ChangeTableModel.BEFORE: 180,
                 ChangeTableModel.AFTER: 180, ChangeTableModel.ACTION: 100}


@dataclass(frozen=True)
class SeriesSlice:
    """The instances of one series within the selection's list of instances."""

    label: str
    start: int
    count: int


def series_slices(studies: Sequence[StudyRow], series_by_study: Mapping[int, Sequence[SeriesRow]],
                  total: int) -> list[SeriesSlice]:
    """Where each series' instances sit in ``library_inputs``'s list (studies in the order
    given, series in library order); one slice for everything when the counts disagree."""
    slices: list[SeriesSlice] = []
    start = 0
    for n, study in enumerate(studies, 1):
        for series in sorted(series_by_study.get(study.study_ref, []), key=lambda s: s.series_ref):
            parts = [f"Study {n}"] if len(studies) > 1 else []
            parts.append(f"Series {series.series_number}" if series.series_number is not None else "Series")
            parts += [p for p in (series.modality, series.description) if p]
            label = " · ".join(parts) + f" ({plural(series.image_count, 'instance')})"
            slices.append(SeriesSlice(label, start, series.image_count))
            start += series.image_count
    if start != total or not slices or any(s.count <= 0 for s in slices):
        return [SeriesSlice(f"All {plural(total, 'instance')}", 0, total)]
    return slices


class PreviewPane(QWidget):
    """Series and instance pickers, a filter, a search box and the table of changes."""

    #: The person picked another instance: its position in the selection's list.
    instance_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._slices: list[SeriesSlice] = []
        self.model = ChangeTableModel(self)
        self.proxy = ChangeFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.series_combo = QComboBox(self)
        self.series_combo.setObjectName("PreviewSeries")
        self.series_combo.setToolTip("The series whose instance is previewed")
        self.series_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.series_combo.setMinimumContentsLength(24)
        self.series_combo.currentIndexChanged.connect(self._on_series_changed)
        self.instance_spin = QSpinBox(self)
        self.instance_spin.setObjectName("PreviewInstance")
        self.instance_spin.setPrefix("Instance ")
        self.instance_spin.setToolTip("Which instance of the series to preview")
        self.instance_spin.setKeyboardTracking(False)
        self.instance_spin.valueChanged.connect(lambda _v: self._emit_choice())

        self.filter_combo = QComboBox(self)
        self.filter_combo.setObjectName("PreviewFilter")
        self.filter_combo.setToolTip("Show every attribute, only those the profile changes, or only "
                                     "those it keeps as they are")
        for key, title in FILTERS.items():
            self.filter_combo.addItem(title, key)
        self.filter_combo.currentIndexChanged.connect(
            lambda _i: self._refilter(lambda: self.proxy.set_mode(str(self.filter_combo.currentData()))))
        self.search_edit = QLineEdit(self)
        self.search_edit.setObjectName("PreviewSearch")
        self.search_edit.setPlaceholderText("Search tag, name, value or rule…")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setToolTip("Show only the rows holding every word typed")
        self.search_edit.textChanged.connect(lambda text: self._refilter(lambda: self.proxy.set_search(text)))

        self.table = self._make_table()
        self.status = QLabel(self)
        self.status.setObjectName("PreviewStatus")
        self.status.setProperty("role", "muted")
        self.status.setWordWrap(True)
        self._build_layout()

    def _make_table(self) -> QTableView:
        view = QTableView(self)
        view.setObjectName("PreviewTable")
        view.setModel(self.proxy)
        read_only_rows(view)
        view.setShowGrid(False)
        view.setSortingEnabled(True)
        header = view.horizontalHeader()
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # the file's order until a click
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setMinimumSectionSize(60)
        for column, width in COLUMN_WIDTHS.items():
            header.resizeSection(column, width)
        header.setStretchLastSection(True)
        return view

    def _build_layout(self) -> None:
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Preview of", self))
        pick.addWidget(self.series_combo, 1)
        pick.addWidget(self.instance_spin)
        find = QHBoxLayout()
        find.addWidget(self.filter_combo)
        find.addWidget(self.search_edit, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(pick)
        layout.addLayout(find)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)

    # -- the instances -----------------------------------------------------------------------
    def set_slices(self, slices: Sequence[SeriesSlice]) -> None:
        """Offer these series (and their instances) to preview; the first is chosen."""
        self._slices = list(slices)
        self.series_combo.blockSignals(True)
        self.series_combo.clear()
        for s in self._slices:
            self.series_combo.addItem(s.label)
        self.series_combo.blockSignals(False)
        self.series_combo.setEnabled(len(self._slices) > 1)
        self._set_instance_range()

    def chosen_position(self) -> int | None:
        """The previewed instance's position in the selection's list, or None before any."""
        if not self._slices or self.series_combo.currentIndex() < 0:
            return None
        return self._slices[self.series_combo.currentIndex()].start + self.instance_spin.value() - 1

    def _set_instance_range(self) -> None:
        count = self._slices[self.series_combo.currentIndex()].count if self._slices else 1
        self.instance_spin.blockSignals(True)
        self.instance_spin.setRange(1, max(count, 1))
        self.instance_spin.setValue(1)
        self.instance_spin.setSuffix(f" of {count:,}")
        self.instance_spin.blockSignals(False)
        self.instance_spin.setEnabled(count > 1)

    def _on_series_changed(self, _index: int) -> None:
        self._set_instance_range()
        self._emit_choice()

    def _emit_choice(self) -> None:
        position = self.chosen_position()
        if position is not None:
            self.instance_chosen.emit(position)

    # -- the table -----------------------------------------------------------------------------
    def show_changes(self, changes: Sequence[Change]) -> None:
        """Show ``changes``, keeping the filter, the search and the scroll position."""
        scroll = self.table.verticalScrollBar().value()
        self.model.set_changes(changes)
        self.table.verticalScrollBar().setValue(scroll)
        self._show_counts()

    def show_status(self, text: str, warning: bool = False) -> None:
        """A line under the table: progress of the preview, or why there is none."""
        self.status.setText(text)
        self.status.setProperty("role", "warning" if warning else "muted")
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    def _refilter(self, change: Callable[[], None]) -> None:
        change()
        self._show_counts()

    def _show_counts(self) -> None:
        changes = self.model.changes
        text = summary(changes)
        if changes and self.proxy.rowCount() != len(changes):
            text += f" — {self.proxy.rowCount():,} shown"
        self.show_status(text)
