"""A teaching case in a journal ZIP, as IHE TCE exports it: the de-identified key images, a Key
Object Selection for teaching-file export referencing exactly them, and the case's report;
nothing of the patient in any member; typed text that names the patient refuses the package."""

from __future__ import annotations

import io
import json
import zipfile

import pydicom

from desktop.app.cases import casebook
from desktop.app.share.sharing import ShareRequest, export_package
from desktop.core.cases.annotations import Kind
from desktop.core.cases.case import KeyView
from desktop.core.deid.profiles import preset
from tests.conftest import teaching
from tests.planting import PATIENT, find_forms

KOS = "1.2.840.10008.5.1.4.1.1.88.59"


def _case(home, study: str, sop: str):  # noqa: ANN001, ANN202 - a TeachingCase
    case = casebook.new_case(home, [study], "Tension pneumothorax").with_fields(
        history="Stab wound to the left chest.", diagnosis="Tension pneumothorax", keywords=("chest",))
    case = casebook.mark(home, case, sop, 0, KeyView(40, 400))
    marks = case.key_images[0].annotations.add(Kind.ARROW, [(20, 100), (100, 30)])
    return case.with_annotations(0, marks).with_caption(0, "Deep sulcus sign")


def _request(home, case, out, unencrypted: bool = True, **more) -> ShareRequest:  # noqa: ANN001, ANN003
    return ShareRequest(case.study_uids, teaching(home), out, preset("teaching"),
                        instance_uids=tuple(k.sop_uid for k in case.key_images), unencrypted=unencrypted,
                        teaching_case=case, **more)


def test_the_case_travels_as_a_key_object_selection_and_a_report_beside_its_key_images(planted_ct, tmp_path):
    home, study, sop = planted_ct
    case = _case(home, study, sop)
    out = tmp_path / "case.zip"
    report = export_package(home, _request(home, case, out))
    assert report.package is not None, report.headline()
    with zipfile.ZipFile(out) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    datasets = {n: pydicom.dcmread(io.BytesIO(d)) for n, d in members.items() if n.startswith("DICOM/")}
    kos = [ds for ds in datasets.values() if ds.SOPClassUID == KOS]
    images = [ds for ds in datasets.values() if "PixelData" in ds]
    reports = [ds for ds in datasets.values() if ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.11"]
    assert len(kos) == 1 and len(images) == 1 and len(reports) == 1
    kos_ds, image = kos[0], images[0]
    assert kos_ds.ConceptNameCodeSequence[0].CodeValue == "128710"  # For Teaching File Export
    referenced = [item.ReferencedSOPInstanceUID
                  for study_item in kos_ds.CurrentRequestedProcedureEvidenceSequence
                  for series_item in study_item.ReferencedSeriesSequence
                  for item in series_item.ReferencedSOPSequence]
    assert referenced == [image.SOPInstanceUID] and image.SOPInstanceUID != sop  # the de-identified image
    assert kos_ds.PatientID == image.PatientID and kos_ds.StudyInstanceUID == image.StudyInstanceUID
    texts = [item.TextValue for item in reports[0].ContentSequence if "TextValue" in item]
    assert "Stab wound to the left chest." in texts and "Tension pneumothorax" in texts
    for name, data in members.items():
        assert not find_forms(data.decode("latin-1")), (name, find_forms(data.decode("latin-1")))
        assert PATIENT.family.lower().encode() not in data.lower() and PATIENT.id_digits.encode() not in data, name
    assert b"KEY OBJECT DOC" in members["DICOMDIR"] and b"SR DOCUMENT" in members["DICOMDIR"]
    # case.html: the case for a person, naming the key image by its file in the package
    page = members["case.html"].decode("utf-8")
    image_member = next(n for n, ds in datasets.items() if "PixelData" in ds)
    assert "<h1>Tension pneumothorax</h1>" in page and "Stab wound to the left chest." in page
    assert f"Deep sulcus sign \u2014 <code>{image_member}</code>" in page and "Annotations: arrow" in page
    assert "<script" not in page and "default-src 'none'" in page and sop not in page and study not in page
    assert b"case.html" in members["README.txt"]
    manifest = json.loads(members["manifest.json"])
    assert "case.html" in {f["path"] for f in manifest["files"]}  # signed like every member


def test_a_case_whose_text_names_the_patient_leaves_no_package(planted_ct, tmp_path):
    home, study, sop = planted_ct
    case = _case(home, study, sop).with_fields(findings=f"Compared with {PATIENT.family}'s prior CT.")
    out = tmp_path / "case.zip"
    report = export_package(home, _request(home, case, out))
    assert report.package is None and not out.exists()
    assert report.headline().startswith("Export refused: ") and "Findings holds the patient's name" in report.headline()


def test_the_colleague_who_opens_the_package_finds_the_case_in_their_library(planted_ct, tmp_path):
    from desktop.app.keys.contacts import add_card, verify_contact
    from desktop.app.keys.identity import my_card
    from desktop.app.library.home import VeilHome
    from desktop.app.share.receiving import open_received

    home, study, sop = planted_ct
    bob = VeilHome.open(tmp_path / "bob")
    contact = add_card(home, my_card(bob), name="Dr Bob")
    verify_contact(home, "Dr Bob")
    add_card(bob, my_card(home), name="Dr Alice", verified=True)
    case = _case(home, study, sop)
    out = tmp_path / "case.veil"
    report = export_package(home, _request(home, case, out, unencrypted=False, recipients=(contact,)))
    assert report.package is not None, report.headline()
    received = open_received(bob, out)
    assert received.cases == ["Tension pneumothorax"]
    (listed,) = casebook.listing(bob)
    got = casebook.load(bob, listed.row.id)
    assert got.history == "Stab wound to the left chest." and got.diagnosis == "Tension pneumothorax"
    assert got.keywords == ("chest",) and [k.caption for k in got.key_images] == ["Deep sulcus sign"]
    assert got.key_images[0].sop_uid != sop  # the de-identified image, as imported by Bob
    assert open_received(bob, out).cases == ["Tension pneumothorax"] and len(casebook.listing(bob)) == 1


def test_a_forged_teaching_report_is_left_as_an_instance_and_opening_goes_on(planted_ct, tmp_path):
    """A hostile report in the library (its key image item names no image): no case is made
    from it, and nothing raises."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    from desktop.app.cases.received import adopt_received_cases
    from desktop.app.library.importing import import_paths

    home, _study, _sop = planted_ct
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.PatientName, ds.Modality = "FORGED", "Forged^Report", "SR"
    title, key = Dataset(), Dataset()
    title.CodeValue, title.CodingSchemeDesignator, title.CodeMeaning = "128712", "DCM", "Additional Teaching File"
    key.CodeValue, key.CodingSchemeDesignator, key.CodeMeaning = "121080", "DCM", "Best illustration"
    ds.ConceptNameCodeSequence = [title]
    image, container, ref = Dataset(), Dataset(), Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"  # and no ReferencedSOPInstanceUID
    image.ValueType, image.ConceptNameCodeSequence, image.ReferencedSOPSequence = "IMAGE", [key], [ref]
    container.ValueType, container.ContentSequence = "CONTAINER", [image]
    ds.ContentSequence = [container]
    (tmp_path / "forged").mkdir()
    ds.save_as(tmp_path / "forged" / "sr.dcm", enforce_file_format=True)
    import_paths(home, [tmp_path / "forged"])
    conn = home.connect()
    shas = [r[0] for r in conn.execute("SELECT object_sha256 FROM instances WHERE sop_class_uid = ?",
                                       ("1.2.840.10008.5.1.4.1.1.88.11",))]
    conn.close()
    assert len(shas) == 1
    assert adopt_received_cases(home, shas) == [] and casebook.listing(home) == []
