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


def test_tls_settings_are_saved_checked_and_read_back(tmp_path):  # noqa: ANN001
    from desktop.app.network.listening import listen_settings, set_listen_tls
    from desktop.core.network.nodes import NodeError
    from desktop.core.network.server_tls import ServerTls
    from tests.tls_certs import make_certificates

    certificates = make_certificates(tmp_path / "tls")
    home = VeilHome.open(tmp_path / "home")
    assert listen_settings(home).tls is None and listen_settings(home).describe() == "plain TCP, not encrypted"
    tls = ServerTls(str(certificates.server_cert), str(certificates.server_key), str(certificates.ca))
    set_listen_tls(home, tls)
    assert listen_settings(home).tls == tls
    assert listen_settings(home).describe() == f"over TLS, client certificates from {certificates.ca} required"
    with pytest.raises(NodeError, match=r"Veil's TLS key \(.*client.key\) does not belong to Veil's TLS certificate"):
        set_listen_tls(home, ServerTls(str(certificates.server_cert), str(certificates.client_key)))
    with pytest.raises(NodeError, match=r"Veil's TLS certificate \(.*gone.pem\) cannot be read"):
        set_listen_tls(home, ServerTls(str(tmp_path / "gone.pem"), str(certificates.server_key)))
    assert listen_settings(home).tls == tls  # a refused change leaves the settings as they were
    set_listen_settings(home, 11113, allow_any=True)
    assert listen_settings(home).tls == tls  # the port and the senders are saved on their own
    set_listen_tls(home, None)
    assert listen_settings(home).tls is None


def test_listening_over_tls_imports_what_a_tls_sender_sends(tmp_path):  # noqa: ANN001
    import ssl

    from pynetdicom import AE
    from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

    from desktop.app.network.listening import set_listen_tls
    from desktop.core.network.server_tls import ServerTls
    from tests.tls_certs import make_certificates

    certificates = make_certificates(tmp_path / "tls")
    home = VeilHome.open(tmp_path / "home")
    port = free_port()
    set_listen_settings(home, port, allow_any=True)
    set_listen_tls(home, ServerTls(str(certificates.server_cert), str(certificates.server_key), str(certificates.ca)))
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(certificates.ca))
    client.load_cert_chain(str(certificates.client_cert), str(certificates.client_key))
    arrived = threading.Event()
    with listening(home, lambda _peer, report: arrived.set() if report is not None else None, host="127.0.0.1"):
        ae = AE(ae_title="SENDER")
        ae.add_requested_context(CTImageStorage)
        plain = ae.associate("127.0.0.1", port, ae_title="VEIL")
        assert not plain.is_established  # plain TCP is not answered
        assoc = ae.associate("127.0.0.1", port, ae_title="VEIL", tls_args=(client, "localhost"))
        assert assoc.is_established
        assert assoc.send_c_store(pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")).Status == 0x0000
        assoc.release()
        assert arrived.wait(30)
    assert instance_count(home) == 1
    assert _audit(home, "network.received")[-1]["outcome"] == "completed"
