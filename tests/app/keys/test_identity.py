"""The user's identity in a Veil home: made once on first use, audited, kept secret."""

from __future__ import annotations

import base64
import json

import keyring
import pytest
from keyring.backends import fail

from desktop.app.keys.identity import default_name, my_card, my_details, my_identity, set_my_details, write_my_card
from desktop.app.library.home import VeilHome
from desktop.core.audit.events import read_events
from desktop.core.common.errors import KeyStoreError, VeilError
from desktop.core.keys.identity_store import IDENTITY_FILE
from desktop.core.share.errors import CardError
from desktop.core.share.identity import import_card


@pytest.fixture
def unopened_home_with_passphrase_file(tmp_path, monkeypatch):
    """Where a home will be (not opened yet), with no keyring at all and the passphrase in
    VEIL_PASSPHRASE_FILE: unlike ``passphrase_home``, each test opens it itself."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    passfile = tmp_path / "pass"
    passfile.write_text("correct horse battery\n")
    monkeypatch.setenv("VEIL_PASSPHRASE_FILE", str(passfile))
    yield tmp_path / "home"
    keyring.set_keyring(previous)


def _secret_needles(identity) -> list[bytes]:
    seed = json.loads(identity.to_secret_json())["ed25519"]
    return [identity.age_secret.encode(), seed.encode(), base64.b64decode(seed)]


def _home_holds(home, needles) -> bool:
    return any(needle in path.read_bytes() for path in home.rglob("*") if path.is_file() for needle in needles)


def test_first_use_makes_one_identity_in_the_keyring_and_audits_it(veil_home, memory_keyring):
    home = VeilHome.open(veil_home)
    identity = my_identity(home)
    assert my_identity(home).fingerprint == identity.fingerprint
    assert my_identity(VeilHome.open(veil_home)).age_secret == identity.age_secret
    assert any(k[1].startswith("identity:") for k in memory_keyring.secrets)
    assert not (veil_home / IDENTITY_FILE).exists()
    assert not _home_holds(veil_home, _secret_needles(identity))
    created = read_events(home.audit_path, actions={"identity.created"})
    assert len(created) == 1
    assert created[0].details == {"fingerprint": identity.fingerprint, "age_recipient": identity.age_recipient,
                                  "storage": "keyring"}
    assert home.verify_audit().ok


def test_a_passphrase_home_seals_the_identity_and_reopens_it(unopened_home_with_passphrase_file):
    home = VeilHome.open(unopened_home_with_passphrase_file)
    identity = my_identity(home)
    assert (unopened_home_with_passphrase_file / IDENTITY_FILE).exists()
    assert not _home_holds(unopened_home_with_passphrase_file, _secret_needles(identity))
    assert my_identity(VeilHome.open(unopened_home_with_passphrase_file)).fingerprint == identity.fingerprint


def test_a_lost_secret_is_reported_not_silently_replaced(veil_home, memory_keyring):
    home = VeilHome.open(veil_home)
    fingerprint = my_identity(home).fingerprint
    for key in [k for k in memory_keyring.secrets if k[1].startswith("identity:")]:
        del memory_keyring.secrets[key]
    with pytest.raises(KeyStoreError, match="Veil will not make a new one silently") as info:
        my_identity(home)
    assert fingerprint in str(info.value)


def test_details_default_to_the_os_user_and_can_be_set(veil_home):
    home = VeilHome.open(veil_home)
    assert my_details(home).name == default_name()
    card = set_my_details(home, name=" Dr Alice Example ", institution="General Hospital",
                          email="alice@example.org")
    assert (card.name, card.institution, card.email) == ("Dr Alice Example", "General Hospital", "alice@example.org")
    assert my_card(home) == card
    assert set_my_details(home, email="").email == ""
    assert my_card(home).institution == "General Hospital"
    with pytest.raises(CardError):
        set_my_details(home, email="not an address")
    changes = read_events(home.audit_path, actions={"identity.details_changed"})
    assert [e.details["fields"] for e in changes] == [["email", "institution", "name"], ["email"]]


def test_the_card_file_is_the_public_card_only(veil_home, tmp_path):
    home = VeilHome.open(veil_home)
    set_my_details(home, name="Dr Alice")
    path = tmp_path / "alice.card"
    card = write_my_card(home, path)
    assert import_card(path.read_bytes()) == card
    assert not any(n in path.read_bytes() for n in _secret_needles(my_identity(home)))
    with pytest.raises(VeilError, match="exists already"):
        write_my_card(home, path)
    write_my_card(home, path, overwrite=True)


def test_first_uses_at_once_agree_on_one_identity(veil_home):
    from concurrent.futures import ThreadPoolExecutor

    home = VeilHome.open(veil_home)
    with ThreadPoolExecutor(4) as pool:
        prints = set(pool.map(lambda _: my_identity(home).fingerprint, range(8)))
    assert len(prints) == 1
    assert len(read_events(home.audit_path, actions={"identity.created"})) == 1
