"""C implemented and text no row governs (PS3.15 E.1.1, E.3.5): what a reader of the output
would notice. The patient's identity planted where scanners, RIS and people put it comes out;
what identifies nobody stays; the record says what was done and why."""

from __future__ import annotations

import io

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from desktop.core.deid.engine import HIDDEN_BITS_METHOD, PatientPlan, deidentify, make_settings
from desktop.core.deid.profiles import preset
from tests.conftest import pydicom_test_files

KEY = bytes(range(32))
PLAN = PatientPlan("TEACH-0007", -400)
NAME = "Quisenberry^Marguerite"


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "99LOCAL", meaning
    return item


def _planted(edit=None) -> bytes:  # noqa: ANN001
    ds = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")
    ds.PatientName, ds.PatientID = NAME, "MRN-4471-0093"
    ds.StudyDescription = "CT HEAD for QUISENBERRY"
    ds.Occupation = "Lawyer"
    ds.AdditionalPatientHistory = "fell at home, seen by her daughter"
    ds.ProcedureCodeSequence = Sequence([_code("CTHD", "Head CT Marguerite Quisenberry")])
    ds.AnatomicRegionSequence = Sequence([_code("T-A0100", "Brain of quisenberry, marguerite")])
    ds.RetrieveURL = "https://pacs.example.org/wado?patient=MRN-4471-0093"
    ds.SequenceName = "*tfl3d1"
    ds.StationName = "CT-QUISENBERRY"
    if edit is not None:
        edit(ds)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _run(data: bytes, profile: str = "teaching"):  # noqa: ANN202
    result = deidentify(data, make_settings(preset(profile), KEY), lambda _key: PLAN, record=True)
    return result, pydicom.dcmread(io.BytesIO(result.data))


def _change(result, name: str):  # noqa: ANN001, ANN202
    return next(c for c in result.changes if c.name == name)


def test_clean_removes_the_name_from_a_description_and_keeps_the_rest():
    result, ds = _run(_planted())
    assert not result.leaks
    assert ds.StudyDescription.startswith("CT HEAD for") and "QUISENBERRY" not in ds.StudyDescription.upper()
    change = _change(result, "Study Description")
    assert change.action == "cleaned" and "Clean Descriptors Option" in change.rule


def test_clean_empties_attributes_personal_by_nature():
    result, ds = _run(_planted())
    assert "Lawyer" not in str(ds.get("Occupation", ""))
    assert "daughter" not in str(ds.get("AdditionalPatientHistory", ""))
    assert _change(result, "Occupation").action == "emptied"
    assert "personal by nature" in _change(result, "Occupation").rule


def test_code_meanings_are_cleaned_in_sequences_no_row_governs_and_in_cleaned_ones():
    result, ds = _run(_planted())
    meaning = str(ds.AnatomicRegionSequence[0].CodeMeaning)
    assert "quisenberry" not in meaning.lower() and "marguerite" not in meaning.lower() and "Brain" in meaning
    assert ds.AnatomicRegionSequence[0].CodeValue == "T-A0100"
    procedure = str(ds.ProcedureCodeSequence[0].CodeMeaning)  # C under Clean Descriptors
    assert "Head CT" in procedure and "Quisenberry" not in procedure and "Marguerite" not in procedure


def test_text_no_row_keeps_is_removed_by_default_and_the_record_says_why():
    result, ds = _run(_planted())
    assert "RetrieveURL" not in ds
    assert "by default" in _change(result, "Retrieve URL").rule
    assert ds.SequenceName == "*tfl3d1"  # technique, kept: identifies nobody


def test_a_kept_attribute_loses_the_patient_but_keeps_what_the_option_keeps():
    # Retain Device Identity keeps Station Name; the patient's name typed into it still goes.
    result, ds = _run(_planted(), "research")
    assert ds.StationName.startswith("CT-") and "QUISENBERRY" not in ds.StationName.upper()
    assert not result.leaks


def test_safe_private_text_is_cleaned_in_explicit_and_implicit_vr():
    def add_private(ds: Dataset) -> None:
        block = ds.private_block(0x0019, "SIEMENS MR HEADER", create=True)
        block.add_new(0x08, "CS", "IMAGE NUM 4")  # in Table E.3.10-1
        block.add_new(0x09, "LO", "1.0")
        ds.add_new(0x00191008, "CS", "QUISENBERRY")

    for syntax in (pydicom.uid.ExplicitVRLittleEndian, pydicom.uid.ImplicitVRLittleEndian):
        def edit(ds: Dataset, syntax=syntax) -> None:  # noqa: ANN001
            add_private(ds)
            ds.file_meta.TransferSyntaxUID = syntax

        result, ds = _run(_planted(edit), "research")
        assert b"QUISENBERRY" not in result.data.upper() and not result.leaks


def test_bits_above_high_bit_are_zeroed_and_recorded_the_stored_bits_untouched():
    original = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")

    def hide(ds: Dataset) -> None:
        ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 12, 11, 0
        arr = (ds.pixel_array.astype(np.uint16) & 0x0FFF)
        arr[10:20, 10:40] |= 1 << 13  # a block of "text" in bit 13
        ds.PixelData = arr.tobytes()

    result, ds = _run(_planted(hide))
    out = np.frombuffer(ds.PixelData, dtype="<u2")
    assert not (out & 0xF000).any()
    expected = original.pixel_array.astype(np.uint16).ravel() & 0x0FFF
    assert np.array_equal(out & 0x0FFF, expected)
    assert HIDDEN_BITS_METHOD in list(ds.DeidentificationMethod)
    assert "bits outside Bits Stored" in _change(result, "Pixel Data").rule


def test_pixel_data_without_hidden_bits_is_copied_byte_for_byte():
    data = (pydicom_test_files() / "CT_small.dcm").read_bytes()
    result, ds = _run(data)
    assert ds.PixelData == pydicom.dcmread(pydicom_test_files() / "CT_small.dcm").PixelData
    assert HIDDEN_BITS_METHOD not in list(ds.DeidentificationMethod)


def test_the_surname_written_into_a_code_string_does_not_switch_cleaning_off():
    # A name part that is also a defined term of the file is no leak by itself (a patient
    # named Perfusion beside Image Type PERFUSION), but it must still leave the descriptions.
    def edit(ds: Dataset) -> None:
        ds.BodyPartExamined = "QUISENBERRY"

    result, ds = _run(_planted(edit))
    assert "QUISENBERRY" not in ds.StudyDescription.upper()
    assert "quisenberry" not in str(ds.AnatomicRegionSequence[0].CodeMeaning).lower()
