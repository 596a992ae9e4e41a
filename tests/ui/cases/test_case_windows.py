"""Teaching cases in the window, as a radiologist makes one: File > New Teaching Case on a
study, K on the images in the viewer, the editor (text, captions, order, undo, save), the
Cases list with its consent state, and the export dialog writing a deck through the gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from pptx import Presentation
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from desktop.app.cases import casebook
from desktop.app.cases.draft import CaseDraft
from desktop.core.cases.case import KeyView
from desktop.ui.cases.editor import CaseEditor
from desktop.ui.cases.export_dialog import CaseExportDialog
from tests.conftest import teaching
from tests.ui.share_helpers import import_ct
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS

OPEN_MS = 20_000


def _sops(home, study_uid: str) -> list[str]:  # noqa: ANN001
    conn = home.connect()
    try:
        return [r[0] for r in conn.execute(
            """SELECT i.sop_instance_uid FROM instances i JOIN series se ON i.series_ref = se.id
               JOIN studies st ON se.study_ref = st.id WHERE st.study_uid = ? ORDER BY i.instance_number""",
            (study_uid,))]
    finally:
        conn.close()


def test_new_case_from_the_menu_then_k_in_the_viewer_marks_the_image_on_screen(qtbot, window, home, tmp_path,
                                                                                monkeypatch):
    study_uid = import_ct(qtbot, window, tmp_path / "ct")
    window.browser.filter_edit.setText("Smith")
    window.browser.studies_view.selectRow(0)
    assert window.commands.new_case.isEnabled()
    monkeypatch.setattr("desktop.ui.cases.windows.QInputDialog.getText",
                        lambda *a, **k: ("Tension pneumothorax", True))
    window.commands.new_case.trigger()
    editor = window.cases.editors[-1]
    qtbot.addWidget(editor)
    assert editor.title_edit.text() == "Tension pneumothorax" and editor.modality_edit.text() == "CT"
    assert "Smith" in editor.patient_label.text() and "Draft of" in editor.patient_label.text()
    assert editor.empty_keys.isVisible() and not editor.export_button.isEnabled()

    study = window.study_row(study_uid)
    viewer = window.open_viewer(study)
    qtbot.addWidget(viewer)
    qtbot.waitUntil(lambda: viewer.view is not None, timeout=OPEN_MS)
    viewer.go_to(1)
    viewer.view.rotation = 1
    viewer.commands.mark_key.trigger()  # K
    assert [k.sop_uid for k in editor.case.key_images] == [_sops(home, study_uid)[1]]
    assert editor.case.key_images[0].view.rotation_quarters == 1
    assert editor.key_list.count() == 1 and "Key image 1 marked" in editor.state_label.text()
    qtbot.waitUntil(lambda: not editor.key_list.item(0).icon().isNull(), timeout=OPEN_MS)  # its thumbnail
    assert editor.save_button.isEnabled() and editor.save()
    assert casebook.load(home, editor.draft.case_id).key_images[0].sop_uid == _sops(home, study_uid)[1]


def test_the_editor_edits_undoes_reorders_captions_and_saves(qtbot, window, home, tmp_path):
    study_uid = import_ct(qtbot, window, tmp_path / "ct")
    sops = _sops(home, study_uid)
    draft = CaseDraft(home, casebook.new_case(home, [study_uid], "Air"))
    for sop in sops:
        draft.mark(sop, 0, KeyView())
    editor = CaseEditor(draft, "Smith, Anna · MRN-1001")
    qtbot.addWidget(editor)
    editor.show()
    # three images at the same view: each gets its own thumbnail
    qtbot.waitUntil(lambda: all(not editor.key_list.item(n).icon().isNull() for n in range(3)), timeout=OPEN_MS)
    editor.long_edits["history"].setPlainText("Stab wound")
    editor.commit_fields()
    assert editor.case.history == "Stab wound"
    editor.title_edit.setText("")
    editor.commit_fields()
    assert "needs a title" in editor.state_label.text() and editor.case.title == "Air"  # refused, not kept
    editor.title_edit.setText("Pneumothorax")
    editor.commit_fields()
    editor.move_key_image(0, 2)
    assert [k.sop_uid for k in editor.case.key_images] == [sops[1], sops[2], sops[0]]
    editor.key_list.setCurrentRow(0)
    editor.caption_edit.setText("Deep sulcus sign")
    editor.caption_edit.editingFinished.emit()
    assert editor.case.key_images[0].caption == "Deep sulcus sign"
    assert editor.key_list.item(0).text() == "1. Deep sulcus sign"
    editor.undo()
    assert editor.case.key_images[0].caption == ""
    editor.undo()
    assert [k.sop_uid for k in editor.case.key_images] == sops
    editor.redo()
    editor.redo()
    assert editor.save() and not editor.save_button.isEnabled() and editor.export_button.isEnabled()
    assert casebook.load(home, editor.draft.case_id).key_images[0].caption == "Deep sulcus sign"
    editor.key_list.setCurrentRow(2)
    editor.remove_current()
    assert len(editor.case.key_images) == 2 and editor.windowTitle().startswith("Pneumothorax •")
    assert editor.save() and not editor.windowTitle().startswith("Pneumothorax •")


def test_closing_with_unsaved_edits_asks(qtbot, window, home, tmp_path, monkeypatch):
    study_uid = import_ct(qtbot, window, tmp_path / "ct")
    editor = CaseEditor(CaseDraft(home, casebook.new_case(home, [study_uid], "Air")), "Smith")
    qtbot.addWidget(editor)
    editor.show()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    editor.close()
    assert editor.isVisible()  # Cancel keeps it open
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Save)
    with qtbot.waitSignal(editor.saved):
        editor.close()
    assert [c.row.title for c in casebook.listing(home)] == ["Air"]


def test_the_cases_list_searches_and_shows_the_consent_state(qtbot, window, home, tmp_path):
    study_uid = import_ct(qtbot, window, tmp_path / "ct")
    sop = _sops(home, study_uid)[0]
    casebook.save(home, casebook.mark(home, casebook.new_case(home, [study_uid], "Pneumothorax"), sop, 0,
                                      KeyView()).with_fields(diagnosis="Tension pneumothorax"))
    casebook.save(home, casebook.new_case(home, [study_uid], "Rib fracture"))
    window.commands.teaching_cases.trigger()
    dialog = window.cases.cases_dialog
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=OPEN_MS)
    assert dialog.table.item(0, 4).text() == "No consent"
    dialog.search_edit.setText("tension")
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=OPEN_MS)
    assert dialog.table.item(0, 0).text() == "Pneumothorax" and dialog.export_button.isEnabled()
    dialog.open_current()
    assert window.cases.editors[-1].case.title == "Pneumothorax"
    qtbot.addWidget(window.cases.editors[-1])


@pytest.mark.parametrize("kind", ["deck", "folder"])
def test_the_export_dialog_writes_through_the_gate_or_says_why_not(qtbot, window, home, tmp_path, kind):
    study_uid = import_ct(qtbot, window, tmp_path / "ct")
    case_id = casebook.save(home, casebook.mark(home, casebook.new_case(home, [study_uid], "Pneumothorax"),
                                                _sops(home, study_uid)[0], 0, KeyView(40, 400)))
    dialog = CaseExportDialog(home, [case_id], ["Pneumothorax"])
    qtbot.addWidget(dialog)
    dialog.show()
    assert "care" not in [str(dialog.purpose_combo.itemData(i)) for i in range(dialog.purpose_combo.count())]
    target = tmp_path / ("deck.pptx" if kind == "deck" else "slides")
    (dialog.deck_radio if kind == "deck" else dialog.folder_radio).setChecked(True)
    dialog.target_edit.setText(str(target))
    with qtbot.waitSignal(dialog.exported, timeout=IMPORT_TIMEOUT_MS):
        dialog.export_button.click()
    assert "consent does not allow it" in dialog.result_label.text() and not target.exists()
    teaching(home)
    with qtbot.waitSignal(dialog.exported, timeout=IMPORT_TIMEOUT_MS):
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.result_label.text().startswith("Wrote"), dialog.result_label.text()
    if kind == "deck":
        assert len(Presentation(str(target)).slides) == 3
    else:
        assert [p.name for p in Path(target, "case-1").iterdir()] == ["01.png"]


def test_enter_opens_the_selected_study(qtbot, window, home, tmp_path):
    import_ct(qtbot, window, tmp_path / "ct")
    window.browser.filter_edit.setText("Smith")
    window.browser.studies_view.selectRow(0)
    window.activateWindow()
    window.browser.studies_view.setFocus()
    assert window.commands.open_study.isEnabled() and "File" in [a.text().replace("&", "")
                                                                 for a in window.menuBar().actions()]
    before = len(window.viewers)
    qtbot.keyClick(window.browser.studies_view, Qt.Key.Key_Return)
    assert len(window.viewers) == before + 1
    viewer = window.viewers[-1]
    qtbot.addWidget(viewer)
    assert viewer.study.patient_name.startswith("Smith")


def test_a_teaching_file_package_continues_in_the_share_wizard_and_carries_the_case(qtbot, window, home,
                                                                                    tmp_path):
    """Export > Teaching-file package: the wizard opens on the key image alone, never offers the
    identifiable originals (even for care), and the journal ZIP it writes holds the case."""
    import zipfile

    from desktop.app.consent.export_consent import Purpose
    from tests.ui.share_helpers import click, next_page, result_texts, tick, to_recipients, wait_checks, wait_export

    study_uid = import_ct(qtbot, window, tmp_path / "ct")
    key_sop = _sops(home, study_uid)[1]
    case = casebook.mark(home, casebook.new_case(home, [study_uid], "Pneumothorax"), key_sop, 0, KeyView(40, 400))
    case_id = casebook.save(home, case.with_caption(0, "Deep sulcus sign"))
    teaching(home)
    dialog = window.cases.export_cases([case_id], ["Pneumothorax"])
    assert dialog is not None and dialog.package_radio.isEnabled()
    dialog.package_radio.setChecked(True)
    assert dialog.export_button.text() == "Continue…" and not dialog.target_edit.isEnabled()
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    wizard = window.share.wizard
    assert wizard is not None and wizard.objectName() == "TeachingFileWizard"
    assert "Pneumothorax" in wizard.windowTitle()
    wait_checks(qtbot, wizard)
    assert wizard.instance_uids == (key_sop,)  # only the key image is ticked
    next_page(qtbot, wizard)
    wizard.purpose_page.form.combo.setCurrentIndex(list(Purpose).index(Purpose.CARE))
    assert not wizard.profile_page.ident_radio.isEnabled()  # a case leaves de-identified, even for care
    wizard.purpose_page.form.combo.setCurrentIndex(list(Purpose).index(Purpose.TEACHING))
    assert not wizard.profile_page.ident_radio.isEnabled()
    assert wizard.profile_page.form.preset_key == "teaching"
    wizard.purpose_page.form.recipient.setText("Residents' teaching file")
    qtbot.waitUntil(lambda: not wizard.consent_pending, timeout=IMPORT_TIMEOUT_MS)
    to_recipients(qtbot, wizard)
    tick(qtbot, wizard.recipients_page.plain_radio)
    next_page(qtbot, wizard)
    out = tmp_path / "out" / "case.zip"
    out.parent.mkdir()
    wizard.output_page.path_edit.setText(str(out))
    click(qtbot, wizard.next_button)
    wait_export(qtbot, wizard)
    assert "Wrote case.zip" in result_texts(wizard), result_texts(wizard)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        page = archive.read("case.html").decode()
    assert len([n for n in names if n.startswith("DICOM/")]) == 3  # the key image, the KOS, the report
    assert "Deep sulcus sign" in page and "Smith" not in page
    assert b"Smith" not in out.read_bytes() and b"MRN-1001" not in out.read_bytes()
