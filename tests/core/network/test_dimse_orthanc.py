"""Echo and C-FIND against a real Orthanc on loopback, and each fault a user meets said plainly:
a refused connection, a wrong AE title (the node's, or Veil's unknown to it), a node that never
answers."""

from __future__ import annotations

import socket
import threading
from datetime import date

import pydicom
import pytest

from benchmarks.synthetic import write_series
from desktop.core.network.dimse import Calling, echo
from desktop.core.network.nodes import DicomNode, NodeError
from desktop.core.network.query import StudyQuery, find_series, find_studies
from tests.conftest import pydicom_test_files
from tests.orthanc import ORTHANC, SKIP_REASON, free_port, running_orthanc

pytestmark = pytest.mark.skipif(ORTHANC is None, reason=SKIP_REASON)


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):  # noqa: ANN201
    """Orthanc holding a CT of Quisenberry^Marguerite (2 images, 2019-05-04) and an MR of
    Jones^Bob (1 image, 2021-11-30); it knows Veil as VEIL."""
    root = tmp_path_factory.mktemp("orthanc")
    with running_orthanc(root / "server", {"veil": ("VEIL", free_port())}) as server:
        for source, count, name, pid, day in (("CT_small.dcm", 2, "Quisenberry^Marguerite", "QX4471902", "20190504"),
                                              ("MR_small.dcm", 1, "Jones^Bob", "JB-2002", "20211130")):
            for path in write_series(pydicom_test_files() / source, root / pid, count, name, pid):
                ds = pydicom.dcmread(path)
                ds.StudyDate = day
                ds.save_as(path)
                server.upload(path)
        yield server


def _node(orthanc, **changes) -> DicomNode:  # noqa: ANN001, ANN003
    values = {"name": "PACS", "ae_title": orthanc.aet, "host": "127.0.0.1", "port": orthanc.dicom_port}
    values.update(changes)
    return DicomNode(**values)


def test_echo_answers(orthanc):  # noqa: ANN001
    echo(_node(orthanc))


def test_find_studies_by_each_key_and_their_series(orthanc):  # noqa: ANN001
    node = _node(orthanc)
    everything = find_studies(node, StudyQuery())
    assert [m.patient_id for m in everything.matches] == ["JB-2002", "QX4471902"] and not everything.cut
    by_id = find_studies(node, StudyQuery(patient_id="QX4471902")).matches
    assert len(by_id) == 1 and by_id[0].patient_name == "Quisenberry^Marguerite" and by_id[0].instances == 2
    assert [m.patient_id for m in find_studies(node, StudyQuery(patient_name="quis*")).matches] == ["QX4471902"]
    assert [m.patient_id for m in find_studies(node, StudyQuery(first_day=date(2020, 1, 1))).matches] == ["JB-2002"]
    assert [m.patient_id for m in find_studies(node, StudyQuery(last_day=date(2020, 1, 1))).matches] == ["QX4471902"]
    assert [m.patient_id for m in find_studies(node, StudyQuery(modality="MR")).matches] == ["JB-2002"]
    series = find_series(node, by_id[0].study_uid).matches
    assert len(series) == 1 and series[0].modality == "CT" and series[0].instances == 2


def test_a_closed_port_is_a_refused_connection(orthanc):  # noqa: ANN001
    with pytest.raises(NodeError, match="refused the connection: nothing listens on port"):
        echo(_node(orthanc, port=free_port()))


def test_a_wrong_ae_title_is_named(orthanc):  # noqa: ANN001
    said = ("rejected the association .*it is not called NOTORTHANC|closed the connection without accepting the "
            "association: check that it is called NOTORTHANC")  # as fast as Orthanc closes its socket
    with pytest.raises(NodeError, match=said):
        echo(_node(orthanc, ae_title="NOTORTHANC"))


def test_an_unknown_calling_ae_cannot_query(orthanc):  # noqa: ANN001
    with pytest.raises(NodeError, match="does not know the calling AE title STRANGER; add Veil to its list"):
        find_studies(_node(orthanc), StudyQuery(), Calling("STRANGER"))


def test_a_node_that_never_answers_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(10)
    held: list[socket.socket] = []

    def hold() -> None:  # accept the probe and the association's connection, answer neither
        for _ in range(2):
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        with pytest.raises(NodeError, match="did not accept an association within 1 s"):
            echo(DicomNode("Silent", "SILENT", "127.0.0.1", listener.getsockname()[1]), Calling(timeout=1))
    finally:
        holder.join(12)
        listener.close()
        for sock in held:
            sock.close()


def test_c_get_brings_each_object_as_the_node_has_it(orthanc):  # noqa: ANN001
    from desktop.core.network.retrieve import What, get

    node = _node(orthanc)
    study = find_studies(node, StudyQuery(patient_id="QX4471902")).matches[0]
    kept: dict[str, bytes] = {}
    seen: list[tuple[int, int]] = []
    result = get(node, What(study.study_uid), lambda name, data: kept.__setitem__(name, data),
                 lambda done, total: seen.append((done, total)))
    assert result.received == 2 and not result.cancelled and len(kept) == 2
    for name, data in kept.items():
        ds = pydicom.dcmread(__import__("io").BytesIO(data))
        assert ds.SOPInstanceUID == name and ds.PatientID == "QX4471902" and "PixelData" in ds
    series = find_series(node, study.study_uid).matches[0]
    one = get(node, What(study.study_uid, series.series_uid, sorted(kept)[0]), lambda _n, _d: None)
    assert one.received == 1
