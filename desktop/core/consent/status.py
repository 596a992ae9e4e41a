"""The consent badge of a study in the study browser: none, partial, valid, expired, withdrawn.

Precedence, first match wins (what can be used today matters most):

1. VALID: records valid today (any purpose, any basis) cover every series of the study;
2. PARTIAL: they cover some of its series;
3. WITHDRAWN: a record touching the study has been withdrawn;
4. EXPIRED: a record touching the study has expired;
5. NONE: nothing, or only records that start later (the tooltip says when).

The badge says nothing about a particular purpose: the export check decides that.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from desktop.core.consent.model import Basis, ConsentRecord, Purpose, RecordState, purposes_text, state_on


class ConsentStatus(StrEnum):
    """The badge of one study."""

    NONE = "none"
    PARTIAL = "partial"
    VALID = "valid"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"

    @property
    def title(self) -> str:  # type: ignore[override]
        return {ConsentStatus.NONE: "No consent", ConsentStatus.PARTIAL: "Partial consent",
                ConsentStatus.VALID: "Consent", ConsentStatus.EXPIRED: "Consent expired",
                ConsentStatus.WITHDRAWN: "Consent withdrawn"}[self]


@dataclass(frozen=True)
class StudyBadge:
    """The badge and a one-line tooltip saying why."""

    status: ConsentStatus
    tooltip: str


def _describe(record: ConsentRecord) -> str:
    """ "Consent for teaching and conference until 2027-05-01" and the like."""
    text = f"{record.basis.noun.capitalize()} for {purposes_text(record.purposes)}"
    if Purpose.RESEARCH in record.purposes:
        text += f" (protocol {record.protocol_id})"
    if record.basis is Basis.NOT_REQUIRED:
        text += ", de-identified only"
    if record.valid_until is not None:
        text += f" until {record.valid_until.isoformat()}"
    return text


def _coverage(records: list[ConsentRecord], study_uid: str, series: list[str]) -> tuple[bool, str]:
    """(whether ``records`` cover the whole study, the part they cover in words or "")."""
    if not series:
        whole = any(r.scope.covers(study_uid, None) for r in records)
        return whole, "" if whole or not records else "some series"
    covered = sum(any(r.scope.covers(study_uid, s) for r in records) for s in series)
    return covered == len(series), f"{covered} of {len(series)} series" if 0 < covered < len(series) else ""


def study_badge(patient_key: str, study_uid: str, series_uids: Collection[str],
                records: Iterable[ConsentRecord], on: date) -> StudyBadge:
    """The badge of a study with ``series_uids`` (empty: judge the study as a whole) on day ``on``."""
    series = sorted(set(series_uids))
    touching = [r for r in records if r.scope.applies_to(patient_key) and r.scope.touches(study_uid)]
    states = {r.id: state_on(r, on) for r in touching}
    valid = [r for r in touching if states[r.id] is RecordState.VALID]
    whole, part = _coverage(valid, study_uid, series)
    described = "; ".join(dict.fromkeys(_describe(r) for r in valid))
    if whole:
        return StudyBadge(ConsentStatus.VALID, described)
    if part:
        return StudyBadge(ConsentStatus.PARTIAL, f"Covers {part} only: {described}")
    withdrawn = [r for r in touching if states[r.id] is RecordState.WITHDRAWN]
    if withdrawn:
        last = max(withdrawn, key=lambda r: r.withdrawn_on or r.obtained_on)
        assert last.withdrawn_on is not None
        return StudyBadge(ConsentStatus.WITHDRAWN, f"{last.basis.noun.capitalize()} for "
                          f"{purposes_text(last.purposes)} withdrawn on {last.withdrawn_on.isoformat()}")
    expired = [r for r in touching if states[r.id] is RecordState.EXPIRED]
    if expired:
        last = max(expired, key=lambda r: r.valid_until or r.obtained_on)
        assert last.valid_until is not None
        return StudyBadge(ConsentStatus.EXPIRED, f"{last.basis.noun.capitalize()} for "
                          f"{purposes_text(last.purposes)} expired on {last.valid_until.isoformat()}")
    pending = [r for r in touching if states[r.id] is RecordState.PENDING]
    if pending:
        first = min(pending, key=lambda r: r.starts_on)
        return StudyBadge(ConsentStatus.NONE, f"{first.basis.noun.capitalize()} for "
                          f"{purposes_text(first.purposes)} valid only from {first.starts_on.isoformat()}")
    return StudyBadge(ConsentStatus.NONE, "No consent recorded for this study")


def study_status(patient_key: str, study_uid: str, series_uids: Collection[str],
                 records: Iterable[ConsentRecord], on: date) -> ConsentStatus:
    """The badge's status alone (see :func:`study_badge`)."""
    return study_badge(patient_key, study_uid, series_uids, records, on).status
