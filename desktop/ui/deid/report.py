"""The end of a de-identified export: what was written and where, or why nothing was.

A refused export lists every file with each leak the check found. Leak descriptions name the
kind of identifier and where it was found, never its value, so they are safe to show and copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.app.common.formatting import plural
from desktop.app.deid.deidentifying import DeidReport
from desktop.app.deid.summary import summarise
from desktop.ui.common.tables import read_only_rows

REFUSED_HELP = (
    "Veil re-read every de-identified copy and found identifiers of the original in the files "
    "below, so it wrote nothing. Each line says which kind of identifier was found and where, never "
    "its value. Try a stricter profile (fewer Retain or Clean options), or leave these files out.")
CANCELLED_HELP = "The export was stopped before it finished. No file was written; export again to finish it."


def open_folder(path: Path) -> bool:
    """Show ``path`` in the system's file manager."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def headline(report: DeidReport, cancelled: bool) -> str:
    """The report's first line (``cancelled`` as the person asked, whatever the report says)."""
    if cancelled and not report.refused:
        return "Export cancelled. Nothing was written."
    return report.headline()


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], parent: QWidget) -> QTableWidget:
    table = QTableWidget(len(rows), len(headers), parent)
    table.setHorizontalHeaderLabels(list(headers))
    read_only_rows(table)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            table.setItem(r, c, item)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    table.resizeColumnsToContents()
    for c in range(len(headers) - 1):
        header.resizeSection(c, min(header.sectionSize(c) + 16, 460))
    return table


class DeidReportDialog(QDialog):
    """Headline, pseudonyms and folder (with a button to open it), leaks and rejected files."""

    def __init__(self, report: DeidReport, cancelled: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DeidReportDialog")
        self.setWindowTitle("De-identification report")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(900, 460)
        self.report = report
        self.cancelled = cancelled and not report.refused

        self.headline = QLabel(headline(report, cancelled), self)
        self.headline.setObjectName("DeidHeadline")
        self.headline.setWordWrap(True)
        self.headline.setProperty("role", "warning" if report.refused or self.cancelled else "section")
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        consent = report.consent
        if report.refused_by_consent and consent is not None:
            note = None
            refusal = QLabel(consent.message, self)
            refusal.setObjectName("ConsentRefusal")
            refusal.setWordWrap(True)
            refusal.setTextFormat(Qt.TextFormat.PlainText)
            refusal.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(refusal)
        else:
            note = REFUSED_HELP if report.refused else CANCELLED_HELP if self.cancelled else None
        if note:
            layout.addWidget(self._muted(note))
        if consent is not None and consent.allowed and not report.refused and report.written:
            basis = ("Shared for the patient's care on override; the justification is in the audit log."
                     if consent.overridden else
                     f"Consent relied on: {plural(len(consent.relied_on), 'record')}, for {consent.purpose.title}.")
            limits = "".join(f"\nLimit set by the patient: {limit}" for limit in consent.limits)
            layout.addWidget(self._muted(basis + limits + "\nThis disclosure is in the accounting of disclosures."))
        self.written = bool(report.written) and not report.refused and not self.cancelled
        if self.written:
            where = QLabel(f"Written to {report.out_dir}", self)
            where.setObjectName("DeidWhere")
            where.setWordWrap(True)
            where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(where)
            layout.addWidget(self._muted("Each file is PSEUDONYM/STUDY/SERIES/INSTANCE.dcm, named by "
                                         "the new UIDs; no folder or file name carries identity."))

        self.tabs = QTabWidget(self)
        still = [(label, leak.describe()) for label, leaks in report.leaks for leak in leaks]
        if not report.all_or_nothing:
            still += [(r.label, r.why) for r in report.residual]
        self.leak_table = _table(["File", "What was found, and where"], still, self)
        self.leak_table.setObjectName("LeakTable")
        self.summary_table = _table(["Action", "Why", "Attributes"],
                                    [(line.action, line.why, ", ".join(line.attributes))
                                     for line in summarise(report.actions)], self)
        self.summary_table.setObjectName("DeidSummaryTable")
        self.pseudonym_table = _table(["Pseudonym", "Instances"],
                                      [(p, f"{n:,}") for p, n in sorted(report.pseudonyms.items())], self)
        self.pseudonym_table.setObjectName("PseudonymTable")
        self.rejected_table = _table(["File", "Why it was not de-identified"],
                                     [(r.label, r.reason) for r in report.rejected], self)
        self.rejected_table.setObjectName("DeidRejectedTable")
        for table, title, shown in (
                (self.leak_table, (f"Left out ({plural(report.left_out, 'file')})" if report.left_out
                                   else f"Leaks ({plural(len(report.leaks), 'file')})"), bool(still)),
                (self.summary_table, "What was done", bool(report.actions) and self.written),
                (self.pseudonym_table, f"Pseudonyms ({len(report.pseudonyms):,})", bool(report.pseudonyms)),
                (self.rejected_table, f"Not de-identified ({len(report.rejected):,})", bool(report.rejected))):
            if shown:
                self.tabs.addTab(table, title)
            else:
                table.hide()  # not in a layout: it would sit over the headline
        if self.tabs.count():
            layout.addWidget(self.tabs, 1)
        else:
            layout.addStretch(1)
        if report.duplicates:
            layout.addWidget(self._muted(f"{plural(len(report.duplicates), 'input')} duplicated another "
                                         "instance and was written once."))

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        self.open_button = QPushButton("Open Folder", self)
        self.open_button.setObjectName("OpenExportFolder")
        self.open_button.setToolTip(f"Show {report.out_dir} in the file manager")
        self.open_button.clicked.connect(lambda: open_folder(report.out_dir))
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.setVisible(self.written)  # after addButton, which shows it
        layout.addWidget(buttons)

    def _muted(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setWordWrap(True)
        label.setProperty("role", "muted")
        return label
