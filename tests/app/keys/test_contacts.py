"""The address book: colleagues' cards and bare age recipients, verification, key changes."""

from __future__ import annotations

import pytest

from desktop.app.keys import contacts
from desktop.app.keys.identity import my_card, set_my_details, write_my_card
from desktop.app.library.home import VeilHome
from desktop.core.audit.events import read_events
from desktop.core.share.errors import CardError
from desktop.core.share.identity import Identity, import_card

BARE = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"


@pytest.fixture
def bobs_card_file(tmp_path):
    """A card exported by another Veil home (Bob's)."""
    bob = VeilHome.open(tmp_path / "bob-home")
    set_my_details(bob, name="Dr Bob Receiver", institution="City Clinic", email="bob@example.org")
    path = tmp_path / "bob.card"
    write_my_card(bob, path)
    return path


def _actions(home: VeilHome) -> list[str]:
    return [e.action for e in read_events(home.audit_path) if e.action.startswith("contact.")]


def test_add_from_a_card_exported_by_another_home(home, bobs_card_file):
    contact = contacts.add_card_file(home, bobs_card_file)
    card = import_card(bobs_card_file.read_bytes())
    assert (contact.name, contact.institution, contact.email) == ("Dr Bob Receiver", "City Clinic", "bob@example.org")
    assert contact.card == card and contact.fingerprint == card.fingerprint
    assert contact.age_recipient == card.age_recipient and contact.signing_key == card.signing_key
    assert contact.can_sign and not contact.verified and contact.added_at
    assert contacts.list_contacts(home) == [contact]
    assert contacts.find_sender(home, card) == contact
    event = read_events(home.audit_path, actions={"contact.added"})[0]
    assert event.details == {"contact": "Dr Bob Receiver", "fingerprint": card.fingerprint,
                             "age_recipient": card.age_recipient, "can_sign": True, "verified": False}


def test_add_a_bare_recipient_which_can_receive_but_not_sign(home):
    contact = contacts.add_recipient(home, BARE, "Carol Agetool", institution="Elsewhere",
                                     email="carol@example.org")
    assert contact.card is None and contact.fingerprint is None and contact.signing_key is None
    assert not contact.can_sign
    assert contact.age_recipient == BARE
    assert contacts.find_contact(home, "carol agetool") == contact
    assert contacts.find_contact(home, BARE[:12]) == contact
    with pytest.raises(CardError, match="not a valid age public key"):
        contacts.add_recipient(home, "age1notakey", "Dave")
    with pytest.raises(contacts.ContactError, match="name"):
        contacts.add_recipient(home, str(Identity.generate().age_recipient), "  ")


def test_duplicates_are_refused_clearly(home, bobs_card_file):
    first = contacts.add_card_file(home, bobs_card_file)
    with pytest.raises(contacts.DuplicateContactError, match="already in your address book as 'Dr Bob Receiver'"):
        contacts.add_card_file(home, bobs_card_file, name="Bob again")
    with pytest.raises(contacts.DuplicateContactError, match="changed key.*impostor"):
        contacts.add_recipient(home, first.age_recipient, "Bob bare")
    with pytest.raises(contacts.DuplicateContactError, match="exists already"):
        contacts.add_card(home, Identity.generate().card("DR BOB RECEIVER"))
    with pytest.raises(contacts.ContactError, match="your own key"):
        contacts.add_card(home, my_card(home))
    assert contacts.list_contacts(home) == [first]


def test_a_key_change_must_be_explicit_and_clears_verification(home, bobs_card_file):
    contacts.add_card_file(home, bobs_card_file, verified=True, by="alice")
    new_card = Identity.generate().card("Dr Bob Receiver", "City Clinic", "bob@example.org")
    with pytest.raises(contacts.DuplicateContactError, match="impostor"):
        contacts.add_card(home, new_card)
    changed = contacts.replace_key(home, "Dr Bob Receiver", card=new_card)
    assert changed.fingerprint == new_card.fingerprint and not changed.verified
    event = read_events(home.audit_path, actions={"contact.key_changed"})[0]
    assert event.details["fingerprint"] == new_card.fingerprint and event.details["was_verified"] is True
    assert event.details["old_fingerprint"] == import_card(bobs_card_file.read_bytes()).fingerprint


def test_verify_by_name_or_fingerprint_prefix_then_remove(home, bobs_card_file):
    contact = contacts.add_card_file(home, bobs_card_file)
    contacts.add_recipient(home, BARE, "Carol")
    prefix = contact.fingerprint[:7].lower()  # "ABCD-EF" typed in lower case
    verified = contacts.verify_contact(home, prefix, by="alice")
    assert verified.verified and verified.verified_by == "alice" and verified.verified_at
    assert contacts.find_contact(home, contact.fingerprint.replace("-", "")).verified
    with pytest.raises(contacts.ContactError, match="No contact"):
        contacts.find_contact(home, "nobody")
    with pytest.raises(contacts.ContactError, match="No contact"):
        contacts.find_contact(home, contact.fingerprint[:2])  # too short to be a prefix
    removed = contacts.remove_contact(home, "carol")
    assert removed.name == "Carol"
    assert [c.name for c in contacts.list_contacts(home)] == ["Dr Bob Receiver"]
    assert _actions(home) == ["contact.added", "contact.added", "contact.verified", "contact.removed"]
    assert home.verify_audit().ok


def test_a_card_file_that_is_not_a_card_is_refused(home, tmp_path):
    bad = tmp_path / "bad.card"
    bad.write_bytes(b'{"format": "something"}')
    with pytest.raises(CardError):
        contacts.add_card_file(home, bad)
    with pytest.raises(contacts.ContactError, match="Cannot read"):
        contacts.add_card_file(home, tmp_path / "missing.card")
    assert contacts.list_contacts(home) == []
