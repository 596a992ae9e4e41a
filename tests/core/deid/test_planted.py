"""Acceptance: a patient's identity planted everywhere a real file can hold it is gone from the
output of every preset (teaching, research, publication), by the header engine alone.

One real file per kind from pydicom's test files and pydicom-data (CT, MR, US multi-frame,
CR MONOCHROME1, RGB, YBR, palette, signed, JPEG baseline / lossless, JPEG-LS, JPEG 2000 lossy
and lossless, RLE, deflate, big endian, implicit VR, enhanced multi-frame, SR), planted with
:mod:`tests.planting` (header attributes where identity belongs and where it does not, private
blocks, file meta, overlays, curves, icons, bits above High Bit, codestream comments), then
de-identified with :func:`desktop.core.deid.engine.deidentify`. Each file must be written (no
refusal, no leak reported by the engine) and :func:`tests.planting.scan_file` must find nothing:

- ``test_header_*``: every element's text at any depth and the raw bytes outside Pixel Data;
- ``test_pixels_*``: bits above High Bit, overlay bitmaps, icon pixels, and the bytes of
  encapsulated frames (comment segments).

The pseudonym, shifted dates, dummy values and standard code meanings are not the identity; the
identity's own dates are, under every preset (research and teaching shift dates, publication
removes them).
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pydicom
import pytest

from desktop.core.deid.engine import PatientPlan, deidentify, make_settings
from desktop.core.deid.profiles import load_presets
from tests.conftest import pydicom_data_files, pydicom_test_files
from tests.planting import (
    PATIENT,
    Planted,
    describe,
    find_forms,
    match_ocr_text,
    plant_file,
    scan_bytes,
    scan_elements,
    scan_pixels,
)

PRESETS = ("teaching", "research", "publication")
SHIFT_DAYS = -400

#: One real file per kind: (root, relative path).
KINDS: dict[str, tuple[str, str]] = {
    "ct-signed-explicit-le": ("test", "CT_small.dcm"),
    "mr-implicit-vr": ("test", "MR_small_implicit.dcm"),
    "mr-big-endian": ("test", "MR_small_bigendian.dcm"),
    "mr-rle": ("test", "MR_small_RLE.dcm"),
    "mr-enhanced-jpeg-ls": ("data", "emri_small_jpeg_ls_lossless.dcm"),
    "mr-jpeg2000-lossless": ("test", "MR_small_jp2klossless.dcm"),
    "ct-jpeg2000-lossy": ("test", "693_J2KI.dcm"),
    "cr-monochrome1": ("test", "dicomdirtests/77654033/CR1/6154"),
    "us-multiframe-jpeg-baseline-ybr": ("test", "examples_ybr_color.dcm"),
    "us-rgb": ("test", "examples_rgb_color.dcm"),
    "ybr-full-422-native": ("test", "SC_ybr_full_422_uncompressed.dcm"),
    "us-palette": ("test", "examples_palette.dcm"),
    "nm-jpeg-lossless-signed": ("data", "JPEG-LL.dcm"),
    "rgb-jpeg-lossless": ("test", "SC_rgb_jpeg_gdcm.dcm"),
    "ot-deflate": ("test", "image_dfl.dcm"),
    "ct-enhanced-multiframe": ("data", "eCT_Supplemental.dcm"),
    "mr-with-overlays-and-icon": ("data", "MR-SIEMENS-DICOM-WithOverlays.dcm"),
    "sr-comprehensive": ("test", "test-SR.dcm"),
}


def _source(kind: str) -> Path:
    root, rel = KINDS[kind]
    return (pydicom_test_files() if root == "test" else pydicom_data_files()) / rel


@pytest.fixture(scope="session")
def planted_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("planted")


_PLANTED: dict[str, Planted] = {}


def _planted(kind: str, folder: Path) -> Planted:
    if kind not in _PLANTED:
        _PLANTED[kind] = plant_file(_source(kind), folder / kind, name=f"{kind}.dcm")
    return _PLANTED[kind]


@cache
def _settings(key: str):  # noqa: ANN202
    return make_settings(load_presets()[key], b"k" * 32)


_RESULTS: dict[tuple[str, str], object] = {}


def _deidentified(kind: str, key: str, folder: Path):  # noqa: ANN202
    """The engine's result for the planted file under preset ``key`` (the exception if it raised)."""
    if (kind, key) not in _RESULTS:
        data = _planted(kind, folder).path.read_bytes()
        profile = load_presets()[key]
        plan = PatientPlan(f"{profile.pseudonym_prefix}-0001", SHIFT_DAYS)
        try:
            _RESULTS[(kind, key)] = deidentify(data, _settings(key), lambda _k: plan)
        except Exception as exc:  # noqa: BLE001 - reported by the tests
            _RESULTS[(kind, key)] = exc
    return _RESULTS[(kind, key)]


def _written(kind: str, key: str, folder: Path):  # noqa: ANN202
    result = _deidentified(kind, key, folder)
    if isinstance(result, Exception):
        pytest.fail(f"{key}: the engine did not write the planted {kind} file: {type(result).__name__}: {result}")
    return result


def _in_pixels(leak) -> bool:  # noqa: ANN001
    return "inside Pixel Data" in leak.where


# -- the scanner: every form of her, and nothing else -------------------------------------------
@pytest.mark.parametrize("text", [
    "QUISENBERRY MARGUERITE", "marguerite quisenberry", "Quisenberry, M.", "user mquisenberry", "Odalys",
    "MRN-4471-0093", "MRN44710093", "4471 0093", "ID 44710093", "1.2.3.44710093.9", "QH 88213-7", "acc A7Q-93815",
    "01.09.2012", "24-MAY-02", "5/25/2011", "2012-09-01", "01 Sep 2012", "Sep 1, 2012", "September 1, 2012",
    "20120901", "01/09/12", "24.05.2002", "2002.05.24", "m.quisenberry@wexcombe-mail.example", "(503) 555-0199",
    "555 0199", "Lawyer", "called Daisy", "Dr Thornquist", "Evander", "Oyelaran", "Brackwater", "Pemberthy RIS",
    "1187 Wexcombe Lane", "Tillamook Falls OR 97141",
])
def test_the_scanner_finds_every_form_of_the_identity(text: str):
    assert find_forms(text), text


@pytest.mark.parametrize("text", [
    "TEACH-0001", "RES-0001", "CASE-0001", "ANONYMIZED", "19000101", "000000", "20110729", "20100420", "20010419",
    "2011-07-29", "142317", "120901", "Chest", "Comment", "Findings", "Basic Application Confidentiality Profile",
    "Retain Longitudinal Temporal Information Modified Dates Option", "2.25.36687460406254621938435388282651531403",
    "1.2.840.10008.5.1.4.1.1.2", "0.661468", "Veil: PS3.15 Basic Profile", "GE MEDICAL SYSTEMS", "version 3.1.9.12",
    "DOB M. ID Prior Exam Acc",
])
def test_the_scanner_takes_no_dummy_shifted_date_or_standard_text_for_identity(text: str):
    assert not find_forms(text), [f.text for f in find_forms(text)]
    assert not match_ocr_text(text), match_ocr_text(text)


# -- the planting itself is found (the scanner is not blind, the files are valid) ------------------
@pytest.mark.parametrize("kind", KINDS)
def test_the_planted_file_is_valid_and_the_scanner_finds_every_planting(kind: str, planted_dir: Path):
    planted = _planted(kind, planted_dir)
    data = planted.path.read_bytes()
    ds = pydicom.dcmread(io.BytesIO(data))
    assert str(ds.PatientName) == PATIENT.dicom_name
    if "PixelData" in ds:
        ds.pixel_array  # noqa: B018 - still decodes after planting
    kinds = {f.what.split(" ")[0] for f in scan_elements(ds)}
    assert {"name", "id", "date", "accession", "phone", "address", "occupation", "nickname", "physician",
            "institution"} <= kinds
    where = " ".join(f.where for f in scan_elements(ds))
    for place in ("FileMeta", "(0099,1005)", "(0040,0275) RequestAttributesSequence[1] > (0040,0008)",
                  "ProtocolContextSequence[1]", "(0008,1190) RetrieveURL", "(0010,2180) Occupation",
                  "(0008,1032) ProcedureCodeSequence[1] > (0008,0104) CodeMeaning", "ContentSequence",
                  "(0032,1060)", "(FFFC,FFFC)", "(5000,0022)"):
        assert place in where, place
    assert {f.where for f in scan_bytes(data)} >= {"file meta", "dataset before Pixel Data" if "PixelData" in ds
                                                    else "dataset"}
    pixels = scan_pixels(ds)
    parts = {f.part for f in pixels}
    assert "icon" in parts
    if "PixelData" in ds:
        assert "overlay" in parts
    if "hidden-bits" in planted.planted:
        assert "pixel-bits" in parts
    if "codestream-comment" in planted.planted:
        assert any(f.where == "encapsulated Pixel Data" for f in scan_bytes(data))


# -- the header ----------------------------------------------------------------------------------
@pytest.mark.parametrize("key", PRESETS)
@pytest.mark.parametrize("kind", KINDS)
def test_header_holds_no_planted_identity(kind: str, key: str, planted_dir: Path):
    result = _written(kind, key, planted_dir)
    engine_leaks = [leak.describe() for leak in result.leaks if not _in_pixels(leak)]
    out = pydicom.dcmread(io.BytesIO(result.data))
    assert out.PatientIdentityRemoved == "YES"
    assert str(out.PatientName) == result.pseudonym
    findings = scan_elements(out) + [f for f in scan_bytes(result.data) if f.where != "encapsulated Pixel Data"]
    assert not engine_leaks and not findings, (
        f"{key} / {kind}: the engine reports {len(engine_leaks)} leak(s): {engine_leaks}; "
        f"the scanner finds:{describe(findings)}")


# -- the pixels ----------------------------------------------------------------------------------
@pytest.mark.parametrize("key", PRESETS)
@pytest.mark.parametrize("kind", KINDS)
def test_pixels_hold_no_planted_identity(kind: str, key: str, planted_dir: Path):
    result = _written(kind, key, planted_dir)
    engine_leaks = [leak.describe() for leak in result.leaks if _in_pixels(leak)]
    out = pydicom.dcmread(io.BytesIO(result.data))
    findings = scan_pixels(out) + [f for f in scan_bytes(result.data) if f.where == "encapsulated Pixel Data"]
    assert not engine_leaks and not findings, (
        f"{key} / {kind}: the engine reports {len(engine_leaks)} leak(s) in Pixel Data: {engine_leaks}; "
        f"the scanner finds:{describe(findings)}")
