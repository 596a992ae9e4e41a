"""Helpers for the share UI tests: a patient's CT in the library, a colleague's home, the wizard
opened and walked as a person does it."""

from __future__ import annotations

from pathlib import Path

import pydicom
from PySide6.QtCore import QPoint, Qt

from desktop.app.contacts import add_card
from desktop.app.home import VeilHome
from desktop.app.identity import my_card, set_my_details
from desktop.ui.share_wizard import ShareWizard
from tests.conftest import pydicom_test_files, write_series
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS, import_and_wait


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def tick(qtbot, box) -> None:
    """Click a check box or radio button on its indicator, as a person does."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def import_ct(qtbot, window, folder: Path, count: int = 3, burned_in: bool = False) -> str:
    """Import a CT of Smith^Anna (``count`` images); its Study Instance UID."""
    paths = write_series(pydicom_test_files() / "CT_small.dcm", folder, count, "Smith^Anna", "MRN-1001")
    if burned_in:
        for path in paths:
            ds = pydicom.dcmread(path)
            ds.BurnedInAnnotation = "YES"
            ds.save_as(path)
    import_and_wait(qtbot, window, [folder])
    qtbot.waitUntil(lambda: window.browser.visible_study_count() >= 1, timeout=IMPORT_TIMEOUT_MS)
    return pydicom.dcmread(paths[0]).StudyInstanceUID


def colleague(tmp_path: Path, name: str = "Dr Bob") -> VeilHome:
    """Another person's Veil home, their card named ``name``."""
    other = VeilHome.open(tmp_path / name.replace(" ", "-").lower())
    set_my_details(other, name=name, institution="St Elsewhere")
    return other


def befriend(home: VeilHome, other: VeilHome, name: str, verified: bool = True) -> None:
    """Put ``other``'s card in ``home``'s address book as ``name``."""
    add_card(home, my_card(other), name=name, verified=verified)


def open_wizard(qtbot, window, patient: str = "Smith") -> ShareWizard:
    """Select the patient's study and press Ctrl+Shift+E; wait for the checks."""
    window.browser.filter_edit.setText(patient)
    window.activateWindow()
    window.browser.studies_view.setFocus()
    qtbot.keyClick(window.browser.studies_view, Qt.Key.Key_E,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    wizard = window.share.wizard
    assert wizard is not None and wizard.isVisible()
    wait_checks(qtbot, wizard)
    return wizard


def wait_checks(qtbot, wizard: ShareWizard) -> None:
    qtbot.waitUntil(lambda: not wizard.consent_pending and wizard.redaction_page.flagged is not None,
                    timeout=IMPORT_TIMEOUT_MS)


def page_title(wizard: ShareWizard) -> str:
    return wizard.title.text()


def next_page(qtbot, wizard: ShareWizard) -> None:
    assert wizard.next_button.isEnabled(), wizard.problem_label.text()
    click(qtbot, wizard.next_button)


def to_recipients(qtbot, wizard: ShareWizard) -> None:
    """From the purpose page (consent allowed) to the recipients page, contacts loaded."""
    next_page(qtbot, wizard)
    assert page_title(wizard) == "What leaves"
    next_page(qtbot, wizard)
    assert page_title(wizard) == "Redaction review"
    next_page(qtbot, wizard)
    assert page_title(wizard) == "Recipients"


def wait_export(qtbot, wizard: ShareWizard) -> None:
    qtbot.waitUntil(lambda: not wizard.busy and wizard.run_page.result.isVisible(), timeout=IMPORT_TIMEOUT_MS)


def result_texts(wizard: ShareWizard) -> str:
    """Every text the result page shows, one per line."""
    from PySide6.QtWidgets import QLabel

    return "\n".join(w.text() for w in wizard.run_page.result.findChildren(QLabel) if w.isVisible())
