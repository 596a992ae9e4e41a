"""Helpers for the share UI tests: a patient's CT in the library, a colleague's home, the wizard
opened and walked as a person does it."""

from __future__ import annotations

import threading
from pathlib import Path

import pydicom
from PySide6.QtCore import QPoint, Qt

from desktop.app.keys.contacts import add_card
from desktop.app.keys.identity import my_card, set_my_details
from desktop.app.library.home import VeilHome
from desktop.ui.share.wizard import ShareWizard
from tests.app.gate.test_text_flags import burn_text
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


def open_wizard(qtbot, window, patient: str = "Smith", to_purpose: bool = True, review: bool = True) -> ShareWizard:
    """Select the patient's study and press Ctrl+Shift+E; wait for the checks (the gate's review
    too, unless ``review`` is False); go on from What leaves (everything ticked) to Purpose and
    consent, unless ``to_purpose`` is False."""
    window.browser.filter_edit.setText(patient)
    window.activateWindow()
    window.browser.studies_view.setFocus()
    qtbot.keyClick(window.browser.studies_view, Qt.Key.Key_E,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    wizard = window.share.wizard
    assert wizard is not None and wizard.isVisible()
    assert page_title(wizard) == "What leaves"
    wait_checks(qtbot, wizard, review)
    if to_purpose:
        next_page(qtbot, wizard)
        assert page_title(wizard) == "Purpose and consent"
    return wizard


def wait_checks(qtbot, wizard: ShareWizard, review: bool = True) -> None:
    """Until the tree is read, consent checked and (``review``) the gate's review done."""
    qtbot.waitUntil(lambda: wizard.selection_page.loaded and not wizard.consent_pending
                    and (not review or wizard.redaction_page.flagged is not None), timeout=IMPORT_TIMEOUT_MS)


def two_series(folder: Path, first: int = 3, second: int = 2, patient: str = "Smith^Anna",
               patient_id: str = "MRN-1001") -> tuple[str, str, str, list[Path]]:
    """Write one study of ``patient`` with two CT series (``first`` and ``second`` images,
    numbered 1 "Chest" and 2 "Abdomen"): its Study and Series Instance UIDs, and the first
    series' files."""
    one = write_series(pydicom_test_files() / "CT_small.dcm", folder / "one", first, patient, patient_id)
    two = write_series(pydicom_test_files() / "CT_small.dcm", folder / "two", second, patient, patient_id)
    study = pydicom.dcmread(one[0]).StudyInstanceUID
    for number, description, paths in ((1, "Chest", one), (2, "Abdomen", two)):
        for path in paths:
            ds = pydicom.dcmread(path)
            ds.StudyInstanceUID, ds.SeriesNumber, ds.SeriesDescription = study, number, description
            ds.save_as(path)
    return study, pydicom.dcmread(one[0]).SeriesInstanceUID, pydicom.dcmread(two[0]).SeriesInstanceUID, one


def import_folder(qtbot, window, folder: Path) -> None:
    import_and_wait(qtbot, window, [folder])
    qtbot.waitUntil(lambda: window.browser.visible_study_count() >= 1, timeout=IMPORT_TIMEOUT_MS)


def import_two_series(qtbot, window, folder: Path, first: int = 3, second: int = 2,
                      patient: str = "Smith^Anna") -> tuple[str, str, str]:
    """Import :func:`two_series`: the Study and Series Instance UIDs."""
    study, one, two, _paths = two_series(folder, first, second, patient)
    import_folder(qtbot, window, folder)
    return study, one, two


def tree_item(wizard: ShareWizard, *kind: str):
    """The row of What leaves for ("series", uid) or ("image", series uid, sop uid)."""
    from PySide6.QtWidgets import QTreeWidgetItemIterator

    tree = wizard.selection_page.tree
    it = QTreeWidgetItemIterator(tree)
    while it.value() is not None:
        item = it.value()
        if tuple(item.data(0, Qt.ItemDataRole.UserRole)) == kind:
            return item
        it += 1
    raise AssertionError(f"no row {kind}")


def toggle(qtbot, wizard: ShareWizard, item) -> None:
    """Make ``item`` the current row and press Space, as a person ticks it from the keyboard."""
    tree = wizard.selection_page.tree
    tree.setCurrentItem(item)
    tree.setFocus()
    qtbot.keyClick(tree, Qt.Key.Key_Space)


def page_title(wizard: ShareWizard) -> str:
    return wizard.title.text()


def next_page(qtbot, wizard: ShareWizard) -> None:
    assert wizard.next_button.isEnabled(), wizard.problem_label.text()
    click(qtbot, wizard.next_button)


def to_recipients(qtbot, wizard: ShareWizard) -> None:
    """From the purpose page (consent allowed) to the recipients page."""
    next_page(qtbot, wizard)
    assert page_title(wizard) == "De-identification"
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


def burned_study(qtbot, window, folder, lines: tuple[str, ...] | None = None) -> tuple[str, str, str]:
    """Kowalski^Anna's CT study: series 1, one image with ``lines`` (her name, ID and birth date
    by default) burned into its pixels and Burned In Annotation NO, as a screen capture stored as
    CT; series 2, two plain images."""
    study, first, second, paths = two_series(folder, 1, 2, "Kowalski^Anna")
    for path in paths:
        burn_text(path, *(() if lines is None else (lines,)))
    import_folder(qtbot, window, folder)
    return study, first, second


def held_review(monkeypatch, module, calls: list) -> threading.Event:
    """Hold the first review ``module`` (a window's module) runs at 0 of 3 images until the event is set."""
    gate, real = threading.Event(), module.review_selection

    def held(*args, progress, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == 1:
            progress(0, 3)
            gate.wait(10)
        return real(*args, progress=progress, **kwargs)

    monkeypatch.setattr(module, "review_selection", held)
    return gate
