"""Consent records: what a complete record needs, withdrawal, validity over time, storage as JSON."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from desktop.core.consent import (
    Basis,
    ConsentError,
    FormRef,
    Method,
    Purpose,
    RecordState,
    Scope,
    from_json,
    state_on,
    to_json,
    withdraw,
)

PATIENT = "patient-key-7f3a"
FORM = FormRef(sha256="ab" * 32, file_name="consent-scan.pdf", media_type="application/pdf", size=48213)


def test_a_complete_consent_is_kept_as_entered_without_stray_spaces(consent):
    record = consent(purposes={"teaching", Purpose.CONFERENCE}, limits="  no facial images ",
                     method="verbal-witnessed", witness=" Nurse Okafor ", form=FORM)
    assert record.purposes == {Purpose.TEACHING, Purpose.CONFERENCE}
    assert record.method is Method.VERBAL and record.witness == "Nurse Okafor"
    assert record.limits == "no facial images"
    assert len(record.id) == 32 and record.recorded_at.tzinfo is not None
    assert consent().id != consent().id


@pytest.mark.parametrize(("fields", "says"), [
    ({"method": Method.VERBAL}, "verbal consent needs the witness"),
    ({"method": None}, "how the consent was given"),
    ({"obtained_by": "  "}, "person who obtained it"),
    ({"purposes": frozenset()}, "at least one purpose"),
    ({"purposes": {Purpose.CARE}}, "care consultation needs the colleague's name"),
    ({"purposes": {Purpose.RESEARCH}}, "research needs the research protocol"),
    ({"colleague": "Dr Jones"}, "colleague is named only for care"),
    ({"protocol_id": "ABC"}, "protocol ID is recorded only for research"),
    ({"purposes": {"marketing"}}, "unknown basis, method or purpose"),
    ({"valid_until": date(2023, 12, 31)}, "cannot end (2023-12-31) before it starts (2024-01-10)"),
    ({"valid_from": date(2024, 1, 9)}, "cannot start"),
    ({"withdrawn_on": date(2024, 2, 1)}, "withdrawal needs a reason"),
    ({"withdrawal_reason": "changed mind"}, "needs the date of the withdrawal"),
    ({"withdrawn_on": date(2023, 1, 1), "withdrawal_reason": "x"}, "cannot be withdrawn before"),
    ({"recorded_at": datetime(2024, 1, 10, 9, 0)}, "time zone"),
    ({"recorded_by": ""}, "person who recorded it"),
    ({"obtained_on": datetime(2024, 1, 10, 9, 0, tzinfo=UTC)}, "date it was obtained"),
    ({"waiver_reference": "IRB-1"}, "no waiver reference"),
])
def test_an_incomplete_or_contradictory_consent_is_refused_naming_the_field(consent, fields, says):
    with pytest.raises(ConsentError) as raised:
        consent(**fields)
    assert says in str(raised.value)


def test_waivers_and_site_policies_need_their_own_references(waiver, site_policy):
    with pytest.raises(ConsentError, match=r"ethics committee's \(IRB\) reference"):
        waiver(waiver_reference="")
    with pytest.raises(ConsentError, match="no consent method or witness"):
        waiver(method=Method.WRITTEN)
    with pytest.raises(ConsentError, match="name of the site policy"):
        site_policy(policy="")
    with pytest.raises(ConsentError, match="cannot allow care consultation"):
        site_policy(purposes={Purpose.CARE})
    assert waiver(committee="").committee == ""  # the committee's name is optional


@pytest.mark.parametrize(("scope", "says"), [
    (lambda: Scope(""), "patient it belongs to"),
    (lambda: Scope(PATIENT, series_uids=frozenset({"1.2.3.4"})), "studies those series belong to"),
    (lambda: Scope(PATIENT, study_uids="1.2.3"), "as a set"),
])
def test_a_scope_must_say_whose_images_it_covers(scope, says):
    with pytest.raises(ConsentError) as raised:
        scope()
    assert says in str(raised.value)


@pytest.mark.parametrize(("fields", "says"), [
    ({"media_type": "text/plain"}, "PDF, PNG or JPEG"),
    ({"sha256": "not-a-digest"}, "SHA-256"),
    ({"size": 0}, "empty"),
    ({"file_name": " "}, "original file name"),
])
def test_a_scanned_form_reference_is_checked_without_echoing_its_file_name(fields, says):
    values = {"sha256": "cd" * 32, "file_name": "Doe_John_consent.pdf", "media_type": "image/png",
              "size": 10} | fields
    with pytest.raises(ConsentError) as raised:
        FormRef(**values)
    assert says in str(raised.value)
    assert "Doe" not in str(raised.value)


def test_a_scope_covers_the_whole_patient_whole_studies_or_only_some_series():
    patient = Scope(PATIENT)
    studies = Scope(PATIENT, study_uids=frozenset({"1.1"}))
    series = Scope(PATIENT, study_uids=frozenset({"1.1"}), series_uids=frozenset({"1.1.1", "1.1.2"}))
    assert patient.covers("9.9") and patient.covers("9.9", "9.9.9")
    assert studies.covers("1.1") and studies.covers("1.1", "1.1.7") and not studies.covers("2.2")
    assert series.covers("1.1", "1.1.1") and not series.covers("1.1", "1.1.3")
    assert not series.covers("1.1") and series.touches("1.1")  # only part of the study
    assert not series.touches("2.2")


def test_a_record_is_pending_then_valid_through_its_last_day_then_expired(consent):
    record = consent(valid_from=date(2024, 2, 1), valid_until=date(2024, 12, 31))
    assert state_on(record, date(2024, 1, 31)) is RecordState.PENDING
    assert state_on(record, date(2024, 2, 1)) is RecordState.VALID
    assert state_on(record, date(2024, 12, 31)) is RecordState.VALID
    assert state_on(record, date(2025, 1, 1)) is RecordState.EXPIRED
    assert state_on(consent(), date(2024, 1, 9)) is RecordState.PENDING  # before it was obtained


def test_withdrawal_takes_effect_on_its_date_and_wins_over_expiry(consent):
    record = consent(valid_until=date(2024, 6, 30))
    withdrawn = withdraw(record, date(2024, 3, 1), "Patient asked to stop teaching use")
    assert record.withdrawn_on is None  # the original record is unchanged
    assert withdrawn.id == record.id and withdrawn.withdrawal_reason == "Patient asked to stop teaching use"
    assert state_on(withdrawn, date(2024, 2, 29)) is RecordState.VALID
    assert state_on(withdrawn, date(2024, 3, 1)) is RecordState.WITHDRAWN
    assert state_on(withdrawn, date(2024, 7, 1)) is RecordState.WITHDRAWN


def test_withdrawal_needs_a_reason_and_happens_once(consent, waiver):
    record = consent()
    with pytest.raises(ConsentError, match="needs a reason"):
        withdraw(record, date(2024, 3, 1), "   ")
    with pytest.raises(ConsentError, match="cannot be withdrawn before it was obtained"):
        withdraw(record, date(2023, 3, 1), "entered by mistake")
    once = withdraw(record, date(2024, 3, 1), "patient request")
    with pytest.raises(ConsentError, match="already withdrawn on 2024-03-01"):
        withdraw(once, date(2024, 4, 1), "again")
    revoked = withdraw(waiver(), date(2024, 5, 1), "committee revoked the waiver")
    assert state_on(revoked, date(2024, 5, 1)) is RecordState.WITHDRAWN


def test_json_round_trip_keeps_every_field(waiver):
    record = waiver(
        scope=Scope(PATIENT, study_uids=frozenset({"1.2.3", "1.2.4"}), series_uids=frozenset({"1.2.3.1"})),
        purposes={Purpose.RESEARCH, Purpose.CARE}, protocol_id="ABC-17", colleague="Dr Jones",
        valid_from=date(2024, 2, 1), valid_until=date(2026, 1, 31), limits="no facial images", form=FORM,
        recorded_at=datetime(2024, 1, 10, 9, 30, tzinfo=timezone(timedelta(hours=2))))
    record = withdraw(record, date(2025, 3, 1), "protocol closed")
    stored = json.loads(json.dumps(to_json(record)))
    assert stored["version"] == 1 and stored["obtained_on"] == "2024-01-10"
    assert from_json(stored) == record
    assert from_json(stored).recorded_at.utcoffset() == timedelta(hours=2)


def test_stored_records_from_another_version_or_damaged_are_refused(consent):
    stored = to_json(consent())
    with pytest.raises(ConsentError, match="format version 2"):
        from_json(stored | {"version": 2})
    with pytest.raises(ConsentError, match="malformed date"):
        from_json(stored | {"obtained_on": "10/01/2024"})
    with pytest.raises(ConsentError, match="missing: basis"):
        from_json({k: v for k, v in stored.items() if k != "basis"})
    with pytest.raises(ConsentError, match="verbal consent needs the witness"):
        from_json(stored | {"method": "verbal-witnessed"})  # validated again on reading


def test_a_basis_reads_as_words_in_messages():
    assert [b.noun for b in Basis] == ["consent", "waiver", "site policy"]
    assert Purpose.PUBLICATION.title == "journal publication"
    assert all(p.description for p in Purpose) and all(m.title for m in Method)

