"""The accounting of disclosures (tables ``disclosures`` and ``disclosure_items``): every export
that left Veil, what it held, for which purpose, to whom, and the consent it relied on.

HIPAA 45 CFR 164.528 asks for date, recipient, a description of what was disclosed and the
purpose; GDPR Art. 30 for the recipients and purposes. The rows live in the encrypted index.

A breach assessment (HIPAA 45 CFR 164.402-164.410, GDPR Art. 33/34: "when something went to the
wrong person") asks the other way round: every disclosure to a recipient, or of one
package (:func:`recipients_recorded`, :func:`disclosures_of_package`), and each image sent
(``DisclosedItem.instance_uids``, recorded since migration 0009).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from desktop.core.library.database import Connection, inserted_id


@dataclass(frozen=True)
class DisclosedItem:
    """What one disclosure sent of one study."""

    patient_key: str
    study_uid: str
    series_uids: tuple[str, ...] = ()  # empty: the whole study
    instances: int = 0
    consent_ids: tuple[str, ...] = ()
    #: The library's SOP Instance UIDs of the images sent (empty: not recorded, only counted).
    instance_uids: tuple[str, ...] = ()


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
    extra: dict[str, Any] = field(default_factory=dict)  # details for the audit record
    package_id: str = ""  # the package's manifest id (share packages and archives)


def add_disclosure(conn: Connection, d: Disclosure) -> int:
    """Store a disclosure and its items; returns its id. The caller holds the transaction."""
    cur = conn.execute(
        """INSERT INTO disclosures (disclosed_at, os_user, kind, purpose, recipient, destination, profile,
                                    override_reason, audit_seq, package_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (d.disclosed_at, d.os_user, d.kind, d.purpose, d.recipient, d.destination, d.profile,
         d.override_reason, d.audit_seq, d.package_id))
    ref = inserted_id(cur)
    conn.executemany(
        """INSERT INTO disclosure_items (disclosure_ref, patient_key, study_uid, series_uids, instances, consent_ids,
                                         instance_uids) VALUES (?, ?, ?, ?, ?, ?, ?)""",
        [(ref, i.patient_key, i.study_uid, json.dumps(list(i.series_uids)), i.instances,
          json.dumps(list(i.consent_ids)), json.dumps(list(i.instance_uids))) for i in d.items])
    return ref


def set_audit_seq(conn: Connection, disclosure_id: int, seq: int) -> None:
    conn.execute("UPDATE disclosures SET audit_seq = ? WHERE id = ?", (seq, disclosure_id))


def load_disclosures(conn: Connection, ids: Sequence[int]) -> list[Disclosure]:
    """The disclosures with these ids, in that order (ids not found are left out)."""
    out = []
    for ref in ids:
        row = conn.execute(
            """SELECT id, disclosed_at, os_user, kind, purpose, recipient, destination, profile, override_reason,
                      audit_seq, package_id FROM disclosures WHERE id = ?""", (ref,)).fetchone()
        if row is None:
            continue
        items = tuple(
            DisclosedItem(p, s, tuple(json.loads(series)), n, tuple(json.loads(consents)), tuple(json.loads(uids)))
            for p, s, series, n, consents, uids in conn.execute(
                """SELECT patient_key, study_uid, series_uids, instances, consent_ids, instance_uids
                   FROM disclosure_items WHERE disclosure_ref = ? ORDER BY rowid""", (ref,)))
        out.append(Disclosure(row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], items,
                              id=row[0], audit_seq=row[9], package_id=row[10]))
    return out


_load = load_disclosures


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


def recipients_recorded(conn: Connection, received: bool = False) -> list[tuple[int, str]]:
    """(id, recipient as recorded) of every disclosure, oldest first; receipts of packages
    (kind ``share.received``) only when ``received``. For matching a recipient by name, e-mail
    or key fingerprint, which the caller does (HIPAA 45 CFR 164.404(c): to whom)."""
    return [(int(r), str(text)) for r, text in conn.execute(
        "SELECT id, recipient FROM disclosures WHERE ? OR kind != 'share.received' ORDER BY disclosed_at, id",
        (1 if received else 0,))]


def _bare(package_id: str) -> str:
    return package_id.replace("-", "").strip().lower()


def package_ids_starting(conn: Connection, prefix: str) -> list[str]:
    """The distinct package ids recorded that start with ``prefix`` (case and dashes ignored)."""
    bare = _bare(prefix)
    return [p for (p,) in conn.execute(
        """SELECT DISTINCT package_id FROM disclosures WHERE package_id != ''
           AND substr(replace(lower(package_id), '-', ''), 1, ?) = ? ORDER BY package_id""", (len(bare), bare))]


def disclosures_of_package(conn: Connection, package_id: str) -> list[Disclosure]:
    """Every disclosure recorded for this package id (the whole id), oldest first."""
    ids = [r for (r,) in conn.execute(
        "SELECT id FROM disclosures WHERE package_id = ? ORDER BY disclosed_at, id", (package_id,))]
    return load_disclosures(conn, ids)


@dataclass(frozen=True)
class SentImage:
    """One image a disclosure sent, as the library knows it now (``in_library`` False: only
    its SOP Instance UID is known)."""

    sop_uid: str
    series_uid: str = ""
    series_number: int | None = None
    instance_number: int | None = None
    modality: str = ""
    in_library: bool = True


_IMAGE = """SELECT i.sop_instance_uid, se.series_uid, se.series_number, i.instance_number, se.modality
            FROM instances i JOIN series se ON i.series_ref = se.id JOIN studies st ON se.study_ref = st.id"""
_ORDER = " ORDER BY se.series_number IS NULL, se.series_number, se.series_uid, i.instance_number IS NULL, " \
         "i.instance_number, i.sop_instance_uid"


def images_sent(conn: Connection, item: DisclosedItem, disclosed_at: str) -> tuple[list[SentImage], bool]:
    """The images of one disclosed study and whether they are as recorded (True) or inferred
    (False: a disclosure recorded before each image was, migration 0009; then the library's
    originals of the series sent that were imported by ``disclosed_at``, which the caller
    compares with ``item.instances``)."""
    if item.instance_uids:
        found = {row[0]: SentImage(*row) for row in conn.execute(
            _IMAGE + " WHERE i.sop_instance_uid IN (SELECT value FROM json_each(?))" + _ORDER,
            (json.dumps(list(item.instance_uids)),))}
        ordered = list(found.values())
        ordered += [SentImage(uid, in_library=False) for uid in dict.fromkeys(item.instance_uids) if uid not in found]
        return ordered, True
    rows = conn.execute(
        _IMAGE + """ WHERE st.study_uid = ? AND i.replaces_ref IS NULL AND i.imported_at <= ?
                     AND (? = '[]' OR se.series_uid IN (SELECT value FROM json_each(?)))""" + _ORDER,
        (item.study_uid, disclosed_at, json.dumps(list(item.series_uids)), json.dumps(list(item.series_uids))))
    return [SentImage(*row) for row in rows], False


def _only(d: Disclosure, patient_key: str) -> Disclosure:
    return replace(d, items=tuple(i for i in d.items if i.patient_key == patient_key))
