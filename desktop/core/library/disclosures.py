"""The accounting of disclosures (tables ``disclosures`` and ``disclosure_items``): every export
that left Veil, what it held, for which purpose, to whom, and the consent it relied on.

HIPAA 45 CFR 164.528 asks for date, recipient, a description of what was disclosed and the
purpose; GDPR Art. 30 for the recipients and purposes. The rows live in the encrypted index.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from desktop.core.library.database import Connection


@dataclass(frozen=True)
class DisclosedItem:
    """What one disclosure sent of one study."""

    patient_key: str
    study_uid: str
    series_uids: tuple[str, ...] = ()  # empty: the whole study
    instances: int = 0
    consent_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Disclosure:
    disclosed_at: str  # UTC, ISO 8601
    os_user: str
    kind: str  # deid.export, share.package, ...
    purpose: str
    recipient: str = ""
    destination: str = ""
    profile: str = ""
    override_reason: str = ""
    items: tuple[DisclosedItem, ...] = ()
    id: int | None = None
    audit_seq: int | None = None
    extra: dict = field(default_factory=dict)


def add_disclosure(conn: Connection, d: Disclosure) -> int:
    """Store a disclosure and its items; returns its id. The caller holds the transaction."""
    cur = conn.execute(
        """INSERT INTO disclosures (disclosed_at, os_user, kind, purpose, recipient, destination, profile,
                                    override_reason, audit_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (d.disclosed_at, d.os_user, d.kind, d.purpose, d.recipient, d.destination, d.profile,
         d.override_reason, d.audit_seq))
    ref = int(cur.lastrowid)
    conn.executemany(
        """INSERT INTO disclosure_items (disclosure_ref, patient_key, study_uid, series_uids, instances, consent_ids)
           VALUES (?, ?, ?, ?, ?, ?)""",
        [(ref, i.patient_key, i.study_uid, json.dumps(list(i.series_uids)), i.instances,
          json.dumps(list(i.consent_ids))) for i in d.items])
    return ref


def set_audit_seq(conn: Connection, disclosure_id: int, seq: int) -> None:
    conn.execute("UPDATE disclosures SET audit_seq = ? WHERE id = ?", (seq, disclosure_id))


def _load(conn: Connection, ids: Sequence[int]) -> list[Disclosure]:
    out = []
    for ref in ids:
        row = conn.execute(
            """SELECT id, disclosed_at, os_user, kind, purpose, recipient, destination, profile, override_reason,
                      audit_seq FROM disclosures WHERE id = ?""", (ref,)).fetchone()
        items = tuple(
            DisclosedItem(p, s, tuple(json.loads(series)), n, tuple(json.loads(consents)))
            for p, s, series, n, consents in conn.execute(
                """SELECT patient_key, study_uid, series_uids, instances, consent_ids FROM disclosure_items
                   WHERE disclosure_ref = ? ORDER BY rowid""", (ref,)))
        out.append(Disclosure(row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], items,
                              id=row[0], audit_seq=row[9]))
    return out


def disclosures_of_patient(conn: Connection, patient_key: str) -> list[Disclosure]:
    """Every disclosure that sent something of this patient, oldest first (items of other
    patients in the same export are left out)."""
    ids = [r for (r,) in conn.execute(
        """SELECT DISTINCT d.id FROM disclosures d JOIN disclosure_items i ON i.disclosure_ref = d.id
           WHERE i.patient_key = ? ORDER BY d.disclosed_at, d.id""", (patient_key,))]
    return [_only(d, patient_key) for d in _load(conn, ids)]


def disclosures_relying_on(conn: Connection, consent_id: str) -> list[Disclosure]:
    """Every disclosure that relied on this consent record, oldest first."""
    ids = [r for (r,) in conn.execute(
        """SELECT DISTINCT d.id FROM disclosures d JOIN disclosure_items i ON i.disclosure_ref = d.id
           WHERE EXISTS (SELECT 1 FROM json_each(i.consent_ids) WHERE json_each.value = ?)
           ORDER BY d.disclosed_at, d.id""", (consent_id,))]
    return _load(conn, ids)


def disclosures_between(conn: Connection, start: str, end: str) -> list[Disclosure]:
    """Disclosures with ``start <= disclosed_at < end`` (UTC ISO strings), oldest first."""
    ids = [r for (r,) in conn.execute(
        "SELECT id FROM disclosures WHERE disclosed_at >= ? AND disclosed_at < ? ORDER BY disclosed_at, id",
        (start, end))]
    return _load(conn, ids)


def _only(d: Disclosure, patient_key: str) -> Disclosure:
    items = tuple(i for i in d.items if i.patient_key == patient_key)
    return Disclosure(d.disclosed_at, d.os_user, d.kind, d.purpose, d.recipient, d.destination, d.profile,
                      d.override_reason, items, id=d.id, audit_seq=d.audit_seq)
