"""The import report: counts, and every rejected (and duplicate) file with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath, PurePosixPath

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.app.library.importing import ImportReport
from desktop.ui.common.tables import read_only_rows


class _MiddleElide(QStyledItemDelegate):
    """Elide in the middle: the start and the end of a folder path both matter."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


def split_label(label: str) -> tuple[str, str]:
    """(file name, where it is) of an import label: a path, or ``archive.zip::member``."""
    if "::" in label:
        archive, member = label.split("::", 1)
        return PurePosixPath(member).name or member, f"{archive} (zip)"
    path = PurePath(label)
    return path.name or label, str(path.parent)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], full: Sequence[Sequence[str]],
           parent: QWidget) -> QTableWidget:
    """A read-only table showing ``rows``; Copy puts the matching ``full`` rows on the clipboard."""
    table = QTableWidget(len(rows), len(headers), parent)
    table.setHorizontalHeaderLabels(list(headers))
    read_only_rows(table)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setToolTip("\n".join(full[r]))
            table.setItem(r, c, item)
    table.setProperty("full_rows", ["\t".join(f) for f in full])
    table.setItemDelegateForColumn(len(headers) - 1, _MiddleElide(table))
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    table.resizeColumnsToContents()
    for c in range(len(headers) - 1):
        header.resizeSection(c, min(header.sectionSize(c) + 16, 300 if c == 0 else 560))
    shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Copy), table)
    shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
    shortcut.activated.connect(lambda: copy_rows(table, selected_only=True))
    return table


def table_text(table: QTableWidget, selected_only: bool = False) -> str:
    """Rows of ``table`` as tab-separated lines, with full paths (what Copy puts out)."""
    full: list[str] = table.property("full_rows") or []
    rows = sorted({i.row() for i in table.selectedIndexes()}) if selected_only else range(len(full))
    return "\n".join(full[r] for r in rows)


def copy_rows(table: QTableWidget, selected_only: bool = False) -> None:
    text = table_text(table, selected_only)
    if text:
        QGuiApplication.clipboard().setText(text + "\n")


def _rejected_row(label: str, reason: str) -> tuple[str, str, str]:
    name, folder = split_label(label)
    return name, reason, folder


class ImportReportDialog(QDialog):
    """Non-modal: the window stays usable while the report is open."""

    def __init__(self, report: ImportReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ImportReportDialog")
        self.setWindowTitle("Import report")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(1100, 560)
        self.report = report

        summary = QLabel(report.summary(), self)
        summary.setWordWrap(True)
        summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        counts = QFormLayout()
        counts.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        for label, value in (("Imported:", report.imported),
                             ("Already in the library:", report.already_present),
                             ("Duplicates:", len(report.duplicates)),
                             ("Rejected:", len(report.rejected))):
            counts.addRow(label, QLabel(f"{value:,}", self))

        self.rejected_table = _table(
            ["File", "Reason", "Folder"],
            [_rejected_row(r.label, r.reason) for r in report.rejected],
            [(r.label, r.reason) for r in report.rejected], self)
        self.rejected_table.setObjectName("RejectedTable")
        self.duplicates_table = _table(
            ["File", "Folder"], [split_label(label) for label in report.duplicates],
            [(label,) for label in report.duplicates], self)
        self.duplicates_table.setObjectName("DuplicatesTable")
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.rejected_table, f"Rejected ({len(report.rejected):,})")
        self.tabs.addTab(self.duplicates_table, f"Duplicates ({len(report.duplicates):,})")
        self.tabs.setTabToolTip(1, "Same SOP Instance UID as an instance already in the library, "
                                   "other bytes (often another transfer syntax). The first one is kept.")

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        copy = QPushButton("Copy list", self)
        copy.setToolTip("Copy every row of the shown list, tab-separated, to the clipboard")
        copy.clicked.connect(self.copy_current)
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)

        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        if report.cancelled:
            note = QLabel("The import was cancelled. Importing the same files again finishes it; "
                          "files already imported are not added twice.", self)
            note.setWordWrap(True)
            note.setProperty("role", "muted")
            layout.addWidget(note)
        layout.addLayout(counts)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)

    def copy_current(self) -> None:
        """Copy the list in the current tab."""
        table = self.tabs.currentWidget()
        if isinstance(table, QTableWidget):
            copy_rows(table)
