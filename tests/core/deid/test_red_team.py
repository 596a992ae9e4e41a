"""What a red team found in the engine, kept as tests: each way the patient got through to a
written file. Every case must come out either cleaned (written, nothing of her left) or
refused (``result.leaks``: the app leaves the file out, a package is refused) - never written
with her in it."""

from __future__ import annotations

import io
import re
import zlib

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import DeflatedExplicitVRLittleEndian

from desktop.core.deid.engine import PatientPlan, deidentify, make_settings
from desktop.core.deid.profiles import preset
from tests.conftest import pydicom_test_files

PRESETS = ("teaching", "research", "publication")
SETTINGS = {key: make_settings(preset(key), b"k" * 32) for key in PRESETS}
NEEDLES = re.compile(r"quisenb|marguerite|4471\W?0093|20020524|m(ü|u|ue)llerstr|山田|太郎", re.IGNORECASE)


def _patient(name: str = "Quisenberry^Marguerite", source: str = "CT_small.dcm") -> Dataset:
    ds = pydicom.dcmread(pydicom_test_files() / source)
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = name, "MRN-4471-0093", "20020524"
    return ds


def _bytes(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _outcome(data: bytes, key: str) -> str:
    """"refused", or "clean" when the written file holds none of her (inflated when deflated)."""
    result = deidentify(data, SETTINGS[key], lambda _k: PatientPlan("TEACH-0001", -400))
    if result.leaks:
        return "refused"
    text = result.data
    out = pydicom.dcmread(io.BytesIO(text))
    if out.file_meta.TransferSyntaxUID == DeflatedExplicitVRLittleEndian:
        start = text.index(b"DICM") + 4 + 12 + int.from_bytes(text[text.index(b"DICM") + 12:][:4], "little")
        text = text[:start] + zlib.decompress(text[start:], -zlib.MAX_WBITS)
    for encoding in ("latin_1", "utf-16-le", "utf-8"):
        found = NEEDLES.search(text.decode(encoding, "ignore"))
        assert found is None, f"{key}: written with {found.group(0)!r} in it"
    return "clean"


@pytest.mark.parametrize("key", PRESETS)
def test_a_deflated_file_is_checked_as_a_reader_inflates_it(key: str):
    ds = _patient()
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    ds.add_new(0x00282000, "OB", b"acsp QUISENBERRY^MARGUERITE MRN-4471-0093 20020524 ")  # ICC Profile
    assert _outcome(_bytes(ds), key) == "refused"


@pytest.mark.parametrize("key", PRESETS)
def test_bytes_after_the_last_frame_are_not_copied(key: str):
    ds = _patient()
    ds.PixelData = ds.PixelData + b"QUISENBERRY MARGUERITE MRN-4471-0093 20020524 "
    assert _outcome(_bytes(ds), key) == "clean"
    result = deidentify(_bytes(ds), SETTINGS[key], lambda _k: PatientPlan("T", -400))
    assert len(pydicom.dcmread(io.BytesIO(result.data)).PixelData) == 128 * 128 * 2


@pytest.mark.parametrize("key", PRESETS)
@pytest.mark.parametrize("keyword, value", [("BodyPartExamined", "QUISENBERRY"), ("ScanOptions", "M QUISENBERRY"),
                                            ("ScanOptions", "24-MAY-2002"), ("ScanOptions", "4471-0093")])
def test_code_strings_are_cleaned_of_her(key: str, keyword: str, value: str):
    ds = _patient()
    setattr(ds, keyword, value)
    ds.StudyDescription = "CT for Quisenberry"
    assert _outcome(_bytes(ds), key) == "clean"


@pytest.mark.parametrize("key", PRESETS)
def test_mixed_case_text_in_a_kept_jpeg_segment_is_refused(key: str):
    from pydicom.encaps import encapsulate, generate_frames

    ds = _patient(source="SC_rgb_jpeg_gdcm.dcm")
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    payload = b"ICC_PROFILE\x00\x01\x01 QuisenBerry MarGuerite Mrn-4471-0093"
    frame = frame[:2] + b"\xff\xe2" + (len(payload) + 2).to_bytes(2, "big") + payload + frame[2:]
    ds.PixelData = encapsulate([frame + b"\x00" * (len(frame) % 2)])
    assert _outcome(_bytes(ds), key) in ("refused", "clean")


@pytest.mark.parametrize("key", PRESETS)
def test_utf16_and_accented_capitals_in_binary_elements_are_refused(key: str):
    for text in ("Quisenberry MRN-4471-0093".encode("utf-16-le"), "QUISENBÉRRY".encode()):
        ds = _patient("Quisenbérry^Marguerite" if b"\xc3" in text else "Quisenberry^Marguerite")
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.add_new(0x00282000, "OB", b"acsp" + text + b"\x00" * (len(text) % 2))
        assert _outcome(_bytes(ds), key) == "refused"


def test_cjk_and_accented_names_are_cleaned_in_any_spelling():
    ds = _patient("Yamada^Tarou=山田^太郎")
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    ds.SeriesDescription = "山田太郎 胸部"
    assert _outcome(_bytes(ds), "teaching") == "clean"
    ds = _patient("Müllerström^Jürgen")
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SeriesDescription = "CT chest Muellerstroem / Mullerstrom"
    ds.AnatomicRegionSequence = Sequence([Dataset()])
    assert _outcome(_bytes(ds), "teaching") == "clean"
