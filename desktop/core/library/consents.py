"""Consent records kept in the library (tables ``consents`` and ``consent_forms``).

The library stores what the consent domain writes (JSON) without reading it: ``library`` uses
no other domain. The index is encrypted at rest, and so is a scanned form (an object).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from desktop.core.library.database import Connection


@dataclass(frozen=True)
class StoredConsent:
    id: str
    patient_key: str
    record_json: str
    recorded_at: str
    updated_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def save_consent(conn: Connection, consent_id: str, patient_key: str, record_json: str, recorded_at: str) -> None:
    """Insert a consent record, or replace its JSON (a withdrawal) keeping when it was recorded.
    The caller holds the transaction."""
    conn.execute(
        """INSERT INTO consents (id, patient_key, record_json, recorded_at, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET record_json = excluded.record_json, updated_at = excluded.updated_at""",
        (consent_id, patient_key, record_json, recorded_at, _now()))


def get_consent(conn: Connection, consent_id: str) -> StoredConsent | None:
    row = conn.execute("SELECT id, patient_key, record_json, recorded_at, updated_at FROM consents WHERE id = ?",
                       (consent_id,)).fetchone()
    return StoredConsent(*row) if row else None


def consents_of(conn: Connection, patient_keys: list[str] | None = None) -> list[StoredConsent]:
    """The consent records of these patients (all, when None), oldest first."""
    sql = "SELECT id, patient_key, record_json, recorded_at, updated_at FROM consents"
    if patient_keys is None:
        rows = conn.execute(sql + " ORDER BY recorded_at, id").fetchall()
    else:
        keys = list(dict.fromkeys(patient_keys))
        rows = []
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            rows += conn.execute(sql + f" WHERE patient_key IN ({','.join('?' * len(part))})", part).fetchall()
        rows.sort(key=lambda r: (r[3], r[0]))
    return [StoredConsent(*r) for r in rows]


def add_form(conn: Connection, sha256_hex: str, media_type: str, size: int) -> bool:
    """Note a scanned form kept in ``objects/`` (so a prune keeps it); False when it was noted
    already (the same scan attached to another record)."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO consent_forms (sha256, media_type, size_bytes, added_at) VALUES (?, ?, ?, ?)",
        (sha256_hex, media_type, size, _now()))
    return cursor.rowcount == 1


def delete_consent(conn: Connection, consent_id: str) -> None:
    """Take back a record that was never accounted for (its audit line could not be written).
    The caller holds the transaction."""
    conn.execute("DELETE FROM consents WHERE id = ?", (consent_id,))


def remove_form(conn: Connection, sha256_hex: str) -> None:
    """Forget a scanned form no record refers to (taken back with its record)."""
    conn.execute("DELETE FROM consent_forms WHERE sha256 = ?", (sha256_hex,))


def form_in_use(conn: Connection, sha256_hex: str) -> bool:
    """Whether the library notes this scanned form (so its object must stay)."""
    return conn.execute("SELECT 1 FROM consent_forms WHERE sha256 = ?", (sha256_hex,)).fetchone() is not None


def form_objects(conn: Connection) -> list[str]:
    return [sha for (sha,) in conn.execute("SELECT sha256 FROM consent_forms")]
