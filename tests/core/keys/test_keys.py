from __future__ import annotations

import base64
import json

import keyring
import keyring.backend
import pytest
from keyring.backends import fail

from desktop.core.common.errors import KeyStoreError, WrongPassphraseError
from desktop.core.keys import keyring_available, open_library_keys
from desktop.core.keys.keystore import needs_passphrase


def test_first_open_puts_a_random_key_in_the_keyring_and_reopens_it(tmp_path, memory_keyring):
    keys = open_library_keys(tmp_path)
    assert keys.method == "keyring"
    assert len(memory_keyring.secrets) == 1
    again = open_library_keys(tmp_path)
    assert again.master == keys.master
    meta = (tmp_path / "keystore.json").read_text()
    assert base64.b64encode(keys.master).decode() not in meta
    assert keys.master.hex() not in meta


def test_subkeys_differ_per_purpose_and_repr_hides_them(tmp_path):
    keys = open_library_keys(tmp_path)
    assert len({keys.database_key, keys.object_key, keys.object_name_key, keys.audit_key}) == 4
    assert keys.master.hex() not in repr(keys)


def test_a_keyring_that_lost_the_key_is_reported_plainly(tmp_path, memory_keyring):
    open_library_keys(tmp_path)
    memory_keyring.secrets.clear()
    with pytest.raises(KeyStoreError, match="keyring does not hold it"):
        open_library_keys(tmp_path)


@pytest.fixture
def no_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_without_a_keyring_the_key_is_wrapped_by_a_passphrase_from_the_env_file(tmp_path, monkeypatch, no_keyring):
    assert not keyring_available()
    assert needs_passphrase(tmp_path)
    secret = tmp_path / "pass"
    secret.write_text("correct horse battery\n")
    monkeypatch.setenv("VEIL_PASSPHRASE_FILE", str(secret))
    home = tmp_path / "home"
    home.mkdir()
    keys = open_library_keys(home)
    assert keys.method == "passphrase"
    meta = json.loads((home / "keystore.json").read_text())
    assert meta["kdf"]["name"] == "scrypt" and meta["wrap"]["cipher"] == "AES-256-GCM"
    assert base64.b64encode(keys.master).decode() not in json.dumps(meta)
    assert open_library_keys(home).master == keys.master

    secret.write_text("wrong horse battery")
    with pytest.raises(WrongPassphraseError):
        open_library_keys(home)


def test_without_keyring_or_env_file_the_prompt_is_asked(tmp_path, no_keyring):
    asked = []

    def prompt(creating: bool) -> str:
        asked.append(creating)
        return "a long enough passphrase"

    first = open_library_keys(tmp_path, prompt)
    assert open_library_keys(tmp_path, prompt).master == first.master
    assert asked == [True, False]
    with pytest.raises(KeyStoreError, match="stays locked"):
        open_library_keys(tmp_path, lambda creating: None)


def test_short_passphrases_are_refused_and_nothing_is_written(tmp_path, no_keyring):
    with pytest.raises(KeyStoreError, match="at least 8"):
        open_library_keys(tmp_path, lambda creating: "short")
    assert not (tmp_path / "keystore.json").exists()


def test_no_keyring_no_prompt_no_env_says_what_to_do(tmp_path, no_keyring):
    with pytest.raises(KeyStoreError, match="VEIL_PASSPHRASE_FILE"):
        open_library_keys(tmp_path)


def test_plaintext_keyring_backends_are_not_trusted_with_the_key(tmp_path):
    class PlaintextKeyring(keyring.backend.KeyringBackend):  # as keyrings.alt ships one
        priority = 0.5

        def get_password(self, service, username):
            return None

        def set_password(self, service, username, password):
            raise AssertionError("the library key must not go to a plaintext backend")

        def delete_password(self, service, username):
            pass

    previous = keyring.get_keyring()
    keyring.set_keyring(PlaintextKeyring())
    try:
        assert not keyring_available()
        keys = open_library_keys(tmp_path, lambda creating: "a long enough passphrase")
        assert keys.method == "passphrase"
    finally:
        keyring.set_keyring(previous)


def test_a_missing_keystore_next_to_a_library_is_not_silently_replaced(tmp_path):
    open_library_keys(tmp_path)
    (tmp_path / "library.sqlite").write_bytes(b"x")
    (tmp_path / "keystore.json").unlink()
    with pytest.raises(KeyStoreError, match="will not replace it"):
        open_library_keys(tmp_path)
    assert not (tmp_path / "keystore.json").exists()
