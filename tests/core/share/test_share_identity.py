"""Identities and public key cards: keys, fingerprint, card files, secrets round trip."""

from __future__ import annotations

import json
import re

import pytest
from pyrage import x25519

from desktop.core.share.errors import CardError
from desktop.core.share.identity import (
    Identity,
    KeyCard,
    age_identity_key,
    age_recipient_of,
    export_card,
    fingerprint,
    import_card,
)


def test_identity_keys_agree_with_pyrage(alice):
    identity = alice.identity
    assert identity.age_recipient == str(identity.age_identity.to_public())
    assert age_recipient_of(identity.age_secret) == identity.age_recipient
    assert len(age_identity_key(identity.age_secret)) == 32
    assert alice.identity.fingerprint in repr(identity)
    assert identity.age_secret not in repr(identity)


def test_fingerprint_is_short_readable_and_stable(alice, bob):
    fp = alice.card.fingerprint
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}", fp)
    assert fp == fingerprint(alice.card.age_recipient, alice.card.signing_key)
    assert fp == alice.identity.fingerprint != bob.card.fingerprint
    # the person's details are not part of it; the keys are
    renamed = KeyCard("Someone Else", "", "", alice.card.age_recipient, alice.card.signing_key)
    assert renamed.fingerprint == fp


def test_card_file_round_trip(alice):
    data = export_card(alice.card)
    assert json.loads(data)["format"] == "veil-key-card"
    assert import_card(data) == alice.card
    assert alice.identity.age_secret.encode() not in data


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(fingerprint="0000-0000-0000-0000-0000"), "altered"),
    (lambda d: d.update(version=2), "newer version"),
    (lambda d: d.update(format="something"), "not a Veil key card"),
    (lambda d: d.update(age_recipient="age1notakey"), "not a valid age public key"),
    (lambda d: d.update(signing_key="AAAA"), "signing key"),
    (lambda d: d.update(email="not an address"), "email"),
    (lambda d: d.update(name=""), "no name"),
    (lambda d: d.update(name="a\nb"), "plain text"),
    (lambda d: d.pop("institution"), "missing or unexpected"),
    (lambda d: d.update(extra=1), "missing or unexpected"),
])
def test_malformed_cards_are_refused_with_a_reason(alice, change, message):
    data = json.loads(export_card(alice.card))
    change(data)
    with pytest.raises(CardError, match=message):
        import_card(json.dumps(data).encode())


@pytest.mark.parametrize("data", [b"", b"[]", b"{not json", b'{"a": 1, "a": 2}',
                                  b'{"x": NaN}', b"\xff\xfe", b" " * 20000])
def test_garbage_card_files_are_refused(data):
    with pytest.raises(CardError):
        import_card(data)


def test_identity_secret_round_trip_and_age_identity_file(alice):
    text = alice.identity.to_secret_json()
    again = Identity.from_secret_json(text)
    assert again.fingerprint == alice.identity.fingerprint
    assert again.sign(b"x") == alice.identity.sign(b"x")  # Ed25519 is deterministic
    identity_file = alice.identity.age_identity_file()
    assert alice.identity.age_secret in identity_file
    assert str(x25519.Identity.from_str(identity_file.splitlines()[-1]).to_public()) == \
        alice.identity.age_recipient
    with pytest.raises(CardError):
        Identity.from_secret_json(text.replace("AGE-SECRET-KEY-1", "AGE-SECRET-KEY-2"))
