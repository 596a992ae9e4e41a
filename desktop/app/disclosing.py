"""Use case: account for a disclosure (issue 6). Every export that leaves Veil is written to the
library's accounting of disclosures (what, for which purpose, to whom, relying on which consent
records) and to the audit log (the same, with patients and studies as keyed hashes).

HIPAA 45 CFR 164.528 (accounting of disclosures), GDPR Art. 30 (records of processing).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from desktop.app.home import VeilHome
from desktop.core.audit.log import os_user
from desktop.core.consent import Decision, ExportRequest
from desktop.core.library.disclosures import DisclosedItem, Disclosure, add_disclosure, set_audit_seq


@dataclass(frozen=True)
class Sent:
    """One instance that left: whose, which study and series."""

    patient_key: str  # the library's key
    study_uid: str
    series_uid: str


def disclosed_items(request: ExportRequest, decision: Decision, sent: Iterable[Sent]) -> tuple[DisclosedItem, ...]:
    """Per study: the series sent (none listed when every series of the request was), the
    number of instances, and the consent records relied on."""
    relied = {s.study_uid: s.relied_on for s in decision.studies}
    requested: dict[str, set[str]] = {}
    for item in request.items:
        requested.setdefault(item.study_uid, set()).add(item.series_uid or "")
    studies: dict[tuple[str, str], dict[str, int]] = {}
    for s in sent:
        series = studies.setdefault((s.patient_key, s.study_uid), {})
        series[s.series_uid] = series.get(s.series_uid, 0) + 1
    out = []
    for (patient, study), series in studies.items():
        whole = set(series) >= (requested.get(study, set()) - {""})
        out.append(DisclosedItem(patient, study, () if whole else tuple(sorted(series)), sum(series.values()),
                                 tuple(relied.get(study, ()))))
    return tuple(out)


def record_disclosure(home: VeilHome, kind: str, request: ExportRequest, decision: Decision,
                      sent: Iterable[Sent], recipient: str = "", destination: str = "", profile: str = "") -> int:
    """Store the disclosure, then its audit line; the disclosure's id."""
    items = disclosed_items(request, decision, sent)
    disclosure = Disclosure(datetime.now(timezone.utc).isoformat(timespec="seconds"), os_user(), kind,
                            str(request.purpose), recipient, destination, profile,
                            decision.justification if decision.overridden else "", items)
    return _store(home, disclosure, "disclosure", kind=kind, purpose=str(request.purpose), recipient=recipient,
                  profile=profile, overridden=decision.overridden, consents=list(decision.relied_on))


def _store(home: VeilHome, disclosure: Disclosure, action: str, **details: object) -> int:
    """Store the disclosure, then its audit line (with what it sent, as keyed hashes), and link
    the two; the disclosure's id."""
    items = disclosure.items
    conn = home.connect()
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            ref = add_disclosure(conn, disclosure)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        seq = home.record(conn, action, disclosure=ref, **details, instances=sum(i.instances for i in items),
                          studies=[home.audit.pseudonym(i.study_uid) for i in items],
                          patients=sorted({home.audit.pseudonym(i.patient_key) for i in items}))
        conn.execute("BEGIN IMMEDIATE")
        set_audit_seq(conn, ref, seq)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return ref


def record_receipt(home: VeilHome, package_id: str, sender: str, purpose: str, sent: Iterable[Sent],
                   source: str) -> int | None:
    """Account for images received in a package (kind ``share.received``): the patient's
    accounting then shows who sent their images here, and when. None when nothing was new."""
    studies: dict[tuple[str, str], dict[str, int]] = {}
    for s in sent:
        series = studies.setdefault((s.patient_key, s.study_uid), {})
        series[s.series_uid] = series.get(s.series_uid, 0) + 1
    if not studies:
        return None
    items = tuple(DisclosedItem(p, study, tuple(sorted(series)), sum(series.values()))
                  for (p, study), series in studies.items())
    received = Disclosure(datetime.now(timezone.utc).isoformat(timespec="seconds"), os_user(), "share.received",
                          purpose, f"received from {sender}", source, "", "", items)
    return _store(home, received, "disclosure.received", package=package_id)
