"""The browser's patient level, modality and date filters, and the series' pictures, as a
radiologist uses them: pick a patient, a modality, a period; see how many are shown."""

from __future__ import annotations

from datetime import date, timedelta

import pydicom
from PySide6.QtCore import QDate

from benchmarks.synthetic import write_series
from desktop.app.browsing.filters import DateRange
from tests.conftest import pydicom_test_files
from tests.ui.share_helpers import import_folder
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS


def _library(qtbot, window, tmp_path) -> None:  # noqa: ANN001
    """Anna Smith: a CT today and an MR last year; Bob Jones: a CT three days ago."""
    today = date.today()
    for folder, source, name, pid, day in (
            ("ct", "CT_small.dcm", "Smith^Anna", "MRN-1001", today),
            ("mr", "MR_small.dcm", "Smith^Anna", "MRN-1001", today - timedelta(days=400)),
            ("bob", "CT_small.dcm", "Jones^Bob", "MRN-2002", today - timedelta(days=3))):
        for path in write_series(pydicom_test_files() / source, tmp_path / "in" / folder, 2, name, pid):
            ds = pydicom.dcmread(path)
            ds.StudyDate = day.strftime("%Y%m%d")
            ds.PatientBirthDate = "19700101"
            ds.save_as(path)
    import_folder(qtbot, window, tmp_path / "in")
    qtbot.waitUntil(lambda: window.browser.visible_study_count() == 3, timeout=IMPORT_TIMEOUT_MS)


def _shown(browser) -> list[tuple[str, str]]:  # noqa: ANN001
    rows = [browser.study_model.row_at(browser.proxy.mapToSource(browser.proxy.index(r, 0)).row())
            for r in range(browser.proxy.rowCount())]
    return sorted((r.patient_name, r.modalities) for r in rows)


def test_a_patient_then_a_modality_then_a_period_narrow_the_studies(qtbot, window, tmp_path):  # noqa: ANN001
    _library(qtbot, window, tmp_path)
    browser = window.browser
    patients = browser.patient_list
    browser.patients_button.click()  # the Patients button shows the list beside the studies
    assert browser.patients_button.isChecked() == (not browser.patients_panel.isHidden())
    if browser.patients_panel.isHidden():  # it was shown at first (a wide window): the click hid it
        browser.patients_button.click()
    assert not browser.patients_panel.isHidden()
    assert patients.count() == 3 and patients.item(0).text() == "All patients\n2 patients · 3 studies"
    assert patients.item(2).text() == "Smith, Anna\nMRN-1001 · 1970-01-01 · 2 studies"
    patients.setCurrentRow(2)
    assert _shown(browser) == [("Smith^Anna", "CT"), ("Smith^Anna", "MR")]
    assert browser.shown_label.text() == "2 of 3 studies"
    bar = browser.filter_bar
    assert [bar.modality_combo.itemText(i) for i in range(bar.modality_combo.count())] == ["All modalities", "CT", "MR"]
    bar.modality_combo.setCurrentIndex(bar.modality_combo.findData("CT"))
    assert _shown(browser) == [("Smith^Anna", "CT")]
    patients.setCurrentRow(0)
    assert _shown(browser) == [("Jones^Bob", "CT"), ("Smith^Anna", "CT")]
    bar.date_combo.setCurrentIndex(bar.date_combo.findData(DateRange.TODAY))
    assert _shown(browser) == [("Smith^Anna", "CT")]
    bar.date_combo.setCurrentIndex(bar.date_combo.findData(DateRange.WEEK))
    assert _shown(browser) == [("Jones^Bob", "CT"), ("Smith^Anna", "CT")]
    bar.modality_combo.setCurrentIndex(0)
    bar.date_combo.setCurrentIndex(bar.date_combo.findData(DateRange.BETWEEN))
    assert not bar.from_edit.isHidden() and not bar.to_edit.isHidden()
    last_year = date.today() - timedelta(days=400)
    bar.from_edit.setDate(QDate(last_year.year, 1, 1))
    bar.to_edit.setDate(QDate(last_year.year, 12, 31))
    assert _shown(browser) == [("Smith^Anna", "MR")]
    browser.filter_edit.setText("Jones")  # the typed words narrow further
    assert _shown(browser) == [] and browser.shown_label.text() == "0 of 3 studies"
    bar.date_combo.setCurrentIndex(0)
    assert _shown(browser) == [("Jones^Bob", "CT")]
    browser.filter_edit.clear()
    patients.setCurrentRow(1)  # Bob
    assert _shown(browser) == [("Jones^Bob", "CT")]
    browser.patients_button.click()  # hidden, the list filters nothing out of sight
    assert browser.patients_panel.isHidden() and patients.patient() is None and len(_shown(browser)) == 3


def test_the_series_list_shows_a_picture_of_each_series(qtbot, window, tmp_path):  # noqa: ANN001
    _library(qtbot, window, tmp_path)
    browser = window.browser
    browser.studies_view.selectRow(0)
    model = browser.series_model
    assert model.rowCount() == 1
    qtbot.waitUntil(lambda: model.data(model.index(0, 0), 1) is not None, timeout=IMPORT_TIMEOUT_MS)
    picture = model.data(model.index(0, 0), 1)  # Qt.DecorationRole
    assert max(picture.width(), picture.height()) == 48 and not picture.toImage().isNull()
    assert browser.series_view.rowHeight(0) >= 48
