"""The look every read-only list in Veil shares: whole rows selected, no editing, alternating
rows, one line per row (text elided, not wrapped), no row numbers."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QTableView, QTableWidget, QTableWidgetItem


def read_only_rows(view: QTableView, extra_height: int = 8) -> QTableView:
    """Style ``view`` (a QTableView or QTableWidget) as a read-only list of rows."""
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + extra_height)
    return view


def cell(table: QTableWidget, row: int, column: int) -> QTableWidgetItem:
    """The item the caller put at (``row``, ``column``); a LookupError if there is none."""
    item = table.item(row, column)
    if item is None:
        raise LookupError(f"No item at row {row}, column {column}.")
    return item
