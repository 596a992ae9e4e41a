"""Helpers for the consent UI tests: open the windows as a person does, read what they show."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid
from PySide6.QtCore import QPoint, Qt

from desktop.app.consent.consenting import add_consent, find_patient
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.deid.deidentifying import deidentify_studies
from desktop.core.consent import Basis, ConsentRecord, Method, Purpose, Scope
from desktop.core.deid.profiles import preset
from desktop.ui.consent.dialog import ConsentDialog
from desktop.ui.library.study_model import StudyTableModel
from tests.conftest import pydicom_test_files
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def tick(qtbot, box) -> None:
    """Click a check box or radio button where a person would: on its indicator."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def select(window, patient_text: str) -> None:
    """Filter the study browser to the studies of this patient (one row selected)."""
    window.browser.filter_edit.setText(patient_text)
    assert window.browser.visible_study_count() >= 1, patient_text


def badge_of(window, patient_text: str) -> tuple[str, str, str]:
    """(text, colour name, tooltip) of the Consent cell of the first study matching ``patient_text``."""
    proxy = window.browser.proxy
    for row in range(proxy.rowCount()):
        if patient_text.casefold() in proxy.index(row, StudyTableModel.PATIENT).data().casefold():
            cell = proxy.index(row, StudyTableModel.CONSENT)
            return (cell.data(), cell.data(Qt.ItemDataRole.ForegroundRole).name(),
                    cell.data(Qt.ItemDataRole.ToolTipRole))
    raise AssertionError(f"no study of {patient_text} shown")


def open_record_dialog(qtbot, window, patient_text: str) -> ConsentDialog:
    """Select the patient's study and press Ctrl+Shift+K, as a person does."""
    select(window, patient_text)
    window.activateWindow()
    window.browser.studies_view.setFocus()
    qtbot.keyClick(window.browser.studies_view, Qt.Key.Key_K,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = window.consent.record_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.patient is not None, timeout=IMPORT_TIMEOUT_MS)
    return dialog


def wait_badges(qtbot, window, patient_text: str, text: str) -> None:
    qtbot.waitUntil(lambda: badge_of(window, patient_text)[0] == text, timeout=IMPORT_TIMEOUT_MS)


def two_series_study(folder: Path) -> Path:
    """One study of one patient ("Twoseries^Pat") with two series of one image each."""
    folder.mkdir(parents=True, exist_ok=True)
    study = generate_uid()
    for n, description in ((1, "AXIAL"), (2, "CORONAL")):
        ds = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")
        ds.PatientName, ds.PatientID = "Twoseries^Pat", "TWO-1"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, generate_uid()
        ds.SeriesNumber, ds.SeriesDescription = n, description
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.save_as(folder / f"s{n}.dcm", enforce_file_format=True)
    return folder


def teaching_consent(home, study_uid: str, limits: str = "") -> ConsentRecord:
    """The patient of this study agreed in writing to teaching (recorded through the use case)."""
    patient = find_patient(home, study_uid=study_uid)
    return add_consent(home, ConsentRecord(
        basis=Basis.CONSENT, scope=Scope(patient.key), purposes=frozenset({Purpose.TEACHING}),
        obtained_on=date(2026, 1, 5), recorded_by="tests", method=Method.WRITTEN, obtained_by="Dr Ana Silva",
        limits=limits))


def export_for_teaching(home, study_uid: str, out: Path) -> None:
    """A de-identified teaching export of the study: a disclosure relying on its consent."""
    report = deidentify_studies(home, preset("teaching"), [study_uid], out,
                                purpose=ExportPurpose(Purpose.TEACHING, "Residents' teaching file"))
    assert report.written, report.headline()


def png_file(path: Path, width: int = 120, height: int = 80) -> Path:
    from PySide6.QtGui import QColor, QImage

    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#d0d0d0"))
    assert image.save(str(path), "PNG")
    return path


def pdf_file(path: Path) -> Path:
    """A small, valid PDF."""
    body = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
            b"endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    path.write_bytes(body)
    return path
