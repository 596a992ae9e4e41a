"""DICOMweb against a real Orthanc with its DICOMweb plugin, signed in with HTTP basic: the
password is kept in the keyring (or sealed for a passphrase home), never in the settings or a
log; QIDO-RS finds studies and series (accession lists too), WADO-RS retrieves into the library
in the syntax Orthanc stored, STOW-RS sends de-identified images accounted to the server; a
wrong password, a closed port, a wrong address and a cancel each say plainly what happened."""

from __future__ import annotations

import io
import json
import threading

import pydicom
import pytest

from benchmarks.synthetic import write_series
from desktop.app.common.tasks import CancelToken
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.app.network.nodes import (
    SECRET_PREFIX,
    echo_node,
    list_nodes,
    node_secret,
    query_accessions,
    query_series,
    query_studies,
    remove_node,
    save_node,
)
from desktop.app.network.retrieving import retrieve
from desktop.app.network.sending import send_studies
from desktop.core.deid.profiles import preset
from desktop.core.library.settings import get_settings
from desktop.core.network.nodes import NodeError, WebNode
from desktop.core.network.query import StudyQuery
from desktop.core.network.retrieve import What
from tests.conftest import instance_count, pydicom_test_files, teaching
from tests.orthanc import DICOMWEB_PLUGIN, DICOMWEB_SKIP, ORTHANC, SKIP_REASON, free_port, running_orthanc
from tests.planting import assert_no_identity
from tests.planting.pixels import plant_file

pytestmark = [pytest.mark.skipif(ORTHANC is None, reason=SKIP_REASON),
              pytest.mark.skipif(not DICOMWEB_PLUGIN.exists(), reason=DICOMWEB_SKIP)]

PASSWORD = "Tr0ub4dor&3-web"  # noqa: S105 - the test server's password


@pytest.fixture
def server(tmp_path):  # noqa: ANN201 - (orthanc, [study paths])
    with running_orthanc(tmp_path / "orthanc", dicomweb=True, user=("veil", PASSWORD)) as orthanc:
        paths = write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "ct", 6, "Quisenberry^Marguerite",
                             "QX4471902")
        jpeg2000 = pydicom.dcmread(pydicom_test_files() / "JPEG2000.dcm")
        jpeg2000.AccessionNumber = "ACC-2002"
        jpeg2000.save_as(tmp_path / "j2k.dcm")
        for path in paths:
            ds = pydicom.dcmread(path)
            ds.AccessionNumber = "ACC-1001"
            ds.save_as(path)
            orthanc.upload(path)
        orthanc.upload(tmp_path / "j2k.dcm")
        yield orthanc, paths


def _web(orthanc, home: VeilHome, secret: str = PASSWORD) -> WebNode:  # noqa: ANN001
    node = WebNode("Web PACS", orthanc.dicomweb, "basic", "veil")
    save_node(home, node, secret=secret)
    return node



def test_the_password_is_in_the_keyring_never_in_the_settings_and_the_server_answers(server, home, memory_keyring):
    orthanc, _paths = server
    _web(orthanc, home)
    assert [n.describe() for n in list_nodes(home)] == [f"DICOMweb {orthanc.dicomweb} (basic: veil)"]
    assert PASSWORD in memory_keyring.secrets.values()
    conn = home.connect()
    try:
        settings = get_settings(conn, "network.")
    finally:
        conn.close()
    assert not any(PASSWORD in value for value in settings.values())
    assert echo_node(home, "Web PACS").name == "Web PACS"
    assert PASSWORD not in home.audit_path.read_text()
    remove_node(home, "Web PACS")
    assert PASSWORD not in memory_keyring.secrets.values()


def test_a_passphrase_home_seals_the_password_in_the_library(server, passphrase_home, memory_keyring):
    orthanc, _paths = server
    node = _web(orthanc, passphrase_home)
    assert PASSWORD not in memory_keyring.secrets.values()
    conn = passphrase_home.connect()
    try:
        sealed = get_settings(conn, SECRET_PREFIX)
    finally:
        conn.close()
    assert list(sealed) == [SECRET_PREFIX + "web pacs"] and PASSWORD not in next(iter(sealed.values()))
    assert node_secret(passphrase_home, node) == PASSWORD
    echo_node(passphrase_home, "Web PACS")
    for path in passphrase_home.path.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_faults_are_said_plainly(server, home):  # noqa: ANN001
    orthanc, _paths = server
    _web(orthanc, home, secret="wrong-password")
    with pytest.raises(NodeError, match="refused the sign-in"):
        echo_node(home, "Web PACS")
    save_node(home, WebNode("Closed", f"http://127.0.0.1:{free_port()}/dicom-web"))
    with pytest.raises(NodeError, match="refused the connection"):
        echo_node(home, "Closed")
    save_node(home, WebNode("Wrong path", orthanc.url + "/no-such-root", "basic", "veil"), secret=PASSWORD)
    with pytest.raises(NodeError, match="no DICOMweb service"):
        echo_node(home, "Wrong path")
    with pytest.raises(NodeError, match="give it"):
        save_node(home, WebNode("No secret", orthanc.dicomweb, "bearer"))


def test_qido_finds_studies_series_and_accession_lists(server, home):  # noqa: ANN001
    orthanc, paths = server
    _web(orthanc, home)
    found = query_studies(home, "Web PACS", StudyQuery(patient_id="QX4471902"))
    assert [m.patient_id for m in found.matches] == ["QX4471902"] and not found.cut
    study = found.matches[0]
    assert "Quisenberry" in study.patient_name and study.instances == 6
    series = query_series(home, "Web PACS", study.study_uid).matches
    assert len(series) == 1 and series[0].instances == 6 and series[0].modality == "CT"
    jpeg2000 = pydicom.dcmread(pydicom_test_files() / "JPEG2000.dcm", stop_before_pixels=True)
    ours = pydicom.dcmread(paths[0], stop_before_pixels=True)
    both = query_accessions(home, "Web PACS", StudyQuery(), ["ACC-1001", "ACC-2002", "NO-SUCH"])
    assert {m.study_uid for m in both.matches} == {str(ours.StudyInstanceUID), str(jpeg2000.StudyInstanceUID)}
    assert query_studies(home, "Web PACS", StudyQuery(patient_name="Nobody^Here")).matches == []


def test_wado_retrieves_into_the_library_as_stored(server, home):  # noqa: ANN001
    orthanc, paths = server
    _web(orthanc, home)
    study = str(pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID)
    seen: list[tuple[int, int]] = []
    report = retrieve(home, "Web PACS", What(study), progress=lambda d, t: seen.append((d, t)))
    assert report.method == "wado" and report.retrieved.received == 6 and report.imported.imported == 6
    assert seen[-1] == (6, 6) and instance_count(home) == 6
    assert "Retrieved 6 object(s) from Web PACS: 6 new" in report.headline()
    jpeg2000 = pydicom.dcmread(pydicom_test_files() / "JPEG2000.dcm", stop_before_pixels=True)
    again = retrieve(home, "Web PACS", What(str(jpeg2000.StudyInstanceUID)))
    assert again.imported.imported == 1
    conn = home.connect()
    try:
        syntaxes = {r[0] for r in conn.execute("SELECT transfer_syntax_uid FROM instances")}
    finally:
        conn.close()
    assert str(jpeg2000.file_meta.TransferSyntaxUID) in syntaxes  # stored as received, not transcoded
    audit = [json.loads(x) for x in home.audit_path.read_text().splitlines() if '"network.retrieve"' in x]
    assert audit[-1]["method"] == "wado" and audit[-1]["outcome"] == "completed"
    with pytest.raises(Exception, match="DICOMweb server: retrieve by wado"):
        retrieve(home, "Web PACS", What(study), method="get")


def test_a_cancelled_wado_retrieve_imports_nothing(server, home):  # noqa: ANN001
    orthanc, paths = server
    _web(orthanc, home)
    study = str(pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID)
    token = CancelToken()

    def progress(done: int, _total: int) -> None:
        if done == 2:
            token.cancel()

    report = retrieve(home, "Web PACS", What(study), progress=progress, cancel=token)
    assert report.retrieved.cancelled and instance_count(home) == 0
    assert "nothing of it was imported" in report.headline()
    assert not list((home.path / "objects").rglob("*.tmp*")) if (home.path / "objects").exists() else True


def test_stow_sends_de_identified_images_accounted_to_the_server(tmp_path, home):  # noqa: ANN001
    with running_orthanc(tmp_path / "orthanc", dicomweb=True, user=("veil", PASSWORD)) as orthanc:
        planted = plant_file(pydicom_test_files() / "CT_small.dcm", tmp_path / "in", hidden_bits=False,
                             comments=False)
        original = pydicom.dcmread(planted.path, stop_before_pixels=True)
        import_paths(home, [tmp_path / "in"])
        _web(orthanc, home)
        report = send_studies(home, "Web PACS", [str(original.StudyInstanceUID)], teaching(home),
                              preset("teaching"))
        assert report.sent == 1 and not report.failed, report.headline()
        stored = orthanc.stored()
        assert len(stored) == 1
        ds = pydicom.dcmread(io.BytesIO(stored[0]))
        assert ds.SOPInstanceUID != original.SOPInstanceUID and "PixelData" in ds
        assert_no_identity(stored[0])
        conn = home.connect()
        try:
            rows = conn.execute("SELECT recipient, destination FROM disclosures").fetchall()
        finally:
            conn.close()
        assert len(rows) == 1 and "Web PACS" in rows[0][0] and "DICOMweb" in rows[0][0]
        assert rows[0][1] == orthanc.dicomweb
        orthanc_free = free_port()
        save_node(home, WebNode("Gone", f"http://127.0.0.1:{orthanc_free}/dicom-web"))
        with pytest.raises(NodeError, match="refused the connection"):
            send_studies(home, "Gone", [str(original.StudyInstanceUID)], teaching(home), preset("teaching"))
        save_node(home, WebNode("Wrong password", orthanc.dicomweb, "basic", "veil"), secret="not-it")
        with pytest.raises(NodeError, match="refused the sign-in"):
            send_studies(home, "Wrong password", [str(original.StudyInstanceUID)], teaching(home),
                         preset("teaching"))
        conn = home.connect()
        try:  # nothing reached either: the accounting still holds only the one real send
            assert conn.execute("SELECT count(*) FROM disclosures").fetchone()[0] == 1
        finally:
            conn.close()


def test_wado_retrieves_one_instance_then_its_series(server, home):  # noqa: ANN001
    orthanc, paths = server
    _web(orthanc, home)
    first = pydicom.dcmread(paths[2], stop_before_pixels=True)
    study, series, sop = str(first.StudyInstanceUID), str(first.SeriesInstanceUID), str(first.SOPInstanceUID)
    one = retrieve(home, "Web PACS", What(study, series, sop))
    assert one.retrieved.received == 1 and instance_count(home) == 1
    conn = home.connect()
    try:
        assert conn.execute("SELECT sop_instance_uid FROM instances").fetchone()[0] == sop
    finally:
        conn.close()
    whole = retrieve(home, "Web PACS", What(study, series))
    assert whole.retrieved.received == 6 and instance_count(home) == 6


def test_qido_matches_a_name_with_wildcards_and_the_name_separator(server, home):  # noqa: ANN001
    """PS3.18 8.3.4.1: ``*`` reaches the server as it is (percent-encoded, Orthanc matches
    nothing); the name separator ``^`` is asked as a wildcard, then matched exactly by Veil."""
    orthanc, _paths = server
    _web(orthanc, home)
    for name in ("Quisen*", "Quisenberry^Marguerite", "quisenberry*", "*berry^Marg*"):
        found = query_studies(home, "Web PACS", StudyQuery(patient_name=name))
        assert [m.patient_id for m in found.matches] == ["QX4471902"], name
    for name in ("Quisenberry^Margaret", "Marguerite^Quisenberry", "Quisenberry^Marguerite^Extra"):
        assert query_studies(home, "Web PACS", StudyQuery(patient_name=name)).matches == [], name


def test_stow_posts_batches_on_several_connections_and_every_image_arrives_once(tmp_path, home, monkeypatch):  # noqa: ANN001
    """A series of 35 images goes in three STOW-RS requests (16 each at most), posted at once on
    connections of their own rather than one after the other; the server holds each image once,
    and the progress reaches the whole."""
    from dicomweb_client.api import DICOMwebClient

    with running_orthanc(tmp_path / "orthanc", dicomweb=True, user=("veil", PASSWORD)) as orthanc:
        paths = write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "in", 35, "Quisenberry^Marguerite",
                             "QX4471902")
        study = str(pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID)
        import_paths(home, [tmp_path / "in"])
        _web(orthanc, home)
        real, lock = DICOMwebClient.store_instances, threading.Lock()
        in_flight, most, sizes = [0], [0], []
        all_in = threading.Barrier(2, timeout=30)  # two requests are posted before either answers

        def watched(self, datasets, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            with lock:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
                sizes.append(len(datasets))
                first_two = len(sizes) <= 2
            if first_two:
                all_in.wait()
            try:
                return real(self, datasets, *args, **kwargs)
            finally:
                with lock:
                    in_flight[0] -= 1

        monkeypatch.setattr(DICOMwebClient, "store_instances", watched)
        seen: list[tuple[int, int]] = []
        report = send_studies(home, "Web PACS", [study], teaching(home), preset("teaching"),
                              progress=lambda done, total: seen.append((done, total)))
        assert report.sent == 35 and not report.failed, report.headline()
        assert sorted(sizes) == [3, 16, 16] and most[0] >= 2
        assert len(orthanc.stored()) == 35
        assert seen[-1] == (35, 35)
