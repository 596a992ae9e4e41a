"""Retrieving from a real Orthanc into the encrypted library: the study arrives through the
import path (audited, duplicates known); a node killed mid-transfer and a cancel import nothing
of the retrieve and leave no staged object behind."""

from __future__ import annotations

import json
import signal

import pydicom
import pytest

from benchmarks.synthetic import write_series
from desktop.app.common.tasks import CancelToken
from desktop.app.library.home import VeilHome
from desktop.app.network.nodes import save_node
from desktop.app.network.retrieving import retrieve
from desktop.app.share.package_import import StagedMembers
from desktop.core.network.nodes import DicomNode, NodeError
from desktop.core.network.retrieve import What
from tests.conftest import instance_count, pydicom_test_files
from tests.orthanc import ORTHANC, SKIP_REASON, free_port, running_orthanc

pytestmark = pytest.mark.skipif(ORTHANC is None, reason=SKIP_REASON)


@pytest.fixture
def pacs(tmp_path):  # noqa: ANN201 - (home, orthanc, study UID): a library that knows the node PACS
    with running_orthanc(tmp_path / "orthanc", {"veil": ("VEIL", free_port())}) as orthanc:
        paths = write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "ct", 12, "Quisenberry^Marguerite",
                             "QX4471902")
        for path in paths:
            orthanc.upload(path)
        home = VeilHome.open(tmp_path / "home")
        save_node(home, DicomNode("PACS", orthanc.aet, "127.0.0.1", orthanc.dicom_port))
        yield home, orthanc, str(pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID)



def _staged(home: VeilHome) -> list:
    return [p for p in home.objects.tmp.rglob("*") if p.is_file()]


def test_a_study_retrieved_by_c_get_is_in_the_library_and_audited(pacs):  # noqa: ANN001
    home, _orthanc, study = pacs
    seen: list[tuple[int, int]] = []
    report = retrieve(home, "PACS", What(study), progress=lambda d, t: seen.append((d, t)))
    assert report.retrieved.received == 12 and report.imported is not None and report.imported.imported == 12
    assert report.headline() == "Retrieved 12 object(s) from PACS: 12 new, 0 already in the library."
    assert instance_count(home) == 12 and seen and seen[-1][1] == 12
    again = retrieve(home, "PACS", What(study))
    assert again.headline() == "Retrieved 12 object(s) from PACS: 0 new, 12 already in the library."
    lines = [json.loads(line) for line in home.audit_path.read_text().splitlines()]
    retrieves = [line for line in lines if line["action"] == "network.retrieve"]
    assert [r["outcome"] for r in retrieves] == ["completed", "completed"] and retrieves[0]["received"] == 12
    assert "QX4471902" not in home.audit_path.read_text() and study not in home.audit_path.read_text()
    assert home.verify_audit().ok


def test_a_node_killed_mid_transfer_imports_nothing_of_it(pacs, monkeypatch):  # noqa: ANN001
    home, orthanc, study = pacs
    keep = StagedMembers.keep

    def keep_then_kill(self, name, data):  # noqa: ANN001, ANN202
        keep(self, name, data)
        if self.staged == 3:
            orthanc.process.send_signal(signal.SIGKILL)

    monkeypatch.setattr(StagedMembers, "keep", keep_then_kill)
    with pytest.raises(NodeError, match="stopped mid-transfer after 3 image"):
        retrieve(home, "PACS", What(study))
    assert instance_count(home) == 0 and not _staged(home)
    lines = [json.loads(line) for line in home.audit_path.read_text().splitlines()]
    assert lines[-1]["action"] == "network.retrieve" and lines[-1]["outcome"] == "failed"


def test_a_cancelled_retrieve_imports_nothing(pacs):  # noqa: ANN001
    home, _orthanc, study = pacs
    token = CancelToken()

    def progress(done: int, _total: int) -> None:
        if done >= 2:
            token.cancel()

    report = retrieve(home, "PACS", What(study), progress=progress, cancel=token)
    assert report.retrieved.cancelled and report.headline().startswith("Retrieve from PACS cancelled")
    assert instance_count(home) == 0 and not _staged(home)


@pytest.mark.parametrize("method", ["get", "move"])
def test_a_series_and_then_one_image_are_retrieved_alone(pacs, method):  # noqa: ANN001
    from desktop.app.network.listening import set_listen_settings

    home, orthanc, study = pacs
    set_listen_settings(home, orthanc.rest("GET", "/modalities?expand")["veil"]["Port"], allow_any=False)
    series = orthanc.rest("GET", "/series")
    instances = orthanc.rest("GET", "/instances")
    assert len(series) == 1 and len(instances) == 12
    series_uid = orthanc.rest("GET", f"/series/{series[0]}")["MainDicomTags"]["SeriesInstanceUID"]
    sop_uid = orthanc.rest("GET", f"/instances/{instances[3]}")["MainDicomTags"]["SOPInstanceUID"]
    one = retrieve(home, "PACS", What(study, series_uid, sop_uid), method=method)
    assert one.what.level == "IMAGE" and one.retrieved.received == 1 and instance_count(home) == 1
    conn = home.connect()
    try:
        assert conn.execute("SELECT sop_instance_uid FROM instances").fetchone()[0] == sop_uid
    finally:
        conn.close()
    whole = retrieve(home, "PACS", What(study, series_uid), method=method)
    assert whole.what.level == "SERIES" and whole.retrieved.received == 12 and instance_count(home) == 12
