"""Export Image as PNG… as a person uses it: the viewer's Image menu opens the dialog on the image
on screen; the consent verdict, the burned-in confirmation, the export in the background, the
gate's refusals and the file written, shown in the dialog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt

from desktop.app.consent.export_consent import ExportPurpose
from desktop.core.consent import Purpose
from desktop.core.library.disclosures import disclosures_between
from desktop.ui.viewer import view_commands
from desktop.ui.viewer.export_image_dialog import CONFIRM_TEXT, ExportImageDialog
from tests.conftest import teaching
from tests.ui.redaction.test_redacted_versions import _opened, redacted  # noqa: F401 - the fixture
from tests.ui.share_helpers import click, import_ct, tick
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS
from tests.ui.viewer.conftest import OPEN_TIMEOUT_MS, open_viewer, shown_array


def open_dialog(qtbot, viewer) -> ExportImageDialog:
    """Image ▸ Export Image as PNG…, as a person does it; wait for the consent check."""
    viewer.commands.export_png.trigger()
    dialog = viewer.findChild(ExportImageDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.isModal() or dialog.windowModality() == Qt.WindowModality.WindowModal
    qtbot.waitUntil(lambda: not dialog.consent_pending, timeout=IMPORT_TIMEOUT_MS)
    return dialog


def wait_done(qtbot, dialog: ExportImageDialog) -> None:
    qtbot.waitUntil(lambda: not dialog.busy and dialog.last_report is not None, timeout=IMPORT_TIMEOUT_MS)


def disclosures(home) -> list:
    conn = home.connect()
    try:
        return disclosures_between(conn, "0000", "9999")
    finally:
        conn.close()


def test_consent_refused_keeps_export_disabled_and_the_gate_refuses_too(qtbot, library, tmp_path: Path):
    viewer = open_viewer(qtbot, library, "CT", 12)
    dialog = open_dialog(qtbot, viewer)
    form = dialog.purpose_form
    combo = form.combo
    assert Purpose.CARE not in [combo.itemData(i) for i in range(combo.count())]  # a PNG is not encrypted
    assert not form.decision.allowed and form.verdict.text().startswith("✗")
    assert not dialog.export_button.isEnabled() and "Consent does not allow" in dialog.problem_label.text()
    assert dialog.confirm_box.isHidden()  # a CT that declares nothing: no confirmation asked
    assert not dialog.original_label.isVisible()
    # the gate decides for itself: forced through, it refuses and writes nothing
    dialog.target_edit.setText(str(tmp_path / "refused.png"))
    dialog.run_export(ExportPurpose(Purpose.TEACHING, "Residents"))
    assert dialog.busy and not dialog.export_button.isEnabled() and dialog.busy_bar.isVisible()
    wait_done(qtbot, dialog)
    assert dialog.last_report.refused and not (tmp_path / "refused.png").exists()
    assert dialog.result_label.isVisible() and "consent does not allow it" in dialog.result_label.text()
    assert dialog.result_label.property("role") == "danger"
    assert disclosures(library.home) == []


def test_a_flagged_image_needs_the_tick(qtbot, window, tmp_path: Path):
    import_ct(qtbot, window, tmp_path / "in", count=2, burned_in=True)
    teaching(window.home)
    viewer = open_viewer(qtbot, window, "CT", 2)
    dialog = open_dialog(qtbot, viewer)
    assert dialog.purpose_form.decision.allowed
    assert dialog.confirm_box.isVisible() and dialog.confirm.text() == CONFIRM_TEXT
    assert "declares burned-in text" in dialog.flag_label.text()
    assert not dialog.export_button.isEnabled() and "tick the box" in dialog.problem_label.text()
    out = tmp_path / "flagged.png"
    dialog.target_edit.setText(str(out))
    # without the tick the gate refuses as well
    dialog.run_export(teaching(window.home))
    wait_done(qtbot, dialog)
    assert dialog.last_report.refused and not out.exists()
    assert "may carry burned-in identity" in dialog.result_label.text()
    tick(qtbot, dialog.confirm)
    assert dialog.export_button.isEnabled()
    dialog.last_report = None
    click(qtbot, dialog.export_button)
    wait_done(qtbot, dialog)
    assert dialog.last_report.written and out.exists(), dialog.result_label.text()
    assert dialog.last_report.confirm_burned_in
    assert '"confirmed_burned_in":true' in window.home.audit_path.read_text()


def test_export_writes_the_png_and_an_accounting_entry(qtbot, library, tmp_path: Path):
    teaching(library.home)
    viewer = open_viewer(qtbot, library, "CT", 12)
    viewer.commands.last_image.trigger()
    viewer.commands.rotate_right.trigger()
    shown = shown_array(viewer).copy()
    dialog = open_dialog(qtbot, viewer)
    assert dialog.windowTitle() == "Export Image as PNG"
    assert "image 12 of 12" in dialog.findChild(type(dialog.problem_label), "PngTitle").text()
    dialog.purpose_form.recipient.setText("Residents' teaching file")
    qtbot.waitUntil(lambda: not dialog.consent_pending, timeout=IMPORT_TIMEOUT_MS)
    assert dialog.purpose_form.decision.allowed and dialog.export_button.isEnabled()
    assert dialog.confirm_box.isHidden()
    out = tmp_path / "teaching"  # .png is added
    dialog.target_edit.setText(str(out))
    click(qtbot, dialog.export_button)
    wait_done(qtbot, dialog)
    written = tmp_path / "teaching.png"
    assert dialog.last_report.written and written.exists()
    assert dialog.result_label.isVisible() and dialog.result_label.property("role") == "ok"
    assert "Exported teaching.png" in dialog.result_label.text() and str(written) in dialog.result_label.text()
    picture = Image.open(written)
    assert picture.info == {} and np.array_equal(np.asarray(picture), shown)  # as shown, rotated
    (entry,) = disclosures(library.home)
    assert entry.kind == "image.png" and entry.purpose == "teaching"
    assert entry.recipient == "Residents' teaching file" and entry.destination == str(written)
    assert dialog.last_report.disclosure == entry.id
    assert dialog.target_edit.text() != str(written)  # the next export goes to a fresh file
    assert "Exported teaching.png" in viewer.statusBar().currentMessage()
    dialog.close()
    qtbot.waitUntil(lambda: viewer.findChild(ExportImageDialog) is None, timeout=OPEN_TIMEOUT_MS)


def test_the_original_on_screen_is_never_exported(qtbot, redacted, tmp_path: Path):  # noqa: F811 - the fixture
    teaching(redacted.home)
    viewer = open_viewer(qtbot, redacted, "CT", 12)
    viewer.commands.show_original.trigger()
    qtbot.waitUntil(lambda: _opened(viewer, "originals"), timeout=OPEN_TIMEOUT_MS)
    dialog = open_dialog(qtbot, viewer)
    assert dialog.original_shown and dialog.original_label.isVisible()
    assert "What leaves Veil is its redacted version" in dialog.original_label.text()
    assert not dialog.export_button.isEnabled() and "Show Original" in dialog.problem_label.text()
    out = tmp_path / "original.png"
    dialog.target_edit.setText(str(out))
    dialog.run_export(teaching(redacted.home))  # the gate refuses it too, in its own words
    qtbot.waitUntil(lambda: not dialog.busy and dialog.result_label.isVisible(), timeout=IMPORT_TIMEOUT_MS)
    assert "Not exported: The image on screen is the original" in dialog.result_label.text()
    assert not out.exists() and disclosures(redacted.home) == []
    dialog.close()
    # an image Veil did not redact is its own current version, even among the originals
    viewer.go_to(5)
    assert not view_commands.open_export_dialog(viewer).original_shown


def test_the_headless_export_refuses_without_consent(qtbot, library, tmp_path: Path):
    viewer = open_viewer(qtbot, library, "CT", 12)
    out = view_commands.export_png(viewer, str(tmp_path / "x.png"), purpose=ExportPurpose(Purpose.TEACHING, "R"),
                                   confirm_burned_in=True)
    assert out is None and not (tmp_path / "x.png").exists()
    assert "consent does not allow it" in viewer.statusBar().currentMessage()
