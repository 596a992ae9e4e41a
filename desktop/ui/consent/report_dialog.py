"""Reports on screen: the accounting of disclosures of a patient and the audit report
of a date range, each computed off the UI thread, shown as a table of wrapped cells with its
notes, and saved as CSV or PDF (written off the UI thread too, mode 0600: they name patients).

Also the breach report: every patient, study and image that went to a recipient or in
a package (HIPAA 45 CFR 164.404(c), GDPR Art. 33(3)); on screen and in the PDF a row per
disclosure and patient, in its CSV a row per image.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QEvent, QItemSelectionModel, QObject, QRect, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.app.consent.breach_report import BreachReport, breach_report
from desktop.app.consent.consenting import find_patient
from desktop.app.consent.report_files import ReportTable, write_csv, write_pdf
from desktop.app.consent.reporting import audit_report, disclosure_report
from desktop.app.library.home import VeilHome
from desktop.ui.common.background import Progress, run_in_background
from desktop.ui.common.errors import message_for, show_error
from desktop.ui.common.tables import read_only_rows
from desktop.ui.consent.fields import date_edit, to_date

AUDIT_DAYS = 30
Span = tuple[datetime, datetime]
#: Above this many rows, row heights are estimated from line counts instead of measured
#: (measuring takes about 50 ms a thousand rows).
MEASURED_ROWS = 5000
#: A cell shows at most this many lines on screen (an import names every study it added);
#: Copy, Save CSV and Save PDF keep every line.
MAX_CELL_LINES = 12
#: Room a cell's text does not get: the style sheet's item padding and the delegate's margins.
CELL_PADDING = 20
FULL_TEXT = Qt.ItemDataRole.UserRole + 7


# -- a table of wrapped, multi-line cells (shared by the consent windows) ------------------------
def wrapped_table(columns: Sequence[str], rows: Sequence[Sequence[str]], parent: QWidget,
                  weights: Sequence[float] | None = None) -> QTableWidget:
    """A read-only table whose cells wrap and keep their line breaks; Ctrl+C copies the
    selected rows as tab-separated lines."""
    table = QTableWidget(0, len(columns), parent)
    read_only_rows(table)
    table.setWordWrap(True)
    table.setTextElideMode(Qt.TextElideMode.ElideNone)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    table.setHorizontalHeaderLabels(list(columns))
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    table.setProperty("weights", list(weights) if weights else [1.0] * len(columns))
    table.installEventFilter(_Refit(table))
    shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Copy), table)
    shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
    shortcut.activated.connect(lambda: copy_table(table, selected_only=True))
    set_rows(table, rows)
    return table


class _Refit(QObject):
    """Shares the table's width among its columns again whenever the table is resized."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and isinstance(watched, QTableWidget):
            fit_widths(watched)
        return False


def set_rows(table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            lines = text.split("\n")
            shown = text if len(lines) <= MAX_CELL_LINES else "\n".join(
                lines[:MAX_CELL_LINES - 1] + [f"… and {len(lines) - MAX_CELL_LINES + 1} more lines (Copy or Save "
                                              "for all of them)"])
            item = QTableWidgetItem(shown)
            item.setData(FULL_TEXT, text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            if shown != text:
                item.setToolTip(text)
            table.setItem(r, c, item)
    fit_widths(table)


def _usable_width(table: QTableWidget) -> int:
    """The width the columns share: the table's, less its frame and a vertical scroll bar's
    (kept for it, so the columns do not change when it shows)."""
    scroll = table.verticalScrollBar().sizeHint().width()
    return max(table.width() - 2 * table.frameWidth() - scroll, 300)


def fit_widths(table: QTableWidget) -> None:
    """Share the table's width among its columns by their weights, then fit the rows."""
    weights: list[float] = table.property("weights") or [1.0] * table.columnCount()
    width = _usable_width(table)
    total = sum(weights)
    header = table.horizontalHeader()
    for c, weight in enumerate(weights[:-1]):
        header.resizeSection(c, max(60, int(width * weight / total)))
    fit_rows(table)


def content_height(table: QTableWidget, cap: int) -> int:
    """The height that shows every row (at most ``cap``)."""
    rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
    return min(cap, table.horizontalHeader().height() + rows + 2 * table.frameWidth() + 4)


def fit_rows(table: QTableWidget) -> None:
    """Row heights that show every line of every cell, wrapped at its column's width."""
    metrics = table.fontMetrics()
    header = table.horizontalHeader()
    line = metrics.lineSpacing()
    sizes = [header.sectionSize(c) for c in range(table.columnCount())]
    if sizes and header.stretchLastSection():  # the last column gets what the others leave
        sizes[-1] = max(60, _usable_width(table) - sum(sizes[:-1]))
    rooms = [max(size - CELL_PADDING, 20) for size in sizes]
    measure = table.rowCount() <= MEASURED_ROWS
    flags = int(Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    for r in range(table.rowCount()):
        height = line
        for c, room in enumerate(rooms):
            item = table.item(r, c)
            if item is None or not item.text():
                continue
            if measure:
                height = max(height, metrics.boundingRect(QRect(0, 0, room, 1 << 20), flags, item.text()).height())
            else:  # an estimate: every line, wrapped by its width
                lines = sum(max(1, -(-metrics.horizontalAdvance(part) // room)) for part in item.text().split("\n"))
                height = max(height, lines * line)
        table.setRowHeight(r, height + 8)


def select_row(table: QTableWidget, row: int) -> None:
    """Select one whole row (QTableView.selectRow follows the keyboard modifiers held)."""
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    table.selectionModel().setCurrentIndex(table.model().index(row, 0), flags)


def table_text(table: QTableWidget, selected_only: bool = False) -> str:
    """Rows as tab-separated lines (a cell's line breaks become "; "), the header first."""
    rows = sorted({i.row() for i in table.selectedIndexes()}) if selected_only else range(table.rowCount())
    head = [item.text() if (item := table.horizontalHeaderItem(c)) is not None else ""
            for c in range(table.columnCount())]
    lines = ["\t".join(head)]
    for r in rows:
        cells = [(cell.data(FULL_TEXT) or "") if (cell := table.item(r, c)) else "" for c in range(table.columnCount())]
        lines.append("\t".join("; ".join(cell.split("\n")) for cell in cells))
    return "\n".join(lines) if len(lines) > 1 else ""


def copy_table(table: QTableWidget, selected_only: bool = False) -> None:
    text = table_text(table, selected_only)
    if text:
        QGuiApplication.clipboard().setText(text + "\n")


# -- the dialog ----------------------------------------------------------------------------------
def _day_start(day: date) -> datetime:
    return datetime.combine(day, time()).astimezone()


class ReportDialog(QDialog):
    """A report on screen, with Save CSV… and Save PDF…; ``compute(span)`` makes it on a worker
    thread (``span``: the chosen dates as (start, end), or None without a date range)."""

    def __init__(self, compute: Callable[[Any], ReportTable | BreachReport], file_stem: str,
                 parent: QWidget | None = None, date_range: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("ReportDialog")
        self.setWindowTitle("Report")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._compute = compute
        self.file_stem = file_stem
        self.report: ReportTable | None = None
        self.csv_report: ReportTable | None = None  # what Save CSV writes, when not the table shown
        self.saving = 0

        self.title = QLabel("Preparing the report…", self)
        self.title.setObjectName("ReportTitle")
        self.title.setProperty("role", "section")
        self.subtitle = QLabel(self)
        self.subtitle.setObjectName("ReportSubtitle")
        self.subtitle.setProperty("role", "muted")
        self.subtitle.setWordWrap(True)
        for label in (self.title, self.subtitle):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = wrapped_table(["Report"], [], self)
        self.table.setObjectName("ReportTable")
        self.notes = QLabel(self)
        self.notes.setObjectName("ReportNotes")
        self.notes.setProperty("role", "muted")
        self.notes.setWordWrap(True)
        self.notes.setTextFormat(Qt.TextFormat.PlainText)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = QLabel(self)
        self.status.setObjectName("ReportStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.save_csv = QPushButton("Save CSV…", self)
        self.save_csv.setObjectName("SaveCsv")
        self.save_csv.setToolTip("Save the report for a spreadsheet (the file names the patient: keep it safe)")
        self.save_pdf = QPushButton("Save PDF…", self)
        self.save_pdf.setObjectName("SavePdf")
        self.save_pdf.setToolTip("Save the report to print or hand over (the file names the patient: keep it safe)")
        copy = QPushButton("Copy", self)
        copy.setToolTip("Copy the selected rows (every row if none is selected), tab-separated")
        copy.clicked.connect(lambda: copy_table(self.table, selected_only=bool(self.table.selectedIndexes())))
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        self.save_csv.clicked.connect(lambda: self.save("csv"))
        self.save_pdf.clicked.connect(lambda: self.save("pdf"))

        layout = QVBoxLayout(self)
        self.range_row: QHBoxLayout | None = None
        if date_range:
            self._build_range(layout)
        self._build_inputs(layout)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.notes)
        footer = QHBoxLayout()
        footer.addWidget(self.status, 1)
        for button in (copy, self.save_csv, self.save_pdf, close):
            footer.addWidget(button)
        layout.addLayout(footer)
        self._set_report(None)
        self.resize(1280, 720)
        QTimer.singleShot(0, self.refresh)

    def _build_range(self, layout: QVBoxLayout) -> None:
        today = QDate.currentDate()
        self.start_edit = date_edit(self, "The first day of the report")
        self.start_edit.setObjectName("ReportFrom")
        self.start_edit.setDate(today.addDays(-AUDIT_DAYS))
        self.end_edit = date_edit(self, "The last day of the report (included)")
        self.end_edit.setObjectName("ReportTo")
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setObjectName("RefreshReport")
        self.refresh_button.setToolTip("Read the audit log again for these dates")
        self.refresh_button.clicked.connect(self.refresh)
        row = QHBoxLayout()
        for widget in (QLabel("From", self), self.start_edit, QLabel("to", self), self.end_edit,
                       self.refresh_button):
            row.addWidget(widget)
        row.addStretch(1)
        layout.addLayout(row)
        self.range_row = row

    def _build_inputs(self, layout: QVBoxLayout) -> None:
        """Room for a subclass's own choices, above the title."""

    # -- computing ---------------------------------------------------------------------------
    def span(self) -> Span:
        """The audit report's range: from the start day's midnight to the end day's next midnight."""
        start, end = to_date(self.start_edit.date()), to_date(self.end_edit.date())
        if end < start:
            start, end = end, start
        return _day_start(start), _day_start(end + timedelta(days=1))

    def inputs(self) -> object:
        """What the report is computed for: the date range, or None without one."""
        return self.span() if self.range_row is not None else None

    def refresh(self) -> None:
        """Compute the report again, in the background."""
        compute, span = self._compute, self.inputs()
        self.status.setText("Reading…")
        self.status.setProperty("role", "muted")
        self.status.style().polish(self.status)

        def op(_progress: Progress) -> ReportTable | BreachReport:
            return compute(span)

        run_in_background(op, self._on_computed, self._on_failed, key=f"report-{id(self)}", context=self)

    def _on_computed(self, result: ReportTable | BreachReport) -> None:
        """Show what ``compute`` made (the breach report's table, for a breach report)."""
        self._set_report(result.table if isinstance(result, BreachReport) else result)

    def _set_report(self, report: ReportTable | None) -> None:
        self.report = report
        self.status.setText("")
        if report is None:
            self.save_csv.setEnabled(False)
            self.save_pdf.setEnabled(False)
            return
        self.setWindowTitle(report.title)
        self.title.setText(report.title)
        self.subtitle.setText(report.subtitle)
        self.table.setColumnCount(len(report.columns))
        self.table.setHorizontalHeaderLabels(list(report.columns))
        self.table.setProperty("weights", list(report.column_widths or [1.0] * len(report.columns)))
        set_rows(self.table, report.rows)
        self.notes.setText("\n".join(report.notes))
        if not report.rows:
            self.status.setText("Nothing to report for this choice.")
        self.save_csv.setEnabled(True)
        self.save_pdf.setEnabled(True)

    def _on_failed(self, exc: BaseException) -> None:
        self.status.setText(f"The report could not be made: {message_for(exc)}")
        self.status.setProperty("role", "danger")
        self.status.style().polish(self.status)

    # -- saving ------------------------------------------------------------------------------
    def save(self, kind: str) -> None:
        """Ask where, then write the report as CSV or PDF in the background."""
        if self.report is None:
            return
        name = f"{self.file_stem}-{date.today().isoformat()}.{kind}"
        chosen, _ = QFileDialog.getSaveFileName(self, f"Save the report as {kind.upper()}", str(Path.home() / name),
                                                f"{kind.upper()} files (*.{kind})")
        if chosen:
            self.write(Path(chosen), kind)

    def write(self, path: Path, kind: str) -> None:
        if path.suffix.lower() != f".{kind}":
            path = path.with_name(path.name + f".{kind}")
        report, writer = self.report, write_csv if kind == "csv" else write_pdf
        if kind == "csv" and self.csv_report is not None:
            report = self.csv_report
        assert report is not None
        self.saving += 1
        self.status.setText(f"Saving {path.name}…")
        run_in_background(lambda _p: writer(report, path), lambda _r: self._on_saved(path),
                          self._on_save_failed, context=self)

    def _on_saved(self, path: Path) -> None:
        self.saving -= 1
        self.status.setText(f"Saved {path}")
        self.status.setProperty("role", "ok")
        self.status.style().polish(self.status)

    def _on_save_failed(self, exc: BaseException) -> None:
        self.saving -= 1
        self.status.setText("")
        show_error(self, exc, "Cannot save the report")


def disclosures_dialog(home: VeilHome, study_uid: str | None = None, patient_key: str | None = None,
                       parent: QWidget | None = None) -> ReportDialog:
    """The accounting of disclosures of a patient (given by key, or by one of their studies)."""
    def compute(_span: Span | None) -> ReportTable:
        key = patient_key or find_patient(home, study_uid=study_uid).key
        return disclosure_report(home, key)

    dialog = ReportDialog(compute, "accounting-of-disclosures", parent)
    dialog.setWindowTitle("Accounting of disclosures")
    return dialog


def audit_dialog(home: VeilHome, parent: QWidget | None = None) -> ReportDialog:
    """The audit report of a date range (the last 30 days at first)."""
    def compute(span: Span | None) -> ReportTable:
        assert span is not None
        return audit_report(home, *span)

    dialog = ReportDialog(compute, "audit-report", parent, date_range=True)
    dialog.setWindowTitle("Audit report")
    return dialog


class BreachReportDialog(ReportDialog):
    """"When something went to the wrong person": a recipient (name, e-mail or key fingerprint)
    or a package id, then every patient, study and image sent (HIPAA 45 CFR 164.404(c))."""

    KINDS = (("Recipient", "Name, e-mail or key fingerprint of who received it (part of it is enough)"),
             ("Package id", "The package's id, or its first 8 or more characters"))

    def __init__(self, home: VeilHome, parent: QWidget | None = None, recipient: str = "", package: str = "") -> None:
        self._home = home
        self._initial = (1, package) if package else (0, recipient)
        super().__init__(self._make, "breach-report", parent)
        self.setWindowTitle("Disclosures to a recipient or in a package")
        if not self.query.text().strip():
            self.refresh()  # nothing asked yet: say what to do

    def _build_inputs(self, layout: QVBoxLayout) -> None:
        self.kind = QComboBox(self)
        self.kind.setObjectName("BreachKind")
        for name, _hint in self.KINDS:
            self.kind.addItem(name)
        self.query = QLineEdit(self)
        self.query.setObjectName("BreachQuery")
        self.query.setClearButtonEnabled(True)
        self.show_button = QPushButton("Show", self)
        self.show_button.setObjectName("ShowBreach")
        self.show_button.setToolTip("List every patient, study and image that went there (the report is audited)")
        self.kind.currentIndexChanged.connect(self._hint)
        self.query.returnPressed.connect(self.refresh)
        self.show_button.clicked.connect(self.refresh)
        index, text = self._initial
        self.kind.setCurrentIndex(index)
        self.query.setText(text)
        self._hint(index)
        row = QHBoxLayout()
        for widget in (QLabel("Disclosed to", self), self.kind, self.query):
            row.addWidget(widget)
        row.setStretchFactor(self.query, 1)
        row.addWidget(self.show_button)
        layout.addLayout(row)

    def _hint(self, index: int) -> None:
        self.query.setPlaceholderText(self.KINDS[index][1])
        self.query.setToolTip(self.KINDS[index][1])

    def _make(self, chosen: tuple[int, str]) -> BreachReport:
        kind, text = chosen
        return breach_report(self._home, **{"package" if kind else "recipient": text})

    def inputs(self) -> tuple[int, str]:
        """The choice the report is computed for: (0 recipient | 1 package, the text)."""
        return self.kind.currentIndex(), self.query.text().strip()

    def refresh(self) -> None:
        if not self.query.text().strip():
            self.title.setText("What went to someone it should not have?")
            self.status.setText("Type who received it, or the package id, then Show.")
            return
        super().refresh()

    def _on_computed(self, result: ReportTable | BreachReport) -> None:
        if isinstance(result, BreachReport):
            self.csv_report = result.per_image
        super()._on_computed(result)
        if self.report is not None and self.report.rows:
            self.status.setText("Save CSV writes a row per image; the PDF groups them by disclosure and patient.")


def breach_dialog(home: VeilHome, parent: QWidget | None = None, recipient: str = "",
                  package: str = "") -> BreachReportDialog:
    """Every patient, study and image sent to a recipient or in a package."""
    return BreachReportDialog(home, parent, recipient, package)
