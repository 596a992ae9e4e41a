"""The consent gate every export passes: the purpose an export is for, the check of
every study it holds against the consent ledger, the care-only override, and the consent
elements written into the exported DICOM (PS3.3 C.7.2.3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydicom import Dataset

from desktop.app.consent.consenting import override_refusal, study_label
from desktop.app.consent.purpose_rules import check_for_purpose, needs_colleague, needs_protocol
from desktop.app.library.home import VeilHome
from desktop.app.library.instance_identity import Identity
from desktop.core.consent import ConsentError, Decision, ExportItem, ExportRequest, Purpose, consent_elements


@dataclass(frozen=True)
class ExportPurpose:
    """Why an export leaves, and to whom.

    ``recipient`` is who receives it (the colleague, for care; a journal, a course, a
    repository otherwise); ``protocol_id`` names the research protocol; ``justification``,
    for care only, overrides a refusal (it goes into the audit log).
    """

    purpose: Purpose
    recipient: str = ""
    protocol_id: str = ""
    justification: str = ""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "purpose", Purpose(self.purpose))
        except ValueError:
            known = ", ".join(p.value for p in Purpose)
            raise ConsentError(f"Unknown purpose; choose one of: {known}.") from None
        if needs_protocol(self.purpose) and not self.protocol_id.strip():
            raise ConsentError("An export for research needs the protocol's ID.")
        if needs_colleague(self.purpose) and not self.recipient.strip():
            raise ConsentError("An export for care needs the colleague it is for.")

    def dicom_elements(self) -> Dataset:
        """The Consent for Clinical Trial Use Sequence the outputs carry."""
        return consent_elements(self.purpose, self.protocol_id.strip() or None)


def _labels(home: VeilHome, identities: Sequence[Identity], inputs: Sequence[str]) -> dict[str, str]:
    """A label for each study: the library's ("CT 2024-03-01 'CHEST'"), else its place in the
    selection."""
    uids = list(dict.fromkeys(i.study_uid for i in identities))
    out: dict[str, str] = {}
    conn = home.connect()
    try:
        for uid in uids:
            row = conn.execute(
                """SELECT st.study_date, st.description,
                          COALESCE((SELECT group_concat(m, '/') FROM (SELECT DISTINCT se.modality AS m FROM series se
                                    WHERE se.study_ref = st.id AND se.modality != '' ORDER BY se.modality)), '')
                   FROM studies st WHERE st.study_uid = ?""", (uid,)).fetchone()
            if row is not None:
                out[uid] = study_label(row[2], row[0], row[1])
    finally:
        conn.close()
    first_input: dict[str, str] = {}
    for identity, label in zip(identities, inputs, strict=True):  # one label per instance
        first_input.setdefault(identity.study_uid, label)
    for n, uid in enumerate(uids, start=1):
        out.setdefault(uid, f"Study {n} of the selection (first file: {first_input[uid]})")
    return out


def check_identities(home: VeilHome, purpose: ExportPurpose, identities: Sequence[Identity],
                     inputs: Sequence[str], deidentified: bool) -> tuple[ExportRequest, Decision]:
    """Check the studies of these instances (``inputs`` are their labels) for ``purpose``; a
    refused care export with a justification is overridden (and the override audited)."""
    labels = _labels(home, identities, inputs)
    missing = "(no Study Instance UID)"
    items = list(dict.fromkeys(
        ExportItem(i.library_key, i.study_uid or missing, i.series_uid or None, labels.get(i.study_uid, missing))
        for i in identities))
    request, decision = check_for_purpose(home, purpose.purpose, items, deidentified, purpose.recipient,
                                          purpose.protocol_id)
    if not decision.allowed and purpose.justification and decision.override_allowed:
        decision = override_refusal(home, request, decision, purpose.justification)
    return request, decision
