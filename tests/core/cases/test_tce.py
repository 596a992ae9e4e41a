"""The two objects of an IHE RAD TCE teaching-file export, made from real DICOM files
de-identified here: the manifest (Key Object Selection) references exactly the key images and
frames, the Additional Teaching File Information (Basic Text SR) carries every field of the
case, dciodvfy and dcmtk read both without an error, and neither carries an identifier of the
original files or anything of their equipment."""

from __future__ import annotations

import copy
import io
import shutil
import subprocess
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from desktop.core.cases import tce
from desktop.core.cases.annotations import Annotations
from desktop.core.cases.case import CaseError, Difficulty, KeyImage, KeyView, TeachingCase
from desktop.core.cases.tce import IMPLEMENTATION_CLASS_UID, case_report, key_object_selection
from desktop.core.deid import instance_io
from tests.conftest import pydicom_data_files, pydicom_test_files

KOS_SERIES, KOS_UID = "1.2.826.0.1.3680043.8.498.90.1", "1.2.826.0.1.3680043.8.498.90.1.1"
SR_SERIES, SR_UID = "1.2.826.0.1.3680043.8.498.90.2", "1.2.826.0.1.3680043.8.498.90.2.1"

#: What the original files hold about the patient, their site and device: none of it may
#: reach the exported objects.
PLANTED = {"PatientName": "Quaxley^Zebulon", "PatientID": "QZ-771903", "PatientBirthDate": "19310517",
           "InstitutionName": "Vantwerp Memorial Hospital", "DeviceSerialNumber": "SN-QX-55821",
           "OperatorsName": "Vormund^Ottilie", "StationName": "QXSTATION7"}
ORIGINAL_TEXTS = ["Quaxley", "Zebulon", "QZ-771903", "19310517", "Vantwerp", "SN-QX-55821", "Vormund",
                  "Ottilie", "QXSTATION7"]
#: The de-identified patient.
TEACH = {"PatientName": "TEACH-0001", "PatientID": "TEACH-0001", "PatientBirthDate": "",
         "AccessionNumber": "TEACH-0001", "ReferringPhysicianName": ""}
#: Study attributes (General Study, Patient Study) the test files hold.
STUDY_KEYWORDS = ["StudyInstanceUID", "StudyDate", "StudyTime", "AccessionNumber", "ReferringPhysicianName",
                  "StudyID", "StudyDescription", "PatientAge", "PatientWeight", "PatientSize",
                  "AdditionalPatientHistory"]

#: A field at its longest (20,000 characters), not all of it Latin.
LONG_HISTORY = ("Sudden dyspnoea after a fall from a ladder; ölçüm, Ødem, 肺, naïve. " * 300)[:19_995] + "[end]"


def _read(path: Path) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def _deidentified(path: Path, tmp_path: Path) -> Dataset:
    """The file as its original (identifiers of a patient, site and device planted, written
    to disk), then read back and de-identified the way this test needs: the patient's
    identifiers overwritten with TEACH-0001 values. The site and device are left in the
    image on purpose: the exported objects must not take them from it."""
    original = _read(path)
    for keyword, value in PLANTED.items():
        setattr(original, keyword, value)
    written = tmp_path / f"original-{path.name}"
    pydicom.dcmwrite(written, original)
    image = _read(written)
    assert str(image.PatientName) == PLANTED["PatientName"]
    for keyword, value in TEACH.items():
        setattr(image, keyword, value)
    return image


@pytest.fixture
def images(tmp_path: Path) -> list[Dataset]:
    """De-identified CT, multi-frame enhanced MR (10 frames) and MR of one patient; three
    studies."""
    return [_deidentified(pydicom_test_files() / "CT_small.dcm", tmp_path),
            _deidentified(pydicom_data_files() / "emri_small.dcm", tmp_path),
            _deidentified(pydicom_test_files() / "MR_small.dcm", tmp_path)]


def _key(image: Dataset, frame: int = 0, caption: str = "") -> KeyImage:
    return KeyImage(str(image.SOPInstanceUID), frame, KeyView(), Annotations(int(image.Rows), int(image.Columns)),
                    caption)


def _case(keys: list[KeyImage], images: list[Dataset], **fields) -> TeachingCase:  # noqa: ANN003 - case fields
    values = {"title": "Tension pneumothorax — the mediastinum shifts", "history": LONG_HISTORY,
              "findings": "Left hemithorax hyperlucent; mediastinum shifted to the right.",
              "diagnosis": "Tension pneumothorax", "differential": "Giant bulla\nPneumomediastinum",
              "teaching_points": "Treat clinically; do not wait for the CT.", "keywords": ("chest", "trauma", "ER"),
              "modality": "CT", "anatomy": "Chest", "difficulty": Difficulty.ADVANCED, "author": "A. Reader",
              **fields}
    return TeachingCase(study_uids=tuple(dict.fromkeys(str(i.StudyInstanceUID) for i in images)),
                        key_images=tuple(keys), **values)


@pytest.fixture
def case_and_images(images: list[Dataset]) -> tuple[TeachingCase, list[Dataset]]:
    """Four key images: the CT, frames 4 and 8 of the multi-frame MR, the MR; three captioned."""
    ct, emri, mr = images
    keys = [_key(ct, 0, "Hyperlucent left hemithorax"), _key(emri, 3), _key(emri, 7, "Frame 8: Ödem"),
            _key(mr, 0, "Comparison MR")]
    return _case(keys, images), [ct, emri, emri, mr]


def _bytes(ds: Dataset) -> bytes:
    out = io.BytesIO()
    pydicom.dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def _reread(ds: Dataset) -> Dataset:
    return pydicom.dcmread(io.BytesIO(_bytes(ds)))


def _code(item: Dataset) -> tuple[str, str]:
    concept = item.ConceptNameCodeSequence[0]
    return str(concept.CodeValue), str(concept.CodingSchemeDesignator)


def _reference(item: Dataset) -> tuple[str, str, list[int] | None]:
    ref = item.ReferencedSOPSequence[0]
    frames = ref.get("ReferencedFrameNumber")
    frames = None if frames is None else [int(f) for f in (frames if ref["ReferencedFrameNumber"].VM > 1 else [frames])]
    return str(ref.ReferencedSOPClassUID), str(ref.ReferencedSOPInstanceUID), frames


def _evidence(sequence: list[Dataset]) -> list[tuple[str, str, str, str]]:
    return [(str(study.StudyInstanceUID), str(series.SeriesInstanceUID), str(sop.ReferencedSOPClassUID),
             str(sop.ReferencedSOPInstanceUID))
            for study in sequence for series in study.ReferencedSeriesSequence for sop in series.ReferencedSOPSequence]


def _instance(image: Dataset) -> tuple[str, str, str, str]:
    return (str(image.StudyInstanceUID), str(image.SeriesInstanceUID), str(image.SOPClassUID),
            str(image.SOPInstanceUID))


def _kos(case: TeachingCase, images: list[Dataset], **kwargs) -> Dataset:  # noqa: ANN003 - keyword arguments
    return key_object_selection(case, images, series_uid=KOS_SERIES, sop_uid=KOS_UID, **kwargs)


def _sr(case: TeachingCase, images: list[Dataset]) -> Dataset:
    return case_report(case, images, series_uid=SR_SERIES, sop_uid=SR_UID)


# -- the manifest -----------------------------------------------------------------------------
def test_the_manifest_references_exactly_the_key_images_and_frames(case_and_images):
    case, images = case_and_images
    kos = _reread(_kos(case, images))
    assert kos.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.59" and kos.Modality == "KO"
    assert kos.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert (kos.SeriesInstanceUID, kos.SOPInstanceUID, kos.SeriesNumber, kos.InstanceNumber) == (
        KOS_SERIES, KOS_UID, 990, 1)
    assert _code(kos) == ("128710", "DCM")  # For Teaching File Export (CID 7010)
    assert kos.ContentTemplateSequence[0].TemplateIdentifier == "2010"

    description, *references = kos.ContentSequence
    assert (_code(description), description.ValueType, description.TextValue) == (
        ("113012", "DCM"), "TEXT", case.title)
    assert all(item.ValueType == "IMAGE" and item.RelationshipType == "CONTAINS" for item in references)
    ct, emri, _, mr = images
    assert [_reference(item) for item in references] == [
        (ct.SOPClassUID, ct.SOPInstanceUID, None),  # single-frame: no frame named
        (emri.SOPClassUID, emri.SOPInstanceUID, [4]),  # frames counted from 1
        (emri.SOPClassUID, emri.SOPInstanceUID, [8]),
        (mr.SOPClassUID, mr.SOPInstanceUID, None)]

    # The evidence: each referenced instance once, under its study and series; the manifest's
    # study first, then the patient's other studies, one item each.
    evidence = kos.CurrentRequestedProcedureEvidenceSequence
    assert [str(s.StudyInstanceUID) for s in evidence] == [str(i.StudyInstanceUID) for i in (ct, emri, mr)]
    assert sorted(_evidence(evidence)) == sorted({_instance(i) for i in images})
    assert "PertinentOtherEvidenceSequence" not in kos


def test_the_manifest_joins_the_study_it_is_given(case_and_images):
    case, images = case_and_images
    mr = images[3]
    kos = _kos(case, images, study_uid=str(mr.StudyInstanceUID), series_number=7, instance_number=3)
    assert (kos.StudyInstanceUID, kos.StudyDate, kos.StudyID, kos.SeriesNumber, kos.InstanceNumber) == (
        mr.StudyInstanceUID, mr.StudyDate, mr.StudyID, 7, 3)
    assert str(kos.CurrentRequestedProcedureEvidenceSequence[0].StudyInstanceUID) == mr.StudyInstanceUID
    with pytest.raises(ValueError, match="study of one of its key images"):
        _kos(case, images, study_uid="1.2.826.0.1.3680043.8.498.99")


# -- the Additional Teaching File Information -----------------------------------------------
def test_the_report_holds_every_field_of_the_case_and_it_round_trips(case_and_images):
    case, images = case_and_images
    sr = _reread(_sr(case, images))
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.11" and sr.Modality == "SR"  # Basic Text SR
    assert (sr.SeriesNumber, sr.CompletionFlag, sr.VerificationFlag) == (991, "COMPLETE", "UNVERIFIED")
    assert _code(sr) == ("128712", "DCM")  # Additional Teaching File Information
    assert sr.SpecificCharacterSet == "ISO_IR 192"

    texts: dict[tuple[str, str], list[str]] = {}
    for item in sr.ContentSequence:
        assert item.RelationshipType == "CONTAINS"
        if item.ValueType == "TEXT":
            texts.setdefault(_code(item), []).append(item.TextValue)
    assert texts == {
        ("121144", "DCM"): [case.title], ("121060", "DCM"): [LONG_HISTORY], ("121071", "DCM"): [case.findings],
        ("TCE107", "IHERADTF"): ["Tension pneumothorax"], ("111023", "DCM"): ["Giant bulla\nPneumomediastinum"],
        ("TCE106", "IHERADTF"): [case.teaching_points], ("TCE105", "IHERADTF"): ["chest", "trauma", "ER"],
        ("121139", "DCM"): ["CT"], ("112005", "DCM"): ["Chest"], ("TCE101", "IHERADTF"): ["A. Reader"]}
    assert len(LONG_HISTORY) == 20_000 and "肺" in LONG_HISTORY
    level = next(item for item in sr.ContentSequence if item.ValueType == "CODE")
    assert _code(level) == ("128724", "DCM")
    assert level.ConceptCodeSequence[0].CodeValue == "128727"  # Advanced level (CID 7016)
    assert [s.CodingSchemeDesignator for s in sr.CodingSchemeIdentificationSequence] == ["IHERADTF"]

    # The key images, in order: a caption is a TEXT item inferred from its image.
    container = sr.ContentSequence[-1]
    assert (container.ValueType, _code(container)) == ("CONTAINER", ("121180", "DCM"))
    ct, emri, _, mr = images
    seen = []
    for item in container.ContentSequence:
        if item.ValueType == "TEXT":
            (image,) = item.ContentSequence
            assert image.RelationshipType == "INFERRED FROM"
            seen.append((item.TextValue, _reference(image)))
        else:
            seen.append(("", _reference(item)))
    assert seen == [("Hyperlucent left hemithorax", (ct.SOPClassUID, ct.SOPInstanceUID, None)),
                    ("", (emri.SOPClassUID, emri.SOPInstanceUID, [4])),
                    ("Frame 8: Ödem", (emri.SOPClassUID, emri.SOPInstanceUID, [8])),
                    ("Comparison MR", (mr.SOPClassUID, mr.SOPInstanceUID, None))]

    # The report joins the first image's study; the other studies are other evidence.
    assert sr.StudyInstanceUID == ct.StudyInstanceUID
    assert _evidence(sr.CurrentRequestedProcedureEvidenceSequence) == [_instance(ct)]
    assert sorted(_evidence(sr.PertinentOtherEvidenceSequence)) == sorted({_instance(emri), _instance(mr)})


def test_empty_fields_are_left_out_and_plain_text_keeps_the_default_character_set(images):
    ct = images[0]
    case = TeachingCase(title="Normal chest CT", study_uids=(str(ct.StudyInstanceUID),), key_images=(_key(ct),))
    assert ct.SpecificCharacterSet == "ISO_IR 100"
    for ds in (_kos(case, [ct]), _sr(case, [ct])):
        assert "SpecificCharacterSet" not in _reread(ds)
    sr = _reread(_sr(case, [ct]))
    assert [(item.ValueType, _code(item)) for item in sr.ContentSequence] == [
        ("TEXT", ("121144", "DCM")), ("CODE", ("128724", "DCM")), ("CONTAINER", ("121180", "DCM"))]
    assert "CodingSchemeIdentificationSequence" not in sr  # no IHERADTF code in it
    assert [item.ValueType for item in sr.ContentSequence[-1].ContentSequence] == ["IMAGE"]


# -- no identifier ----------------------------------------------------------------------------
@pytest.mark.parametrize("build", [_kos, _sr], ids=["manifest", "report"])
def test_neither_object_carries_an_identifier_of_the_original_files(case_and_images, build):
    case, images = case_and_images
    data = _bytes(build(case, images)).lower()
    for text in ORIGINAL_TEXTS:
        assert text.lower().encode() not in data, text

    ds = pydicom.dcmread(io.BytesIO(_bytes(build(case, images))))
    source = next(i for i in images if i.StudyInstanceUID == ds.StudyInstanceUID)
    # Every Patient module attribute (group 0010) is the image's, and nothing else of it.
    patient = {e.keyword for e in ds if e.tag.group == 0x0010}
    assert patient == {e.keyword for e in source if e.tag.group == 0x0010}
    for keyword in patient | {k for k in STUDY_KEYWORDS if k in source}:
        assert ds[keyword].value == source[keyword].value, keyword
    assert not {k for k in STUDY_KEYWORDS if k in ds} - {k for k in STUDY_KEYWORDS if k in source}
    # The equipment is Veil's: nothing of the images' site, device or operator.
    assert ds.Manufacturer == "Veil"
    for keyword in ("InstitutionName", "InstitutionAddress", "StationName", "DeviceSerialNumber", "OperatorsName",
                    "ManufacturerModelName", "SoftwareVersions", "ContributingEquipmentSequence"):
        assert keyword not in ds, keyword
    assert ds.file_meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID


def test_veil_names_itself_with_one_implementation_class_uid():
    assert (tce.IMPLEMENTATION_CLASS_UID, tce.IMPLEMENTATION_VERSION) == (
        instance_io.IMPLEMENTATION_CLASS_UID, instance_io.IMPLEMENTATION_VERSION)


def test_the_images_are_left_as_they_were(case_and_images):
    case, images = case_and_images
    before = [copy.deepcopy(i) for i in images]
    kos, sr = _kos(case, images), _sr(case, images)
    kos.PatientName, sr.StudyDescription = "changed", "changed"
    assert images == before


# -- what is refused --------------------------------------------------------------------------
def test_images_that_are_not_the_key_images_are_refused(images):
    ct, emri, mr = images
    case = _case([_key(ct), _key(emri, 2)], images)
    with pytest.raises(ValueError, match="2 key images; 1 images"):
        _kos(case, [ct])
    with pytest.raises(ValueError, match="Image 1 is not key image 1") as refused:
        _sr(case, [emri, ct])
    assert str(emri.SOPInstanceUID) not in str(refused.value)  # messages carry no UID
    with pytest.raises(ValueError, match="Key image 1 is frame 2; its image has 1"):
        _kos(_case([_key(ct, 1)], images), [ct])
    other = copy.deepcopy(mr)
    other.PatientID = "TEACH-0002"
    with pytest.raises(ValueError, match="not all of one patient"):
        _sr(_case([_key(ct), _key(mr)], images), [ct, other])
    with pytest.raises(CaseError, match="at least one key image"):
        _kos(_case([], images), [])


# -- what DICOM tools make of them ------------------------------------------------------------
def _write(ds: Dataset, path: Path) -> Path:
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    return path


@pytest.mark.skipif(shutil.which("dciodvfy") is None,
                    reason="dciodvfy is not on PATH (Debian package dicom3tools; scripts/run-tests installs it)")
@pytest.mark.parametrize("build", [_kos, _sr], ids=["manifest", "report"])
def test_dciodvfy_finds_no_error(case_and_images, build, tmp_path):
    case, images = case_and_images
    path = _write(build(case, images), tmp_path / "object.dcm")
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    lines = (result.stdout + result.stderr).splitlines()
    assert not [line for line in lines if line.startswith("Error")], "\n".join(lines)


@pytest.mark.skipif(shutil.which("dcmdump") is None or shutil.which("dsrdump") is None,
                    reason="dcmdump/dsrdump are not on PATH (Debian package dcmtk)")
@pytest.mark.parametrize("build", [_kos, _sr], ids=["manifest", "report"])
def test_dcmtk_reads_them(case_and_images, build, tmp_path):
    case, images = case_and_images
    path = _write(build(case, images), tmp_path / "object.dcm")
    dump = subprocess.run(["dcmdump", "-q", str(path)], capture_output=True, text=True, timeout=60)
    assert dump.returncode == 0 and "E:" not in dump.stderr, dump.stderr
    assert "For Teaching File Export" in dump.stdout or "Additional Teaching File Information" in dump.stdout
    # dsrdump checks the content tree against the IOD's relationship constraints.
    tree = subprocess.run(["dsrdump", str(path)], capture_output=True, text=True, timeout=60)
    assert tree.returncode == 0 and "E:" not in tree.stderr, tree.stderr
