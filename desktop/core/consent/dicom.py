"""Consent written into exported DICOM, where the standard has a place for it.

PS3.3 C.7.2.3 Clinical Trial Study Module (Table C.7-4b; a study-level module, "U" in the
image IODs) holds the Consent for Clinical Trial Use Sequence (0012,0083, SQ, Type 3), each
item with

- Consent for Distribution Flag (0012,0085, CS, Type 1): NO, YES or WITHDRAWN;
- Distribution Type (0012,0084, CS, Type 1C: required when the flag is YES or WITHDRAWN):
  NAMED_PROTOCOL, RESTRICTED_REUSE or PUBLIC_RELEASE (C.7.2.3.1.2);
- Clinical Trial Protocol ID (0012,0020, LO, Type 1C): required for NAMED_PROTOCOL unless the
  protocol is the one in the Clinical Trial Subject Module (C.7.1.3).

Veil writes the protocol ID in the item only. Putting it at the top level as well would mean
writing the Clinical Trial Subject Module, whose Sponsor Name and Subject ID (Type 1) Veil
does not know. The module's one Type 2 attribute, Clinical Trial Time Point ID (0012,0050),
is written empty when absent.

Write these after de-identification: PS3.15 Table E.1-1 dummies Clinical Trial Protocol ID.
"""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from desktop.core.consent.errors import ConsentError
from desktop.core.consent.model import Purpose

NAMED_PROTOCOL = "NAMED_PROTOCOL"
RESTRICTED_REUSE = "RESTRICTED_REUSE"
PUBLIC_RELEASE = "PUBLIC_RELEASE"

_DISTRIBUTION = {
    Purpose.RESEARCH: NAMED_PROTOCOL,
    Purpose.CARE: RESTRICTED_REUSE,
    Purpose.TEACHING: RESTRICTED_REUSE,
    Purpose.CONFERENCE: RESTRICTED_REUSE,
    Purpose.PUBLICATION: PUBLIC_RELEASE,
    Purpose.PUBLIC: PUBLIC_RELEASE,
}

#: LO (PS3.5 6.2): at most 64 characters, no backslash, no control characters except ESC.
_LO_MAX = 64


def distribution_type(purpose: Purpose) -> str:
    """Distribution Type (0012,0084) for an export made for ``purpose``."""
    return _DISTRIBUTION[Purpose(purpose)]


def _protocol_value(purpose: Purpose, protocol_id: str | None) -> str | None:
    value = (protocol_id or "").strip()
    if purpose is not Purpose.RESEARCH:
        if value:
            raise ConsentError(f"A protocol ID belongs only to research exports, not to {purpose.title}.")
        return None
    if not value:
        raise ConsentError("A research export needs the protocol ID its consent is for.")
    if len(value) > _LO_MAX or "\\" in value or any(ord(c) < 32 and c != "\x1b" for c in value):
        raise ConsentError("The protocol ID cannot be written in DICOM: at most 64 characters, "
                           "without backslashes or line breaks.")
    return value


def consent_elements(purpose: Purpose, protocol_id: str | None = None) -> Dataset:
    """The Clinical Trial Study Module attributes saying the patient consented to this export.

    One item in the Consent for Clinical Trial Use Sequence, with the flag YES, the purpose's
    distribution type and, for research, the protocol ID. Merge it with :func:`add_consent`
    to keep a Clinical Trial Time Point ID the dataset already has.
    """
    purpose = Purpose(purpose)
    protocol = _protocol_value(purpose, protocol_id)
    item = Dataset()
    if protocol is not None:
        item.ClinicalTrialProtocolID = protocol
    item.DistributionType = distribution_type(purpose)
    item.ConsentForDistributionFlag = "YES"
    elements = Dataset()
    elements.ClinicalTrialTimePointID = ""
    elements.ConsentForClinicalTrialUseSequence = Sequence([item])
    return elements


def add_consent(ds: Dataset, purpose: Purpose, protocol_id: str | None = None) -> None:
    """Write :func:`consent_elements` into ``ds``, replacing any consent sequence it had and
    keeping its Clinical Trial Time Point ID."""
    elements = consent_elements(purpose, protocol_id)
    if "ClinicalTrialTimePointID" in ds:
        del elements.ClinicalTrialTimePointID
    ds.update(elements)
