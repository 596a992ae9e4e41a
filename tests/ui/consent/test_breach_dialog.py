"""The breach report on screen (issue 15): a recipient or a package id, then every patient and
study sent, a row per disclosure and patient; Save CSV writes a row per image."""

from __future__ import annotations

import csv
import io

import pytest

from desktop.ui.consent.report_dialog import breach_dialog
from tests.app.consent.test_breach_report import make_disclosures
from tests.ui.consent_helpers import click
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS


@pytest.fixture
def sent(veil_home, tmp_path):
    """Three patients, sent to 'Dr Grey' and 'Dr Greyson' (see :func:`make_disclosures`)."""
    return make_disclosures(tmp_path)


def test_a_recipient_s_disclosures_on_screen_and_as_csv(qtbot, sent, tmp_path, monkeypatch):
    home, _, _, greyson = sent
    dialog = breach_dialog(home, recipient="greyson")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=IMPORT_TIMEOUT_MS)
    assert dialog.title.text() == "Disclosures for a breach assessment"
    assert f"Dr Greyson [{greyson.fingerprint}]" in dialog.subtitle.text()
    assert dialog.table.rowCount() == 1 and "Brown, Cara" in dialog.table.item(0, 5).text()
    assert "internal to the covered entity" in dialog.notes.text()

    out = tmp_path / "breach.csv"
    monkeypatch.setattr("desktop.ui.consent.report_dialog.QFileDialog.getSaveFileName", lambda *a, **k: (str(out), ""))
    click(qtbot, dialog.save_csv)
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Saved"), timeout=IMPORT_TIMEOUT_MS)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 4 and {r["Patient ID"] for r in rows} == {"MRN-1003"}  # a row per image

    dialog.query.setText("dr grey")
    click(qtbot, dialog.show_button)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 4, timeout=IMPORT_TIMEOUT_MS)
    assert "matches 2 different recipients" in dialog.notes.text()

    dialog.kind.setCurrentIndex(1)
    assert "8 or more characters" in dialog.query.placeholderText()
    dialog.query.setText("0123456789ab")
    click(qtbot, dialog.show_button)
    qtbot.waitUntil(lambda: "could not be made" in dialog.status.text(), timeout=IMPORT_TIMEOUT_MS)
    assert "veil verify" in dialog.status.text()
    dialog.query.clear()
    click(qtbot, dialog.show_button)
    assert dialog.status.text().startswith("Type who received it")


def test_the_consent_menu_opens_the_breach_report(qtbot, window):
    assert window.commands.breach_report.text().replace("&", "") == "Disclosures to a Recipient or Package…"
    window.commands.breach_report.trigger()
    dialog = window.consent.breach_dialog
    assert dialog is not None and dialog.isVisible()
    assert "Preparing" not in dialog.title.text()  # nothing asked yet: it says what to do
    assert "Type who received it" in dialog.status.text()
    window.commands.breach_report.trigger()  # a second time raises the same window
    assert window.consent.breach_dialog is dialog
