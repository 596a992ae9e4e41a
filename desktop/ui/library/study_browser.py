"""The study browser: a filter box, the table of studies, and the series of the selected one."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.app.browsing.catalogue import Catalogue, SeriesRow, StudyRow
from desktop.app.browsing.filters import StudyCriteria
from desktop.app.common.formatting import dicom_date, person_name, plural
from desktop.core.consent import StudyBadge
from desktop.ui.common.background import run_in_background
from desktop.ui.common.qimages import to_qimage
from desktop.ui.common.tables import read_only_rows
from desktop.ui.library.browse_filters import FilterBar, PatientList
from desktop.ui.library.study_model import (
    BADGE_LOOK,
    NO_NAME,
    SeriesTableModel,
    StudyFilterProxy,
    StudyTableModel,
    badge_text,
)

FILTER_PLACEHOLDER = "Filter by patient, ID, date, modality, description…"
MAX_FITTED_WIDTH = 300
#: The side of a series' picture in the series list, in pixels.
SERIES_THUMBNAIL = 48
#: The patient list is shown at first when the browser is at least this wide (the studies'
#: columns then keep their widths); the Patients button shows or hides it.
WIDE_ENOUGH_FOR_PATIENTS = 1400
Thumbnails = Callable[[list[int]], dict[int, np.ndarray]]


def _table(parent: QWidget) -> QTableView:
    view = QTableView(parent)
    read_only_rows(view, extra_height=10)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setShowGrid(False)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setResizeContentsPrecision(200)
    header.setMinimumSectionSize(40)
    return view


def _fit_columns(view: QTableView, stretch: int, grow_only: bool = False) -> None:
    """Size every column to its content (capped), and let ``stretch`` take the rest."""
    header = view.horizontalHeader()
    for column in range(header.count()):
        if column == stretch:
            continue
        before = header.sectionSize(column)
        view.resizeColumnToContents(column)
        width = min(max(header.sectionSize(column), header.sectionSizeHint(column)) + 12, MAX_FITTED_WIDTH)
        header.resizeSection(column, max(width, before) if grow_only else width)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)


class StudyBrowser(QWidget):
    """Browse the library: filter as you type, sort by any column, see a study's series."""

    #: The selected study, or None when nothing is selected.
    study_selected = Signal(object)
    #: Double-click: view this study (StudyRow) at this series (SeriesRow, None: its first).
    open_requested = Signal(object, object)
    #: The set of selected studies changed (see :meth:`selected_studies`).
    selection_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._catalogue = Catalogue([])
        self.study_model = StudyTableModel(self)
        self.proxy = StudyFilterProxy(self)
        self.proxy.setSourceModel(self.study_model)
        self.series_model = SeriesTableModel(self)

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("StudyFilter")
        self.filter_edit.setPlaceholderText(FILTER_PLACEHOLDER)
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAcceptDrops(False)  # dropped folders are imported, not typed
        find = QKeySequence("Ctrl+F").toString(QKeySequence.SequenceFormat.NativeText)
        self.filter_edit.setToolTip(
            "Show only the studies whose patient, ID, dates, modality, description or accession "
            f"number contain every word typed ({find})")
        self.filter_edit.textChanged.connect(self._on_filter_changed)
        self.patient_list = PatientList(self)
        self.patient_list.patient_changed.connect(lambda _key: self._on_criteria_changed())
        self.patients_button = QToolButton(self)
        self.patients_button.setObjectName("PatientsToggle")
        self.patients_button.setText("Patients")
        self.patients_button.setCheckable(True)
        self.patients_button.setToolTip("Show the patients beside the studies: choose one to see only theirs")
        self.patients_button.toggled.connect(self.show_patients)
        self._patients_decided = False
        self.filter_bar = FilterBar(self)
        self.filter_bar.changed.connect(self._on_criteria_changed)
        #: Makes the series' pictures (off the UI thread); the main window sets it.
        self.thumbnails_from: Thumbnails | None = None
        self._thumbnails: dict[tuple[int, int], QPixmap] = {}
        self.shown_label = QLabel(self)
        self.shown_label.setProperty("role", "muted")

        self.studies_view = _table(self)
        self.studies_view.setObjectName("StudyTable")
        self.filter_edit.returnPressed.connect(self.studies_view.setFocus)
        self.studies_view.setModel(self.proxy)
        # Several studies can be selected (Ctrl/Shift-click) for the actions that take many.
        self.studies_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.studies_view.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit())
        self.studies_view.setSortingEnabled(True)
        self.studies_view.sortByColumn(StudyTableModel.STUDY_DATE, Qt.SortOrder.DescendingOrder)
        self.studies_view.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.proxy.layoutChanged.connect(self._keep_selection_visible)
        self._fitting = False
        self._user_sized = False
        self.studies_view.horizontalHeader().sectionResized.connect(self._on_section_resized)

        self.series_title = QLabel(self)
        self.series_title.setProperty("role", "section")
        self.series_title.setTextFormat(Qt.TextFormat.PlainText)
        self.series_view = _table(self)
        self.series_view.setObjectName("SeriesTable")
        self.series_view.setIconSize(QSize(SERIES_THUMBNAIL, SERIES_THUMBNAIL))
        self.series_view.verticalHeader().setDefaultSectionSize(SERIES_THUMBNAIL + 6)
        self.series_view.setModel(self.series_model)
        self.studies_view.doubleClicked.connect(lambda _index: self._request_open(None))
        self.series_view.doubleClicked.connect(
            lambda index: self._request_open(self.series_model.row_at(index.row())))

        self._build_layout()
        self._show_series(None)

    def _build_layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.patients_button)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.filter_bar)
        top.addWidget(self.shown_label)
        self._top = top
        studies = QWidget(self)
        studies_layout = QVBoxLayout(studies)
        studies_layout.setContentsMargins(0, 0, 0, 0)
        studies_layout.addLayout(top)
        studies_layout.addWidget(self.studies_view)
        series = QWidget(self)
        series_layout = QVBoxLayout(series)
        series_layout.setContentsMargins(0, 6, 0, 0)
        series_layout.addWidget(self.series_title)
        series_layout.addWidget(self.series_view)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(studies)
        splitter.addWidget(series)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([640, 300])
        splitter.setChildrenCollapsible(False)
        sides = QSplitter(Qt.Orientation.Horizontal, self)
        people = self.patients_panel = QWidget(self)
        people_layout = QVBoxLayout(people)
        people_layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Patients", people)
        title.setProperty("role", "section")
        people_layout.addWidget(title)
        people_layout.addWidget(self.patient_list)
        sides.addWidget(people)
        sides.addWidget(splitter)
        sides.setStretchFactor(1, 1)
        sides.setSizes([180, 1100])
        people.setVisible(False)  # until the first catalogue: shown when the window has room
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.addWidget(sides)

    # -- data ------------------------------------------------------------------------------
    def set_catalogue(self, catalogue: Catalogue) -> None:
        """Show ``catalogue``, keeping the filter, the sort, the selection and the scroll
        position (a reload during an import must not move what the person looks at)."""
        previous = self.selected_study()
        others = [s.study_uid for s in self.selected_studies() if s != previous]
        first = not self._catalogue.studies
        grew = len(catalogue.studies) > len(self._catalogue.studies)
        scroll = self.studies_view.verticalScrollBar().value()
        self._catalogue = catalogue
        if not self._patients_decided and catalogue.studies:  # shown when the studies keep their columns
            self._patients_decided = True
            self.patients_button.setChecked(self.width() >= WIDE_ENOUGH_FOR_PATIENTS)
        self.patient_list.set_studies(catalogue.studies)
        self.filter_bar.set_studies(catalogue.studies)
        redacted = {ref: sum(r.redacted_count for r in rows) for ref, rows in catalogue.series_by_study.items()}
        self.study_model.set_rows(catalogue.studies, catalogue.badges, redacted)
        if grew and not self._user_sized and not self.proxy.filtering:
            self._fitting = True
            _fit_columns(self.studies_view, StudyTableModel.DESCRIPTION, grow_only=not first)
            self._fit_consent_column()
            self._fitting = False
        self._select_study(previous.study_uid if previous else None, scroll=first)
        self._add_to_selection(others)
        if not first:
            self._restore_scroll(scroll)
        self._update_shown()

    def _fit_consent_column(self) -> None:
        """Wide enough for every badge, so a badge that changes is never cut short."""
        metrics = self.studies_view.fontMetrics()
        widest = max(metrics.horizontalAdvance(badge_text(StudyBadge(status, ""))) for status in BADGE_LOOK)
        header = self.studies_view.horizontalHeader()
        column = StudyTableModel.CONSENT
        header.resizeSection(column, max(header.sectionSize(column), widest + 28))

    def _restore_scroll(self, value: int) -> None:
        bar = self.studies_view.verticalScrollBar()
        self.studies_view.doItemsLayout()  # scroll range for the new rows, now
        bar.setValue(value)

    def _on_section_resized(self, _index: int, _old: int, _new: int) -> None:
        if not self._fitting and self.studies_view.isVisible() and QGuiApplication.mouseButtons():
            self._user_sized = True  # the person dragged a column edge: keep their widths

    def selected_study(self) -> StudyRow | None:
        """The current study if it is selected, else the first one selected, else None."""
        selection = self.studies_view.selectionModel()
        current = selection.currentIndex()
        rows = selection.selectedRows()
        if current.isValid() and selection.isRowSelected(current.row(), current.parent()):
            return self.study_model.row_at(self.proxy.mapToSource(current).row())
        if not rows:
            return None
        return self.study_model.row_at(self.proxy.mapToSource(rows[0]).row())

    def selected_studies(self) -> list[StudyRow]:
        """Every selected study, in the order shown."""
        rows = sorted(self.studies_view.selectionModel().selectedRows(), key=lambda i: i.row())
        return [self.study_model.row_at(self.proxy.mapToSource(i).row()) for i in rows]

    def add_study_action(self, action: QAction) -> None:
        """Offer ``action`` in the context menu of the studies."""
        self.studies_view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.studies_view.addAction(action)

    def add_series_action(self, action: QAction) -> None:
        """Offer ``action`` in the context menu of the series list."""
        self.series_view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.series_view.addAction(action)

    def add_tool_action(self, action: QAction) -> None:
        """Offer ``action`` as a button at the end of the filter row (File > Query/Retrieve)."""
        button = QToolButton(self)
        button.setDefaultAction(action)
        self._top.addWidget(button)

    def selected_series(self) -> list[SeriesRow]:
        """The series selected in the series list (else its current one, if any)."""
        view = self.series_view
        rows = view.selectionModel().selectedRows() or ([view.currentIndex()] if view.currentIndex().isValid() else [])
        return [self.series_model.row_at(i.row()) for i in rows]

    def series_of(self, study: StudyRow) -> list[SeriesRow]:
        return list(self._catalogue.series_by_study.get(study.study_ref, []))

    def _request_open(self, series: SeriesRow | None) -> None:
        study = self.selected_study()
        if study is not None:
            self.open_requested.emit(study, series)

    def visible_study_count(self) -> int:
        return self.proxy.rowCount()

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    # -- selection ---------------------------------------------------------------------------
    def _select_study(self, study_uid: str | None, scroll: bool = True) -> None:
        target = QModelIndex()
        if study_uid is not None:
            for row in range(self.study_model.rowCount()):
                if self.study_model.row_at(row).study_uid == study_uid:
                    target = self.proxy.mapFromSource(self.study_model.index(row, 0))
                    break
        if not target.isValid() and self.proxy.rowCount():
            target = self.proxy.index(0, 0)
        self._select_proxy_index(target, scroll)

    def _add_to_selection(self, study_uids: list[str]) -> None:
        wanted = set(study_uids)
        if not wanted:
            return
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        selection = self.studies_view.selectionModel()
        for row in range(self.study_model.rowCount()):
            if self.study_model.row_at(row).study_uid in wanted:
                index = self.proxy.mapFromSource(self.study_model.index(row, 0))
                if index.isValid():
                    selection.select(index, flags)

    def _select_proxy_index(self, index: QModelIndex, scroll: bool = True) -> None:
        selection = self.studies_view.selectionModel()
        if not index.isValid():
            selection.clear()
            self._show_series(None)
            return
        flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
                 | QItemSelectionModel.SelectionFlag.Rows)
        selection.setCurrentIndex(index, flags)
        if scroll:
            self.studies_view.scrollTo(index)
        self._show_series(self.study_model.row_at(self.proxy.mapToSource(index).row()))

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        study = self.study_model.row_at(self.proxy.mapToSource(current).row()) if current.isValid() else None
        self._show_series(study)

    def _keep_selection_visible(self) -> None:
        if not self.studies_view.selectionModel().selectedRows():
            self._select_study(None)

    def _on_filter_changed(self, text: str) -> None:
        kept = self.selected_study()
        self.proxy.set_filter_text(text)
        self._select_study(kept.study_uid if kept else None)
        self._update_shown()

    def show_patients(self, shown: bool) -> None:
        """Show or hide the patient list; hidden, it keeps no patient chosen (nothing is
        filtered out of sight)."""
        self._patients_decided = True
        if self.patients_button.isChecked() != shown:
            self.patients_button.setChecked(shown)
            return
        self.patients_panel.setVisible(shown)
        if not shown and self.patient_list.patient() is not None:
            self.patient_list.choose(None)

    def criteria(self) -> StudyCriteria:
        """The patient, modality and dates chosen."""
        first, last = self.filter_bar.day_bounds()
        return StudyCriteria(self.patient_list.patient(), self.filter_bar.modality(), first, last)

    def _on_criteria_changed(self) -> None:
        kept = self.selected_study()
        self.proxy.set_criteria(self.criteria())
        self._select_study(kept.study_uid if kept else None)
        self._update_shown()

    def _update_shown(self) -> None:
        total, shown = self.study_model.rowCount(), self.proxy.rowCount()
        filtered = self.proxy.filtering
        self.shown_label.setText(f"{shown:,} of {plural(total, 'study', 'studies')}" if filtered
                                 else plural(total, "study", "studies"))

    def _show_thumbnails(self, rows: list[SeriesRow]) -> None:
        """The pictures of ``rows`` known so far; the others made in the background."""
        known = {r.series_ref: self._thumbnails[(r.series_ref, r.redacted_count)] for r in rows
                 if (r.series_ref, r.redacted_count) in self._thumbnails}
        self.series_model.set_thumbnails(known)
        missing = [r for r in rows if r.series_ref not in known]
        make = self.thumbnails_from
        if not missing or make is None:
            return
        wanted = {r.series_ref: r.redacted_count for r in missing}

        def done(pictures: dict[int, np.ndarray]) -> None:
            for ref, array in pictures.items():
                self._thumbnails[(ref, wanted[ref])] = QPixmap.fromImage(to_qimage(array))
            current = [self.series_model.row_at(n) for n in range(self.series_model.rowCount())]
            self.series_model.set_thumbnails({r.series_ref: self._thumbnails[(r.series_ref, r.redacted_count)]
                                              for r in current if (r.series_ref, r.redacted_count) in self._thumbnails})

        run_in_background(lambda _p: make(list(wanted)), done, lambda _exc: None, key=f"series-thumbs-{id(self)}",
                          context=self)

    def _show_series(self, study: StudyRow | None) -> None:
        if study is None:
            self.series_model.set_rows([])
            self.series_title.setText("Series — select a study to see its series")
        else:
            rows = self._catalogue.series_by_study.get(study.study_ref, [])
            self.series_model.set_rows(rows)
            parts = [person_name(study.patient_name) or NO_NAME, dicom_date(study.study_date),
                     study.description]
            heading = " · ".join(p for p in parts if p)
            counts = plural(study.series_count, "series", "series")
            redacted = sum(1 for r in rows if r.redacted_count)
            if redacted:
                counts += f", {redacted:,} with redacted images: exports take the redacted versions"
            self.series_title.setText(f"Series of {heading} ({counts})")
            self._show_thumbnails(rows)
            _fit_columns(self.series_view, 2)
        self.study_selected.emit(study)
