"""Export Slide Images… as a person uses it: from the Share menu or the study's context menu,
the consent verdict, the privacy gate's burned-in review (progress and Stop, flagged images to
confirm, a burned-in name that nothing lets out), folder or zip, progress, cancel, the result."""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from desktop.app.share import slides
from desktop.core.common.errors import Cancelled
from desktop.core.consent import Purpose
from desktop.ui.share import slides_dialog
from desktop.ui.share.slides_dialog import SlidesDialog
from tests.app.gate.test_text_flags import WORDS, burn_text, needs_ocr
from tests.conftest import pydicom_test_files, teaching, write_series
from tests.ui.share_helpers import click, import_ct, import_folder, tick
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS


def open_dialog(qtbot, window, patient: str = "Smith", review: bool = True) -> SlidesDialog:
    """Export Slide Images… on the patient's studies; wait for consent (and the review)."""
    window.browser.filter_edit.setText(patient)
    window.browser.studies_view.selectAll()
    assert window.commands.export_slides.isEnabled()
    window.commands.export_slides.trigger()
    dialog = window.share.slides_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: not dialog.consent_pending and (not review or dialog.review.flagged is not None),
                    timeout=IMPORT_TIMEOUT_MS)
    return dialog


def wait_done(qtbot, dialog: SlidesDialog) -> None:
    qtbot.waitUntil(lambda: not dialog.busy and dialog.last_report is not None, timeout=IMPORT_TIMEOUT_MS)


def test_in_the_share_menu_and_the_study_context_menu(window):
    share = [a.menu() for a in window.menuBar().actions() if a.text() == "&Share"][0]
    assert window.commands.export_slides in share.actions()
    assert window.commands.export_slides in window.browser.studies_view.actions()
    assert not window.commands.export_slides.isEnabled()  # nothing selected yet


def test_exports_a_folder_of_pngs_once_consent_allows(qtbot, window, home, tmp_path):
    import_ct(qtbot, window, tmp_path / "in")
    teaching(home)
    dialog = open_dialog(qtbot, window)
    combo = dialog.purpose_form.combo
    assert Purpose.CARE not in [combo.itemData(i) for i in range(combo.count())]  # never unencrypted for care
    assert dialog.purpose_form.decision.allowed and dialog.export_button.isEnabled()
    assert dialog.review.status.text().startswith("✓ No image in this selection may carry burned-in text")
    assert dialog.review.note.text() == "OCR read 3 of 3 images for burned-in text."
    assert not dialog.confirm.isVisible() and not dialog.review.leak_list.isVisible()
    out = tmp_path / "slides"
    dialog.target_edit.setText(str(out))
    click(qtbot, dialog.export_button)
    wait_done(qtbot, dialog)
    assert dialog.result_label.isVisible() and "Wrote 3 slide images (PNG) of 1 case" in dialog.result_label.text()
    files = sorted(out.rglob("*.png"))
    assert [p.name for p in files] == ["001-0001-001.png", "001-0002-001.png", "001-0003-001.png"]
    with Image.open(files[0]) as picture:
        assert picture.info == {}
    assert dialog.target_edit.text() != str(out)  # the next export goes somewhere fresh


def test_refused_purpose_keeps_export_disabled(qtbot, window, home, tmp_path):
    import_ct(qtbot, window, tmp_path / "in")
    dialog = open_dialog(qtbot, window)
    assert not dialog.purpose_form.decision.allowed
    assert not dialog.export_button.isEnabled() and "Consent does not allow" in dialog.problem_label.text()
    assert dialog.purpose_form.override_button.isHidden()


def test_burned_in_images_must_be_confirmed_and_a_zip_is_written(qtbot, window, home, tmp_path):
    import_ct(qtbot, window, tmp_path / "in", count=2, burned_in=True)
    teaching(home)
    dialog = open_dialog(qtbot, window)
    review = dialog.review
    assert review.status.text().startswith("⚠ 2 images may carry burned-in identity")
    assert [review.list.item(i).text().split(": ", 1)[1] for i in range(review.list.count())] == [
        "declares burned-in text"] * 2
    assert dialog.confirm.isVisible() and dialog.confirm.text().startswith("I checked these images")
    assert not dialog.export_button.isEnabled()
    assert "flagged images" in dialog.problem_label.text() and "redact" in dialog.problem_label.text()
    seen: list[str] = []
    dialog.view_requested.connect(seen.append)
    click(qtbot, review.view_button)
    assert seen == [review.flagged[0].series_uid]
    tick(qtbot, dialog.confirm)
    tick(qtbot, dialog.zip_radio)
    assert dialog.target_edit.text().endswith(".zip")
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("jpeg"))
    target = tmp_path / "deck.zip"
    dialog.target_edit.setText(str(target))
    assert dialog.export_button.isEnabled()
    click(qtbot, dialog.export_button)
    wait_done(qtbot, dialog)
    assert zipfile.ZipFile(target).namelist() == ["case-1/001-0001-001.jpg", "case-1/001-0002-001.jpg"]


def test_cancel_writes_nothing(qtbot, window, home, tmp_path, monkeypatch):
    import_ct(qtbot, window, tmp_path / "in", count=3)
    teaching(home)
    started, release = threading.Event(), threading.Event()
    real = slides.slide_pixels

    def slow(ds, frame):  # noqa: ANN001, ANN202
        started.set()
        release.wait(10)
        return real(ds, frame)

    monkeypatch.setattr(slides, "slide_pixels", slow)
    dialog = open_dialog(qtbot, window)
    out = tmp_path / "never"
    dialog.target_edit.setText(str(out))
    click(qtbot, dialog.export_button)
    qtbot.waitUntil(started.is_set, timeout=IMPORT_TIMEOUT_MS)
    assert dialog.busy and dialog.cancel_button.isVisible() and not dialog.export_button.isEnabled()
    click(qtbot, dialog.cancel_button)
    release.set()
    wait_done(qtbot, dialog)
    assert dialog.last_report.cancelled and "Nothing was written" in dialog.result_label.text()
    assert not out.exists()


@pytest.mark.parametrize("zipped", [False, True])
def test_default_target_is_free_and_named_without_identity(tmp_path, monkeypatch, zipped):
    monkeypatch.setattr(Path, "home", lambda: tmp_path)
    first = slides_dialog.default_target(zipped)
    assert "slides" in first.name and first.name.endswith(".zip") == zipped
    first.parent.mkdir(parents=True)
    first.mkdir() if not zipped else first.touch()
    assert slides_dialog.default_target(zipped) != first


@needs_ocr
def test_the_review_runs_with_progress_and_stop_and_a_burned_in_name_blocks_the_export(qtbot, window, home, tmp_path,
                                                                                     monkeypatch):
    """The gate's review reads the images in the background (Stop stops it, Check Again reads
    again); a CT screen capture with the patient's name in its pixels is a residual refusal:
    Export stays disabled, confirmed or not."""
    folder = tmp_path / "in"
    for path in write_series(pydicom_test_files() / "CT_small.dcm", folder, 2, "Kowalski^Anna", "MRN-7"):
        burn_text(path)
    import_folder(qtbot, window, folder)
    teaching(home)
    gate, calls = threading.Event(), []
    real = slides_dialog.review_selection

    def held(*args, progress, cancel, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == 1:
            progress(0, 2)
            gate.wait(10)
            if cancel.cancelled:
                raise Cancelled("stopped")
        return real(*args, progress=progress, cancel=cancel, **kwargs)

    monkeypatch.setattr(slides_dialog, "review_selection", held)
    try:
        dialog = open_dialog(qtbot, window, "Kowalski", review=False)
        review = dialog.review
        qtbot.waitUntil(lambda: review.status.text() == "Reading the images for burned-in text… 0 of 2 images",
                        timeout=IMPORT_TIMEOUT_MS)
        assert review.progress.isVisible() and review.stop_button.isVisible()
        assert not dialog.export_button.isEnabled()
        assert dialog.problem_label.text() == "Reading the images for burned-in text (0 of 2)…"
        click(qtbot, review.stop_button)
        assert review.status.text().startswith("The check for burned-in text was stopped")
        assert "stopped" in dialog.problem_label.text() and "check again" in dialog.problem_label.text()
    finally:
        gate.set()
    click(qtbot, review.recheck_button)
    qtbot.waitUntil(lambda: review.flagged is not None, timeout=IMPORT_TIMEOUT_MS)
    assert len(calls) == 2
    assert review.status.text().startswith("✗ 2 images would still show the patient's identity in the pixels")
    assert review.note.text() == "OCR read 2 of 2 images for burned-in text."
    leaks = [review.leak_list.item(i).text() for i in range(review.leak_list.count())]
    assert len(leaks) == 2 and all("still show the patient's name" in t for t in leaks)
    assert not any(w in t for t in leaks for w in WORDS)
    assert not review.leave_leaks.isVisible()  # nothing to untick here: redact them, or export others
    problem = dialog.problem_label.text()
    assert problem.startswith("2 images") and "identity" in problem and "redact" in problem
    dialog.confirm.setChecked(True)
    assert not dialog.export_button.isEnabled()
