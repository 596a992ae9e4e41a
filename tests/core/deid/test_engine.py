"""Header de-identification of real DICOM files, action by action (PS3.15 E.1-1a), option by
option (E.3), as a user would check the output in a DICOM viewer's tag list."""

from __future__ import annotations

import io

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from desktop.core.deid.engine import PatientPlan, deidentify, make_settings, patient_key_of
from desktop.core.deid.mapping import map_uid, shift_date
from desktop.core.deid.profiles import Profile, preset
from desktop.core.dicom.header import InvalidInstance
from tests.conftest import pydicom_data_files, pydicom_test_files

KEY = bytes(range(32))
PLAN = PatientPlan("TEACH-0007", -400)


def _path(name: str):  # noqa: ANN202
    here = pydicom_test_files() / name
    return here if here.exists() else next(pydicom_data_files().rglob(name))


def _bytes(name: str) -> bytes:
    return _path(name).read_bytes()


def _edited(name: str, edit) -> bytes:  # noqa: ANN001
    ds = pydicom.dcmread(_path(name))
    edit(ds)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=False)
    return out.getvalue()


def _run(data: bytes, profile: Profile | str = "publication", record: bool = False):  # noqa: ANN202
    profile = preset(profile) if isinstance(profile, str) else profile
    result = deidentify(data, make_settings(profile, KEY), lambda _key: PLAN, record=record)
    return result, pydicom.dcmread(io.BytesIO(result.data))


def _custom(*options: str) -> Profile:
    return preset("publication").with_options(set(options), "CASE")


# -- the action codes --------------------------------------------------------------------------
def test_x_removes_and_z_empties():
    _, ds = _run(_bytes("CT_small.dcm"))
    assert "OtherPatientIDsSequence" not in ds  # X
    assert "InstitutionName" not in ds  # X/Z/D: Type 3 in the CT Image IOD, so X
    assert "AccessionNumber" in ds and ds.AccessionNumber == ""  # Z
    assert ds.PatientBirthDate == ""  # Z (Type 2)


def test_compound_codes_follow_the_type_in_the_iod():
    # Content Date is Z/D: Type 1 in an SR document (so a dummy date), Type 2C in a CT image.
    _, sr = _run(_bytes("reportsi.dcm"))
    assert sr.ContentDate == "19000101"
    _, ct = _run(_bytes("CT_small.dcm"))
    assert ct.ContentDate == ""


def test_d_gives_a_dummy_valid_for_the_vr_and_pseudonymises_the_patient():
    _, ds = _run(_bytes("reportsi.dcm"))
    assert ds.PatientName == "TEACH-0007" and ds.PatientID == "TEACH-0007"
    names = [item.PersonName for item in ds.ContentSequence if "PersonName" in item]
    assert names and all(str(n) == "ANONYMIZED" for n in names)  # (0040,A123) D


def test_u_replaces_every_uid_consistently_and_keeps_references():
    original = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")
    _, ds = _run(_bytes("CT_small.dcm"))
    assert ds.SOPInstanceUID == map_uid(KEY, original.SOPInstanceUID)
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.StudyInstanceUID == map_uid(KEY, original.StudyInstanceUID)
    assert ds.FrameOfReferenceUID == map_uid(KEY, original.FrameOfReferenceUID)
    assert ds.SOPClassUID == original.SOPClassUID  # a class, not an instance: kept


def test_uids_inside_sequences_are_replaced_the_same_way():
    target = "1.2.3.4.5.6.7.8.9"

    def add_reference(ds: Dataset) -> None:
        item = Dataset()
        item.ReferencedSOPClassUID = ds.SOPClassUID
        item.ReferencedSOPInstanceUID = target
        ds.SourceImageSequence = Sequence([item])

    _, ds = _run(_edited("rtplan.dcm", add_reference))
    # In an RT Plan the Referenced Structure Set is Type 1: kept, its UIDs mapped.
    ref = ds.ReferencedStructureSetSequence[0].ReferencedSOPInstanceUID
    original = pydicom.dcmread(pydicom_test_files() / "rtplan.dcm")
    assert ref == map_uid(KEY, original.ReferencedStructureSetSequence[0].ReferencedSOPInstanceUID)


def test_same_key_same_output_bytes_across_sessions():
    first, _ = _run(_bytes("MR_small.dcm"), "teaching")
    second, _ = _run(_bytes("MR_small.dcm"), "teaching")
    assert first.data == second.data
    other = deidentify(_bytes("MR_small.dcm"), make_settings(preset("teaching"), b"\x01" * 32), lambda _k: PLAN)
    assert other.sop_instance_uid != first.sop_instance_uid


# -- options -----------------------------------------------------------------------------------
def test_modified_dates_shift_by_the_patient_offset_and_keep_times():
    original = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")
    _, ds = _run(_bytes("CT_small.dcm"), "teaching")
    assert ds.StudyDate == shift_date(original.StudyDate, PLAN.shift_days)
    assert ds.SeriesDate == shift_date(original.SeriesDate, PLAN.shift_days)
    assert ds.StudyTime == original.StudyTime
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"


def test_full_dates_keep_dates_and_basic_removes_them():
    original = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")
    _, full = _run(_bytes("CT_small.dcm"), _custom("retain_full_dates"))
    assert full.StudyDate == original.StudyDate
    assert full.LongitudinalTemporalInformationModified == "UNMODIFIED"
    _, basic = _run(_bytes("CT_small.dcm"))
    assert basic.StudyDate == ""
    assert basic.LongitudinalTemporalInformationModified == "REMOVED"


def test_datetimes_shift_with_their_dates():
    data = _edited("CT_small.dcm", lambda ds: setattr(ds, "AcquisitionDateTime", "20040119112936.5"))
    _, ds = _run(data, "teaching")
    assert ds.AcquisitionDateTime == shift_date("20040119", PLAN.shift_days) + "112936.5"


def test_patient_characteristics_option():
    original = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")
    _, kept = _run(_bytes("CT_small.dcm"), _custom("retain_patient_characteristics"))
    assert kept.PatientSex == original.PatientSex and kept.PatientWeight == original.PatientWeight
    _, basic = _run(_bytes("CT_small.dcm"))
    assert "PatientWeight" not in basic and basic.PatientSex == ""


def test_device_and_institution_options():
    def add(ds: Dataset) -> None:
        ds.DeviceSerialNumber = "SN-99812"

    data = _edited("CT_small.dcm", add)
    _, basic = _run(data)
    assert "DeviceSerialNumber" not in basic and "StationName" not in basic
    _, device = _run(data, _custom("retain_device_identity"))
    assert device.DeviceSerialNumber == "SN-99812" and device.StationName == "CT01_OC0"
    _, institution = _run(data, _custom("retain_institution_identity"))
    assert institution.InstitutionName == "JFK IMAGING CENTER"


def test_retain_uids_option():
    original = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")
    _, ds = _run(_bytes("CT_small.dcm"), _custom("retain_uids"))
    assert ds.SOPInstanceUID == original.SOPInstanceUID
    assert ds.StudyInstanceUID == original.StudyInstanceUID


def test_clean_descriptors_scrub_identifiers_from_text():
    def describe(ds: Dataset) -> None:
        ds.SeriesDescription = "Head CT CompressedSamples 2004-01-19"
        ds.StudyDescription = "routine"

    data = _edited("CT_small.dcm", describe)
    _, basic = _run(data)
    assert "SeriesDescription" not in basic  # X in the Basic Profile
    _, clean = _run(data, _custom("clean_descriptors"))
    assert clean.SeriesDescription == "Head CT * *"
    assert clean.StudyDescription == "routine"


def test_clean_structured_content_keeps_sr_text_without_identifiers():
    _, basic = _run(_bytes("reportsi.dcm"))
    texts = [i.TextValue for i in basic.ContentSequence if "TextValue" in i]
    assert texts and all(t == "ANONYMIZED" for t in texts)  # D on Content Sequence: dummy text
    _, clean = _run(_bytes("reportsi.dcm"), _custom("clean_structured_content"))
    original = pydicom.dcmread(pydicom_test_files() / "reportsi.dcm")
    before = [i.TextValue for i in original.ContentSequence if "TextValue" in i]
    after = [i.TextValue for i in clean.ContentSequence if "TextValue" in i]
    assert len(after) == len(before) and after != ["ANONYMIZED"] * len(after)


def test_private_attributes_go_unless_safe_under_retain_safe_private():
    _, basic = _run(_bytes("CT_small.dcm"))
    assert not [e for e in basic if e.tag.is_private]
    _, safe = _run(_bytes("CT_small.dcm"), _custom("retain_safe_private"))
    kept = {(e.tag.group, e.tag.element) for e in safe if e.tag.is_private}
    # GEMS_ACQU_01 (0019,xx23) Table Speed is in Table E.3.10-1; its creator stays with it.
    assert (0x0019, 0x1023) in kept and (0x0019, 0x0010) in kept
    assert (0x0009, 0x1002) not in kept  # GEMS_IDEN_01 suite ID: not safe
    assert safe[0x0019, 0x0010].value == "GEMS_ACQU_01"


def test_unknown_public_attributes_are_removed_known_ones_kept():
    def add(ds: Dataset) -> None:
        ds.add_new(0x00700FF0, "LO", "unknown public")

    _, ds = _run(_edited("CT_small.dcm", add))
    assert 0x00700FF0 not in ds
    assert ds.Rows == 128 and ds.ImageType == ["ORIGINAL", "PRIMARY", "AXIAL"]


def test_overlays_and_icons_go():
    def add_icon(ds: Dataset) -> None:
        icon = Dataset()
        icon.Rows, icon.Columns, icon.BitsAllocated, icon.BitsStored = 4, 4, 8, 8
        icon.add_new(0x7FE00010, "OB", b"\x00" * 16)
        ds.IconImageSequence = Sequence([icon])

    _, ds = _run(_edited("MR-SIEMENS-DICOM-WithOverlays.dcm", add_icon))
    assert not [e for e in ds if 0x6000 <= e.tag.group <= 0x60FF]
    assert "IconImageSequence" not in ds


def test_nested_identifiers_go_at_any_depth():
    def nest(ds: Dataset) -> None:
        inner = Dataset()
        inner.PatientName = "Deep^Hidden"
        inner.PatientID = "ID-DEEP-1"
        middle = Dataset()
        middle.OperatorIdentificationSequence = Sequence([inner])
        middle.CodeValue = "T-D1100"
        ds.ReferencedImageSequence = Sequence([middle])

    result, ds = _run(_edited("CT_small.dcm", nest), "teaching")
    assert b"Hidden" not in result.data and b"ID-DEEP-1" not in result.data
    assert not result.leaks


def test_record_of_what_was_done():
    _, ds = _run(_bytes("CT_small.dcm"), "teaching")
    assert ds.PatientIdentityRemoved == "YES"
    codes = [item.CodeValue for item in ds.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113105", "113107", "113108"]
    assert all(item.CodingSchemeDesignator == "DCM" for item in ds.DeidentificationMethodCodeSequence)
    assert [item.CodeMeaning for item in ds.DeidentificationMethodCodeSequence][-1] == \
        "Retain Patient Characteristics Option"
    assert ds.DeidentificationMethod[0].startswith("Veil")


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm",
                                  "JPEG2000.dcm", "SC_rgb_rle.dcm", "emri_small_jpeg_ls_lossless.dcm",
                                  "image_dfl.dcm", "SC_rgb_jpeg.dcm"])
def test_pixel_data_bytes_are_untouched(name: str):
    original = pydicom.dcmread(_path(name), force=True)
    _, ds = _run(_bytes(name), "teaching")
    assert ds.PixelData == original.PixelData
    assert ds.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID


def test_large_multiframe_ultrasound_keeps_its_frames():
    path = _path("color3d_jpeg_baseline.dcm")  # 120-frame colour ultrasound, JPEG baseline
    original = pydicom.dcmread(path)
    result, ds = _run(path.read_bytes(), "research")
    assert ds.PixelData == original.PixelData and int(ds.NumberOfFrames) == int(original.NumberOfFrames)
    assert not result.leaks


# -- the leak check and bad input -------------------------------------------------------------
def test_a_name_typed_into_an_attribute_no_row_governs_is_cleaned_out_of_it():
    # Manufacturer is in no row of Table E.1-1: kept, but never with the patient's name in it.
    data = _edited("CT_small.dcm", lambda ds: setattr(ds, "Manufacturer", "CompressedSamples scanner"))
    result, _ = _run(data, record=True)
    assert not result.leaks
    out = pydicom.dcmread(io.BytesIO(result.data))
    assert "CompressedSamples" not in str(out.Manufacturer) and "scanner" in str(out.Manufacturer)
    change = next(c for c in result.changes if c.name == "Manufacturer")
    assert change.action == "cleaned" and "identifiers" in change.rule


def test_the_leak_check_reports_without_the_value():
    from desktop.core.deid.leaks import find_leaks_in_bytes
    from desktop.core.dicom.identifiers import collect_identifiers
    original = pydicom.dcmread(io.BytesIO(_bytes("CT_small.dcm")))
    leaks = find_leaks_in_bytes(b"...CompressedSamples...", collect_identifiers(original))
    text = " ".join(leak.describe() for leak in leaks)
    assert "PatientName" in text and "CompressedSamples" not in text


def test_preview_lists_every_attribute_with_its_rule():
    result, _ = _run(_bytes("CT_small.dcm"), "teaching", record=True)
    by_name = {c.name: c for c in result.changes}
    assert by_name["Patient's Name"].action == "replaced" and by_name["Patient's Name"].after == "TEACH-0007"
    assert by_name["Institution Name"].action == "removed"
    assert "X/Z/D" in by_name["Institution Name"].rule
    assert by_name["Study Date"].action == "shifted"
    assert by_name["Rows"].action == "kept"
    assert {c.action for c in result.changes} >= {"removed", "emptied", "replaced", "kept", "shifted"}


@pytest.mark.parametrize("name, reason", [
    ("DICOMDIR", "media directory"), ("no_meta.dcm", "not a DICOM file"),
    ("MR_truncated.dcm", "truncated"), ("nested_priv_SQ.dcm", "SOP Instance UID"),
])
def test_unfit_files_are_refused_with_a_reason(name: str, reason: str):
    path = next(pydicom_test_files().rglob(name))
    with pytest.raises(InvalidInstance, match=reason):
        deidentify(path.read_bytes(), make_settings(preset("teaching"), KEY), lambda _k: PLAN)


def test_patient_key_prefers_id_and_issuer():
    ds = Dataset()
    ds.PatientID, ds.IssuerOfPatientID, ds.PatientName = "123", "HOSP", "Doe^John"
    assert patient_key_of(ds) == "id\x00HOSP\x00123"
    ds.PatientID = ""
    ds.PatientBirthDate = "19700101"
    assert patient_key_of(ds) == "name\x00Doe^John\x0019700101"


# -- elements of the export itself -------------------------------------------------------------
@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small_implicit.dcm", "US1_J2KR.dcm"])
def test_extra_elements_are_written_into_every_output_untouched(name):
    """The consent an export relies on (PS3.3 C.7.1.3) goes in after de-identification, so the
    Clinical Trial Protocol ID (D in the Basic Profile) is the one the export names."""
    item = Dataset()
    item.DistributionType, item.ClinicalTrialProtocolID, item.ConsentForDistributionFlag = \
        "NAMED_PROTOCOL", "VEIL-2026-01", "YES"
    extra = Dataset()
    extra.ConsentForClinicalTrialUseSequence = Sequence([item])
    extra.ClinicalTrialProtocolID = "VEIL-2026-01"
    settings = make_settings(preset("research"), KEY, extra=extra)
    result = deidentify(_bytes(name), settings, lambda _key: PLAN)
    assert not result.leaks
    ds = pydicom.dcmread(io.BytesIO(result.data))
    assert ds.ClinicalTrialProtocolID == "VEIL-2026-01"
    consent = ds.ConsentForClinicalTrialUseSequence[0]
    assert (consent.DistributionType, consent.ClinicalTrialProtocolID, consent.ConsentForDistributionFlag) == \
        ("NAMED_PROTOCOL", "VEIL-2026-01", "YES")
    assert ds.PatientIdentityRemoved == "YES"
    assert ds.pixel_array.size  # pixels intact after the header changes
