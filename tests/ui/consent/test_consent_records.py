"""Consent Records as a person uses it: the records and their state, viewing the scanned form
without leaving a copy, withdrawing and seeing the exports that relied on the consent."""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from desktop.app.consent.consenting import add_consent, find_patient
from desktop.core.consent import Basis, ConsentRecord, Method, Purpose, Scope
from desktop.ui.common import theme
from desktop.ui.consent import panel as consent_panel
from desktop.ui.consent.form_view import FormImageDialog
from desktop.ui.consent.panel import COLUMNS, ConsentRecordsDialog
from tests.ui.consent_helpers import (
    badge_of,
    click,
    export_for_teaching,
    pdf_file,
    png_file,
    select,
    teaching_consent,
    tick,
    wait_badges,
)
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS, import_and_wait


def ct_study(window):
    return next(s for s in window.catalogue.studies if s.modalities == "CT")


def open_records(qtbot, window, patient_text: str = "CT1") -> ConsentRecordsDialog:
    """Select the patient's study and press Ctrl+Shift+L."""
    select(window, patient_text)
    window.activateWindow()
    window.browser.studies_view.setFocus()
    qtbot.keyClick(window.browser.studies_view, Qt.Key.Key_L,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = window.consent.records_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.patient is not None, timeout=IMPORT_TIMEOUT_MS)
    return dialog


def cells(dialog: ConsentRecordsDialog, row: int = 0) -> dict[str, str]:
    return {title: dialog.table.item(row, c).text() for c, title in enumerate(COLUMNS)}


def choose_row(qtbot, dialog: ConsentRecordsDialog, row: int = 0) -> None:
    rect = dialog.table.visualRect(dialog.table.model().index(row, 0))
    qtbot.mouseClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def form_copies(home) -> list[Path]:
    return [p for p in (home.path / "tmp").iterdir() if "consent-form" in p.name]


def test_the_records_show_basis_purposes_scope_validity_state_limits_and_form(qtbot, window, few_dicoms, tmp_path):
    import_and_wait(qtbot, window, [few_dicoms])
    study = ct_study(window)
    key = find_patient(window.home, study_uid=study.study_uid).key
    add_consent(window.home, ConsentRecord(
        basis=Basis.CONSENT, scope=Scope(key, frozenset({study.study_uid})),
        purposes=frozenset({Purpose.TEACHING, Purpose.RESEARCH}), protocol_id="NEURO-7",
        obtained_on=date(2020, 3, 1), valid_until=date(2021, 3, 1), recorded_by="tests",
        method=Method.VERBAL, witness="Nurse Li Wei", obtained_by="Dr Ana Silva", limits="no facial images"),
        form=png_file(tmp_path / "form.png"))
    dialog = open_records(qtbot, window)
    assert "CompressedSamples, CT1" in dialog.title.text()
    assert dialog.table.rowCount() == 1
    row = cells(dialog)
    assert row["Basis"] == "Patient's consent\nVerbal, with a witness, obtained by Dr Ana Silva; witness Nurse Li Wei"
    assert row["Purposes"] == "Teaching\nResearch (protocol NEURO-7)"
    assert row["Covers"] == "CT 2004-01-19 'e+1'"
    assert row["Valid"] == "from 2020-03-01\nuntil 2021-03-01"
    assert row["Today"] == "Expired 2021-03-01"
    assert dialog.table.item(0, COLUMNS.index("Today")).foreground().color().name() == "#b59a6e"
    assert row["Limits"] == "no facial images"
    assert row["Scanned form"].startswith("form.png\n")
    # every line of a cell is visible: the row is as tall as its longest cell
    assert dialog.table.rowHeight(0) >= 2 * dialog.table.fontMetrics().lineSpacing()
    assert not dialog.withdraw_button.isEnabled() and not dialog.view_button.isEnabled()
    choose_row(qtbot, dialog)
    assert dialog.withdraw_button.isEnabled() and dialog.view_button.isEnabled()


def test_an_image_form_is_shown_in_a_window_and_never_written_to_disk(qtbot, window, few_dicoms, tmp_path):
    import_and_wait(qtbot, window, [few_dicoms])
    teaching_consent(window.home, ct_study(window).study_uid)
    study = ct_study(window)
    key = find_patient(window.home, study_uid=study.study_uid).key
    add_consent(window.home, ConsentRecord(
        basis=Basis.CONSENT, scope=Scope(key), purposes=frozenset({Purpose.CONFERENCE}), obtained_on=date(2026, 2, 1),
        recorded_by="tests", method=Method.WRITTEN, obtained_by="Dr Ana Silva"),
        form=png_file(tmp_path / "scan.png", 300, 200))
    dialog = open_records(qtbot, window)
    assert dialog.table.rowCount() == 2
    choose_row(qtbot, dialog, 1)
    click(qtbot, dialog.view_button)
    qtbot.waitUntil(lambda: getattr(dialog, "form_dialog", None) is not None, timeout=IMPORT_TIMEOUT_MS)
    viewer = dialog.form_dialog
    assert isinstance(viewer, FormImageDialog) and viewer.isVisible()
    assert viewer.windowTitle() == "Scanned form: scan.png"
    assert (viewer.pixmap.width(), viewer.pixmap.height()) == (300, 200)
    shown = viewer.canvas.target()  # painted whole, at its own size when it fits
    assert (shown.width(), shown.height()) == (300, 200)
    viewer.resize(160, 160)
    QApplication.processEvents()
    shown = viewer.canvas.target()  # scaled down, shape kept
    assert shown.width() <= viewer.canvas.width() and abs(shown.width() / shown.height() - 1.5) < 0.05
    assert form_copies(window.home) == []
    actions = [line for line in window.home.audit_path.read_text().splitlines() if "consent.form_viewed" in line]
    assert len(actions) == 1  # looking at the form is accounted for


def test_a_pdf_form_opens_from_a_private_copy_deleted_when_the_window_closes(qtbot, window, few_dicoms, tmp_path,
                                                                               monkeypatch):
    import_and_wait(qtbot, window, [few_dicoms])
    study = ct_study(window)
    key = find_patient(window.home, study_uid=study.study_uid).key
    pdf = pdf_file(tmp_path / "Doe Jane consent.pdf")
    add_consent(window.home, ConsentRecord(
        basis=Basis.CONSENT, scope=Scope(key), purposes=frozenset({Purpose.TEACHING}), obtained_on=date(2026, 2, 1),
        recorded_by="tests", method=Method.WRITTEN, obtained_by="Dr Ana Silva"), form=pdf)
    opened: list[Path] = []
    monkeypatch.setattr(consent_panel, "open_pdf", lambda path: opened.append(path) or True)
    dialog = open_records(qtbot, window)
    choose_row(qtbot, dialog)
    click(qtbot, dialog.view_button)
    qtbot.waitUntil(lambda: bool(opened), timeout=IMPORT_TIMEOUT_MS)
    [copy] = opened
    assert copy.parent == window.home.path / "tmp"
    assert "Doe" not in copy.name and copy.suffix == ".pdf"  # named without the patient
    assert copy.read_bytes() == pdf.read_bytes()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert "temporary copy is deleted" in dialog.status.text()
    dialog.close()
    QApplication.processEvents()
    assert not copy.exists()
    assert form_copies(window.home) == []


def test_escape_also_deletes_the_pdf_copy(qtbot, window, few_dicoms, tmp_path, monkeypatch):
    import_and_wait(qtbot, window, [few_dicoms])
    study = ct_study(window)
    key = find_patient(window.home, study_uid=study.study_uid).key
    add_consent(window.home, ConsentRecord(
        basis=Basis.CONSENT, scope=Scope(key), purposes=frozenset({Purpose.TEACHING}), obtained_on=date(2026, 2, 1),
        recorded_by="tests", method=Method.WRITTEN, obtained_by="Dr Ana Silva"), form=pdf_file(tmp_path / "f.pdf"))
    opened: list[Path] = []
    monkeypatch.setattr(consent_panel, "open_pdf", lambda path: opened.append(path) or True)
    dialog = open_records(qtbot, window)
    choose_row(qtbot, dialog)
    click(qtbot, dialog.view_button)
    qtbot.waitUntil(lambda: bool(opened), timeout=IMPORT_TIMEOUT_MS)
    assert opened[0].exists()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not opened[0].exists()


def test_withdrawing_lists_the_exports_that_relied_on_it_and_the_badge_turns_red(qtbot, window, few_dicoms,
                                                                                  tmp_path):
    import_and_wait(qtbot, window, [few_dicoms])
    study = ct_study(window)
    teaching_consent(window.home, study.study_uid)
    export_for_teaching(window.home, study.study_uid, tmp_path / "out")
    window.refresh()
    wait_badges(qtbot, window, "CT1", "✓ Consent")
    dialog = open_records(qtbot, window)
    assert cells(dialog)["Today"] == "Valid"
    choose_row(qtbot, dialog)
    click(qtbot, dialog.withdraw_button)
    ask = dialog.withdraw_dialog
    assert ask is not None and ask.isVisible()
    assert not ask.ok.isEnabled()
    assert ask.problem.text() == "A withdrawal needs a reason."
    qtbot.keyClicks(ask.reason, "The patient asked by letter")
    assert ask.ok.isEnabled()
    click(qtbot, ask.ok)
    qtbot.waitUntil(lambda: getattr(dialog, "result_dialog", None) is not None, timeout=IMPORT_TIMEOUT_MS)
    result = dialog.result_dialog
    assert result.isVisible()
    assert result.summary.text().startswith("1 export relied on it before.")
    assert result.summary.property("role") == "warning"
    assert result.table.rowCount() == 1
    headers = [result.table.horizontalHeaderItem(c).text() for c in range(result.table.columnCount())]
    row = {h: result.table.item(0, c).text() for c, h in enumerate(headers)}
    assert row["Purpose"] == "Teaching"
    assert row["Recipient"] == "Residents' teaching file"
    assert row["What was sent"].startswith("CT 2004-01-19 'e+1': 1 image")
    assert row["Where"] == str(tmp_path / "out")
    assert row["Date"].startswith(date.today().isoformat())
    click(qtbot, result.findChild(type(dialog.withdraw_button), "CopyDisclosures"))
    copied = QGuiApplication.clipboard().text()
    assert "Residents' teaching file" in copied and str(tmp_path / "out") in copied
    wait_badges(qtbot, window, "CT1", "✗ Consent withdrawn")
    assert badge_of(window, "CT1")[1] == theme.DANGER
    qtbot.waitUntil(lambda: cells(dialog)["Today"].startswith("Withdrawn"), timeout=IMPORT_TIMEOUT_MS)
    assert "The patient asked by letter" in cells(dialog)["Today"]
    assert dialog.selected() is not None and dialog.selected().withdrawn_on == date.today()  # still chosen
    assert not dialog.withdraw_button.isEnabled()  # it is withdrawn: nothing left to withdraw


def test_withdrawing_a_consent_nothing_relied_on_says_so(qtbot, window, few_dicoms):
    import_and_wait(qtbot, window, [few_dicoms])
    teaching_consent(window.home, ct_study(window).study_uid)
    dialog = open_records(qtbot, window)
    choose_row(qtbot, dialog)
    click(qtbot, dialog.withdraw_button)
    qtbot.keyClicks(dialog.withdraw_dialog.reason, "Changed her mind")
    click(qtbot, dialog.withdraw_dialog.ok)
    qtbot.waitUntil(lambda: getattr(dialog, "result_dialog", None) is not None, timeout=IMPORT_TIMEOUT_MS)
    assert dialog.result_dialog.summary.text().startswith("No export relied on it")
    assert dialog.result_dialog.table.isHidden()


def test_record_from_the_records_window_adds_a_row(qtbot, window, few_dicoms):
    import_and_wait(qtbot, window, [few_dicoms])
    dialog = open_records(qtbot, window)
    assert dialog.table.rowCount() == 0
    assert "No consent" in dialog.status.text()
    window.browser.filter_edit.setText("MR1")  # the browser moved on: Record… stays with this patient
    click(qtbot, dialog.record_button)
    record = window.consent.record_dialog
    qtbot.waitUntil(lambda: record.patient is not None, timeout=IMPORT_TIMEOUT_MS)
    assert record.patient == dialog.patient
    tick(qtbot, record.purposes.boxes[Purpose.PUBLICATION])
    qtbot.keyClicks(record.basis.obtained_by, "Dr Ana Silva")
    click(qtbot, record.save_button)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=IMPORT_TIMEOUT_MS)
    assert cells(dialog)["Purposes"] == "Journal publication"
