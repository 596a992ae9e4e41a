"""The user's identity secret: in the keyring, or sealed in the home under the library key."""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path

import pytest

from desktop.core.common.errors import KeyStoreError
from desktop.core.keys import LibraryKeys
from desktop.core.keys.identity_store import (
    IDENTITY_FILE,
    identity_lock,
    keyring_user,
    load_identity_secret,
    storage_of,
    store_identity_secret,
)
from desktop.core.keys.keystore import KEYRING_SERVICE
from desktop.core.share.identity import Identity


def _keys(method: str, home_id: str | None = None) -> LibraryKeys:
    return LibraryKeys(master=os.urandom(32), home_id=home_id or str(uuid.uuid4()), method=method)


def _secrets_of(identity: Identity) -> list[bytes]:
    data = json.loads(identity.to_secret_json())
    seed = base64.b64decode(data["ed25519"])
    return [identity.age_secret.encode(), identity.age_secret.lower().encode(), data["ed25519"].encode(),
            seed, seed.hex().encode(), identity.to_secret_json().encode()]


def _files_hold_any(home: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [path.name for needle in needles if needle in data]
    return found


def test_a_keyring_home_keeps_the_identity_in_the_keyring_and_writes_no_file(tmp_path, memory_keyring):
    keys = _keys("keyring")
    assert load_identity_secret(tmp_path, keys) is None
    identity = Identity.generate()
    store_identity_secret(tmp_path, keys, identity.to_secret_json())
    assert memory_keyring.secrets[(KEYRING_SERVICE, keyring_user(keys.home_id))] == identity.to_secret_json()
    assert not (tmp_path / IDENTITY_FILE).exists()
    again = Identity.from_secret_json(load_identity_secret(tmp_path, keys))
    assert again.fingerprint == identity.fingerprint and again.age_secret == identity.age_secret
    assert storage_of(keys) == "the system keyring"


def test_two_keyring_homes_keep_separate_identities(tmp_path, memory_keyring):
    first, second = _keys("keyring"), _keys("keyring")
    store_identity_secret(tmp_path, first, Identity.generate().to_secret_json())
    assert load_identity_secret(tmp_path, second) is None


def test_a_passphrase_home_seals_the_identity_in_a_file_never_in_clear(tmp_path, memory_keyring):
    keys = _keys("passphrase")
    identity = Identity.generate()
    store_identity_secret(tmp_path, keys, identity.to_secret_json())
    sealed = tmp_path / IDENTITY_FILE
    assert sealed.stat().st_mode & 0o777 == 0o600
    assert memory_keyring.secrets == {}
    assert _files_hold_any(tmp_path, _secrets_of(identity)) == []
    record = json.loads(sealed.read_text())
    assert record["cipher"] == "AES-256-GCM" and set(record) == {"format", "version", "cipher", "nonce",
                                                                  "ciphertext"}
    again = Identity.from_secret_json(load_identity_secret(tmp_path, keys))
    assert again.fingerprint == identity.fingerprint
    assert again.sign(b"x") == identity.sign(b"x")
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]  # atomic write cleaned up


def test_another_home_key_cannot_open_the_sealed_identity(tmp_path):
    keys = _keys("passphrase")
    store_identity_secret(tmp_path, keys, Identity.generate().to_secret_json())
    for other in (_keys("passphrase"), _keys("passphrase", keys.home_id),
                  LibraryKeys(master=keys.master, home_id=str(uuid.uuid4()), method="passphrase")):
        with pytest.raises(KeyStoreError, match="damaged or belongs to another library") as info:
            load_identity_secret(tmp_path, other)
        assert "AGE-SECRET-KEY" not in str(info.value)


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "wrong-format"])
def test_a_damaged_sealed_identity_is_reported_plainly(tmp_path, damage):
    keys = _keys("passphrase")
    store_identity_secret(tmp_path, keys, Identity.generate().to_secret_json())
    path = tmp_path / IDENTITY_FILE
    record = json.loads(path.read_text())
    if damage == "flip":
        raw = bytearray(base64.b64decode(record["ciphertext"]))
        raw[5] ^= 1
        record["ciphertext"] = base64.b64encode(bytes(raw)).decode()
        path.write_text(json.dumps(record))
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:40])
    elif damage == "garbage":
        path.write_bytes(b"\xff\x00not json")
    else:
        record["format"] = "something-else"
        path.write_text(json.dumps(record))
    with pytest.raises(KeyStoreError, match=IDENTITY_FILE):
        load_identity_secret(tmp_path, keys)


def test_the_identity_lock_is_a_file_lock_in_the_home(tmp_path):
    with identity_lock(tmp_path):
        assert (tmp_path / ".identity.lock").exists()


def test_an_empty_secret_is_refused(tmp_path):
    with pytest.raises(KeyStoreError):
        store_identity_secret(tmp_path, _keys("passphrase"), "")
