"""Veil's storage SCP with a real Orthanc: C-MOVE to Veil's own AE, and Orthanc pushing a study
to Veil (its /modalities/{id}/store), imported through the import path with the sender's AE
in the audit; a sender that is not a configured node is refused and nothing is kept."""

from __future__ import annotations

import json
import threading
import urllib.error

import pydicom
import pytest

from benchmarks.synthetic import write_series
from desktop.app.library.home import VeilHome
from desktop.app.network.listening import listening, set_listen_settings
from desktop.app.network.nodes import save_node
from desktop.app.network.retrieving import retrieve
from desktop.core.network.nodes import DicomNode
from desktop.core.network.retrieve import What
from tests.conftest import instance_count, pydicom_test_files
from tests.orthanc import ORTHANC, SKIP_REASON, free_port, running_orthanc

pytestmark = pytest.mark.skipif(ORTHANC is None, reason=SKIP_REASON)


@pytest.fixture
def pacs(tmp_path):  # noqa: ANN201 - (home, orthanc, study UID, Orthanc's study id)
    scp_port = free_port()
    with running_orthanc(tmp_path / "orthanc", {"veil": ("VEIL", scp_port)}) as orthanc:
        paths = write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "ct", 5, "Quisenberry^Marguerite",
                             "QX4471902")
        ids = [orthanc.upload(path) for path in paths]
        home = VeilHome.open(tmp_path / "home")
        set_listen_settings(home, scp_port, allow_any=False)
        save_node(home, DicomNode("PACS", orthanc.aet, "127.0.0.1", orthanc.dicom_port))
        study = orthanc.rest("GET", f"/instances/{ids[0]}/study")
        yield home, orthanc, str(pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID), study["ID"]



def _audit(home: VeilHome, action: str) -> list[dict]:
    return [line for line in (json.loads(x) for x in home.audit_path.read_text().splitlines())
            if line["action"] == action]


def test_c_move_to_veils_own_storage_scp(pacs):  # noqa: ANN001
    home, _orthanc, study, _id = pacs
    report = retrieve(home, "PACS", What(study), method="move")
    assert report.retrieved.received == 5 and report.imported is not None and report.imported.imported == 5
    assert instance_count(home) == 5 and _audit(home, "network.retrieve")[-1]["method"] == "move"


def test_orthanc_pushes_a_study_into_the_library(pacs):  # noqa: ANN001
    home, orthanc, _study, study_id = pacs
    arrived = threading.Event()
    with listening(home, lambda _peer, report: arrived.set() if report is not None else None, host="127.0.0.1"):
        orthanc.rest("POST", "/modalities/veil/store", json.dumps({"Resources": [study_id],
                                                                   "Synchronous": True}).encode())
        assert arrived.wait(30)
    assert instance_count(home) == 5
    received = _audit(home, "network.received")[-1]
    assert received["sender"] == "ORTHANC" and received["outcome"] == "completed" and received["imported"] == 5
    assert "QX4471902" not in home.audit_path.read_text()


def test_a_sender_that_is_not_a_configured_node_is_refused(pacs, tmp_path):  # noqa: ANN001
    home, orthanc, _study, study_id = pacs
    other = VeilHome.open(tmp_path / "other")
    veil_port = int(json.loads((orthanc.folder / "orthanc.json").read_text())["DicomModalities"]["veil"][2])
    set_listen_settings(other, veil_port, allow_any=False)
    save_node(other, DicomNode("Elsewhere", "ELSEWHERE", "127.0.0.1", 104))  # not Orthanc's AE title
    with listening(other, host="127.0.0.1"):
        with pytest.raises(urllib.error.HTTPError):
            orthanc.rest("POST", "/modalities/veil/store", json.dumps({"Resources": [study_id],
                                                                       "Synchronous": True}).encode())
    assert instance_count(other) == 0 and _audit(other, "network.received") == []
