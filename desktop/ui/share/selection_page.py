"""The export wizard's "What leaves" page: the selection as a tree of ticks.

Each study of the selection, its series (number, modality, description, image count, and a
"redacted" mark where Veil redacted some of its images), and, expanded, each image. A tick on
a series takes all its images; unticking some images leaves the series partly ticked. The ticks
become the gate's selection (:class:`desktop.app.gate.Selection`): only the ticked studies,
only the ticked series (when not all are), only the ticked images (when not all of a ticked
series are). Images are listed as they leave: their current versions (the redacted version
where Veil made one).

The tree is read from the library off the UI thread (:func:`load_tree`); image rows are made
when their series is expanded, so a 3,000-image CT costs nothing until someone looks at it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.app.browsing.catalogue import SeriesRow, StudyRow
from desktop.app.common.formatting import plural
from desktop.app.library.home import VeilHome
from desktop.core.library import index
from desktop.ui.common.widgets import label, set_role, visible_indicator
from desktop.ui.share.pages import WizardPage, study_line

KIND = Qt.ItemDataRole.UserRole  # ("study", uid) / ("series", uid) / ("image", series uid, sop uid)
COLUMNS = ["Study, series and images", "Modality", "Description", "Images", "Redaction"]
Ticks = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # (studies, series, images) UIDs


@dataclass(frozen=True)
class ImageNode:
    """One image as it leaves (its current version)."""

    sop_uid: str
    original_uid: str  # the original's SOP Instance UID, for a version Veil redacted; else ""
    number: int | None
    redacted: bool


@dataclass(frozen=True)
class SeriesNode:
    row: SeriesRow
    images: tuple[ImageNode, ...]

    @property
    def uid(self) -> str:
        return self.row.series_uid

    def title(self) -> str:
        return f"series {self.row.series_number if self.row.series_number is not None else '?'}"


@dataclass(frozen=True)
class StudyNode:
    row: StudyRow
    series: tuple[SeriesNode, ...]


def load_tree(home: VeilHome, studies: Sequence[StudyRow]) -> list[StudyNode]:
    """The series and images (current versions) of ``studies``, in viewing order (worker thread)."""
    conn = home.connect()
    try:
        out: list[StudyNode] = []
        for study in studies:
            series: list[SeriesNode] = []
            for row in index.list_series(conn, study.study_ref):
                current = index.list_instances(conn, row.series_ref)
                originals = ({r.instance_ref: r.sop_instance_uid for r in index.list_instances(conn, row.series_ref,
                                                                                               "originals")}
                             if any(r.redacted_version for r in current) else {})
                images = tuple(ImageNode(r.sop_instance_uid, originals.get(r.replaces_ref or -1, ""), r.instance_number,
                                         r.redacted_version) for r in current)
                if images:
                    series.append(SeriesNode(row, images))
            out.append(StudyNode(study, tuple(series)))
        return out
    finally:
        conn.close()


class _RoomyRows(QStyledItemDelegate):
    """Rows a little taller than Fusion's, easier to tick (a style sheet would hide the boxes)."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        hint = super().sizeHint(option, index)
        return QSize(hint.width(), hint.height() + 6)


class SelectionPage(WizardPage):
    """What leaves: studies, series and images, ticked."""

    title = "What leaves"
    subtitle = ("The studies, series and images that leave, as they leave: Veil's redacted version where one "
                "exists. Untick what the recipient does not need.")
    #: The ticks changed (the selection the other pages check).
    ticks_changed = Signal()

    def __init__(self, series_uids: Sequence[str] = (), instance_uids: Sequence[str] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.nodes: list[StudyNode] | None = None
        self.failed: str | None = None
        self.ticked: dict[str, set[str]] = {}  # series UID -> ticked SOP Instance UIDs
        self._initial = (tuple(series_uids), tuple(instance_uids))
        self._series: dict[str, SeriesNode] = {}
        self._items: dict[str, QTreeWidgetItem] = {}  # study and series UIDs -> their rows
        self._syncing = False
        self.status = label("Reading the series and images…", self, "muted", name="SelectionStatus")
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("SelectionTree")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setItemDelegate(_RoomyRows(self.tree))
        visible_indicator(self.tree)  # its tick boxes
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for column in (1, 3, 4):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setColumnWidth(0, 250)
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.itemExpanded.connect(self._fill)
        self.all_button = QPushButton("Tick All", self)
        self.all_button.setObjectName("TickAll")
        self.all_button.clicked.connect(lambda: self.tick_all(True))
        self.none_button = QPushButton("Untick All", self)
        self.none_button.setObjectName("UntickAll")
        self.none_button.clicked.connect(lambda: self.tick_all(False))
        self.count = label("", self, "muted", name="SelectionCount")
        row = QHBoxLayout()
        row.addWidget(self.all_button)
        row.addWidget(self.none_button)
        row.addSpacing(12)
        row.addWidget(self.count, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addWidget(self.tree, 1)
        layout.addLayout(row)
        for widget in (self.tree, self.all_button, self.none_button):
            widget.setEnabled(False)

    # -- loading --------------------------------------------------------------------------------------
    def set_tree(self, nodes: list[StudyNode]) -> None:
        """Show the tree, ticked as the wizard was opened (a study, some series, one image)."""
        self.nodes, self.failed = nodes, None
        series_wanted, images_wanted = set(self._initial[0]), set(self._initial[1])
        self._series = {s.uid: s for st in nodes for s in st.series}
        for node in self._series.values():
            if series_wanted and node.uid not in series_wanted:
                self.ticked[node.uid] = set()
            elif images_wanted:
                self.ticked[node.uid] = {i.sop_uid for i in node.images
                                         if i.sop_uid in images_wanted or i.original_uid in images_wanted}
            else:
                self.ticked[node.uid] = {i.sop_uid for i in node.images}
        self._syncing = True
        try:
            self.tree.clear()
            for study in nodes:
                top = QTreeWidgetItem(self.tree, [study_line(study.row)])
                top.setFirstColumnSpanned(True)
                top.setData(0, KIND, ("study", study.row.study_uid))
                top.setFlags(top.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                self._items[study.row.study_uid] = top
                for node in study.series:
                    item = QTreeWidgetItem(top, [node.title().capitalize(), node.row.modality, node.row.description,
                                                 "", "redacted" if node.row.redacted_count else ""])
                    item.setData(0, KIND, ("series", node.uid))
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
                    item.setTextAlignment(3, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    if node.row.redacted_count:
                        item.setToolTip(4, f"{plural(node.row.redacted_count, 'image')} leave as the version Veil "
                                           "redacted")
                    self._items[node.uid] = item
                top.setExpanded(True)
        finally:
            self._syncing = False
        self._sync()
        for node in self._series.values():  # show the images when only some are ticked
            if 0 < len(self.ticked[node.uid]) < len(node.images):
                self._items[node.uid].setExpanded(True)
        for widget in (self.tree, self.all_button, self.none_button):
            widget.setEnabled(True)
        if self.isVisible():  # disabled while reading, the tree could not take the keyboard: it does now
            self.tree.setFocus(Qt.FocusReason.OtherFocusReason)
        self.status.setText("Tick the series and images that leave; expand a series to choose its images.")
        set_role(self.status, "muted")
        self.changed.emit()

    def show_failure(self, message: str) -> None:
        self.failed = message
        self.status.setText(f"The series and images could not be read: {message}")
        set_role(self.status, "danger")
        self.changed.emit()

    def _fill(self, item: QTreeWidgetItem) -> None:
        """Make the image rows of a series when it is first expanded."""
        kind = item.data(0, KIND)
        if not kind or kind[0] != "series" or item.childCount():
            return
        node = self._series[kind[1]]
        self._syncing = True
        try:
            for n, image in enumerate(node.images, 1):
                child = QTreeWidgetItem(item, [f"Image {image.number if image.number is not None else f'#{n}'}",
                                               "", "", "", "redacted" if image.redacted else ""])
                child.setData(0, KIND, ("image", node.uid, image.sop_uid))
                child.setFlags(child.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                child.setCheckState(0, Qt.CheckState.Checked if image.sop_uid in self.ticked[node.uid]
                                    else Qt.CheckState.Unchecked)
        finally:
            self._syncing = False

    # -- ticks ----------------------------------------------------------------------------------------
    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._syncing or column != 0:
            return
        kind, on = item.data(0, KIND), item.checkState(0) == Qt.CheckState.Checked
        if not kind:
            return
        if kind[0] == "image":
            (self.ticked[kind[1]].add if on else self.ticked[kind[1]].discard)(kind[2])
        elif kind[0] == "series":
            self._tick_series(self._series[kind[1]], on)
        else:
            for node in next(s for s in self.nodes or [] if s.row.study_uid == kind[1]).series:
                self._tick_series(node, on)
        self._sync()
        self._emit()

    def _tick_series(self, node: SeriesNode, on: bool) -> None:
        self.ticked[node.uid] = {i.sop_uid for i in node.images} if on else set()

    def tick_all(self, on: bool) -> None:
        for node in self._series.values():
            self._tick_series(node, on)
        self._sync()
        self._emit()

    def leave_out(self, sop_uids: Sequence[str]) -> int:
        """Untick these images (the review's Leave Out); how many were ticked."""
        gone = set(sop_uids)
        count = 0
        for ticked in self.ticked.values():
            count += len(ticked & gone)
            ticked -= gone
        if count:
            self._sync()
            self._emit()
        return count

    def _emit(self) -> None:
        self.ticks_changed.emit()
        self.changed.emit()

    @staticmethod
    def _state(ticked: int, total: int) -> Qt.CheckState:
        if ticked == 0:
            return Qt.CheckState.Unchecked
        return Qt.CheckState.Checked if ticked >= total else Qt.CheckState.PartiallyChecked

    def _sync(self) -> None:
        """Every row's tick and count from :attr:`ticked`."""
        self._syncing = True
        try:
            for study in self.nodes or []:
                ticked_images = total_images = 0
                for node in study.series:
                    item, ticked = self._items[node.uid], self.ticked[node.uid]
                    item.setCheckState(0, self._state(len(ticked), len(node.images)))
                    item.setText(3, f"{len(ticked):,} of {len(node.images):,}" if 0 < len(ticked) < len(node.images)
                                 else f"{len(node.images):,}")
                    for n in range(item.childCount()):
                        if (child := item.child(n)) is not None:
                            child.setCheckState(0, Qt.CheckState.Checked if child.data(0, KIND)[2] in ticked
                                                else Qt.CheckState.Unchecked)
                    ticked_images += len(ticked)
                    total_images += len(node.images)
                self._items[study.row.study_uid].setCheckState(0, self._state(ticked_images, total_images))
        finally:
            self._syncing = False
        images = sum(len(t) for t in self.ticked.values())
        total = sum(len(s.images) for s in self._series.values())
        series = sum(bool(t) for t in self.ticked.values())
        self.count.setText(f"Leaving: {plural(images, 'image')} of {total:,}, in {plural(series, 'series', 'series')}."
                           if images else "Nothing is ticked.")

    # -- what the ticks say ---------------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self.nodes is not None

    def _full(self, node: SeriesNode) -> bool:
        return len(self.ticked[node.uid]) >= len(node.images)

    def selection(self) -> Ticks:
        """(studies, series, images) UIDs for the gate: only what is ticked; () where everything is."""
        studies = [st for st in self.nodes or [] if any(self.ticked[s.uid] for s in st.series)]
        every = [s for st in studies for s in st.series]
        ticked = [s for s in every if self.ticked[s.uid]]
        study_uids = tuple(st.row.study_uid for st in studies)
        if all(self._full(s) for s in every):
            return study_uids, (), ()
        series_uids = tuple(s.uid for s in ticked)
        if all(self._full(s) for s in ticked):
            return study_uids, series_uids, ()
        return study_uids, series_uids, tuple(i.sop_uid for s in ticked for i in s.images
                                              if i.sop_uid in self.ticked[s.uid])

    def studies(self) -> list[StudyRow]:
        """The studies with something ticked."""
        return [st.row for st in self.nodes or [] if any(self.ticked[s.uid] for s in st.series)]

    def series_rows(self) -> list[SeriesRow]:
        """The ticked series, each counting its ticked images; [] when everything is ticked."""
        _studies, series, _images = self.selection()
        return [dataclasses.replace(self._series[uid].row, image_count=len(self.ticked[uid])) for uid in series]

    def scope_text(self) -> str:
        """What leaves, in a line (for the purpose page)."""
        studies, series, _images = self.selection()
        if not series:
            return "Every series of " + ("this study." if len(studies) == 1 else "these studies.")
        parts = []
        for uid in series:
            node, ticked = self._series[uid], len(self.ticked[uid])
            what = f"{node.title()} {node.row.modality} {node.row.description}".strip()
            parts.append(what if ticked >= len(node.images) else f"{plural(ticked, 'image')} of {what}")
        images = sum(len(self.ticked[uid]) for uid in series)
        shown = ", ".join(parts[:4]) + (f" and {len(parts) - 4} more series" if len(parts) > 4 else "")
        return f"Only {shown} ({plural(images, 'image')})."

    def first_field(self) -> QWidget | None:
        return self.tree

    def problem(self) -> str | None:
        if self.failed:
            return "The series and images could not be read; close the wizard and try again."
        if not self.loaded:
            return "Reading the series and images…"
        if not any(self.ticked.values()):
            return "Tick at least one image to export."
        return None
