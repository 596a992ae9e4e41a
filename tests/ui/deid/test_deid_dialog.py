"""The De-identify dialog as a person uses it: presets and options, the preview, export, cancel."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pydicom
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from desktop.app.deid.deidentifying import DeidReport
from desktop.core.common.errors import VeilError
from desktop.core.deid.leaks import Leak
from desktop.ui.deid import dialog as deid_dialog
from desktop.ui.deid import report as deid_report
from desktop.ui.deid.dialog import DeidDialog
from desktop.ui.deid.preview_model import ChangeTableModel
from tests.conftest import pydicom_test_files, teaching, write_series
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS, import_and_wait, message_boxes

TEACHING_TITLES = {
    "Retain Longitudinal Temporal Information with Modified Dates Option",
    "Retain Patient Characteristics Option",
    "Clean Descriptors Option",
}


# -- helpers -------------------------------------------------------------------------------------
def open_dialog(qtbot, window, filter_text: str | None = "CT1") -> DeidDialog:
    """Select the studies matching ``filter_text`` (None: every study) and press Ctrl+Shift+D."""
    if filter_text is None:
        window.browser.filter_edit.clear()
        window.browser.studies_view.selectAll()
    else:
        window.browser.filter_edit.setText(filter_text)
    assert window.commands.deidentify.isEnabled()
    window.commands.deidentify.trigger()
    dialog = window.deid_dialog
    assert dialog is not None and dialog.isVisible()
    wait_preview(qtbot, dialog)
    wait_consent(qtbot, dialog)
    # The sample library holds ultrasound and screen captures, flagged for burned-in text: these
    # tests are about the dialog, so the person has looked at them (the gate's own tests refuse).
    dialog.confirm_box.setChecked(True)
    return dialog


def wait_preview(qtbot, dialog: DeidDialog) -> None:
    qtbot.waitUntil(lambda: not dialog.preview_pending, timeout=IMPORT_TIMEOUT_MS)


def wait_consent(qtbot, dialog: DeidDialog) -> None:
    qtbot.waitUntil(lambda: not dialog.consent_pending, timeout=IMPORT_TIMEOUT_MS)


def choose_preset(dialog: DeidDialog, title: str) -> None:
    combo = dialog.form.preset_combo
    index = combo.findText(title)
    assert index >= 0, title
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def ticked(dialog: DeidDialog) -> set[str]:
    return {box.text() for box in dialog.form.boxes.values() if box.isChecked()}


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def shown_rows(dialog: DeidDialog) -> list[dict[str, str]]:
    """The preview table as shown: one dict per visible row, by column title."""
    model = dialog.preview_pane.table.model()
    return [{ChangeTableModel.HEADERS[c]: model.index(r, c).data() for c in range(model.columnCount())}
            for r in range(model.rowCount())]


def row_of(dialog: DeidDialog, tag: str) -> dict[str, str]:
    return next(r for r in shown_rows(dialog) if r["Attribute"].startswith(tag + " "))


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def wait_report(qtbot, dialog: DeidDialog):
    qtbot.waitUntil(lambda: dialog.report_dialog is not None and not dialog.busy, timeout=IMPORT_TIMEOUT_MS)
    return dialog.report_dialog


@pytest.fixture
def library(qtbot, window, few_dicoms):
    """The window with five real studies (CT, MR, US, RGB, MR with overlays) imported, and the
    site's policy that allows de-identified teaching exports."""
    import_and_wait(qtbot, window, [few_dicoms])
    teaching(window.home)
    return window


@pytest.fixture
def no_consent(qtbot, window, few_dicoms):
    """The same studies, without any consent record."""
    import_and_wait(qtbot, window, [few_dicoms])
    return window


# -- opening ---------------------------------------------------------------------------------------
def test_the_action_has_a_shortcut_a_tooltip_and_a_context_menu_entry(qtbot, window, few_dicoms):
    action = window.commands.deidentify
    assert action.shortcut() == QKeySequence("Ctrl+Shift+D")
    assert "identity" in action.toolTip()
    assert action in window.browser.studies_view.actions()
    assert window.browser.studies_view.contextMenuPolicy() == Qt.ContextMenuPolicy.ActionsContextMenu
    assert not action.isEnabled()  # nothing to de-identify in an empty library
    import_and_wait(qtbot, window, [few_dicoms])
    assert action.isEnabled()
    window.browser.studies_view.clearSelection()
    assert not action.isEnabled()


def test_several_studies_can_be_de_identified_at_once(qtbot, library):
    dialog = open_dialog(qtbot, library, None)
    assert len(dialog.studies) == 5
    assert dialog.findChild(object, "DeidTitle").text() == "De-identify 5 studies (5 instances)"
    assert dialog.preview_pane.series_combo.count() == 5
    assert dialog.preview_pane.series_combo.isEnabled()


# -- the profile -------------------------------------------------------------------------------------
def test_choosing_a_preset_ticks_its_options_and_sets_its_prefix(qtbot, library):
    dialog = open_dialog(qtbot, library)
    form = dialog.form
    assert form.preset_combo.currentText() == "Teaching file"  # the default
    choose_preset(dialog, "Publication")
    assert ticked(dialog) == set()
    assert form.prefix_edit.text() == "CASE"
    assert "strictest" in form.description.text()
    choose_preset(dialog, "Teaching file")
    assert ticked(dialog) == TEACHING_TITLES
    assert form.prefix_edit.text() == "TEACH"
    assert "teaching" in form.description.text().lower()
    assert [form.preset_combo.itemText(i) for i in range(form.preset_combo.count())] == [
        "Teaching file", "Research", "Publication"]
    for box in form.boxes.values():  # every option says what it does
        assert "PS3.15 E.3" in box.toolTip()


def test_full_dates_and_modified_dates_exclude_each_other(qtbot, library):
    dialog = open_dialog(qtbot, library)
    boxes = dialog.form.boxes
    full, modified = boxes["retain_full_dates"], boxes["retain_modified_dates"]
    assert modified.isChecked() and not full.isChecked()
    click(qtbot, full)
    assert full.isChecked() and not modified.isChecked()
    assert dialog.form.preset_combo.currentText() == "Custom"
    assert dialog.form.profile().options >= {"retain_full_dates"}
    click(qtbot, modified)
    assert modified.isChecked() and not full.isChecked()
    # the options are the preset's again: the preset is shown again, Custom is gone
    assert dialog.form.preset_combo.currentText() == "Teaching file"
    assert dialog.form.preset_combo.findText("Custom") < 0


def test_an_invalid_prefix_disables_export_with_an_explanation(qtbot, library):
    dialog = open_dialog(qtbot, library)
    edit = dialog.form.prefix_edit
    assert dialog.export_button.isEnabled()
    for bad in ("teach", "TEACH 1", "ABCDEFGHIJK", ""):
        edit.clear()
        qtbot.keyClicks(edit, bad)
        assert not dialog.export_button.isEnabled(), bad
        assert dialog.problem_label.isVisible()
        assert "1 to 10 capital letters or digits" in dialog.problem_label.text()
        assert dialog.form.prefix_problem.isVisible()
    wait_preview(qtbot, dialog)
    assert "Fix the pseudonym prefix" in dialog.preview_pane.status.text()
    edit.clear()
    qtbot.keyClicks(edit, "T1")
    assert dialog.export_button.isEnabled()
    assert not dialog.problem_label.isVisible()
    wait_preview(qtbot, dialog)
    assert row_of(dialog, "(0010,0010)")["Result"] == "T1-0001"


def test_an_empty_output_folder_disables_export(qtbot, library):
    dialog = open_dialog(qtbot, library)
    dialog.folder_edit.clear()
    assert not dialog.export_button.isEnabled()
    assert "output folder" in dialog.problem_label.text()


# -- the preview ---------------------------------------------------------------------------------
def test_the_preview_shows_each_attribute_with_its_result_and_rule(qtbot, library):
    dialog = open_dialog(qtbot, library)
    name = row_of(dialog, "(0010,0010)")
    assert name["Attribute"] == "(0010,0010) Patient's Name"
    assert name["Original value"] == "CompressedSamples^CT1"
    assert re.fullmatch(r"TEACH-\d{4}", name["Result"])
    assert name["Action"] == "Replaced"
    institution = row_of(dialog, "(0008,0080)")
    assert institution["Attribute"] == "(0008,0080) Institution Name"
    assert institution["Original value"] == "JFK IMAGING CENTER"
    assert institution["Result"] == "(removed)"
    assert institution["Action"] == "Removed"
    assert institution["Rule"] == "Basic Profile: X/Z/D → X for a Type 3 attribute of this IOD"
    rule_tip = dialog.preview_pane.table.model().index(
        [r["Attribute"] for r in shown_rows(dialog)].index("(0008,0080) Institution Name"),
        ChangeTableModel.RULE).data(Qt.ItemDataRole.ToolTipRole)
    assert rule_tip.startswith("Basic Application Level Confidentiality Profile: X/Z/D → X")
    assert row_of(dialog, "(0010,0040)")["Action"] == "Kept"  # Retain Patient Characteristics
    # each action has its own colour (and a swatch)
    model = dialog.preview_pane.model
    colours = {model.index(r, ChangeTableModel.ACTION).data(Qt.ItemDataRole.ForegroundRole).color().name()
               for r in range(model.rowCount())}
    assert len(colours) >= 4
    assert "removed" in dialog.preview_pane.status.text()


def test_the_preview_filters_and_searches(qtbot, library):
    dialog = open_dialog(qtbot, library)
    pane = dialog.preview_pane
    total = len(shown_rows(dialog))
    pane.filter_combo.setCurrentIndex(pane.filter_combo.findText("Changed only"))
    changed = shown_rows(dialog)
    assert 0 < len(changed) < total and all(r["Action"] != "Kept" for r in changed)
    pane.filter_combo.setCurrentIndex(pane.filter_combo.findText("Kept only"))
    kept = shown_rows(dialog)
    assert kept and all(r["Action"] == "Kept" for r in kept)
    assert len(kept) + len(changed) == total
    assert f"{len(kept):,} shown" in pane.status.text()
    pane.filter_combo.setCurrentIndex(pane.filter_combo.findText("All attributes"))
    qtbot.keyClicks(pane.search_edit, "institution name")
    assert [r["Attribute"] for r in shown_rows(dialog)] == ["(0008,0080) Institution Name"]


def test_the_preview_follows_the_profile(qtbot, library):
    dialog = open_dialog(qtbot, library)
    choose_preset(dialog, "Publication")
    assert dialog.preview_pending  # debounced, computed in the background
    wait_preview(qtbot, dialog)
    assert re.fullmatch(r"CASE-\d{4}", row_of(dialog, "(0010,0010)")["Result"])
    assert row_of(dialog, "(0010,0040)")["Action"] != "Kept"  # no patient characteristics now


def test_the_user_picks_the_instance_to_preview(qtbot, window, tmp_path):
    src = pydicom_test_files() / "CT_small.dcm"
    write_series(src, tmp_path / "series", 3, patient_name="Three^Slices", patient_id="P3")
    import_and_wait(qtbot, window, [tmp_path / "series"])
    dialog = open_dialog(qtbot, window, "Three")
    spin = dialog.preview_pane.instance_spin
    assert spin.maximum() == 3 and spin.suffix() == " of 3"
    assert row_of(dialog, "(0020,0013)")["Original value"] == "1"
    spin.setValue(3)
    wait_preview(qtbot, dialog)
    assert row_of(dialog, "(0020,0013)")["Original value"] == "3"


def test_a_preview_failure_is_shown_not_raised(qtbot, library, monkeypatch):
    def broken(*_args, **_kwargs):
        raise VeilError("This instance cannot be read.")

    monkeypatch.setattr(deid_dialog, "preview", broken)
    dialog = open_dialog(qtbot, library)
    assert "This instance cannot be read." in dialog.preview_pane.status.text()
    assert dialog.preview_pane.model.rowCount() == 0
    assert dialog.export_button.isEnabled()


# -- export ------------------------------------------------------------------------------------------
def test_export_writes_pseudonymised_files_to_the_chosen_folder(qtbot, library, tmp_path, monkeypatch):
    dialog = open_dialog(qtbot, library)
    out = tmp_path / "exports" / "teaching"
    dialog.folder_edit.setText(str(out))
    pseudonym = row_of(dialog, "(0010,0010)")["Result"]
    click(qtbot, dialog.export_button)
    assert dialog.busy and not dialog.export_button.isEnabled() and dialog.cancel_button.isVisible()
    report = wait_report(qtbot, dialog)
    assert not dialog.progress_bar.isVisible()
    files = files_under(out)
    assert len(files) == 1
    ds = pydicom.dcmread(files[0])
    assert str(ds.PatientName) == pseudonym and ds.PatientID == pseudonym
    assert "InstitutionName" not in ds
    assert ds.PatientIdentityRemoved == "YES"
    assert files[0].relative_to(out).parts[0] == pseudonym
    assert report.headline.text().startswith("De-identified 1 instance of 1 patient")
    assert report.pseudonym_table.item(0, 0).text() == pseudonym
    assert str(out) in report.findChild(object, "DeidWhere").text()
    opened = []
    monkeypatch.setattr(deid_report, "open_folder", opened.append)
    click(qtbot, report.open_button)
    assert opened == [out]
    # the same patient keeps the pseudonym, now assigned
    wait_preview(qtbot, dialog)
    assert row_of(dialog, "(0010,0010)")["Result"] == pseudonym
    assert pseudonym in library.statusBar().currentMessage() or "De-identified" in library.statusBar().currentMessage()


def test_cancel_leaves_no_files(qtbot, library, tmp_path, monkeypatch):
    real = deid_dialog.deidentify_studies

    def held(home, profile, uids, out, progress, cancel, workers=None, purpose=None, confirm_burned_in=False):
        calls = [0]

        def gated(done: int, total: int) -> None:
            progress(done, total)
            calls[0] += 1
            if calls[0] == 2:  # one instance staged: wait for the person to press Cancel
                deadline = threading.Event()
                for _ in range(200):
                    if cancel.cancelled:
                        break
                    deadline.wait(0.05)

        return real(home, profile, uids, out, progress=gated, cancel=cancel, workers=workers, purpose=purpose,
                    confirm_burned_in=True)

    monkeypatch.setattr(deid_dialog, "deidentify_studies", held)
    dialog = open_dialog(qtbot, library, None)
    out = tmp_path / "cancelled"
    dialog.folder_edit.setText(str(out))
    click(qtbot, dialog.export_button)
    qtbot.waitUntil(lambda: dialog.progress_bar.value() >= 1, timeout=IMPORT_TIMEOUT_MS)
    assert dialog.progress_bar.maximum() == 5
    click(qtbot, dialog.cancel_button)
    assert dialog.progress_label.text() == "Cancelling…"
    report = wait_report(qtbot, dialog)
    assert report.headline.text() == "Export cancelled. Nothing was written."
    assert not report.open_button.isVisible()
    assert files_under(out) == []
    assert dialog.export_button.isEnabled() and dialog.form.isEnabled()


def test_files_left_out_of_an_export_are_listed_with_each_leak(qtbot, library, tmp_path, monkeypatch):
    leaks = [("library instance 1.2.3", [Leak("patient name", "(0010,0010)", "(0008,1030) Study Description"),
                                         Leak("patient ID", "(0010,0020)", "the file's raw bytes")]),
             ("library instance 1.2.4", [Leak("institution", "(0008,0080)", "(0009,1001) private")])]

    def refused(home, profile, uids, out, progress, cancel, workers=None, purpose=None, **_):
        return DeidReport(profile, Path(out), total=3, written=1, leaks=leaks, pseudonyms={"TEACH-0001": 1},
                          actions={("Occupation", "emptied", "Clean Descriptors Option: personal by nature"): 1},
                          purpose=purpose)

    monkeypatch.setattr(deid_dialog, "deidentify_studies", refused)
    dialog = open_dialog(qtbot, library)
    out = tmp_path / "refused"
    dialog.folder_edit.setText(str(out))
    click(qtbot, dialog.export_button)
    report = wait_report(qtbot, dialog)
    assert report.headline.text().startswith("De-identified 1 instance of 1 patient")
    assert "2 files left out: still identifying after cleaning" in report.headline.text()
    table = report.leak_table
    assert report.tabs.tabText(0) == "Left out (2 files)"
    summary = report.summary_table
    assert [summary.item(0, c).text() for c in range(3)] == ["emptied", "Clean Descriptors Option: personal by nature",
                                                                 "Occupation"]
    rows = [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())]
    assert rows == [("library instance 1.2.3", "patient name from (0010,0010) found in (0008,1030) Study Description"),
                    ("library instance 1.2.3", "patient ID from (0010,0020) found in the file's raw bytes"),
                    ("library instance 1.2.4", "institution from (0008,0080) found in (0009,1001) private")]
    assert report.tabs.currentWidget() is table
    assert files_under(out) == []


def test_an_export_failure_is_reported_and_the_dialog_recovers(qtbot, library, tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(deid_dialog, "deidentify_studies", broken)
    dialog = open_dialog(qtbot, library)
    dialog.folder_edit.setText(str(tmp_path / "x"))
    click(qtbot, dialog.export_button)
    qtbot.waitUntil(lambda: bool(message_boxes("ErrorBox")), timeout=IMPORT_TIMEOUT_MS)
    box = message_boxes("ErrorBox")[0]
    assert "disk on fire" not in box.text()  # a bug's message never reaches the person
    box.close()
    assert not dialog.busy and dialog.export_button.isEnabled()


def start_slow_export(qtbot, library, tmp_path, monkeypatch, name):  # noqa: ANN001, ANN201
    """Open the dialog and start an export that keeps running until it is cancelled."""
    started = threading.Event()
    real = deid_dialog.deidentify_studies

    def slow(home, profile, uids, out, progress, cancel, workers=None, purpose=None, **_):  # noqa: ANN001, ANN202
        started.set()
        for _ in range(200):
            if cancel.cancelled:
                break
            threading.Event().wait(0.05)
        return real(home, profile, uids, out, progress=progress, cancel=cancel, workers=workers, purpose=purpose,
                    confirm_burned_in=True)

    monkeypatch.setattr(deid_dialog, "deidentify_studies", slow)
    dialog = open_dialog(qtbot, library)
    out = tmp_path / name
    dialog.folder_edit.setText(str(out))
    click(qtbot, dialog.export_button)
    qtbot.waitUntil(started.is_set)
    return dialog, out


def test_closing_during_an_export_cancels_it(qtbot, library, tmp_path, monkeypatch):
    dialog, out = start_slow_export(qtbot, library, tmp_path, monkeypatch, "closed")
    dialog.close()
    assert dialog.isVisible() and dialog.progress_label.text() == "Cancelling…"
    qtbot.waitUntil(lambda: library.deid_dialog is None, timeout=IMPORT_TIMEOUT_MS)
    assert files_under(out) == []


def test_an_unusable_output_folder_is_explained(qtbot, library, tmp_path):
    dialog = open_dialog(qtbot, library)
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    dialog.folder_edit.setText(str(blocker / "exports"))
    click(qtbot, dialog.export_button)
    qtbot.waitUntil(lambda: bool(message_boxes("ErrorBox")), timeout=IMPORT_TIMEOUT_MS)
    box = message_boxes("ErrorBox")[0]
    assert box.text().startswith("Cannot write to the output folder")
    assert str(tmp_path) not in box.text()
    box.close()
    assert not dialog.busy


def test_quitting_during_an_export_cancels_it_first(qtbot, library, tmp_path, monkeypatch):
    _dialog, out = start_slow_export(qtbot, library, tmp_path, monkeypatch, "quit")
    library.close()
    assert library.isVisible()  # waits for the export to stop
    qtbot.waitUntil(lambda: not library.isVisible(), timeout=IMPORT_TIMEOUT_MS)
    assert files_under(out) == []


# -- consent -------------------------------------------------------------------------------------
def choose_purpose(dialog: DeidDialog, title: str) -> None:
    combo = dialog.purpose_form.combo
    index = combo.findText(title)
    assert index >= 0, title
    combo.setCurrentIndex(index)


def test_an_export_without_consent_is_refused_naming_the_study(qtbot, no_consent, tmp_path):
    dialog = open_dialog(qtbot, no_consent)
    verdict = dialog.purpose_form.verdict
    assert verdict.text().startswith("✗") and "CT 2004-01-19" in verdict.text()
    assert "no consent or waiver for teaching" in verdict.text()
    assert not dialog.export_button.isEnabled()
    assert "does not allow" in dialog.problem_label.text() and "Purpose and consent" in dialog.problem_label.text()
    assert not dialog.purpose_form.override_button.isVisible()  # only for care
    choose_purpose(dialog, "Publication in a journal")
    assert dialog.purpose_form.verdict.text() == "Checking consent…"
    wait_consent(qtbot, dialog)
    assert "no consent or waiver for journal publication" in dialog.purpose_form.verdict.text()
    assert not dialog.export_button.isEnabled()


def test_a_site_policy_allows_teaching_and_the_export_is_accounted_for(qtbot, library, tmp_path):
    from desktop.core.library.disclosures import disclosures_between

    dialog = open_dialog(qtbot, library)
    assert dialog.purpose_form.verdict.text() == "✓ Consent allows teaching for this study."
    dialog.purpose_form.recipient.setText("Residents' teaching file")
    wait_consent(qtbot, dialog)
    dialog.folder_edit.setText(str(tmp_path / "out"))
    click(qtbot, dialog.export_button)
    report = wait_report(qtbot, dialog)
    assert any("accounting of disclosures" in label.text() for label in report.findChildren(type(report.headline)))
    conn = library.home.connect()
    (disclosure,) = disclosures_between(conn, "2000", "9999")
    conn.close()
    assert (disclosure.purpose, disclosure.recipient) == ("teaching", "Residents' teaching file")


def test_care_without_consent_needs_a_written_justification(qtbot, no_consent, tmp_path, monkeypatch):
    from desktop.ui.consent import purpose_form

    dialog = open_dialog(qtbot, no_consent)
    choose_purpose(dialog, "Care consultation with a named colleague")
    assert dialog.purpose_form.recipient_label.text() == "Colleague"
    assert dialog.problem() == "Name the colleague this is for."
    dialog.purpose_form.recipient.setText("Dr Anna Jones")
    wait_consent(qtbot, dialog)
    form = dialog.purpose_form
    assert "no consent or waiver for care consultation" in form.verdict.text()
    assert form.override_button.isVisible() and not dialog.export_button.isEnabled()

    def answer(box, text):  # the person types a justification and confirms
        box.text.setPlainText(text)
        enabled = box.ok.isEnabled()
        return purpose_form.QDialog.DialogCode.Accepted if enabled else purpose_form.QDialog.DialogCode.Rejected

    monkeypatch.setattr(purpose_form.OverrideDialog, "exec", lambda box: answer(box, "asdf asdf"))
    assert not form.ask_override() and not dialog.export_button.isEnabled()
    why = "Patient transferred tonight; the on-call neurosurgeon must see the scan now."
    monkeypatch.setattr(purpose_form.OverrideDialog, "exec", lambda box: answer(box, why))
    click(qtbot, form.override_button)
    wait_consent(qtbot, dialog)
    assert form.verdict.text().startswith("⚠ Overridden for the patient's care")
    assert not form.override_button.isVisible()
    dialog.folder_edit.setText(str(tmp_path / "care"))
    # Overridden, but a folder never goes to a colleague for care: only an encrypted package (issue 13).
    assert "encrypted to the colleague" in dialog.problem() and not dialog.export_button.isEnabled()
    assert not (tmp_path / "care").exists()
    lines = no_consent.home.audit_path.read_text()
    assert '"action":"consent.override"' not in lines  # nothing was exported, nothing overridden
