"""The reports on screen: the accounting of disclosures of the selected study's patient and the
audit report of a date range, each saved as CSV and PDF."""

from __future__ import annotations

import stat
from datetime import date

from PySide6.QtCore import QDate, Qt

from desktop.ui.consent import report_dialog
from desktop.ui.consent.report_dialog import MAX_CELL_LINES, ReportDialog, fit_rows, table_text, wrapped_table
from tests.ui.consent_helpers import click, export_for_teaching, select, teaching_consent
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS, import_and_wait, message_boxes


def rows_of(dialog: ReportDialog) -> list[dict[str, str]]:
    t = dialog.table
    heads = [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
    return [{h: t.item(r, c).text() for c, h in enumerate(heads)} for r in range(t.rowCount())]


def wait_report(qtbot, dialog: ReportDialog) -> None:
    qtbot.waitUntil(lambda: dialog.report is not None and dialog.status.text() != "Reading…",
                    timeout=IMPORT_TIMEOUT_MS)


def test_the_accounting_of_disclosures_of_the_selected_patient(qtbot, window, few_dicoms, tmp_path, monkeypatch):
    import_and_wait(qtbot, window, [few_dicoms])
    study = next(s for s in window.catalogue.studies if s.modalities == "CT")
    teaching_consent(window.home, study.study_uid)
    export_for_teaching(window.home, study.study_uid, tmp_path / "out")
    select(window, "CT1")
    window.commands.disclosures.trigger()
    dialog = window.consent.report_dialog
    assert dialog is not None and dialog.isVisible()
    wait_report(qtbot, dialog)
    assert dialog.title.text() == "Accounting of disclosures"
    assert dialog.windowTitle() == "Accounting of disclosures"
    assert "CompressedSamples, CT1" in dialog.subtitle.text() and "1 disclosure" in dialog.subtitle.text()
    [row] = rows_of(dialog)
    assert row["Purpose"] == "Teaching" and row["Recipient"] == "Residents' teaching file"
    assert row["What was sent"].startswith("CT 2004-01-19 'e+1': 1 image")
    assert "\n(de-identified" in row["What was sent"]
    assert row["Consent relied on"].startswith("consent of 2026-01-05 for teaching")
    assert dialog.table.rowHeight(0) >= 2 * dialog.table.fontMetrics().lineSpacing()  # both lines show
    assert "Audit log" in dialog.notes.text()

    csv_path, pdf_path = tmp_path / "reports" / "acc.csv", tmp_path / "reports" / "acc"
    csv_path.parent.mkdir()
    monkeypatch.setattr("desktop.ui.consent.report_dialog.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(csv_path), ""))
    click(qtbot, dialog.save_csv)
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Saved"), timeout=IMPORT_TIMEOUT_MS)
    text = csv_path.read_text(encoding="utf-8-sig")
    assert "Residents' teaching file" in text and "Consent relied on" in text
    assert stat.S_IMODE(csv_path.stat().st_mode) == 0o600
    monkeypatch.setattr("desktop.ui.consent.report_dialog.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(pdf_path), ""))
    click(qtbot, dialog.save_pdf)
    written = pdf_path.with_name("acc.pdf")  # the suffix is added
    qtbot.waitUntil(lambda: dialog.status.text() == f"Saved {written}", timeout=IMPORT_TIMEOUT_MS)
    assert written.read_bytes().startswith(b"%PDF-")
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert dialog.status.property("role") == "ok"


def test_the_audit_report_of_the_last_30_days_and_of_another_range(qtbot, window, few_dicoms, tmp_path,
                                                                   monkeypatch):
    import_and_wait(qtbot, window, [few_dicoms])
    study = next(s for s in window.catalogue.studies if s.modalities == "CT")
    teaching_consent(window.home, study.study_uid)
    assert window.commands.audit_report.isEnabled()
    window.commands.audit_report.trigger()
    dialog = window.consent.audit_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.start_edit.date() == QDate.currentDate().addDays(-30)
    assert dialog.end_edit.date() == QDate.currentDate()
    wait_report(qtbot, dialog)
    assert dialog.title.text() == "Audit report"
    actions = [r["Action"] for r in rows_of(dialog)]
    assert "import" in " ".join(actions) and "consent.add" in actions
    added = next(r for r in rows_of(dialog) if r["Action"] == "consent.add")
    assert "CompressedSamples, CT1" in added["Patient / study"]  # named from the library, not a hash
    assert window.commands.audit_report.trigger() is None and window.consent.audit_dialog is dialog  # one at a time

    dialog.start_edit.setDate(QDate(2001, 1, 1))
    dialog.end_edit.setDate(QDate(2001, 12, 31))
    click(qtbot, dialog.refresh_button)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 0, timeout=IMPORT_TIMEOUT_MS)
    wait_report(qtbot, dialog)
    assert dialog.status.text() == "Nothing to report for this choice."
    assert "2001-01-01 to 2001-12-31" in dialog.subtitle.text()  # the last day included

    out = tmp_path / "audit.csv"
    monkeypatch.setattr("desktop.ui.consent.report_dialog.QFileDialog.getSaveFileName", lambda *a, **k: (str(out), ""))
    click(qtbot, dialog.save_csv)
    qtbot.waitUntil(out.exists, timeout=IMPORT_TIMEOUT_MS)
    assert out.read_text(encoding="utf-8-sig").startswith("#,Time,User,Action")


def test_a_failed_save_is_reported_not_raised(qtbot, window, few_dicoms, tmp_path, monkeypatch):
    import_and_wait(qtbot, window, [few_dicoms])
    window.commands.audit_report.trigger()
    dialog = window.consent.audit_dialog
    wait_report(qtbot, dialog)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    dialog.write(blocker / "inside.csv", "csv")  # a file cannot hold a folder
    qtbot.waitUntil(lambda: bool(message_boxes("ErrorBox")), timeout=IMPORT_TIMEOUT_MS)
    assert not dialog.status.text().startswith("Saved")


def test_rows_are_as_tall_as_their_wrapped_cells_measured_or_estimated(qtbot, monkeypatch):
    long = "word " * 60  # wraps over several lines in a 300-pixel column
    table = wrapped_table(["A", "B"], [["short", "one\ntwo\nthree"], ["short", long]], None)
    qtbot.addWidget(table)
    table.resize(700, 400)
    table.horizontalHeader().resizeSection(0, 300)
    table.horizontalHeader().resizeSection(1, 300)
    fit_rows(table)
    line = table.fontMetrics().lineSpacing()
    assert table.rowHeight(0) >= 3 * line
    assert table.rowHeight(1) >= 4 * line
    assert table.item(0, 1).textAlignment() & Qt.AlignmentFlag.AlignTop
    monkeypatch.setattr(report_dialog, "MEASURED_ROWS", 1)  # long reports: estimated from the lines
    table.setRowHeight(0, 1)
    fit_rows(table)
    assert table.rowHeight(0) >= 3 * line and table.rowHeight(1) >= 4 * line


def test_a_cell_of_many_lines_is_cut_on_screen_but_copied_whole(qtbot):
    many = "\n".join(f"study {n}" for n in range(40))
    table = wrapped_table(["What"], [[many]], None)
    qtbot.addWidget(table)
    shown = table.item(0, 0).text().split("\n")
    assert len(shown) == MAX_CELL_LINES
    assert shown[-1].startswith("… and 29 more lines")
    table.selectAll()
    assert "study 39" in table_text(table, selected_only=True)


def test_a_date_in_the_report_range_is_inclusive(qtbot, window):
    window.commands.audit_report.trigger()
    dialog = window.consent.audit_dialog
    dialog.start_edit.setDate(QDate(2026, 3, 2))
    dialog.end_edit.setDate(QDate(2026, 3, 1))  # given backwards: still the two days
    start, end = dialog.span()
    assert (start.date(), end.date()) == (date(2026, 3, 1), date(2026, 3, 3))


def test_an_export_from_the_deid_dialog_reloads_the_catalogue_and_shows_in_the_accounting(qtbot, window, few_dicoms,
                                                                                          tmp_path):
    from tests.conftest import teaching
    from tests.ui.deid.test_deid_dialog import open_dialog
    from tests.ui.deid.test_deid_dialog import wait_report as wait_export

    import_and_wait(qtbot, window, [few_dicoms])
    teaching(window.home)
    dialog = open_dialog(qtbot, window)
    dialog.folder_edit.setText(str(tmp_path / "out"))
    before = window.catalogue
    click(qtbot, dialog.export_button)
    wait_export(qtbot, dialog)
    qtbot.waitUntil(lambda: window.catalogue is not before, timeout=IMPORT_TIMEOUT_MS)  # read again
    assert window.commands.disclosures.isEnabled()
    window.commands.disclosures.trigger()
    report = window.consent.report_dialog
    wait_report(qtbot, report)
    [row] = rows_of(report)
    assert row["Where"] == str(tmp_path / "out")
    assert "site policy" in row["Consent relied on"]
