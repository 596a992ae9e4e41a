"""DICOM audit messages (PS3.15 Annex A.5) made from Veil's audit events: parsed back, the
elements A.5.1 requires are there, codes follow the table, nothing but keyed hashes names a
patient or a study."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from desktop.core.audit.atna import MAX_OBJECTS, AuditSource, audit_message, clean, keyed_hashes, load_table
from desktop.core.audit.events import AuditEvent
from desktop.core.common.errors import AuditError

STUDY = "a" * 32
PATIENT = "b" * 32
WHEN = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
SOURCE = AuditSource(host="ws-12")


def event(action: str, **details: object) -> AuditEvent:
    return AuditEvent(7, WHEN, "alice", action, details)


def parse(message: bytes) -> ET.Element:
    assert message.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert b"\n" not in message
    return ET.fromstring(message)


def test_required_elements_of_a_5_1_are_present_in_order() -> None:
    root = parse(audit_message(event("import", outcome="completed", files=3), SOURCE))
    assert root.tag == "AuditMessage"
    # A.5.1: EventIdentification, ActiveParticipant+, AuditSourceIdentification, then objects.
    tags = [child.tag for child in root]
    assert tags[0] == "EventIdentification" and tags[-1] == "AuditSourceIdentification"
    assert set(tags[1:-1]) == {"ActiveParticipant"}
    ident = root.find("EventIdentification")
    assert ident.get("EventActionCode") == "C"
    assert ident.get("EventOutcomeIndicator") == "0"
    assert datetime.fromisoformat(ident.get("EventDateTime")) == WHEN
    event_id = ident.find("EventID")
    assert (event_id.get("csd-code"), event_id.get("codeSystemName"), event_id.get("originalText")) == \
        ("110107", "DCM", "Import")
    veil = [c for c in ident.findall("EventTypeCode") if c.get("codeSystemName") == "99VEIL"]
    assert [c.get("csd-code") for c in veil] == ["import"]
    user, app = root.findall("ActiveParticipant")
    assert (user.get("UserID"), user.get("UserIsRequestor")) == ("alice", "true")
    assert (user.get("NetworkAccessPointID"), user.get("NetworkAccessPointTypeCode")) == ("ws-12", "1")
    assert app.get("UserIsRequestor") == "false" and app.find("RoleIDCode").get("csd-code") == "110150"
    src = root.find("AuditSourceIdentification")
    assert src.get("AuditSourceID") == "ws-12"
    assert src.find("AuditSourceTypeCode").get("csd-code") == "1"


@pytest.mark.parametrize(("action", "code", "verb"), [
    ("import", "110107", "C"), ("import.started", "110107", "C"), ("view", "110103", "R"),
    ("deid.export", "110106", "R"), ("export.png", "110106", "R"), ("disclosure", "110106", "R"),
    ("consent.add", "110110", "C"), ("consent.withdraw", "110110", "U"), ("report.audit", "110101", "R"),
    ("consent.override", "110113", "E"), ("redact.apply", "110103", "C"), ("objects.pruned", "110103", "D"),
    ("audit.torn_line_dropped", "110113", "E"), ("something.new", "110100", "E"),
])
def test_actions_map_to_dicom_event_ids(action: str, code: str, verb: str) -> None:
    ident = parse(audit_message(event(action), SOURCE)).find("EventIdentification")
    assert ident.find("EventID").get("csd-code") == code
    assert ident.get("EventActionCode") == verb


def test_override_is_an_emergency_override_security_alert() -> None:
    ident = parse(audit_message(event("consent.override", justification="x"), SOURCE)).find("EventIdentification")
    types = {c.get("csd-code"): c.get("codeSystemName") for c in ident.findall("EventTypeCode")}
    assert types == {"110127": "DCM", "consent.override": "99VEIL"}


@pytest.mark.parametrize(("outcome", "indicator"), [
    ("completed", "0"), ("cancelled", "4"), ("refused-consent", "4"), ("failed-disk-full", "8"),
    ("failed", "8"), ("weird", "8")])
def test_outcome_words_become_indicators(outcome: str, indicator: str) -> None:
    ident = parse(audit_message(event("deid.export", outcome=outcome), SOURCE)).find("EventIdentification")
    assert ident.get("EventOutcomeIndicator") == indicator
    description = ident.find("EventOutcomeDescription")
    assert (description is None) == (indicator == "0")
    if description is not None:
        assert description.text == outcome


def test_a_refusal_without_outcome_word_takes_the_tables_outcome() -> None:
    ident = parse(audit_message(event("share.refused", reason="consent"), SOURCE)).find("EventIdentification")
    assert ident.get("EventOutcomeIndicator") == "4"


def test_studies_and_patients_are_participant_objects_by_keyed_hash_only() -> None:
    raw_uid = "1.2.840.113619.2.55.3.604688119.868.1234567890.123"
    message = audit_message(event("disclosure", studies=[STUDY, raw_uid, STUDY], patients=[PATIENT, "*"],
                                  recipient="Dr Who", justification="for Jane Roe"), SOURCE)
    assert raw_uid.encode() not in message
    assert b"Jane Roe" not in message and b"Dr Who" not in message  # free text stays in audit.log
    objects = parse(message).findall("ParticipantObjectIdentification")
    study, patient = objects
    assert (study.get("ParticipantObjectID"), study.get("ParticipantObjectTypeCode"),
            study.get("ParticipantObjectTypeCodeRole")) == (STUDY, "2", "3")
    assert study.find("ParticipantObjectIDTypeCode").get("csd-code") == "110180"
    assert (patient.get("ParticipantObjectID"), patient.get("ParticipantObjectTypeCode"),
            patient.get("ParticipantObjectTypeCodeRole")) == (PATIENT, "1", "1")
    assert patient.find("ParticipantObjectIDTypeCode").get("codeSystemName") == "RFC-3881"


def test_a_single_study_detail_and_the_cap_on_objects() -> None:
    one = parse(audit_message(event("view", study=STUDY), SOURCE)).findall("ParticipantObjectIdentification")
    assert [o.get("ParticipantObjectID") for o in one] == [STUDY]
    many = [f"{n:032x}" for n in range(MAX_OBJECTS + 10)]
    message = audit_message(event("disclosure", studies=many), SOURCE)
    assert len(parse(message).findall("ParticipantObjectIdentification")) == MAX_OBJECTS
    assert len(message) < 32 * 1024


def test_hostile_text_is_escaped_and_stays_well_formed() -> None:
    nasty = 'mallory"/><Evil a="\x00\x1b&amp;]\n'
    root = parse(audit_message(AuditEvent(1, WHEN, nasty, 'x"<y>&\x07', {"outcome": "<b>"}), AuditSource(nasty)))
    assert root.find("Evil") is None
    user = root.find("ActiveParticipant")
    assert user.get("UserID") == clean(nasty)
    assert "\x00" not in user.get("UserID") and "\ufffd" in user.get("UserID")
    assert root.find("EventIdentification/EventOutcomeDescription") is None  # not a known word shape


def test_keyed_hashes_keeps_only_hash_shaped_values() -> None:
    assert keyed_hashes(STUDY) == [STUDY]
    assert keyed_hashes([STUDY, "1.2.3", 5, None, STUDY.upper(), PATIENT]) == [STUDY, PATIENT]
    assert keyed_hashes(None) == []


def test_a_broken_table_is_named(tmp_path) -> None:  # noqa: ANN001
    bad = tmp_path / "table.json"
    bad.write_text(json.dumps({"events": {}, "actions": {"default": {"event": "110100", "action": "E"}}}))
    with pytest.raises(AuditError, match="malformed"):
        load_table(bad)
    bad.write_text(json.dumps({"events": {"1": "x"}, "actions": {"default": {"event": "1", "action": "Z"}}}))
    with pytest.raises(AuditError, match="malformed"):
        load_table(bad)


def test_every_row_of_the_shipped_table_is_usable() -> None:
    table = load_table()
    assert table.mapping("default").event.code == "110100"
    for name, mapping in table.actions.items():
        assert mapping.event.system == "DCM" and mapping.event.code.startswith("1101"), name
