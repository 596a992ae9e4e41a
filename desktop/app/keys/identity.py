"""The user's own identity: the keys their packages are signed with and encrypted
to, made on first use, and the public key card colleagues keep of them.

The secret keys are kept by :mod:`desktop.core.keys.identity_store` (the OS keyring, or a
file sealed with the library key). The index remembers the public fingerprint, so a lost
secret is reported rather than silently replaced by a new identity (colleagues know the user
by that fingerprint), and the user's name, institution and e-mail for the card.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from desktop.app.library.home import VeilHome
from desktop.core.audit.log import os_user
from desktop.core.common.atomic_files import atomic_write_bytes
from desktop.core.common.errors import KeyStoreError, VeilError
from desktop.core.common.portable import account_full_name
from desktop.core.keys.identity_store import (
    identity_lock,
    load_identity_secret,
    storage_of,
    store_identity_secret,
)
from desktop.core.library.database import Connection
from desktop.core.library.settings import get_settings, set_settings
from desktop.core.share.errors import CardError
from desktop.core.share.identity import Identity, KeyCard, export_card

FINGERPRINT = "identity.fingerprint"
AGE_RECIPIENT = "identity.age_recipient"
_DETAIL_KEYS = {"name": "me.name", "institution": "me.institution", "email": "me.email"}


@dataclass(frozen=True)
class MyDetails:
    """Who the user is, as their key card says."""

    name: str
    institution: str
    email: str


def default_name() -> str:
    """The OS account's full name, else its user name: the card's name until the user sets one."""
    for candidate in (account_full_name(), os_user().strip()):
        if candidate and candidate.isprintable() and len(candidate) <= 200:
            return candidate
    return "Veil user"


def identity_storage(home: VeilHome) -> str:
    """Where this home keeps the user's secret keys, in words."""
    return storage_of(home.keys)


def known_identity(conn: Connection) -> tuple[str, str] | None:
    """(fingerprint, age recipient) of the user's identity if one was made, without loading it."""
    known = get_settings(conn, "identity.")
    if FINGERPRINT not in known:
        return None
    return known[FINGERPRINT], known.get(AGE_RECIPIENT, "")


def my_identity(home: VeilHome) -> Identity:
    """The user's identity, made (and audited) on first use. It holds secret keys: keep it in
    memory only, and never show or log more than its public parts."""
    conn = home.connect()
    try:
        with identity_lock(home.path):
            secret = load_identity_secret(home.path, home.keys)
            known = known_identity(conn)
            if secret is None:
                if known is not None:
                    raise KeyStoreError(
                        f"Your Veil identity (fingerprint {known[0]}) was made in this library, but its "
                        f"secret keys are missing from {identity_storage(home)}. Veil will not make a new "
                        "one silently: your colleagues know you by that fingerprint. Restore it from a "
                        "backup (or the keyring), then try again.")
                identity = Identity.generate()
                store_identity_secret(home.path, home.keys, identity.to_secret_json())
                _remember(conn, identity)
                home.record(conn, "identity.created", fingerprint=identity.fingerprint,
                            age_recipient=identity.age_recipient, storage=home.keys.method)
                return identity
            try:
                identity = Identity.from_secret_json(secret)
            except CardError:
                raise KeyStoreError(f"Your Veil identity in {identity_storage(home)} is damaged. "
                                    "Restore it from a backup.") from None
            if known is None:
                _remember(conn, identity)
            elif known[0] != identity.fingerprint:
                raise KeyStoreError(
                    f"The identity found in {identity_storage(home)} (fingerprint {identity.fingerprint}) "
                    f"is not the one this library made (fingerprint {known[0]}). Restore the right one.")
            return identity
    finally:
        conn.close()


def _remember(conn: Connection, identity: Identity) -> None:
    set_settings(conn, {FINGERPRINT: identity.fingerprint, AGE_RECIPIENT: identity.age_recipient})


def my_details(home: VeilHome) -> MyDetails:
    """The user's name, institution and e-mail (name: the OS user's until set)."""
    conn = home.connect()
    try:
        stored = get_settings(conn, "me.")
    finally:
        conn.close()
    return MyDetails(stored.get(_DETAIL_KEYS["name"]) or default_name(),
                     stored.get(_DETAIL_KEYS["institution"], ""), stored.get(_DETAIL_KEYS["email"], ""))


def my_card(home: VeilHome) -> KeyCard:
    """The user's public key card (making their identity on first use)."""
    details = my_details(home)
    return my_identity(home).card(details.name, details.institution, details.email)


def set_my_details(home: VeilHome, name: str | None = None, institution: str | None = None,
                   email: str | None = None) -> KeyCard:
    """Change what the user's card says (None: keep); the new card. CardError if a value is not
    acceptable (empty name, not an e-mail address...)."""
    current = my_details(home)
    wanted = MyDetails(current.name if name is None else name.strip(),
                       current.institution if institution is None else institution.strip(),
                       current.email if email is None else email.strip())
    card = my_identity(home).card(wanted.name, wanted.institution, wanted.email)  # validates
    changed = sorted(f for f in _DETAIL_KEYS if getattr(wanted, f) != getattr(current, f))
    if changed:
        conn = home.connect()
        try:
            set_settings(conn, {_DETAIL_KEYS[f]: getattr(wanted, f) for f in changed})
            home.record(conn, "identity.details_changed", fields=changed, fingerprint=card.fingerprint)
        finally:
            conn.close()
    return card


def write_my_card(home: VeilHome, path: str | os.PathLike[str], overwrite: bool = False) -> KeyCard:
    """Write the user's key card file (public: safe to e-mail) to ``path``; the card."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise VeilError(f"{target.name} exists already; choose another file name.")
    if not target.parent.is_dir():
        raise VeilError(f"The folder for {target.name} does not exist.")
    card = my_card(home)
    try:
        atomic_write_bytes(target, export_card(card), mode=0o644)
    except OSError as exc:
        raise VeilError(f"Cannot write the key card to {target.name}: {exc.strerror}.") from None
    return card
