"""The address book: colleagues packages are encrypted to, and senders recognised.

A contact is either a key card (age recipient + Ed25519 signing key + fingerprint) or a bare
``age1...`` recipient for someone who only has the ``age`` tool. A bare recipient can receive
packages, but nothing can be verified as sent by it (it has no signing key).

Verifying means the user compared the fingerprint (for a bare recipient: the whole ``age1``
key) with its owner over another channel, such as the phone. A contact's key never changes by
accident: adding a key that is already there is refused, and replacing a contact's key is its
own explicit step that clears the verification, because a changed key is exactly what an
impostor would send. Every change is a line of the audit log (no patient data involved).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from desktop.app.keys.identity import known_identity
from desktop.app.library.home import VeilHome
from desktop.core.audit.log import os_user
from desktop.core.common.errors import VeilError
from desktop.core.library import contacts as store
from desktop.core.library.database import Connection
from desktop.core.share.identity import MAX_CARD_BYTES, KeyCard, age_recipient_key, export_card, import_card

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_FINGERPRINT_CHARS = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
MIN_FINGERPRINT_PREFIX = 4


class ContactError(VeilError):
    """An address book change is refused, or a contact cannot be found."""


class DuplicateContactError(ContactError):
    """The key (or the name) is in the address book already."""


@dataclass(frozen=True)
class Contact:
    """A colleague in the address book. ``card`` is None for a bare age recipient."""

    id: int
    name: str
    institution: str
    email: str
    age_recipient: str
    card: KeyCard | None
    verified_at: str | None  # UTC ISO time the key was checked with its owner; None: never
    verified_by: str
    added_at: str

    @property
    def fingerprint(self) -> str | None:
        """The card's fingerprint; None for a bare recipient."""
        return self.card.fingerprint if self.card else None

    @property
    def signing_key(self) -> bytes | None:
        """The Ed25519 key their packages are signed with; None for a bare recipient."""
        return self.card.signing_key if self.card else None

    @property
    def can_sign(self) -> bool:
        """False for a bare recipient: packages can go to it, none can be verified as from it."""
        return self.card is not None

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


def _contact(row: store.StoredContact) -> Contact:
    card = import_card(row.card_json.encode("utf-8")) if row.card_json is not None else None
    return Contact(row.id, row.name, row.institution, row.email, row.age_recipient, card,
                   row.verified_at, row.verified_by, row.added_at)


def _stored_contact(conn: Connection, contact_id: int) -> Contact:
    """The contact as stored now (just written on ``conn``; gone only if another Veil removed it)."""
    row = store.get_contact(conn, contact_id)
    if row is None:
        raise ContactError("This contact is no longer in your address book.")
    return _contact(row)


def _all(conn: Connection) -> list[Contact]:
    return [_contact(r) for r in store.list_contacts(conn)]


def _text(value: str, what: str, required: bool, limit: int) -> str:
    value = value.strip()
    if not value.isprintable() or len(value) > limit:
        raise ContactError(f"The {what} must be plain text of at most {limit} characters.")
    if required and not value:
        raise ContactError(f"Give the contact a {what}.")
    return value


def _check_new(conn: Connection, name: str, recipient: str, signing_key: bytes | None) -> None:
    """Refuse a contact whose key is the user's own or already known, or whose name is taken."""
    mine = known_identity(conn)
    if mine is not None and recipient == mine[1]:
        raise ContactError("This is your own key; you need not add yourself (Veil can add you as a "
                           "recipient of your own packages).")
    contacts = _all(conn)
    for other in contacts:
        same_recipient = other.age_recipient == recipient
        same_signer = signing_key is not None and other.signing_key == signing_key
        if same_recipient and other.signing_key == signing_key:
            raise DuplicateContactError(f"This key is already in your address book as '{other.name}'.")
        if same_recipient or same_signer:
            raise DuplicateContactError(
                f"'{other.name}' in your address book has one of these keys but not the other: this is a "
                f"changed key. A changed key is what an impostor would send. Check the new fingerprint "
                f"with {other.name} by phone, then replace their key explicitly.")
    for other in contacts:
        if other.name.casefold() == name.casefold():
            raise DuplicateContactError(
                f"A contact named '{other.name}' exists already, with another key. If it is the same person "
                "with a new key, replace their key explicitly (a changed key is what an impostor would "
                "send: check the new fingerprint with them by phone first); if it is someone else, give "
                "this contact another name.")


def _add(home: VeilHome, name: str, institution: str, email: str, recipient: str, card: KeyCard | None,
         verified: bool, by: str | None) -> Contact:
    conn = home.connect()
    try:
        _check_new(conn, name, recipient, card.signing_key if card else None)
        verifier = (by or os_user()) if verified else None
        card_json = export_card(card).decode("utf-8") if card else None
        contact_id = store.add_contact(conn, name, institution, email, recipient, card_json,
                                       card.fingerprint if card else None, verifier)
        contact = _stored_contact(conn, contact_id)
        home.record(conn, "contact.added", contact=contact.name, fingerprint=contact.fingerprint,
                    age_recipient=recipient, can_sign=contact.can_sign, verified=contact.verified)
        return contact
    finally:
        conn.close()


def add_card(home: VeilHome, card: KeyCard, name: str | None = None, verified: bool = False,
             by: str | None = None) -> Contact:
    """Add a colleague from their key card (named ``name`` here, else as the card says).
    ``verified``: the user has already compared the fingerprint with them."""
    label = _text(card.name if name is None else name, "name", True, 200)
    return _add(home, label, card.institution, card.email, card.age_recipient, card, verified, by)


def read_card_file(path: str | os.PathLike[str]) -> KeyCard:
    """The key card in the file at ``path`` (CardError with the reason if it is not one)."""
    target = Path(path)
    try:
        with target.open("rb") as fh:
            data = fh.read(MAX_CARD_BYTES + 1)
    except OSError as exc:
        raise ContactError(f"Cannot read the key card file {target.name}: {exc.strerror}.") from None
    return import_card(data)


def add_card_file(home: VeilHome, path: str | os.PathLike[str], name: str | None = None,
                  verified: bool = False, by: str | None = None) -> Contact:
    """Add a colleague from a key card file."""
    return add_card(home, read_card_file(path), name, verified, by)


def add_recipient(home: VeilHome, recipient: str, name: str, institution: str = "", email: str = "",
                  verified: bool = False, by: str | None = None) -> Contact:
    """Add a colleague known only by a bare ``age1...`` recipient: they can receive packages,
    but no package can be verified as theirs (there is no signing key)."""
    recipient = recipient.strip()
    age_recipient_key(recipient)  # CardError if not an age recipient
    label = _text(name, "name", True, 200)
    email = _text(email, "e-mail address", False, 254)
    if email and not _EMAIL.fullmatch(email):
        raise ContactError("The e-mail address does not look like name@example.org.")
    return _add(home, label, _text(institution, "institution", False, 200), email, recipient, None,
                verified, by)


def list_contacts(home: VeilHome) -> list[Contact]:
    """Every contact, by name."""
    conn = home.connect()
    try:
        return _all(conn)
    finally:
        conn.close()


def _matches(contacts: list[Contact], query: str) -> list[Contact]:
    text = query.strip()
    named = [c for c in contacts if c.name.casefold() == text.casefold()]
    if named or not text:
        return named
    if text.lower().startswith("age1"):
        if len(text) < 8:
            return []
        return [c for c in contacts if c.age_recipient.startswith(text.lower())]
    prefix = re.sub(r"[\s-]", "", text).upper()
    if len(prefix) < MIN_FINGERPRINT_PREFIX or not set(prefix) <= _FINGERPRINT_CHARS:
        return []
    return [c for c in contacts if c.fingerprint and c.fingerprint.replace("-", "").startswith(prefix)]


def find_contact(home: VeilHome, query: str) -> Contact:
    """The contact named ``query`` (any case), or whose fingerprint starts with it (at least 4
    characters, dashes optional), or whose ``age1...`` recipient starts with it."""
    found = _matches(list_contacts(home), query)
    if not found:
        raise ContactError("No contact has this name or fingerprint; 'veil contacts list' shows them.")
    if len(found) > 1:
        raise ContactError(f"{len(found)} contacts match; give more of the fingerprint.")
    return found[0]


def find_sender(home: VeilHome, card: KeyCard) -> Contact | None:
    """The contact whose card is ``card`` (same keys), if the signer of a package is known."""
    return next((c for c in list_contacts(home) if c.card is not None
                 and c.signing_key == card.signing_key and c.age_recipient == card.age_recipient), None)


def verify_contact(home: VeilHome, query: str, by: str | None = None) -> Contact:
    """Mark the contact's key checked with its owner now, by ``by`` (default: the OS user)."""
    contact = find_contact(home, query)
    conn = home.connect()
    try:
        store.set_verified(conn, contact.id, by or os_user())
        updated = _stored_contact(conn, contact.id)
        home.record(conn, "contact.verified", contact=contact.name, fingerprint=contact.fingerprint,
                    age_recipient=contact.age_recipient)
        return updated
    finally:
        conn.close()


def remove_contact(home: VeilHome, query: str) -> Contact:
    """Remove a contact from the address book; the contact removed."""
    contact = find_contact(home, query)
    conn = home.connect()
    try:
        store.remove_contact(conn, contact.id)
        home.record(conn, "contact.removed", contact=contact.name, fingerprint=contact.fingerprint,
                    age_recipient=contact.age_recipient)
        return contact
    finally:
        conn.close()


def replace_key(home: VeilHome, query: str, card: KeyCard | None = None, recipient: str | None = None) -> Contact:
    """Give an existing contact a new key card (or bare recipient): the explicit step for a
    colleague's new key. A changed key is what an impostor would send, so the contact becomes
    unverified until the new fingerprint is checked with them again."""
    if (card is None) == (recipient is None):
        raise ContactError("Give the new key card, or the new age recipient (not both).")
    contact = find_contact(home, query)
    if card is not None:
        new_recipient, institution, email = card.age_recipient, card.institution, card.email
    else:
        new_recipient = (recipient or "").strip()
        age_recipient_key(new_recipient)
        institution, email = contact.institution, contact.email
    if new_recipient == contact.age_recipient and (card.signing_key if card else None) == contact.signing_key:
        raise DuplicateContactError(f"'{contact.name}' already has exactly this key.")
    conn = home.connect()
    try:
        mine = known_identity(conn)
        if mine is not None and new_recipient == mine[1]:
            raise ContactError("This is your own key, not your colleague's.")
        for other in _all(conn):
            if other.id != contact.id and (other.age_recipient == new_recipient
                                           or (card and other.signing_key == card.signing_key)):
                raise DuplicateContactError(f"This key belongs to '{other.name}' in your address book.")
        store.replace_key(conn, contact.id, institution, email, new_recipient,
                          export_card(card).decode("utf-8") if card else None, card.fingerprint if card else None)
        updated = _stored_contact(conn, contact.id)
        home.record(conn, "contact.key_changed", contact=contact.name, old_fingerprint=contact.fingerprint,
                    old_age_recipient=contact.age_recipient, fingerprint=updated.fingerprint,
                    age_recipient=updated.age_recipient, was_verified=contact.verified)
        return updated
    finally:
        conn.close()
