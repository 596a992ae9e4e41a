"""Export Slide Images… as a person uses it: from the Share menu or the study's context menu,
the consent verdict, the burned-in confirmation, folder or zip, progress, cancel, the result."""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from desktop.app import slides
from desktop.core.consent import Purpose
from desktop.ui import slides_dialog
from desktop.ui.slides_dialog import SlidesDialog
from tests.conftest import teaching
from tests.ui.share_helpers import click, import_ct, tick
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS


def open_dialog(qtbot, window) -> SlidesDialog:
    window.browser.filter_edit.setText("Smith")
    window.browser.studies_view.selectAll()
    assert window.commands.export_slides.isEnabled()
    window.commands.export_slides.trigger()
    dialog = window.share.slides_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: not dialog.consent_pending, timeout=IMPORT_TIMEOUT_MS)
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
    out = tmp_path / "slides"
    dialog.target_edit.setText(str(out))
    click(qtbot, dialog.export_button)
    wait_done(qtbot, dialog)
    assert dialog.result_label.isVisible() and "Wrote 3 slide images (PNG) of 1 case" in dialog.result_label.text()
    files = sorted(out.rglob("*.png"))
    assert [p.name for p in files] == ["001-0001-001.png", "001-0002-001.png", "001-0003-001.png"]
    assert Image.open(files[0]).info == {}
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
    assert dialog.confirm.isVisible() and "2 images" in dialog.confirm.text()
    assert not dialog.export_button.isEnabled() and "burned-in" in dialog.problem_label.text()
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
