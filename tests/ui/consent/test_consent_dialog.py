"""Record Consent as a person uses it: the form, its live validation, the badges that follow."""

from __future__ import annotations

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QKeySequence

from desktop.app.consent.consenting import consents_of
from desktop.core.consent import EVERY_PATIENT, Basis, Method, Purpose
from desktop.ui.common import theme
from tests.ui.consent_helpers import (
    badge_of,
    click,
    open_record_dialog,
    png_file,
    select,
    tick,
    two_series_study,
    wait_badges,
)
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS, import_and_wait


def test_the_consent_menu_has_shortcuts_tooltips_and_context_menu_entries(qtbot, window, few_dicoms):
    c = window.commands
    assert c.record_consent.shortcut() == QKeySequence("Ctrl+Shift+K")
    assert c.consent_records.shortcut() == QKeySequence("Ctrl+Shift+L")
    shortcuts = [a.shortcut() for a in window.actions() if not a.shortcut().isEmpty()]
    assert len(shortcuts) == len(set(s.toString() for s in shortcuts))  # no clash
    for action in (c.record_consent, c.consent_records, c.disclosures, c.audit_report):
        assert action.toolTip()
    menu = next(m for m in window.menuBar().actions() if m.text() == "&Consent").menu()
    assert [a.text() for a in menu.actions() if not a.isSeparator()] == [
        "&Record Consent…", "Consent Re&cords…", "&Accounting of Disclosures…",
        "Disclosures to a &Recipient or Package…", "A&udit Report…"]
    context = window.browser.studies_view.actions()
    assert c.record_consent in context and c.consent_records in context
    assert not c.record_consent.isEnabled()  # an empty library: nothing selected
    assert c.audit_report.isEnabled()  # the library is open
    import_and_wait(qtbot, window, [few_dicoms])
    assert c.record_consent.isEnabled() and c.consent_records.isEnabled() and c.disclosures.isEnabled()
    window.browser.studies_view.clearSelection()
    assert not c.record_consent.isEnabled() and not c.disclosures.isEnabled()


def test_every_study_starts_without_consent_shown_muted(qtbot, window, few_dicoms):
    import_and_wait(qtbot, window, [few_dicoms])
    text, colour, tooltip = badge_of(window, "CT1")
    assert text == "– No consent"
    assert colour == theme.MUTED
    assert tooltip == "No consent recorded for this study"


def test_recording_a_written_consent_for_the_study_turns_its_badge_valid(qtbot, window, few_dicoms):
    import_and_wait(qtbot, window, [few_dicoms])
    dialog = open_record_dialog(qtbot, window, "CT1")
    assert "CompressedSamples, CT1" in dialog.title.text()
    assert dialog.basis.radios[Basis.CONSENT].isChecked()  # the defaults: written, today, this study
    assert dialog.basis.method.currentData() == Method.WRITTEN
    assert dialog.basis.obtained_on.date() == QDate.currentDate()
    assert dialog.scope.studies.isChecked()
    assert not dialog.save_button.isEnabled()
    assert dialog.problem_label.text() == "Choose at least one purpose the consent allows."

    tick(qtbot, dialog.purposes.boxes[Purpose.TEACHING])
    tick(qtbot, dialog.purposes.boxes[Purpose.CONFERENCE])
    assert dialog.problem_label.text() == "A consent needs the name of the person who obtained it."
    qtbot.keyClicks(dialog.basis.obtained_by, "Dr Ana Silva")
    qtbot.keyClicks(dialog.validity.limits, "no facial images")
    assert dialog.problem_label.isHidden()
    assert dialog.save_button.isEnabled()
    click(qtbot, dialog.save_button)

    wait_badges(qtbot, window, "CT1", "✓ Consent")
    text, colour, tooltip = badge_of(window, "CT1")
    assert colour == theme.OK
    assert tooltip == "Consent for teaching and conference"
    window.browser.filter_edit.clear()
    assert badge_of(window, "MR1")[0] == "– No consent"  # only that study
    [record] = consents_of(window.home)
    assert record.obtained_by == "Dr Ana Silva" and record.limits == "no facial images"
    assert record.scope.study_uids and record.method is Method.WRITTEN
    assert "Recorded" in window.statusBar().currentMessage()


def test_a_consent_for_some_series_makes_the_study_partial(qtbot, window, tmp_path):
    import_and_wait(qtbot, window, [two_series_study(tmp_path / "two")])
    dialog = open_record_dialog(qtbot, window, "Twoseries")
    assert dialog.scope.series_list.count() == 2
    first = dialog.scope.series_list.item(0)
    assert "AXIAL" in first.text()
    first.setCheckState(Qt.CheckState.Checked)  # the person ticks the first series
    assert dialog.scope.series.isChecked()
    tick(qtbot, dialog.purposes.boxes[Purpose.TEACHING])
    qtbot.keyClicks(dialog.basis.obtained_by, "Dr Ana Silva")
    click(qtbot, dialog.save_button)
    wait_badges(qtbot, window, "Twoseries", "◐ Partial consent")
    text, colour, tooltip = badge_of(window, "Twoseries")
    assert colour == theme.WARNING
    assert tooltip.startswith("Covers 1 of 2 series only")


def test_a_verbal_consent_needs_a_witness(qtbot, window, few_dicoms):
    import_and_wait(qtbot, window, [few_dicoms])
    dialog = open_record_dialog(qtbot, window, "CT1")
    assert dialog.basis.witness.isHidden()
    tick(qtbot, dialog.purposes.boxes[Purpose.TEACHING])
    qtbot.keyClicks(dialog.basis.obtained_by, "Dr Ana Silva")
    assert dialog.save_button.isEnabled()
    dialog.basis.method.setCurrentIndex(dialog.basis.method.findData(Method.VERBAL))
    assert dialog.basis.witness.isVisible()
    assert dialog.problem_label.isVisible()
    assert dialog.problem_label.text() == "A verbal consent needs the witness's name."
    assert dialog.problem_label.property("role") == "warning"
    assert not dialog.save_button.isEnabled()
    qtbot.keyClicks(dialog.basis.witness, "Nurse Li Wei")
    assert dialog.save_button.isEnabled() and dialog.problem_label.isHidden()


def test_care_needs_the_colleague_and_research_the_protocol_shown_only_when_ticked(qtbot, window, few_dicoms):
    import_and_wait(qtbot, window, [few_dicoms])
    dialog = open_record_dialog(qtbot, window, "CT1")
    qtbot.keyClicks(dialog.basis.obtained_by, "Dr Ana Silva")
    assert dialog.purposes.colleague.isHidden() and dialog.purposes.protocol.isHidden()
    tick(qtbot, dialog.purposes.boxes[Purpose.CARE])
    assert dialog.purposes.colleague.isVisible()
    assert dialog.problem_label.text() == "A consent for care consultation needs the colleague's name."
    qtbot.keyClicks(dialog.purposes.colleague, "Dr Anna Jones")
    tick(qtbot, dialog.purposes.boxes[Purpose.RESEARCH])
    assert dialog.purposes.protocol.isVisible()
    assert not dialog.save_button.isEnabled()
    qtbot.keyClicks(dialog.purposes.protocol, "NEURO-7")
    assert dialog.save_button.isEnabled()
    tick(qtbot, dialog.purposes.boxes[Purpose.CARE])  # unticked: the colleague is no longer asked
    assert dialog.purposes.colleague.isHidden() and dialog.save_button.isEnabled()


def test_an_end_date_before_the_start_is_refused(qtbot, window, few_dicoms):
    import_and_wait(qtbot, window, [few_dicoms])
    dialog = open_record_dialog(qtbot, window, "CT1")
    tick(qtbot, dialog.purposes.boxes[Purpose.TEACHING])
    qtbot.keyClicks(dialog.basis.obtained_by, "Dr Ana Silva")
    assert not dialog.validity.valid_until.isEnabled()
    tick(qtbot, dialog.validity.no_end)
    assert dialog.validity.valid_until.isEnabled()
    dialog.validity.valid_until.setDate(QDate.currentDate().addDays(-3))
    assert "cannot end" in dialog.problem_label.text() and not dialog.save_button.isEnabled()
    dialog.basis.obtained_on.setDate(QDate.currentDate().addDays(-10))  # "valid from" follows it
    assert dialog.validity.valid_from.date() == QDate.currentDate().addDays(-10)
    assert dialog.save_button.isEnabled()


def test_a_site_wide_policy_covers_every_study_and_cannot_allow_care(qtbot, window, few_dicoms):
    import_and_wait(qtbot, window, [few_dicoms])
    dialog = open_record_dialog(qtbot, window, "CT1")
    assert not dialog.scope.everyone.isEnabled()  # a patient's consent is one patient's
    tick(qtbot, dialog.basis.radios[Basis.NOT_REQUIRED])
    assert not dialog.purposes.boxes[Purpose.CARE].isEnabled()
    assert dialog.scope.everyone.isEnabled()
    tick(qtbot, dialog.scope.everyone)
    assert dialog.title.text() == "Record a site policy for every patient (site-wide)"
    tick(qtbot, dialog.purposes.boxes[Purpose.TEACHING])
    assert "name of the site policy" in dialog.problem_label.text()
    qtbot.keyClicks(dialog.basis.policy, "Teaching file policy v3")
    click(qtbot, dialog.save_button)
    window.browser.filter_edit.clear()
    # the badge stays the patient's own consent; the site policy is named in every tooltip
    qtbot.waitUntil(lambda: "Site-wide: site policy for teaching, de-identified only" in badge_of(window, "MR1")[2],
                    timeout=30_000)
    assert badge_of(window, "Lestrade")[0] == badge_of(window, "CT1")[0] == "– No consent"
    assert "Site-wide: site policy for teaching, de-identified only" in badge_of(window, "Lestrade")[2]
    [record] = consents_of(window.home)
    assert record.scope.patient_key == EVERY_PATIENT


def test_the_scanned_form_shows_its_name_and_size_and_is_kept(qtbot, window, few_dicoms, tmp_path, monkeypatch):
    import_and_wait(qtbot, window, [few_dicoms])
    dialog = open_record_dialog(qtbot, window, "CT1")
    form = png_file(tmp_path / "signed form.png")
    monkeypatch.setattr("desktop.ui.consent.form_view.QFileDialog.getOpenFileName",
                        lambda *a, **k: (str(form), ""))
    click(qtbot, dialog.form.attach)
    assert dialog.form.label.text() == f"signed form.png · {form.stat().st_size} bytes"
    assert dialog.form.label.property("role") == "ok"
    assert dialog.form.attach.text() == "Replace…"
    not_a_form = tmp_path / "notes.txt"
    not_a_form.write_text("hello")
    dialog.form.set_path(not_a_form)
    assert dialog.problem_label.text() == "The scanned form must be a PDF, PNG or JPEG file."
    dialog.form.set_path(form)
    tick(qtbot, dialog.purposes.boxes[Purpose.TEACHING])
    qtbot.keyClicks(dialog.basis.obtained_by, "Dr Ana Silva")
    click(qtbot, dialog.save_button)
    wait_badges(qtbot, window, "CT1", "✓ Consent")
    [record] = consents_of(window.home)
    assert record.form is not None and record.form.file_name == "signed form.png"
    assert record.form.media_type == "image/png"


def test_studies_of_other_patients_are_left_out_of_the_scope(qtbot, window, few_dicoms):
    import_and_wait(qtbot, window, [few_dicoms])
    window.browser.filter_edit.clear()
    select(window, "")
    window.browser.studies_view.selectAll()
    window.commands.record_consent.trigger()
    dialog = window.consent.record_dialog
    qtbot.waitUntil(lambda: dialog.patient is not None, timeout=IMPORT_TIMEOUT_MS)
    assert dialog.scope.note.isVisible()
    assert "4 selected studies are of other patients" in dialog.scope.note.text()
    assert dialog.scope.studies.text() == "Only the selected study"
