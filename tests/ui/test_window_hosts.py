"""The consent and share windows driven by a small fake host instead of the main window: they
use only what ConsentHost and ShareHost name, and say why nothing opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget

from desktop.app.browsing.catalogue import Catalogue, SeriesRow, StudyRow
from desktop.app.library.home import VeilHome
from desktop.ui.consent.windows import ConsentHost, ConsentWindows
from desktop.ui.share.windows import DROP_IMPORT, DROP_PACKAGE, ShareHost, ShareWindows, drop_hint


class FakeHost:
    """No library open, nothing selected; remembers what it was asked to say and do."""

    def __init__(self) -> None:
        self.home: VeilHome | None = None
        self.catalogue: Catalogue | None = None
        self.said: list[str] = []
        self.refreshed = 0

    def study_in_view(self) -> StudyRow | None:
        return None

    def studies_in_view(self) -> list[StudyRow]:
        return []

    def series_of(self, study: StudyRow) -> list[SeriesRow]:
        return []

    def selected_series(self) -> list[SeriesRow]:
        return []

    def open_viewer(self, study: StudyRow, series: SeriesRow | None = None) -> object:
        raise AssertionError("nothing to view")

    def refresh(self) -> None:
        self.refreshed += 1

    def say(self, text: str) -> None:
        self.said.append(text)


@pytest.fixture
def parent(qtbot) -> QWidget:
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


def test_the_consent_windows_want_a_study_first(parent: QWidget) -> None:
    host = FakeHost()
    consent_host: ConsentHost = host
    windows = ConsentWindows(consent_host, parent)
    assert windows.record_consent() is None and windows.consent_records() is None
    assert windows.disclosures() is None
    assert host.said == ["Select a study first: consent is recorded for its patient."] * 3
    assert windows.audit_report() is None and windows.breach_report() is None  # no library open


def test_the_share_windows_want_a_selection_and_keep_packages_until_the_library_opens(parent: QWidget,
                                                                                     tmp_path: Path) -> None:
    host = FakeHost()
    share_host: ShareHost = host
    windows = ShareWindows(share_host, parent)
    assert windows.export_package() is None and windows.export_slides() is None and windows.export_series() is None
    assert host.said == ["Select one or more studies to export.",
                         "Select one or more studies to export as slide images.",
                         "Select a series to export."]
    package, scan = tmp_path / "case.veil", tmp_path / "scan.dcm"
    assert windows.take_packages([str(package), str(scan)]) == [str(scan)]
    assert windows.waiting == [Path(package)] and not windows.busy  # opened once the library is
    assert windows.key_card() is None and windows.address_book() is None


def test_a_drop_says_whether_it_opens_packages_or_imports(tmp_path: Path) -> None:
    assert drop_hint([str(tmp_path / "a.veil"), str(tmp_path / "B.VEIL")]) == DROP_PACKAGE
    assert drop_hint([str(tmp_path / "a.veil"), str(tmp_path / "scan.dcm")]) == DROP_IMPORT
    assert drop_hint([]) == DROP_IMPORT
