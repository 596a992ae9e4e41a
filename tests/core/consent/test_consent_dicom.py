"""Consent in exported DICOM: PS3.3 C.7.2.3 Clinical Trial Study Module, read back by pydicom."""

from __future__ import annotations

from io import BytesIO

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.tag import Tag

from desktop.core.consent import ConsentError, Purpose, add_consent, consent_elements, distribution_type

SEQUENCE = Tag(0x0012, 0x0083)
DISTRIBUTION_TYPE = Tag(0x0012, 0x0084)
FLAG = Tag(0x0012, 0x0085)
PROTOCOL_ID = Tag(0x0012, 0x0020)
TIME_POINT_ID = Tag(0x0012, 0x0050)


@pytest.mark.parametrize(("purpose", "expected"), [
    (Purpose.RESEARCH, "NAMED_PROTOCOL"),
    (Purpose.TEACHING, "RESTRICTED_REUSE"),
    (Purpose.CONFERENCE, "RESTRICTED_REUSE"),
    (Purpose.CARE, "RESTRICTED_REUSE"),
    (Purpose.PUBLICATION, "PUBLIC_RELEASE"),
    (Purpose.PUBLIC, "PUBLIC_RELEASE"),
])
def test_each_purpose_has_its_distribution_type(purpose, expected):
    assert distribution_type(purpose) == expected
    item = consent_elements(purpose, "ABC-17" if purpose is Purpose.RESEARCH else None)[SEQUENCE].value[0]
    assert item[DISTRIBUTION_TYPE].value == expected and item[FLAG].value == "YES"
    assert (PROTOCOL_ID in item) is (purpose is Purpose.RESEARCH)


def test_research_consent_names_its_protocol_inside_the_item_only():
    elements = consent_elements(Purpose.RESEARCH, " ABC-17 ")
    assert PROTOCOL_ID not in elements  # top level would need the Clinical Trial Subject Module
    assert elements[TIME_POINT_ID].value == ""  # the module's one Type 2 attribute
    (item,) = elements[SEQUENCE].value
    assert item[PROTOCOL_ID].value == "ABC-17"
    assert [(e.tag, e.VR) for e in item] == [(PROTOCOL_ID, "LO"), (DISTRIBUTION_TYPE, "CS"), (FLAG, "CS")]


@pytest.mark.parametrize(("purpose", "protocol", "says"), [
    (Purpose.RESEARCH, None, "needs the protocol ID"),
    (Purpose.RESEARCH, "A" * 65, "at most 64 characters"),
    (Purpose.RESEARCH, "AB\\C", "without backslashes"),
    (Purpose.TEACHING, "ABC-17", "only to research exports"),
])
def test_a_protocol_id_is_required_for_research_and_nowhere_else(purpose, protocol, says):
    with pytest.raises(ConsentError) as raised:
        consent_elements(purpose, protocol)
    assert says in str(raised.value)


def _round_trip(ds: pydicom.Dataset) -> pydicom.Dataset:
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    buffer.seek(0)
    return pydicom.dcmread(buffer)


def test_consent_survives_writing_and_reading_a_real_file():
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    assert not ds.file_meta.TransferSyntaxUID.is_implicit_VR  # VRs below come from the file
    add_consent(ds, Purpose.RESEARCH, "ABC-17")
    back = _round_trip(ds)
    (item,) = back[SEQUENCE].value
    assert back[SEQUENCE].VR == "SQ" and back[TIME_POINT_ID].VR == "LO"
    assert (item[DISTRIBUTION_TYPE].VR, item[DISTRIBUTION_TYPE].value) == ("CS", "NAMED_PROTOCOL")
    assert (item[FLAG].VR, item[FLAG].value) == ("CS", "YES")
    assert (item[PROTOCOL_ID].VR, item[PROTOCOL_ID].value) == ("LO", "ABC-17")
    assert back.PixelData == ds.PixelData


def test_adding_consent_replaces_an_old_one_and_keeps_the_time_point():
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.ClinicalTrialTimePointID = "BASELINE"
    add_consent(ds, Purpose.RESEARCH, "OLD-1")
    add_consent(ds, Purpose.TEACHING)
    back = _round_trip(ds)
    (item,) = back.ConsentForClinicalTrialUseSequence
    assert item.DistributionType == "RESTRICTED_REUSE" and "ClinicalTrialProtocolID" not in item
    assert back.ClinicalTrialTimePointID == "BASELINE"
