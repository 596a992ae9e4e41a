"""File > Query/Retrieve as a radiologist uses it, against a real Orthanc: search by name shows
the study with its patient and accession number; expanding it lists its series; a list of
accession numbers (pasted or from a file) finds each; Retrieve (C-GET) shows its progress and
the study appears in the library browser; Cancel mid-retrieve, or closing the window, imports
nothing; a node that refuses, and no node at all, are said plainly."""

from __future__ import annotations

import time
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid
from PySide6.QtCore import Qt

from desktop.app.library.home import VeilHome
from desktop.app.network.nodes import save_node
from desktop.app.share.package_import import StagedMembers
from desktop.core.network.nodes import DicomNode
from desktop.ui.main_window import MainWindow
from desktop.ui.network.query_panel import QueryPanel
from tests.conftest import instance_count, pydicom_test_files
from tests.orthanc import ORTHANC, SKIP_REASON, Orthanc, free_port, running_orthanc

pytestmark = pytest.mark.skipif(ORTHANC is None, reason=SKIP_REASON)
NETWORK_MS = 60_000
CT_IMAGES = 12
CT = ("Quisenberry^Marguerite", "QX4471902", "ACC-CT-0001")
MR = ("Okonkwo^Adaeze", "OK5518203", "ACC-MR-0002")


def _study(source: str, folder: Path, count: int, patient: tuple[str, str, str]) -> tuple[str, list[Path]]:
    """``count`` images of a new study of ``patient`` (name, ID, accession) made from a pydicom test file."""
    ds = pydicom.dcmread(pydicom_test_files() / source)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.AccessionNumber = patient
    ds.SeriesNumber = 3
    folder.mkdir(parents=True)
    paths = []
    for number in range(count):
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.InstanceNumber = number + 1
        paths.append(folder / f"IM{number:03d}.dcm")
        ds.save_as(paths[-1], enforce_file_format=True)
    return str(ds.StudyInstanceUID), paths


@pytest.fixture(scope="module")
def pacs(tmp_path_factory):  # noqa: ANN201 - (Orthanc, CT study UID, MR study UID), loaded once for the module
    tmp = tmp_path_factory.mktemp("pacs")
    with running_orthanc(tmp / "orthanc", {"veil": ("VEIL", free_port())}) as orthanc:
        ct, ct_paths = _study("CT_small.dcm", tmp / "ct", CT_IMAGES, CT)
        mr, mr_paths = _study("MR_small.dcm", tmp / "mr", 2, MR)
        for path in ct_paths + mr_paths:
            orthanc.upload(path)
        yield orthanc, ct, mr


def _open_panel(window: MainWindow, home: VeilHome, orthanc: Orthanc | None, port: int | None = None) -> QueryPanel:
    """Save the node PACS (Orthanc, or nothing listening on ``port``) and open File > Query/Retrieve."""
    save_node(home, DicomNode("PACS", orthanc.aet if orthanc else "ORTHANC", "127.0.0.1",
                              port or (orthanc.dicom_port if orthanc else free_port())))
    window.commands.query_retrieve.trigger()
    panel = window.network.query_panel
    assert panel is not None and panel.isVisible() and panel.node() == "PACS"
    return panel


def _search(qtbot, panel: QueryPanel, expect: str) -> None:  # noqa: ANN001
    qtbot.mouseClick(panel.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: expect in panel.status.text(), timeout=NETWORK_MS)


def _row(panel: QueryPanel, row: int, parent=None) -> list[str]:  # noqa: ANN001 - the texts of a row as shown
    model = panel.model
    parent_index = parent if parent is not None else model.index(-1, -1)
    return [str(model.index(row, c, parent_index).data() or "") for c in range(model.columnCount())]



def _slow_keep(monkeypatch, seconds: float) -> None:  # noqa: ANN001 - each retrieved image kept slowly
    keep = StagedMembers.keep

    def slowly(self, name, data):  # noqa: ANN001, ANN202
        keep(self, name, data)
        time.sleep(seconds)

    monkeypatch.setattr(StagedMembers, "keep", slowly)


def retrieve_and_see_it_arrive(qtbot, window: MainWindow, home: VeilHome, panel: QueryPanel, node: str,  # noqa: ANN001
                               ct: str) -> None:
    """Press Retrieve on the selected study: the bar moves, the status says what came, the
    browser lists the study (the check both kinds of node share)."""
    seen: list[int] = []
    panel.progress.valueChanged.connect(seen.append)
    qtbot.mouseClick(panel.retrieve_button, Qt.MouseButton.LeftButton)
    assert panel.busy and panel.cancel_button.isVisible() and not panel.search_button.isEnabled()
    qtbot.waitUntil(lambda: panel.progress.isVisible() and panel.progress.value() > 0, timeout=NETWORK_MS)
    assert panel.progress.maximum() == CT_IMAGES and panel.progress_label.text().startswith("Retrieving the study: ")
    assert panel.progress_label.text().endswith(f" of {CT_IMAGES} images received")
    qtbot.waitUntil(lambda: not panel.busy, timeout=NETWORK_MS)
    assert panel.status.text() == (f"Retrieved {CT_IMAGES} object(s) from {node}: {CT_IMAGES} new, "
                                   "0 already in the library.")
    assert panel.status.property("role") == "ok" and not panel.progress.isVisible()
    assert max(seen) >= CT_IMAGES - 1 and len(set(seen)) > 2  # the bar moved as the images came
    qtbot.waitUntil(lambda: window.catalogue is not None and not window.catalogue.empty, timeout=NETWORK_MS)
    assert [s.study_uid for s in window.catalogue.studies] == [ct] and instance_count(home) == CT_IMAGES
    assert window.browser.visible_study_count() == 1 and window.pages.currentWidget() is window.browser


def cancel_and_see_nothing_kept(qtbot, window: MainWindow, home: VeilHome, panel: QueryPanel,  # noqa: ANN001
                                node: str) -> None:
    """Retrieve the selected study, Cancel once two images came: nothing imported, nothing staged."""
    panel.retrieve_selected()
    qtbot.waitUntil(lambda: panel.progress.value() >= 2, timeout=NETWORK_MS)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert panel.status.text().startswith("Cancelling") and not panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.busy, timeout=NETWORK_MS)
    assert panel.status.text() == f"Retrieve from {node} cancelled: nothing of what was being retrieved was imported."
    assert panel.status.property("role") == "warning" and panel.search_button.isEnabled()
    assert instance_count(home) == 0 and not [p for p in home.objects.tmp.rglob("*") if p.is_file()]
    window.refresh()
    qtbot.wait(300)
    assert window.catalogue is not None and window.catalogue.empty


def test_a_search_shows_the_study_and_expanding_it_its_series(qtbot, window, home, pacs):  # noqa: ANN001
    orthanc, ct, _mr = pacs
    panel = _open_panel(window, home, orthanc)
    assert panel.windowTitle() == "Query/Retrieve" and not panel.no_nodes.isVisible()
    assert [panel.method_combo.itemText(i) for i in range(panel.method_combo.count())] == ["C-GET", "C-MOVE"]
    panel.form.name_edit.setText("quisen")  # from its start, in any case
    _search(qtbot, panel, "1 study on PACS")
    assert panel.status.property("role") == "ok"
    assert _row(panel, 0) == ["Quisenberry, Marguerite", "QX4471902", "2004-01-19", "ACC-CT-0001", "CT", "1",
                              str(CT_IMAGES), "e+1"]
    study = panel.model.index(0, 0)
    panel.tree.expand(study)
    qtbot.waitUntil(lambda: _row(panel, 0, study)[0] == "Series 3", timeout=NETWORK_MS)
    assert _row(panel, 0, study)[4:] == ["CT", "", str(CT_IMAGES), ""] and panel.model.rowCount(study) == 1

    panel.form.clear()
    panel.form.id_edit.setText("NOBODY-HERE")
    _search(qtbot, panel, "No study on PACS matches.")
    assert panel.model.rowCount() == 0
    panel.form.id_edit.clear()
    panel.form.choose_dates("Between…")
    panel.form.from_edit.setDate(panel.form.to_edit.date().addDays(1))
    panel.search()
    assert "ends before it starts" in panel.status.text() and panel.status.property("role") == "danger"

    panel.form.clear()
    _search(qtbot, panel, "2 studies on PACS")
    save_node(home, DicomNode("Archive", "ARCHIVE", "127.0.0.1", free_port()))
    panel.reload_nodes()
    panel.node_combo.setCurrentText("Archive")  # another node's studies are not offered for retrieve
    assert panel.model.rowCount() == 0 and panel.status.text() == "Search Archive to see its studies."


def test_a_list_of_accession_numbers_finds_each_study(qtbot, window, home, pacs, tmp_path):  # noqa: ANN001
    orthanc, ct, mr = pacs
    panel = _open_panel(window, home, orthanc)
    panel.form.list_button.click()
    assert panel.form.accession_list.isVisible()
    panel.form.accession_list.setPlainText("ACC-CT-0001\nACC-MR-0002\n\nACC-MR-0002\nACC-XX-0404\n")
    assert not panel.form.accession_edit.isEnabled()  # the list is asked, not the field
    _search(qtbot, panel, "2 studies on PACS")
    assert "Nothing found for 1 accession number: ACC-XX-0404." in panel.status.text()
    shown = {_row(panel, r)[3]: _row(panel, r)[0] for r in range(panel.model.rowCount())}
    assert shown == {"ACC-CT-0001": "Quisenberry, Marguerite", "ACC-MR-0002": "Okonkwo, Adaeze"}
    assert {s.study_uid for s in panel.model.studies()} == {ct, mr}

    listed = tmp_path / "worklist.txt"
    listed.write_text("ACC-MR-0002\r\nACC-MR-0002\r\n")
    assert panel.form.read_file(listed) == ["ACC-MR-0002"]
    _search(qtbot, panel, "1 study on PACS")
    assert _row(panel, 0)[:2] == ["Okonkwo, Adaeze", "OK5518203"]


def test_retrieve_by_c_get_shows_progress_and_the_study_appears_in_the_library(qtbot, window, home, pacs,
                                                                                monkeypatch):  # noqa: ANN001
    orthanc, ct, _mr = pacs
    _slow_keep(monkeypatch, 0.05)
    panel = _open_panel(window, home, orthanc)
    assert window.catalogue is not None and window.catalogue.empty
    panel.form.accession_edit.setText("ACC-CT-0001")
    _search(qtbot, panel, "1 study on PACS")
    assert panel.retrieve_button.isEnabled()  # the first study is chosen
    panel.tree.clearSelection()
    assert not panel.retrieve_button.isEnabled()
    panel.tree.selectionModel().select(panel.model.index(0, 0), panel.tree.selectionModel().SelectionFlag.Rows
                                       | panel.tree.selectionModel().SelectionFlag.Select)
    assert panel.method_combo.currentText() == "C-GET" and panel.retrieve_button.isEnabled()
    retrieve_and_see_it_arrive(qtbot, window, home, panel, "PACS", ct)


def test_cancel_mid_retrieve_imports_nothing(qtbot, window, home, pacs, monkeypatch):  # noqa: ANN001
    orthanc, _ct, _mr = pacs
    _slow_keep(monkeypatch, 0.4)
    panel = _open_panel(window, home, orthanc)
    panel.form.id_edit.setText("QX4471902")
    _search(qtbot, panel, "1 study on PACS")
    panel.tree.setCurrentIndex(panel.model.index(0, 0))
    cancel_and_see_nothing_kept(qtbot, window, home, panel, "PACS")


def test_closing_the_window_mid_retrieve_cancels_then_closes(qtbot, window, home, pacs, monkeypatch):  # noqa: ANN001
    orthanc, _ct, _mr = pacs
    _slow_keep(monkeypatch, 0.4)
    panel = _open_panel(window, home, orthanc)
    _search(qtbot, panel, "2 studies on PACS")
    panel.tree.selectAll()
    panel.retrieve_selected()
    assert panel.progress_label.text() == "Study 1 of 2"
    qtbot.waitUntil(lambda: panel.progress.value() >= 1, timeout=NETWORK_MS)
    panel.close()
    assert panel.isVisible() and panel.status.text().startswith("Cancelling")  # open until the work stops
    qtbot.waitUntil(lambda: not panel.isVisible(), timeout=NETWORK_MS)
    assert not panel.busy and instance_count(home) == 0


def test_no_node_and_a_refusing_node_are_said_plainly(qtbot, window, home):  # noqa: ANN001
    window.commands.query_retrieve.trigger()
    panel = window.network.query_panel
    assert panel is not None and panel.node() is None
    assert panel.no_nodes.isVisible() and "No node yet" in panel.no_nodes.text()
    assert not panel.search_button.isEnabled() and panel.nodes_button.text() == "Add a Node…"
    qtbot.mouseClick(panel.nodes_button, Qt.MouseButton.LeftButton)
    assert window.network.nodes_dialog is not None and window.network.nodes_dialog.isVisible()
    window.network.nodes_dialog.close()

    port = free_port()  # nothing listens there
    save_node(home, DicomNode("PACS", "ORTHANC", "127.0.0.1", port))
    panel.reload_nodes()
    assert panel.node() == "PACS" and not panel.no_nodes.isVisible() and panel.search_button.isEnabled()
    _search(qtbot, panel, "refused the connection")
    assert panel.status.text() == (f"PACS (127.0.0.1:{port}) refused the connection: "
                                   f"nothing listens on port {port} there.")
    assert panel.status.property("role") == "danger" and panel.model.rowCount() == 0 and not panel.busy
