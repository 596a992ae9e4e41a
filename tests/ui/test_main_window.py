"""The window as a person uses it: empty state, importing, browsing, filtering, sorting."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QLabel

from desktop.app.browsing.catalogue import load_catalogue
from desktop.ui.library.import_controller import NOTHING_NEW
from desktop.ui.library.study_model import StudyTableModel
from tests.ui.ui_helpers import import_and_wait, message_boxes, wait_idle


def visible_column(win, column: int) -> list[str]:
    view = win.browser.studies_view
    model = view.model()
    return [model.index(r, column).data() for r in range(model.rowCount())]


def click_header(qtbot, win, column: int) -> None:
    header = win.browser.studies_view.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


def test_empty_library_shows_the_empty_state(window):
    assert window.windowTitle() == "Veil"
    assert not window.windowIcon().isNull()
    assert window.pages.currentWidget() is window.empty_page
    assert window.findChild(object, "EmptyTitle").text() == "Your library is empty"
    assert window.empty_page.samples_button.isEnabled()
    assert "0 studies" in window.counts_label.text()
    # nothing on the page overlaps: icon above title above text above buttons
    page = window.empty_page
    labels = [w for w in page.findChildren(QLabel) if w.isVisible()]
    tops = sorted((w.mapTo(page, QPoint(0, 0)).y(), w.height(), w.objectName()) for w in labels)
    for (top, height, name), (next_top, _, next_name) in zip(tops, tops[1:]):
        assert top + height <= next_top, f"{name} overlaps {next_name}"
    for label in labels:
        assert label.height() >= label.sizeHint().height(), f"{label.text()!r} is squeezed"
    icon = next(w for w in labels if w.pixmap() and not w.pixmap().isNull())
    assert icon.height() == icon.pixmap().height() == 96


def test_import_fills_the_browser_and_the_counts(qtbot, window, few_dicoms):
    import_and_wait(qtbot, window, [few_dicoms])
    assert window.pages.currentWidget() is window.browser
    assert window.browser.visible_study_count() == 5
    assert window.counts_label.text() == "5 patients · 5 studies · 5 series · 5 instances"
    assert window.notice.isVisible()
    assert "Imported 5 new instances (5 studies)" in window.notice.text
    assert not window.import_progress.isVisible()
    assert not window.commands.cancel_import.isEnabled()
    # the browser agrees with the library itself
    assert len(load_catalogue(window.home).studies) == 5


def test_filter_as_you_type_and_ctrl_f(qtbot, window, few_dicoms):
    import_and_wait(qtbot, window, [few_dicoms])
    window.activateWindow()
    window.commands.find.trigger()
    assert window.browser.filter_edit.hasFocus() or QApplication.focusWidget() is window.browser.filter_edit
    qtbot.keyClicks(window.browser.filter_edit, "LESTRADE")
    assert visible_column(window, StudyTableModel.PATIENT) == ["Lestrade, G"]
    assert window.browser.shown_label.text() == "1 of 5 studies"
    assert window.browser.selected_study().patient_name == "Lestrade^G"
    window.browser.filter_edit.clear()
    qtbot.keyClicks(window.browser.filter_edit, "2005-11")
    assert visible_column(window, StudyTableModel.PATIENT) == ["Sssssss, Jsssss"]
    window.browser.filter_edit.setText("nothing like this")
    assert window.browser.visible_study_count() == 0
    assert window.browser.series_model.rowCount() == 0
    window.browser.filter_edit.clear()
    assert window.browser.visible_study_count() == 5


def test_clicking_headers_sorts(qtbot, window, few_dicoms):
    import_and_wait(qtbot, window, [few_dicoms])
    # newest study first by default, like a worklist
    assert visible_column(window, StudyTableModel.STUDY_DATE)[0] == "2017-01-01"
    click_header(qtbot, window, StudyTableModel.STUDY_DATE)
    assert visible_column(window, StudyTableModel.STUDY_DATE)[0] == "2004-01-19"
    click_header(qtbot, window, StudyTableModel.PATIENT)
    assert visible_column(window, StudyTableModel.PATIENT)[0] == "CompressedSamples, CT1"
    click_header(qtbot, window, StudyTableModel.PATIENT)
    assert visible_column(window, StudyTableModel.PATIENT)[0] == "Sssssss, Jsssss"


def test_selecting_a_study_fills_the_series_panel(qtbot, window, few_dicoms):
    import_and_wait(qtbot, window, [few_dicoms])
    view = window.browser.studies_view
    names = visible_column(window, StudyTableModel.PATIENT)
    row = names.index("Sssssss, Jsssss")
    rect = view.visualRect(view.model().index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    series = window.browser.series_model
    assert series.rowCount() == 1
    shown = [series.index(0, c).data() for c in range(series.columnCount())]
    assert shown == ["18", "MR", "marked lesion<MPR Collection>", "ABDOMEN", "1", "1", "", "SIEMENS / Avanto"]
    assert "Sssssss, Jsssss" in window.browser.series_title.text()


def test_dropping_a_folder_imports_it(qtbot, window, few_dicoms):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(few_dicoms))])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    assert window.drop_overlay.isVisible()
    assert not window.browser.filter_edit.acceptDrops()  # a drop on the filter box imports too
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    assert not window.drop_overlay.isVisible()
    qtbot.waitUntil(lambda: window.imports.busy or window.browser.visible_study_count() == 5)
    wait_idle(qtbot, window)
    assert window.browser.visible_study_count() == 5


def test_web_links_are_not_accepted_as_drops(window):
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.org/study.zip")])
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter.setAccepted(False)
    window.dragEnterEvent(enter)
    assert not enter.isAccepted()


def test_reimport_says_nothing_new(qtbot, window, few_dicoms):
    import_and_wait(qtbot, window, [few_dicoms])
    import_and_wait(qtbot, window, [few_dicoms])
    assert window.notice.text == NOTHING_NEW
    assert window.report_dialog is None
    assert window.browser.visible_study_count() == 5


def test_rejected_files_are_listed_in_the_import_report(qtbot, window, tmp_path: Path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.dcm").write_bytes(b"")
    (bad / "notes.txt").write_text("not an image\n")
    import_and_wait(qtbot, window, [bad])
    dialog = window.report_dialog
    assert dialog is not None and dialog.isVisible()
    assert not dialog.isModal()
    table = dialog.rejected_table
    rows = {Path(table.item(r, 0).text()).name: table.item(r, 1).text() for r in range(table.rowCount())}
    assert rows.keys() == {"empty.dcm", "notes.txt"}
    assert "empty" in rows["empty.dcm"]
    assert "not a DICOM file" in rows["notes.txt"]
    dialog.copy_current()
    copied = QApplication.clipboard().text()
    assert "empty.dcm\t" in copied and "notes.txt\t" in copied
    assert "2 rejected" in window.notice.text
    assert window.pages.currentWidget() is window.empty_page  # still nothing in the library


def test_cancel_stops_an_import_and_the_ui_returns_to_idle(qtbot, window):
    window.commands.load_samples.trigger()
    assert window.imports.busy
    assert window.import_progress.isVisible()
    assert window.commands.cancel_import.isEnabled()
    window.commands.cancel_import.trigger()  # what Esc and the Cancel button do
    assert window.import_progress.label.text() == "Cancelling…"
    wait_idle(qtbot, window, timeout=60_000)
    assert not window.import_progress.isVisible()
    assert not window.commands.cancel_import.isEnabled()
    assert window.notice.text.startswith(("Cancelled", "Imported", "Loaded"))
    assert not message_boxes("ErrorBox")


def test_esc_cancels_an_import_midway(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.commands.load_samples.trigger()
    qtbot.waitUntil(lambda: window.import_progress.bar.value() > 0, timeout=30_000)  # under way
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert window.imports.cancelling or not window.imports.busy
    wait_idle(qtbot, window, timeout=60_000)
    assert not window.import_progress.isVisible()
    assert window.notice.text.startswith(("Cancelled after", "Imported", "Loaded"))
    assert not message_boxes("ErrorBox")


def test_a_second_import_waits_for_the_first(qtbot, window, few_dicoms, tmp_path):
    other = tmp_path / "other"
    (other / "ct").mkdir(parents=True)
    (other / "ct" / "copy.dcm").write_bytes((few_dicoms / "ct" / "CT_small.dcm").read_bytes())
    window.import_paths([few_dicoms])
    window.import_paths([other])
    assert window.imports.waiting == 1
    assert "will start when it ends" in window.statusBar().currentMessage()
    wait_idle(qtbot, window)
    assert window.browser.visible_study_count() == 5
    assert window.notice.text == NOTHING_NEW  # the second import found only known bytes


def test_verify_audit_log_reports_intact(qtbot, window, few_dicoms):
    import_and_wait(qtbot, window, [few_dicoms])
    window.commands.verify_audit.trigger()
    qtbot.waitUntil(lambda: bool(message_boxes("AuditResultBox")))
    box = message_boxes("AuditResultBox")[0]
    assert "complete and unaltered" in box.text()
    box.close()


def test_verify_audit_log_names_an_altered_log(qtbot, window, few_dicoms):
    import_and_wait(qtbot, window, [few_dicoms])
    log = window.home.audit_path
    log.write_text(log.read_text().replace('"imported":5', '"imported":6'))
    window.commands.verify_audit.trigger()
    qtbot.waitUntil(lambda: bool(message_boxes("AuditResultBox")))
    box = message_boxes("AuditResultBox")[0]
    assert box.windowTitle() == "Audit log altered"
    assert "does not verify" in box.text() and "line 2 was altered" in box.text()
    box.close()


def test_about_box(qtbot, window):
    window.commands.about.trigger()
    box = message_boxes("AboutBox")[0]
    assert "Veil" in box.text()
    box.close()


def test_closing_during_an_import_cancels_it_first(qtbot, window):
    window.commands.load_samples.trigger()
    assert window.imports.busy
    window.close()
    assert window.isVisible()  # waits for the worker to let go
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
    assert window.report_dialog is None


def test_every_action_and_button_has_a_tooltip(window):
    for name, action in vars(window.commands).items():
        assert action.toolTip() and action.toolTip() != action.text().replace("&", ""), name
    for button in (window.empty_page.files_button, window.empty_page.folder_button,
                   window.empty_page.samples_button, window.import_progress.cancel_button):
        assert button.toolTip()


def test_reimport_with_rejects_says_nothing_new_and_offers_the_report(qtbot, window, few_dicoms):
    (few_dicoms / "notes.txt").write_text("not an image\n")
    import_and_wait(qtbot, window, [few_dicoms])
    assert window.report_dialog is not None  # first time: the rejected file is shown
    window.report_dialog.close()
    qtbot.waitUntil(lambda: window.report_dialog is None)
    import_and_wait(qtbot, window, [few_dicoms])
    notice = window.notice.text
    assert notice.startswith("Nothing new") and "already in the library" in notice and "1 rejected" in notice
    assert window.report_dialog is None  # not pushed again; one click away
    assert window.notice.action_button.isVisible()
    window.notice.action_button.click()
    assert window.report_dialog is not None and window.report_dialog.rejected_table.rowCount() == 1


def test_import_files_and_folder_dialogs(qtbot, window, few_dicoms, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    seen: list[QFileDialog] = []
    chosen = {"files": [str(p) for p in sorted(few_dicoms.rglob("*.dcm"))[:2]], "folder": [str(few_dicoms)]}

    def fake_exec(dialog: QFileDialog) -> int:
        seen.append(dialog)
        folders = dialog.fileMode() == QFileDialog.FileMode.Directory
        monkeypatch.setattr(dialog, "selectedFiles", lambda: chosen["folder" if folders else "files"])
        return 1

    monkeypatch.setattr(QFileDialog, "exec", fake_exec)
    window.commands.import_files.trigger()  # Ctrl+O
    files_dialog = seen[-1]
    assert files_dialog.fileMode() == QFileDialog.FileMode.ExistingFiles  # several at once
    assert files_dialog.nameFilters()[0] == "All files (*)"  # DICOM files often lack a suffix
    assert any("*.zip" in f for f in files_dialog.nameFilters())
    assert any("DICOMDIR" in f for f in files_dialog.nameFilters())
    wait_idle(qtbot, window)
    assert window.browser.visible_study_count() == 2
    window.commands.import_folder.trigger()  # Ctrl+Shift+O
    assert seen[-1].fileMode() == QFileDialog.FileMode.Directory
    wait_idle(qtbot, window)
    assert window.browser.visible_study_count() == 5
    assert window.commands.import_files.shortcut().toString() == "Ctrl+O"
    assert window.commands.import_folder.shortcut().toString() == "Ctrl+Shift+O"
    assert window.commands.quit.shortcut().toString() == "Ctrl+Q"
    assert window.commands.find.shortcut().toString() == "Ctrl+F"
    assert window.commands.cancel_import.shortcut().toString() == "Esc"


def test_a_newcomer_loads_the_samples_from_the_empty_page(qtbot, window):
    assert window.pages.currentWidget() is window.empty_page
    qtbot.mouseClick(window.empty_page.samples_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window, timeout=60_000)
    assert window.pages.currentWidget() is not window.empty_page
    assert window.browser.visible_study_count() >= 40
    assert window.notice.text.startswith("Loaded ") and " sample studies (" in window.notice.text
    assert "deliberately broken or not images, and were left out" in window.notice.text
    assert window.report_dialog is None  # no dialog of rejections for a newcomer
