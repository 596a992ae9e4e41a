"""The address book kept in the library (table ``contacts``).

The library stores a colleague's key card as the share domain writes it (JSON text) without
reading it: ``library`` uses no other domain. A contact with no card is a bare age recipient.
Callers check what is allowed (duplicates, key changes); a UNIQUE constraint is the backstop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from desktop.core.library.database import Connection, inserted_id

_COLUMNS = ("id, name, institution, email, age_recipient, card_json, fingerprint, verified_at, "
            "verified_by, added_at, updated_at")


@dataclass(frozen=True)
class StoredContact:
    """A row of ``contacts``: ``card_json`` and ``fingerprint`` are None for a bare recipient,
    ``verified_at`` is None until the user checked the key with its owner."""

    id: int
    name: str
    institution: str
    email: str
    age_recipient: str
    card_json: str | None
    fingerprint: str | None
    verified_at: str | None
    verified_by: str
    added_at: str
    updated_at: str


def now() -> str:
    """The current UTC time as the address book writes it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def add_contact(conn: Connection, name: str, institution: str, email: str, age_recipient: str,
                card_json: str | None, fingerprint: str | None, verified_by: str | None = None) -> int:
    """Insert a contact (verified now by ``verified_by`` when given); its id."""
    when = now()
    cur = conn.execute(
        "INSERT INTO contacts (name, institution, email, age_recipient, card_json, fingerprint, "
        "verified_at, verified_by, added_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (name, institution, email, age_recipient, card_json, fingerprint,
         when if verified_by is not None else None, verified_by or "", when, when))
    return inserted_id(cur)


def list_contacts(conn: Connection) -> list[StoredContact]:
    """Every contact, by name."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM contacts ORDER BY name, id").fetchall()
    return [StoredContact(*r) for r in rows]


def get_contact(conn: Connection, contact_id: int) -> StoredContact | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    return StoredContact(*row) if row else None


def set_verified(conn: Connection, contact_id: int, verified_by: str | None) -> None:
    """Mark the contact's key verified now by ``verified_by``, or unverified when None."""
    when = now()
    conn.execute("UPDATE contacts SET verified_at = ?, verified_by = ?, updated_at = ? WHERE id = ?",
                 (when if verified_by is not None else None, verified_by or "", when, contact_id))


def replace_key(conn: Connection, contact_id: int, institution: str, email: str, age_recipient: str,
                card_json: str | None, fingerprint: str | None) -> None:
    """Give the contact other keys; its verification is cleared (a new key is unverified)."""
    conn.execute(
        "UPDATE contacts SET institution = ?, email = ?, age_recipient = ?, card_json = ?, fingerprint = ?, "
        "verified_at = NULL, verified_by = '', updated_at = ? WHERE id = ?",
        (institution, email, age_recipient, card_json, fingerprint, now(), contact_id))


def remove_contact(conn: Connection, contact_id: int) -> None:
    conn.execute("DELETE FROM contacts WHERE id = ?", (contact_id,))
