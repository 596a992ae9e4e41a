"""Consent: records of who allowed which purpose, the export policy, the study badge,
and the consent written into exported DICOM. Pure Python: no Qt, no storage, no prompts."""

from __future__ import annotations

from desktop.core.consent.dicom import add_consent, consent_elements, distribution_type
from desktop.core.consent.errors import ConsentError
from desktop.core.consent.model import (
    EVERY_PATIENT,
    Basis,
    ConsentRecord,
    FormRef,
    Method,
    Purpose,
    RecordState,
    Scope,
    new_record_id,
    purposes_text,
    state_on,
    withdraw,
)
from desktop.core.consent.policy import (
    Decision,
    ExportItem,
    ExportRequest,
    StudyResult,
    check_export,
    is_real_justification,
    override,
)
from desktop.core.consent.record_json import from_json, to_json
from desktop.core.consent.status import ConsentStatus, StudyBadge, study_badge, study_status

__all__ = [
    "EVERY_PATIENT", "Basis", "ConsentError", "ConsentRecord", "ConsentStatus", "Decision", "ExportItem",
    "ExportRequest", "FormRef", "Method", "Purpose", "RecordState", "Scope", "StudyBadge", "StudyResult", "add_consent",
    "check_export", "consent_elements", "distribution_type", "from_json", "is_real_justification",
    "new_record_id", "override", "purposes_text", "state_on", "study_badge", "study_status", "to_json",
    "withdraw",
]
