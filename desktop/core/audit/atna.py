"""Veil's audit events as DICOM Audit Messages (DICOM PS3.15 Annex A.5), for an IHE ATNA
Audit Record Repository (IHE ITI TF-1 ATNA, "Record Audit Event").

Each line of ``audit.log`` becomes one ``AuditMessage`` (the A.5.1 schema, derived from
RFC 3881): an ``EventIdentification`` (EventID from PS3.16 CID 400, EventTypeCode from CID 401
and Veil's own action under the private code system ``99VEIL``, EventActionCode,
EventDateTime, EventOutcomeIndicator), two ``ActiveParticipant``\\s (the OS user who acted, the
requestor; and Veil, role 110150 Application, both on this machine), one
``AuditSourceIdentification`` and a ``ParticipantObjectIdentification`` for each study and
patient the line names.

What leaves the workstation is what the line already holds about a patient: keyed hashes
(HMAC-SHA256 with a library subkey), never a UID, a name or an ID. A participant object is
made only from a value that has the shape of such a hash; anything else under ``study`` or
``patient`` is left out. Free text of a line (a justification, a recipient's or contact's
name) is not forwarded: the collector gets codes, times, the OS user and hashes; the whole
line stays in ``audit.log``, found by its sequence number (sent in the syslog header, see
:mod:`desktop.core.audit.syslog`). At most :data:`MAX_OBJECTS` studies and as many patients
go into one message, which keeps it within the 32 KiB an ATNA repository is expected to take.

How actions map to codes is data: ``resources/audit/atna-events.json``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from desktop.core.audit.events import AuditEvent
from desktop.core.common.errors import AuditError
from desktop.core.common.resources import resource_path

MAX_OBJECTS = 50
VEIL_CODE_SYSTEM = "99VEIL"  # "99" prefix: a private coding scheme (as in HL7 and DICOM)
ACTION_CODES = frozenset("CRUDE")
OUTCOMES = frozenset({0, 4, 8, 12})
_KEYED_HASH = re.compile(r"[0-9a-f]{32,64}")
_OUTCOME_WORD = re.compile(r"[a-z][a-z0-9-]{0,63}")
# Characters XML 1.0 cannot carry at all (section 2.2), even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass(frozen=True)
class Code:
    """A coded value of the A.5.1 schema (``csd-code``, ``codeSystemName``, ``originalText``)."""

    code: str
    system: str
    meaning: str

    def attributes(self) -> dict[str, str]:
        return {"csd-code": self.code, "codeSystemName": self.system, "originalText": self.meaning}


APPLICATION_ROLE = Code("110150", "DCM", "Application")
STUDY_ID_TYPE = Code("110180", "DCM", "Study Instance UID")
PATIENT_ID_TYPE = Code("2", "RFC-3881", "Patient Number")


@dataclass(frozen=True)
class EventMapping:
    """How one Veil action is reported: EventID, optional EventTypeCode, EventActionCode, and
    the EventOutcomeIndicator used when the line has no ``outcome`` detail."""

    event: Code
    type: Code | None
    action: str
    outcome: int = 0


@dataclass(frozen=True)
class AtnaTable:
    """The action-to-code table (``resources/audit/atna-events.json``)."""

    actions: dict[str, EventMapping]
    outcomes: dict[str, int]

    def mapping(self, action: str) -> EventMapping:
        """The whole action's entry, else its first word's ('consent' for 'consent.add'),
        else 'default'."""
        for key in (action, action.split(".", 1)[0], "default"):
            if key in self.actions:
                return self.actions[key]
        return EventMapping(Code("110100", "DCM", "Application Activity"), None, "E")

    def outcome(self, event: AuditEvent, mapping: EventMapping) -> int:
        """EventOutcomeIndicator from the line's ``outcome`` detail: the word, else its first
        part ('refused' for 'refused-consent'), else a serious failure (8) for a word the table
        does not know; the mapping's own outcome when the line has none."""
        word = event.details.get("outcome")
        if not isinstance(word, str):
            return mapping.outcome
        for key in (word, word.split("-", 1)[0]):
            if key in self.outcomes:
                return self.outcomes[key]
        return 8


def load_table(path: Path | None = None) -> AtnaTable:
    """Read the table; a missing or malformed file is an :class:`AuditError` naming it."""
    source = Path(path) if path is not None else resource_path("audit", "atna-events.json")
    return _load(source)


@lru_cache(maxsize=4)
def _load(source: Path) -> AtnaTable:
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        events, types = data["events"], data.get("types", {})
        actions = {}
        for name, row in data["actions"].items():
            kind = row.get("type")
            mapping = EventMapping(Code(row["event"], "DCM", events[row["event"]]),
                                   Code(kind, "DCM", types[kind]) if kind else None,
                                   row["action"], int(row.get("outcome", 0)))
            if mapping.action not in ACTION_CODES or mapping.outcome not in OUTCOMES:
                raise ValueError(name)
            actions[name] = mapping
        outcomes = {str(k): int(v) for k, v in data.get("outcomes", {}).items()}
        if any(v not in OUTCOMES for v in outcomes.values()):
            raise ValueError("outcomes")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise AuditError(f"The ATNA event table {source} is missing or malformed; reinstall Veil or fix "
                         "the file (see its _about).") from None
    return AtnaTable(actions, outcomes)


@dataclass(frozen=True)
class AuditSource:
    """Who reports: ``host`` (this machine's name, the ActiveParticipants' network access
    point), ``source_id`` (AuditSourceID; default the host) and an optional enterprise site."""

    host: str
    source_id: str = ""
    site: str = ""


def clean(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot hold replaced by U+FFFD (escaping of
    ``<``, ``&`` and quotes is ElementTree's job)."""
    return _NOT_XML.sub("\ufffd", text)


def keyed_hashes(value: object) -> list[str]:
    """The keyed hashes in a detail (one, or a list), in order, without repeats; other values
    (a raw UID, ``*`` for every patient) are dropped."""
    values = value if isinstance(value, (list, tuple)) else [value]
    seen: dict[str, None] = {}
    for item in values:
        if isinstance(item, str) and _KEYED_HASH.fullmatch(item):
            seen.setdefault(item, None)
    return list(seen)


def audit_message(event: AuditEvent, source: AuditSource, table: AtnaTable | None = None) -> bytes:
    """The event as an A.5 ``AuditMessage``, UTF-8 XML with its declaration, on one line."""
    table = table or load_table()
    mapping = table.mapping(event.action)
    outcome = table.outcome(event, mapping)
    root = ET.Element("AuditMessage")
    ident = ET.SubElement(root, "EventIdentification", {
        "EventActionCode": mapping.action,
        "EventDateTime": event.time.isoformat(timespec="milliseconds"),
        "EventOutcomeIndicator": str(outcome)})
    ET.SubElement(ident, "EventID", mapping.event.attributes())
    if mapping.type is not None:
        ET.SubElement(ident, "EventTypeCode", mapping.type.attributes())
    ET.SubElement(ident, "EventTypeCode", Code(clean(event.action), VEIL_CODE_SYSTEM,
                                               clean(event.action)).attributes())
    word = event.details.get("outcome")
    if outcome and isinstance(word, str) and _OUTCOME_WORD.fullmatch(word):
        ET.SubElement(ident, "EventOutcomeDescription").text = word
    host = clean(source.host) or "localhost"
    ET.SubElement(root, "ActiveParticipant", {
        "UserID": clean(event.user) or "-", "UserIsRequestor": "true",
        "NetworkAccessPointID": host, "NetworkAccessPointTypeCode": "1"})
    app = ET.SubElement(root, "ActiveParticipant", {
        "UserID": "veil", "UserIsRequestor": "false",
        "NetworkAccessPointID": host, "NetworkAccessPointTypeCode": "1"})
    ET.SubElement(app, "RoleIDCode", APPLICATION_ROLE.attributes())
    src = {"AuditSourceID": clean(source.source_id) or host}
    if source.site:
        src["AuditEnterpriseSiteID"] = clean(source.site)
    audit_source = ET.SubElement(root, "AuditSourceIdentification", src)
    ET.SubElement(audit_source, "AuditSourceTypeCode", {"csd-code": "1"})  # end-user interface
    for study in _named(event, "study", "studies"):
        _participant(root, study, "2", "3", STUDY_ID_TYPE)  # system object, report
    for patient in _named(event, "patient", "patients"):
        _participant(root, patient, "1", "1", PATIENT_ID_TYPE)  # person, patient
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>' + body).encode("utf-8")


def _named(event: AuditEvent, one: str, many: str) -> list[str]:
    found = keyed_hashes(event.details.get(one)) + keyed_hashes(event.details.get(many))
    return list(dict.fromkeys(found))[:MAX_OBJECTS]


def _participant(root: ET.Element, ident: str, type_code: str, role: str, id_type: Code) -> None:
    obj = ET.SubElement(root, "ParticipantObjectIdentification", {
        "ParticipantObjectID": ident, "ParticipantObjectTypeCode": type_code,
        "ParticipantObjectTypeCodeRole": role})
    ET.SubElement(obj, "ParticipantObjectIDTypeCode", id_type.attributes())
