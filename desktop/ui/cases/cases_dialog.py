"""Teaching Cases: every case in the library, searched by its text, keywords and diagnosis
and filtered by modality, each with the consent state of its studies today. A case whose
consent was withdrawn is marked and cannot be exported (the gate refuses it; Export is off)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.app.cases import casebook
from desktop.app.cases.casebook import CaseListing
from desktop.app.library.home import VeilHome
from desktop.ui.common.background import run_in_background
from desktop.ui.common.tables import read_only_rows
from desktop.ui.common.theme import DANGER
from desktop.ui.common.widgets import label

COLUMNS = ("Title", "Diagnosis", "Modality", "Key images", "Consent", "Changed")
SEARCH_PAUSE_MS = 250


class CasesDialog(QDialog):
    """The list of teaching cases (see the module)."""

    #: Open a case in the editor (its id).
    open_requested = Signal(int)
    #: Export cases (their ids and titles).
    export_requested = Signal(list, list)

    def __init__(self, home: VeilHome, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CasesDialog")
        self.setWindowTitle("Teaching Cases")
        self.home = home
        self.rows: list[CaseListing] = []
        self.search_edit = QLineEdit(self)
        self.search_edit.setObjectName("CaseSearch")
        self.search_edit.setPlaceholderText("Search title, history, findings, diagnosis, keywords, captions…")
        self.search_edit.setClearButtonEnabled(True)
        self.modality_combo = QComboBox(self)
        self.modality_combo.addItem("All modalities", "")
        for modality in ("CT", "MR", "CR", "DX", "MG", "US", "NM", "PT", "XA", "RF", "OT"):
            self.modality_combo.addItem(modality, modality)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("CasesTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        read_only_rows(self.table)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemDoubleClicked.connect(lambda _item: self.open_current())
        QShortcut(QKeySequence(Qt.Key.Key_Return), self.table, self.open_current)
        self.table.itemSelectionChanged.connect(self._sync_buttons)
        self.empty_label = label("No teaching case yet. Select a study and choose File > New Teaching Case, or "
                                 "press K on an image in the viewer.", self, "muted", name="NoCases")
        self.open_button = QPushButton("Open", self)
        self.open_button.clicked.connect(self.open_current)
        self.export_button = QPushButton("Export…", self)
        self.export_button.clicked.connect(self._export)
        self.delete_button = QPushButton("Delete…", self)
        self.delete_button.clicked.connect(self.delete_current)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        top = QHBoxLayout()
        top.addWidget(self.search_edit, 1)
        top.addWidget(self.modality_combo)
        buttons = QHBoxLayout()
        for button in (self.open_button, self.export_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._pause = QTimer(self)
        self._pause.setSingleShot(True)
        self._pause.setInterval(SEARCH_PAUSE_MS)
        self._pause.timeout.connect(self.reload)
        self.search_edit.textChanged.connect(lambda _t: self._pause.start())
        self.modality_combo.currentIndexChanged.connect(lambda _i: self.reload())
        self.resize(900, 520)
        self._sync_buttons()
        self.reload()

    def reload(self) -> None:
        """Read the cases again (off the UI thread), as the search and filter say."""
        home, text, modality = self.home, self.search_edit.text(), self.modality_combo.currentData()
        run_in_background(lambda _p: casebook.listing(home, text, modality), self._show, lambda _exc: None,
                          key=f"cases-{id(self)}", context=self)

    def _show(self, rows: list[CaseListing]) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, item in enumerate(rows):
            row = item.row
            consent = item.consent.title + (": cannot be exported" if item.withdrawn else "")
            values = (row.title, row.diagnosis, row.modality, str(row.key_images), consent, row.updated[:10])
            for c, value in enumerate(values):
                cell = QTableWidgetItem(value)
                if c == 4:
                    cell.setToolTip(item.why)
                if item.withdrawn:
                    cell.setForeground(QBrush(QColor(DANGER)))
                self.table.setItem(r, c, cell)
        searching = bool(self.search_edit.text().strip() or self.modality_combo.currentData())
        self.empty_label.setText("No case matches." if searching else self.empty_label.text())
        self.empty_label.setVisible(not rows)
        if rows and self.table.currentRow() < 0:
            self.table.selectRow(0)
        self._sync_buttons()

    def current(self) -> CaseListing | None:
        row = self.table.currentRow()
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def _sync_buttons(self) -> None:
        item = self.current()
        self.open_button.setEnabled(item is not None)
        self.delete_button.setEnabled(item is not None)
        self.export_button.setEnabled(item is not None and not item.withdrawn and item.row.key_images > 0)
        if item is not None and item.withdrawn:
            self.export_button.setToolTip("Consent for this case's study was withdrawn: it cannot be exported.")
        else:
            self.export_button.setToolTip("A PowerPoint deck or slide images, de-identified, through the gate")

    def open_current(self) -> None:
        item = self.current()
        if item is not None:
            self.open_requested.emit(item.row.id)

    def _export(self) -> None:
        item = self.current()
        if item is not None and not item.withdrawn:
            self.export_requested.emit([item.row.id], [item.row.title])

    def delete_current(self) -> None:
        item = self.current()
        if item is None:
            return
        answer = QMessageBox.question(self, "Delete teaching case",
                                      f"Delete \u201c{item.row.title}\u201d? Its images stay in the library.")
        if answer == QMessageBox.StandardButton.Yes:
            casebook.delete(self.home, item.row.id)
            self.reload()
