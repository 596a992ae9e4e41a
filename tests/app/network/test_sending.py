"""Sending cleaned studies to a real Orthanc through the privacy gate: what Orthanc stored is
read back and holds no identifier of the planted patient in any element or byte; the
accounting of disclosures names the node; no consent, care, or a node that stops each leave
what a user and an auditor expect."""

from __future__ import annotations

import io
import json
import urllib.request

import pydicom
import pytest

from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.gate import BindingError
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.app.network.nodes import save_node
from desktop.app.network.sending import send_studies
from desktop.core.consent import Purpose
from desktop.core.deid.profiles import preset
from desktop.core.network.nodes import DicomNode
from tests.conftest import pydicom_test_files, teaching
from tests.orthanc import ORTHANC, SKIP_REASON, free_port, running_orthanc
from tests.planting import assert_no_identity
from tests.planting.pixels import plant_file

pytestmark = pytest.mark.skipif(ORTHANC is None, reason=SKIP_REASON)


@pytest.fixture
def sending(tmp_path):  # noqa: ANN201 - (home, orthanc, study UID, original SOP UID)
    with running_orthanc(tmp_path / "orthanc", {"veil": ("VEIL", free_port())}) as orthanc:
        home = VeilHome.open(tmp_path / "home")
        planted = plant_file(pydicom_test_files() / "CT_small.dcm", tmp_path / "in", hidden_bits=False, comments=False)
        ds = pydicom.dcmread(planted.path, stop_before_pixels=True)
        import_paths(home, [tmp_path / "in"])
        save_node(home, DicomNode("Teaching PACS", orthanc.aet, "127.0.0.1", orthanc.dicom_port))
        yield home, orthanc, str(ds.StudyInstanceUID), str(ds.SOPInstanceUID)


def _stored(orthanc) -> list[bytes]:  # noqa: ANN001
    ids = orthanc.rest("GET", "/instances")
    out = []
    for instance in ids:
        with urllib.request.urlopen(f"{orthanc.url}/instances/{instance}/file", timeout=30) as response:  # noqa: S310
            out.append(response.read())
    return out


def test_what_the_node_stored_is_de_identified_and_the_node_is_in_the_accounting(sending):  # noqa: ANN001
    home, orthanc, study, sop = sending
    report = send_studies(home, "Teaching PACS", [study], teaching(home), preset("teaching"))
    assert report.sent == 1 and not report.failed, report.headline()
    assert report.headline() == "Sent 1 de-identified image(s) to Teaching PACS."
    stored = _stored(orthanc)
    assert len(stored) == 1
    ds = pydicom.dcmread(io.BytesIO(stored[0]))
    assert ds.SOPInstanceUID != sop and ds.StudyInstanceUID != study and "PixelData" in ds
    assert_no_identity(stored[0])
    conn = home.connect()
    try:
        recipients = [r[0] for r in conn.execute("SELECT recipient FROM disclosures")]
    finally:
        conn.close()
    assert len(recipients) == 1 and "Teaching PACS" in recipients[0] and "DICOM node" in recipients[0]
    sends = [json.loads(x) for x in home.audit_path.read_text().splitlines() if '"network.send"' in x]
    assert sends[-1]["outcome"] == "completed" and sends[-1]["sent"] == 1


def test_no_consent_sends_nothing_and_care_never_goes_to_a_node(sending):  # noqa: ANN001
    home, orthanc, study, _sop = sending
    report = send_studies(home, "Teaching PACS", [study], ExportPurpose(Purpose.TEACHING, "Residents"),
                          preset("teaching"))
    assert report.refused and report.sent == 0 and "consent does not allow it" in report.headline()
    with pytest.raises(BindingError):
        send_studies(home, "Teaching PACS", [study], ExportPurpose(Purpose.CARE, "Dr Bob"), preset("teaching"))
    assert _stored(orthanc) == []


def test_a_node_that_stops_while_sending_is_still_accounted_for(sending, monkeypatch):  # noqa: ANN001
    from desktop.core.network import store as store_module
    from desktop.core.network.nodes import NodeError

    home, orthanc, study, _sop = sending
    teaching(home)
    real = store_module.store

    def stop_after_association(node, objects, progress, cancelled, calling, leaving):  # noqa: ANN001, ANN202
        real(node, objects[:1], progress, cancelled, calling, leaving)
        raise NodeError("Teaching PACS stopped answering after 1 image(s).")

    monkeypatch.setattr("desktop.app.gate.writing.store", stop_after_association)
    with pytest.raises(NodeError):
        send_studies(home, "Teaching PACS", [study], teaching(home), preset("teaching"))
    conn = home.connect()
    try:
        assert conn.execute("SELECT COUNT(*) FROM disclosures").fetchone()[0] == 1  # what may have left, counted
        assert conn.execute("SELECT COUNT(*) FROM write_intents WHERE state = 'pending'").fetchone()[0] == 0
    finally:
        conn.close()


@pytest.mark.parametrize("source", ["MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm", "MR_small_RLE.dcm"])
def test_a_node_that_takes_only_uncompressed_images_gets_them_decompressed_losslessly(tmp_path, home, source):  # noqa: ANN001
    """PS3.5 10.1: every node takes Implicit VR Little Endian; an image in a syntax the node
    does not take is decompressed (lossless: the same pixel values), never refused or re-encoded lossily."""
    uncompressed = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"]
    with running_orthanc(tmp_path / "orthanc", extra={"AcceptedTransferSyntaxes": uncompressed}) as orthanc:
        original = pydicom.dcmread(pydicom_test_files() / source)
        (tmp_path / "in").mkdir()
        original.save_as(tmp_path / "in" / "image.dcm")
        import_paths(home, [tmp_path / "in"])
        save_node(home, DicomNode("Plain PACS", orthanc.aet, "127.0.0.1", orthanc.dicom_port))
        report = send_studies(home, "Plain PACS", [str(original.StudyInstanceUID)], teaching(home),
                              preset("teaching"))
        assert report.sent == 1 and not report.failed, report.headline()
        stored = pydicom.dcmread(io.BytesIO(orthanc.stored()[0]))
        assert stored.file_meta.TransferSyntaxUID in uncompressed
        assert (stored.pixel_array == original.pixel_array).all()


def test_a_node_that_refuses_the_connection_received_nothing_and_no_disclosure_is_recorded(sending):  # noqa: ANN001
    home, _orthanc, study, _sop = sending
    save_node(home, DicomNode("Closed PACS", "CLOSED", "127.0.0.1", free_port()))
    with pytest.raises(Exception, match="refused the connection"):
        send_studies(home, "Closed PACS", [study], teaching(home), preset("teaching"))
    from desktop.app.durability import write_ahead

    conn = home.connect()
    try:
        assert conn.execute("SELECT count(*) FROM disclosures").fetchone()[0] == 0
        assert write_ahead.pending_intents(conn) == []  # settled: nothing for a restart to account for
    finally:
        conn.close()


def test_only_the_ticked_series_goes_to_the_node(tmp_path, home):  # noqa: ANN001
    from benchmarks.synthetic import write_series

    with running_orthanc(tmp_path / "orthanc") as orthanc:
        first = write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "in" / "a", 3, "Quisenberry^Marguerite",
                             "QX4471902")
        study = pydicom.dcmread(first[0], stop_before_pixels=True)
        second = pydicom.uid.generate_uid()
        for n, path in enumerate(write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "b", 2,
                                              "Quisenberry^Marguerite", "QX4471902")):
            ds = pydicom.dcmread(path)  # a second series of the same study
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study.StudyInstanceUID, second
            ds.save_as(tmp_path / "in" / f"b{n}.dcm")
        import_paths(home, [tmp_path / "in"])
        save_node(home, DicomNode("Teaching PACS", orthanc.aet, "127.0.0.1", orthanc.dicom_port))
        report = send_studies(home, "Teaching PACS", [str(study.StudyInstanceUID)], teaching(home),
                              preset("teaching"), series_uids=[str(study.SeriesInstanceUID)])
        assert report.sent == 3 and not report.failed, report.headline()
        assert len(orthanc.stored()) == 3


def test_a_node_that_serves_one_association_at_a_time_still_gets_every_image(tmp_path, home):  # noqa: ANN001
    """Veil sends over several associations at once; a node with one DICOM thread (the others
    wait or are refused) still stores every image, without a wait for the time-out."""
    from benchmarks.synthetic import write_series
    from desktop.core.network import store as store_module

    with running_orthanc(tmp_path / "orthanc", extra={"DicomThreadsCount": 1}) as orthanc:
        paths = write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "in", 8, "Quisenberry^Marguerite",
                             "QX4471902")
        import_paths(home, [tmp_path / "in"])
        save_node(home, DicomNode("One thread", orthanc.aet, "127.0.0.1", orthanc.dicom_port))
        assert store_module.ASSOCIATIONS > 1
        report = send_studies(home, "One thread", [str(pydicom.dcmread(paths[0]).StudyInstanceUID)],
                              teaching(home), preset("teaching"))
        assert report.sent == 8 and not report.failed, report.headline()
        assert len(orthanc.stored()) == 8


def test_a_send_reuses_the_review_the_person_was_shown_and_reads_the_images_once(sending, monkeypatch):  # noqa: ANN001
    """The wizard's Redaction page reviewed (OCR) the images the person then sends: the send
    reuses that review when it read exactly the bytes that leave, as a package export does,
    instead of reading every image again; one it does not cover is read again."""
    import desktop.app.gate as gate

    home, orthanc, study, _sop = sending
    images = gate.resolve(home, gate.Selection((study,))).images
    shown = gate.review_images(home, images)
    assert shown.covers([i.sha256 for i in images]) and shown.read == 1
    reviews: list[int] = []
    real = gate.run_review

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        reviews.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(gate, "run_review", counted)
    report = send_studies(home, "Teaching PACS", [study], teaching(home), preset("teaching"), confirm_burned_in=True,
                          shown=shown, seen=shown.flagged)
    assert report.sent == 1 and report.review is shown and reviews == []
    stale = gate.Review(flagged=list(shown.flagged), basis=("0" * 64,))  # another image's review
    again = send_studies(home, "Teaching PACS", [study], teaching(home), preset("teaching"), confirm_burned_in=True,
                         shown=stale)
    assert again.sent == 1 and again.review is not stale and reviews == [1]
    assert len(orthanc.stored()) == 1  # the same de-identified image, sent twice
