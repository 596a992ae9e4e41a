"""Use case: account for a disclosure. Every export that leaves Veil is written to the
library's accounting of disclosures (what, for which purpose, to whom, relying on which consent
records) and to the audit log (the same, with patients and studies as keyed hashes).

HIPAA 45 CFR 164.528 (accounting of disclosures), GDPR Art. 30 (records of processing).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from desktop.app.durability import write_ahead
from desktop.app.library.home import VeilHome
from desktop.core.audit.log import os_user
from desktop.core.common.disk_full import DiskFullError, is_disk_full
from desktop.core.common.faults import fault_point
from desktop.core.consent import Decision, ExportRequest
from desktop.core.library.database import Connection, rollback
from desktop.core.library.disclosures import (
    DisclosedItem,
    Disclosure,
    add_disclosure,
    load_disclosures,
    set_audit_seq,
)


@dataclass(frozen=True)
class Sent:
    """One instance that left: whose, which study and series, and its SOP Instance UID in the
    library (for the breach report; "" where the caller does not know it)."""

    patient_key: str  # the library's key
    study_uid: str
    series_uid: str
    sop_uid: str = ""


def disclosed_items(request: ExportRequest, decision: Decision, sent: Iterable[Sent]) -> tuple[DisclosedItem, ...]:
    """Per study: the series sent (none listed when every series of the request was), the
    number of instances, and the consent records relied on."""
    relied = {s.study_uid: s.relied_on for s in decision.studies}
    requested: dict[str, set[str]] = {}
    for item in request.items:
        requested.setdefault(item.study_uid, set()).add(item.series_uid or "")
    studies: dict[tuple[str, str], dict[str, int]] = {}
    uids: dict[tuple[str, str], list[str]] = {}
    for s in sent:
        series = studies.setdefault((s.patient_key, s.study_uid), {})
        series[s.series_uid] = series.get(s.series_uid, 0) + 1
        uids.setdefault((s.patient_key, s.study_uid), []).append(s.sop_uid)
    out = []
    for (patient, study), series in studies.items():
        whole = set(series) >= (requested.get(study, set()) - {""})
        known = uids[(patient, study)]
        out.append(DisclosedItem(patient, study, () if whole else tuple(sorted(series)), sum(series.values()),
                                 tuple(relied.get(study, ())), tuple(known) if all(known) else ()))
    return tuple(out)


def pending_disclosure(kind: str, request: ExportRequest, decision: Decision, sent: Iterable[Sent],
                       recipient: str = "", destination: str = "", profile: str = "",
                       package_id: str = "") -> Disclosure:
    """The disclosure an export is about to make, before its output becomes visible (so a
    crash after that moment still finds it: :mod:`desktop.app.durability.write_ahead`)."""
    items = disclosed_items(request, decision, sent)
    return Disclosure(datetime.now(UTC).isoformat(timespec="seconds"), os_user(), kind,
                      str(request.purpose), recipient, destination, profile,
                      decision.justification if decision.overridden else "", items,
                      extra={"overridden": decision.overridden, "consents": list(decision.relied_on)},
                      package_id=package_id)


def record_disclosure(home: VeilHome, kind: str, request: ExportRequest, decision: Decision,
                      sent: Iterable[Sent], recipient: str = "", destination: str = "", profile: str = "",
                      intent: int | None = None, package_id: str = "") -> int | None:
    """Store the disclosure (settling the write-ahead ``intent`` in the same transaction), then
    its audit line; the disclosure's id."""
    disclosure = pending_disclosure(kind, request, decision, sent, recipient, destination, profile, package_id)
    return store_disclosure(home, disclosure, intent)


def store_disclosure(home: VeilHome, disclosure: Disclosure, intent: int | None = None,
                     recovered: bool = False) -> int | None:
    """Store ``disclosure`` as made (:func:`pending_disclosure`), then audit it."""
    extra = disclosure.extra or {}
    return _store(home, disclosure, "disclosure", intent=intent, kind=disclosure.kind, purpose=disclosure.purpose,
                  **({"package": disclosure.package_id} if disclosure.package_id else {}),
                  recipient=disclosure.recipient, profile=disclosure.profile,
                  overridden=bool(extra.get("overridden")), consents=list(extra.get("consents", [])),
                  **({"recovered": True} if recovered else {}))


def _store(home: VeilHome, disclosure: Disclosure, action: str, intent: int | None = None,
           **details: object) -> int | None:
    """Store the disclosure (and settle ``intent``) in one transaction, then its audit line
    (with what it sent, as keyed hashes), and link the two; the disclosure's id. A crash
    between the two leaves a disclosure without an audit line, which the next start audits
    (:func:`audit_unaudited`)."""
    conn = home.connect()
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            state = write_ahead.RECOVERED if details.get("recovered") else write_ahead.DONE
            if not write_ahead.mark(conn, intent, state):  # settled by another process already
                rollback(conn)
                return None
            ref = add_disclosure(conn, disclosure)
            conn.execute("COMMIT")
        except BaseException as exc:
            rollback(conn)
            if is_disk_full(exc, home.path):
                raise DiskFullError(f"The disk holding the Veil library ({home.path}) is full: what was "
                                    f"written to {disclosure.destination or 'its destination'} is not yet in the "
                                    "accounting of disclosures. Free some room: the next start of Veil records it "
                                    "(or removes it, if it was not complete).") from None
            raise
        fault_point("disclosure.stored")
        _audit_disclosure(home, conn, ref, disclosure, action, **details)
    finally:
        conn.close()
    return ref


def _audit_disclosure(home: VeilHome, conn: Connection, ref: int, disclosure: Disclosure, action: str,
                      **details: object) -> None:
    items = disclosure.items
    seq = home.record(conn, action, disclosure=ref, **details, instances=sum(i.instances for i in items),
                      studies=[home.audit.pseudonym(i.study_uid) for i in items],
                      patients=sorted({home.audit.pseudonym(i.patient_key) for i in items}))
    conn.execute("BEGIN IMMEDIATE")
    set_audit_seq(conn, ref, seq)
    conn.execute("COMMIT")


def store_recovered(home: VeilHome, intent: int, disclosure: Disclosure | None, audit: list | None) -> bool:
    """An export a crash interrupted after its output became visible: account for it now.
    False when another process recovering at the same time did it first."""
    if disclosure is not None:
        if store_disclosure(home, disclosure, intent, recovered=True) is None:
            return False
    else:
        conn = home.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            settled = write_ahead.mark(conn, intent, write_ahead.RECOVERED)
            conn.execute("COMMIT")
        finally:
            conn.close()
        if not settled:
            return False
    if audit:
        action, details = audit
        conn = home.connect()
        try:
            home.record(conn, str(action), **dict(details), recovered=True)
        finally:
            conn.close()
    return True


def audit_unaudited(home: VeilHome) -> int:
    """Write the audit line of every disclosure stored without one (a crash in between)."""
    conn = home.connect()
    try:
        missing = [int(r[0]) for r in conn.execute("SELECT id FROM disclosures WHERE audit_seq IS NULL ORDER BY id")]
        for d in load_disclosures(conn, missing):
            assert d.id is not None  # loaded from the index: it has its row id
            action = "disclosure.received" if d.kind == "share.received" else "disclosure"
            _audit_disclosure(home, conn, d.id, d, action, kind=d.kind, purpose=d.purpose,
                              recipient=d.recipient, profile=d.profile, recovered=True)
    finally:
        conn.close()
    return len(missing)


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
    received = Disclosure(datetime.now(UTC).isoformat(timespec="seconds"), os_user(), "share.received",
                          purpose, f"received from {sender}", source, "", "", items, package_id=package_id)
    return _store(home, received, "disclosure.received", package=package_id)
