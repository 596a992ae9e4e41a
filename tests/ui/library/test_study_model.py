"""Sorting and filtering of the study table (models only, no window)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from desktop.app.browsing.catalogue import StudyRow
from desktop.ui.library.study_model import NO_NAME, StudyFilterProxy, StudyTableModel


def study(ref: int, name: str, date: str, images: int, modality: str = "CT", desc: str = "",
          pid: str = "") -> StudyRow:
    return StudyRow(study_ref=ref, patient_name=name, patient_id=pid or f"P{ref}", birth_date="19700101",
                    sex="F", study_uid=f"1.2.{ref}", study_date=date, study_time="120000",
                    accession_number=f"ACC{ref}", description=desc, modalities=modality,
                    series_count=1, image_count=images, frame_count=images)


@pytest.fixture
def proxy(qtbot) -> StudyFilterProxy:
    model = StudyTableModel()
    model.set_rows([
        study(1, "Doe^Jane", "20110617", 10, "CT", "CHEST W/O"),
        study(2, "Smith^John", "19941105", 9, "MR", "Brain"),
        study(3, "", "2003.02.01", 120, "US", "Abdomen"),
    ])
    p = StudyFilterProxy()
    p.setSourceModel(model)
    p._model = model  # keep the source alive with the proxy
    return p


def column(proxy: StudyFilterProxy, col: int) -> list[str]:
    return [proxy.index(r, col).data() for r in range(proxy.rowCount())]


def test_numbers_sort_numerically(proxy):
    proxy.sort(StudyTableModel.IMAGES, Qt.SortOrder.AscendingOrder)
    assert column(proxy, StudyTableModel.IMAGES) == ["9", "10", "120"]


def test_dates_sort_chronologically_including_old_forms(proxy):
    proxy.sort(StudyTableModel.STUDY_DATE, Qt.SortOrder.AscendingOrder)
    assert column(proxy, StudyTableModel.STUDY_DATE) == ["1994-11-05", "2003-02-01", "2011-06-17"]


def test_names_display_family_comma_given_and_placeholder(proxy):
    proxy.sort(StudyTableModel.PATIENT, Qt.SortOrder.AscendingOrder)
    assert column(proxy, StudyTableModel.PATIENT) == [NO_NAME, "Doe, Jane", "Smith, John"]


def test_filter_is_case_insensitive_across_columns_and_words(proxy):
    proxy.set_filter_text("brain")
    assert column(proxy, StudyTableModel.PATIENT) == ["Smith, John"]
    proxy.set_filter_text("JOHN mr")
    assert proxy.rowCount() == 1
    proxy.set_filter_text("2011-06")  # the date as shown
    assert column(proxy, StudyTableModel.PATIENT) == ["Doe, Jane"]
    proxy.set_filter_text("20030201")  # the date as DICOM writes it
    assert proxy.rowCount() == 1
    proxy.set_filter_text("acc2")  # accession number, not a column but searchable
    assert column(proxy, StudyTableModel.PATIENT) == ["Smith, John"]
    proxy.set_filter_text("no such thing")
    assert proxy.rowCount() == 0
    proxy.set_filter_text("")
    assert proxy.rowCount() == 3


def test_numeric_columns_align_right(proxy):
    align = proxy.index(0, StudyTableModel.IMAGES).data(Qt.ItemDataRole.TextAlignmentRole)
    assert Qt.AlignmentFlag(align) & Qt.AlignmentFlag.AlignRight


def test_reload_keeps_selection_and_scroll_position(qtbot):
    """A live reload during an import must not move what the person is looking at."""
    from desktop.app.browsing.catalogue import Catalogue
    from desktop.ui.library.study_browser import StudyBrowser

    browser = StudyBrowser()
    qtbot.addWidget(browser)
    browser.resize(900, 500)
    browser.show()
    rows = [study(i, f"Patient^{i:03d}", f"2020{1 + i % 12:02d}{1 + i % 28:02d}", i) for i in range(1, 200)]
    browser.set_catalogue(Catalogue(rows))
    view = browser.studies_view
    target = view.model().index(120, 0)
    view.selectionModel().setCurrentIndex(target, view.selectionModel().SelectionFlag.ClearAndSelect
                                          | view.selectionModel().SelectionFlag.Rows)
    chosen = browser.selected_study()
    bar = view.verticalScrollBar()
    bar.setValue(bar.maximum() // 3)
    kept = bar.value()
    assert kept > 0
    more = rows + [study(i, f"Zed^{i}", "19990101", 1) for i in range(200, 230)]  # sorts last
    browser.set_catalogue(Catalogue(more))
    assert browser.selected_study() == chosen
    assert bar.value() == kept
    assert browser.visible_study_count() == 229


def test_a_study_with_no_image_to_show_says_so_in_its_images_column(qtbot):
    from dataclasses import replace

    from desktop.ui.library.study_model import STUDY_COLUMNS

    images = next(c for c in STUDY_COLUMNS if c.title == "Images")
    report_only = replace(study(4, "Roe^Ann", "20200101", 2, "SR"), displayable_count=0)
    with_images = replace(study(5, "Roe^Ann", "20200101", 2, "CT"), displayable_count=2)
    assert images.display(report_only) == "2 (no image to show)"
    assert images.display(with_images) == "2"
