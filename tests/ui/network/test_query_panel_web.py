"""File > Query/Retrieve on a DICOMweb server, against a real Orthanc with its DICOMweb plugin
and HTTP basic sign-in: a search (QIDO-RS) shows the study, expanding it its series; Retrieve
offers WADO-RS only (C-GET and C-MOVE are for DICOM nodes, and a DICOM node is not offered
WADO-RS); a retrieve shows its progress and the study appears in the library browser; Cancel
mid-retrieve imports nothing; a wrong password is said plainly in the status line."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from desktop.app.library.home import VeilHome
from desktop.app.network.nodes import save_node
from desktop.core.network.nodes import DicomNode, WebNode
from desktop.ui.main_window import MainWindow
from desktop.ui.network.query_panel import QueryPanel
from tests.orthanc import DICOMWEB_PLUGIN, DICOMWEB_SKIP, ORTHANC, SKIP_REASON, Orthanc, free_port, running_orthanc
from tests.ui.network.test_query_panel import (
    CT,
    CT_IMAGES,
    MR,
    NETWORK_MS,
    _row,
    _search,
    _slow_keep,
    _study,
    cancel_and_see_nothing_kept,
    retrieve_and_see_it_arrive,
)

pytestmark = [pytest.mark.skipif(ORTHANC is None, reason=SKIP_REASON),
              pytest.mark.skipif(not DICOMWEB_PLUGIN.exists(), reason=DICOMWEB_SKIP)]
PASSWORD = "Tr0ub4dor&3-web"  # noqa: S105 - the test server's password
NODE = "Web PACS"


@pytest.fixture(scope="module")
def web_pacs(tmp_path_factory):  # noqa: ANN201 - (Orthanc, CT study UID, MR study UID), loaded once
    tmp = tmp_path_factory.mktemp("web-pacs")
    with running_orthanc(tmp / "orthanc", dicomweb=True, user=("veil", PASSWORD)) as orthanc:
        ct, ct_paths = _study("CT_small.dcm", tmp / "ct", CT_IMAGES, CT)
        mr, mr_paths = _study("MR_small.dcm", tmp / "mr", 2, MR)
        for path in ct_paths + mr_paths:
            orthanc.upload(path)
        yield orthanc, ct, mr


def _open_panel(window: MainWindow, home: VeilHome, orthanc: Orthanc, secret: str = PASSWORD) -> QueryPanel:
    """Save the DICOMweb server (Orthanc, basic sign-in as veil) and open File > Query/Retrieve."""
    save_node(home, WebNode(NODE, orthanc.dicomweb, "basic", "veil"), secret=secret)
    window.commands.query_retrieve.trigger()
    panel = window.network.query_panel
    assert panel is not None and panel.isVisible() and panel.node() == NODE
    return panel


def _methods(panel: QueryPanel) -> list[str]:
    return [panel.method_combo.itemText(i) for i in range(panel.method_combo.count())]


def _select_first(panel: QueryPanel) -> None:
    selection = panel.tree.selectionModel()
    selection.clearSelection()
    selection.select(panel.model.index(0, 0), selection.SelectionFlag.Rows | selection.SelectionFlag.Select)


def test_qido_shows_the_study_and_its_series_and_only_wado_is_offered(qtbot, window, home, web_pacs):  # noqa: ANN001
    orthanc, ct, _mr = web_pacs
    panel = _open_panel(window, home, orthanc)
    tip = panel.node_combo.itemData(0, Qt.ItemDataRole.ToolTipRole)
    assert tip == f"DICOMweb {orthanc.dicomweb} (basic: veil)"
    assert _methods(panel) == ["WADO-RS"] and panel.method() == "wado"
    assert "HTTP" in panel.method_combo.itemData(0, Qt.ItemDataRole.ToolTipRole)
    panel.form.id_edit.setText("QX4471902")
    _search(qtbot, panel, f"1 study on {NODE}")
    assert panel.status.property("role") == "ok" and panel.results_node == NODE
    assert _row(panel, 0) == ["Quisenberry, Marguerite", "QX4471902", "2004-01-19", "ACC-CT-0001", "CT", "1",
                              str(CT_IMAGES), "e+1"]
    assert [s.study_uid for s in panel.model.studies()] == [ct]
    study = panel.model.index(0, 0)
    panel.tree.expand(study)
    qtbot.waitUntil(lambda: _row(panel, 0, study)[0] == "Series 3", timeout=NETWORK_MS)
    assert _row(panel, 0, study)[4:] == ["CT", "", str(CT_IMAGES), ""] and panel.model.rowCount(study) == 1

    panel.form.clear()
    panel.form.modality_combo.setCurrentText("MR")
    _search(qtbot, panel, f"1 study on {NODE}")
    assert _row(panel, 0)[:2] == ["Okonkwo, Adaeze", "OK5518203"]
    panel.form.clear()
    _search(qtbot, panel, f"2 studies on {NODE}")
    panel.form.set_accession_list(["ACC-MR-0002", "ACC-XX-0404"])  # one QIDO-RS search each
    _search(qtbot, panel, "Nothing found for 1 accession number: ACC-XX-0404.")
    assert [_row(panel, r)[:2] for r in range(panel.model.rowCount())] == [["Okonkwo, Adaeze", "OK5518203"]]

    # a DICOM node is offered C-GET and C-MOVE, never WADO-RS; back on the server, WADO-RS only
    save_node(home, DicomNode("A DICOM node", "ARCHIVE", "127.0.0.1", free_port()))
    panel.reload_nodes()
    panel.node_combo.setCurrentText("A DICOM node")
    assert _methods(panel) == ["C-GET", "C-MOVE"] and panel.method() == "get"
    assert panel.model.rowCount() == 0  # the server's studies are not retrieved from another node
    assert panel.node_combo.toolTip().startswith("ARCHIVE@127.0.0.1:")
    panel.node_combo.setCurrentText(NODE)
    assert _methods(panel) == ["WADO-RS"] and panel.method() == "wado" and panel.node_combo.toolTip() == tip

    # the server edited into a DICOM node of the same name: its methods and where it is follow
    save_node(home, DicomNode(NODE, "ORTHANC", "127.0.0.1", orthanc.dicom_port), replace=True)
    panel.reload_nodes()
    assert panel.node() == NODE and _methods(panel) == ["C-GET", "C-MOVE"]
    assert panel.node_combo.toolTip() == f"ORTHANC@127.0.0.1:{orthanc.dicom_port}"
    assert panel.node_combo.itemData(panel.node_combo.currentIndex(), Qt.ItemDataRole.ToolTipRole) == (
        f"ORTHANC@127.0.0.1:{orthanc.dicom_port}")


def test_a_patient_name_from_its_start_finds_the_study(qtbot, window, home, web_pacs):  # noqa: ANN001
    orthanc, ct, _mr = web_pacs
    panel = _open_panel(window, home, orthanc)
    panel.form.name_edit.setText("quisen")  # Quisen*: from its start, in any case, as for C-FIND
    _search(qtbot, panel, f"on {NODE}")
    assert [s.study_uid for s in panel.model.studies()] == [ct], panel.status.text()


def test_retrieve_by_wado_shows_progress_and_the_study_appears_in_the_library(qtbot, window, home, web_pacs,
                                                                              monkeypatch):  # noqa: ANN001
    orthanc, ct, _mr = web_pacs
    _slow_keep(monkeypatch, 0.05)
    panel = _open_panel(window, home, orthanc)
    assert window.catalogue is not None and window.catalogue.empty
    panel.form.accession_edit.setText("ACC-CT-0001")
    _search(qtbot, panel, f"1 study on {NODE}")
    _select_first(panel)
    assert panel.method_combo.currentText() == "WADO-RS" and panel.retrieve_button.isEnabled()
    retrieve_and_see_it_arrive(qtbot, window, home, panel, NODE, ct)


def test_cancel_mid_wado_retrieve_imports_nothing(qtbot, window, home, web_pacs, monkeypatch):  # noqa: ANN001
    orthanc, _ct, _mr = web_pacs
    _slow_keep(monkeypatch, 0.4)
    panel = _open_panel(window, home, orthanc)
    panel.form.id_edit.setText("QX4471902")
    _search(qtbot, panel, f"1 study on {NODE}")
    _select_first(panel)
    cancel_and_see_nothing_kept(qtbot, window, home, panel, NODE)


def test_a_wrong_password_is_said_in_the_status_line(qtbot, window, home, web_pacs):  # noqa: ANN001
    orthanc, _ct, _mr = web_pacs
    panel = _open_panel(window, home, orthanc, secret="not-the-password")
    _search(qtbot, panel, "refused the sign-in")
    assert panel.status.text() == (f"{NODE} refused the sign-in (HTTP 401): check the user name and password "
                                   "or token.")
    assert panel.status.property("role") == "danger" and panel.model.rowCount() == 0 and not panel.busy
    assert "not-the-password" not in home.audit_path.read_text()
