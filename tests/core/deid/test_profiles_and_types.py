"""Profiles as data, the CID 7050 record, compound codes by Type, and the pseudonym book."""

from __future__ import annotations

import pytest

from desktop.core.common.errors import VeilError
from desktop.core.deid.attribute_types import resolve_compound
from desktop.core.deid.engine import compound_keywords, make_settings
from desktop.core.deid.profiles import load_presets, preset
from desktop.core.deid.table import load_table
from desktop.core.dicom.identifiers import Identifier, reportable
from desktop.core.library import database
from desktop.core.library.pseudonyms import assign_pseudonyms

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"


def test_presets_are_the_issue_s():
    presets = load_presets()
    assert set(presets) >= {"teaching", "research", "publication"}
    assert presets["teaching"].options == {"retain_modified_dates", "retain_patient_characteristics",
                                           "clean_descriptors"}
    assert presets["research"].options == {"retain_modified_dates", "retain_device_identity",
                                           "retain_safe_private"}
    assert presets["publication"].options == frozenset()
    assert presets["teaching"].pseudonym_prefix == "TEACH"


def test_codes_and_method_text_name_every_option():
    teaching = preset("teaching")
    assert [c for c, _ in teaching.codes] == ["113100", "113105", "113107", "113108"]
    assert all(len(text) <= 64 for text in teaching.method_text)  # LO
    assert preset("publication").codes == [("113100", "Basic Application Confidentiality Profile")]


def test_profile_rules():
    with pytest.raises(VeilError, match="full dates or modified dates"):
        preset("teaching").with_options({"retain_full_dates", "retain_modified_dates"})
    with pytest.raises(VeilError, match="prefix"):
        preset("teaching").with_options(set(), "teach me")
    with pytest.raises(VeilError, match="Unknown"):
        preset("teaching").with_options({"keep_everything"})
    with pytest.raises(VeilError, match="No profile named"):
        preset("everything")


@pytest.mark.parametrize("code, type_, action", [
    ("Z/D", 1, "D"), ("Z/D", 2, "Z"), ("Z/D", 3, "Z"),
    ("X/Z", 2, "Z"), ("X/Z", 3, "X"),
    ("X/D", 1, "D"), ("X/D", 3, "X"),
    ("X/Z/D", 1, "D"), ("X/Z/D", 2, "Z"), ("X/Z/D", 3, "X"),
    ("X/Z/U*", 1, "U"), ("X/Z/U*", 2, "U"), ("X/Z/U*", 3, "X"),
    ("K", 1, "K"),
])
def test_compound_codes(code: str, type_: int, action: str):
    assert resolve_compound(code, type_) == action


def test_types_come_from_the_standard_per_iod():
    types = make_settings(preset("publication"), b"k" * 32).types
    assert "ContentDate" in compound_keywords(load_table())
    assert types.type_of(BASIC_TEXT_SR, (), "ContentDate") == 1
    assert types.type_of(CT_IMAGE, (), "ContentDate") == 2  # 2C counts as 2
    assert types.type_of(CT_IMAGE, (), "InstitutionName") == 3
    assert types.type_of("1.2.3.private.class", (), "ContentDate") == 1  # strongest anywhere


def test_options_decide_which_identifiers_may_stay():
    found = [Identifier("date", "StudyDate", "20040119"), Identifier("device", "DeviceSerialNumber", "SN1"),
             Identifier("name", "PatientName", "Smith")]
    assert [i.kind for i in reportable(found, {"retain_full_dates"})] == ["device", "name"]
    assert [i.kind for i in reportable(found, {"retain_device_identity"})] == ["date", "name"]


def test_pseudonyms_number_each_patient_once(tmp_path):
    conn = database.connect(tmp_path / "lib.sqlite", b"\x02" * 32)
    try:
        first = assign_pseudonyms(conn, "TEACH", [b"a" * 16, b"b" * 16])
        again = assign_pseudonyms(conn, "TEACH", [b"b" * 16, b"c" * 16, b"a" * 16])
        other = assign_pseudonyms(conn, "RES", [b"c" * 16])
    finally:
        conn.close()
    assert first == {b"a" * 16: "TEACH-0001", b"b" * 16: "TEACH-0002"}
    assert again == {b"b" * 16: "TEACH-0002", b"c" * 16: "TEACH-0003", b"a" * 16: "TEACH-0001"}
    assert other == {b"c" * 16: "RES-0001"}
