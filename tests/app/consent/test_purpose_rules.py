"""What a purpose asks of an export, asked in one place (no Qt): care names its colleague and
alone may send identifiable images, research names its protocol, and only de-identified images
for a purpose other than care leave unencrypted; the consent check matches the colleague and
the protocol the export names."""

from __future__ import annotations

from datetime import date, timedelta

import pydicom
import pytest

from desktop.app.consent.consenting import add_consent, find_patient, selection_items
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.consent.purpose_rules import (
    check_for_purpose,
    identifiable_allowed,
    needs_colleague,
    needs_protocol,
    unencrypted_allowed,
)
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.core.consent import Basis, ConsentError, ConsentRecord, Method, Purpose, Scope
from tests.conftest import pydicom_test_files, write_series

TODAY = date.today()
OTHERS = [p for p in Purpose if p not in (Purpose.CARE, Purpose.RESEARCH)]


def test_care_names_its_colleague_and_research_its_protocol():
    assert [p for p in Purpose if needs_colleague(p)] == [Purpose.CARE]
    assert [p for p in Purpose if needs_protocol(p)] == [Purpose.RESEARCH]
    assert needs_colleague("care") and needs_protocol("research")  # as the command line spells them


def test_only_care_sends_identifiable_images_and_never_unencrypted():
    assert [p for p in Purpose if identifiable_allowed(p)] == [Purpose.CARE]
    assert not unencrypted_allowed(Purpose.CARE, identifiable=False)
    assert not unencrypted_allowed(Purpose.CARE, identifiable=True)
    for purpose in [Purpose.RESEARCH, *OTHERS]:
        assert unencrypted_allowed(purpose, identifiable=False)
        assert not unencrypted_allowed(purpose, identifiable=True)


def test_an_export_purpose_refuses_what_its_purpose_needs_left_out():
    with pytest.raises(ConsentError, match="colleague"):
        ExportPurpose(Purpose.CARE, "  ")
    with pytest.raises(ConsentError, match="protocol"):
        ExportPurpose(Purpose.RESEARCH, "Data centre")
    for purpose in OTHERS:
        assert ExportPurpose(purpose).recipient == ""  # nothing else is required


@pytest.fixture
def ct(veil_home, tmp_path):
    """A home holding one CT study of Smith^Anna; (home, patient key, study UID)."""
    paths = write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "ct", 2, "Smith^Anna", "MRN-1001")
    home = VeilHome.open()
    import_paths(home, [tmp_path / "ct"])
    return home, find_patient(home, patient_id="MRN-1001").key, pydicom.dcmread(paths[0]).StudyInstanceUID


def _consent(patient_key: str, purpose: Purpose, **fields: str) -> ConsentRecord:
    return ConsentRecord(basis=Basis.CONSENT, scope=Scope(patient_key), purposes=frozenset({purpose}),
                         obtained_on=TODAY - timedelta(days=3), recorded_by="R. Ward", method=Method.WRITTEN,
                         obtained_by="Dr Ward", **fields)


def test_the_check_for_care_matches_the_colleague_the_export_names(ct):
    home, patient, study = ct
    add_consent(home, _consent(patient, Purpose.CARE, colleague="Dr Anna Jones"))
    items = selection_items(home, [study])
    _request, allowed = check_for_purpose(home, Purpose.CARE, items, deidentified=False, recipient="dr anna  jones")
    assert allowed.allowed
    _request, refused = check_for_purpose(home, Purpose.CARE, items, deidentified=False, recipient="Dr Bob")
    assert not refused.allowed and "names Dr Anna Jones, not Dr Bob" in refused.message
    assert refused.override_allowed  # care alone may be overridden, with a justification


def test_the_check_for_research_matches_the_protocol_and_ignores_the_recipient(ct):
    home, patient, study = ct
    add_consent(home, _consent(patient, Purpose.RESEARCH, protocol_id="ONC-2024-07"))
    items = selection_items(home, [study])
    request, allowed = check_for_purpose(home, Purpose.RESEARCH, items, deidentified=True,
                                         recipient="Data centre", protocol_id="ONC-2024-07")
    assert allowed.allowed and request.colleague is None  # only care is bound to a colleague
    _request, refused = check_for_purpose(home, Purpose.RESEARCH, items, deidentified=True,
                                          protocol_id="CARD-2025-01")
    assert not refused.allowed and "protocol ONC-2024-07, not CARD-2025-01" in refused.message
    assert not refused.override_allowed
