"""The passphrase key file (issue 15): scrypt N >= 2**17, parameters authenticated, every edit
named as tampering before anything is derived where it can be, old homes migrated."""

from __future__ import annotations

import base64
import copy
import errno
import hashlib
import hmac
import json
import os
import uuid
from pathlib import Path

import keyring
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from keyring.backends import fail

from desktop.core.common.errors import KeyStoreAlteredError, KeyStoreError, WrongPassphraseError
from desktop.core.keys import key_file, keystore, open_library_keys

GOOD = "correct horse battery"
ALTERED = "keystore.json was altered or damaged"


def ask(passphrase: str = GOOD):
    return lambda creating: passphrase


@pytest.fixture(autouse=True)
def no_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture(scope="module")
def v2_file(tmp_path_factory) -> tuple[bytes, dict]:
    """One format-2 home made once for the module (one scrypt): (master, keystore.json)."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        home = tmp_path_factory.mktemp("v2")
        keys = open_library_keys(home, ask())
    finally:
        keyring.set_keyring(previous)
    return keys.master, json.loads((home / "keystore.json").read_text())


@pytest.fixture
def derivations(monkeypatch) -> list[int]:
    """Every scrypt the key file runs, by N (so a test can show none ran)."""
    seen: list[int] = []
    real = key_file._scrypt

    def counting(passphrase, salt, n, r, p):
        seen.append(n)
        return real(passphrase, salt, n, r, p)

    monkeypatch.setattr(key_file, "_scrypt", counting)
    return seen


def write(home: Path, meta: dict | bytes) -> Path:
    home.mkdir(exist_ok=True)
    path = home / "keystore.json"
    path.write_bytes(meta if isinstance(meta, bytes) else json.dumps(meta).encode())
    return path


def old_veil_keystore(home: Path, passphrase: str, master: bytes | None = None, **kdf) -> bytes:
    """keystore.json exactly as Veil wrote it before issue 15 (its ``_create``, copied)."""
    master = os.urandom(32) if master is None else master
    home_id = str(uuid.uuid4())
    check = hmac.new(master, b"veil-key-check", hashlib.sha256).hexdigest()[:32]
    meta: dict[str, object] = {"version": 1, "home_id": home_id, "check": check}
    salt, nonce = os.urandom(16), os.urandom(12)
    kek = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode("utf-8"))
    wrapped = AESGCM(kek).encrypt(nonce, master, home_id.encode())
    meta.update(
        method="passphrase",
        kdf={"name": "scrypt", "n": 2**15, "r": 8, "p": 1, "salt": base64.b64encode(salt).decode()},
        wrap={"cipher": "AES-256-GCM", "nonce": base64.b64encode(nonce).decode(),
              "key": base64.b64encode(wrapped).decode()},
    )
    meta["kdf"].update(kdf)  # type: ignore[union-attr]
    write(home, meta)
    return master


def test_a_new_home_writes_format_2_with_scrypt_at_least_2_17_and_reopens(tmp_path, v2_file):
    master, meta = v2_file
    assert meta["version"] == 2 and meta["method"] == "passphrase"
    assert meta["kdf"]["name"] == "scrypt" and meta["kdf"]["n"] >= 2**17
    assert (meta["kdf"]["r"], meta["kdf"]["p"]) == (8, 1)
    assert len(base64.b64decode(meta["kdf"]["salt"])) == 16
    assert meta["wrap"]["cipher"] == "AES-256-GCM"
    write(tmp_path, meta)
    assert open_library_keys(tmp_path, ask()).master == master


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# Each edit is refused from the file alone: no passphrase asked, nothing derived.
REFUSED_UNDERIVED = {
    "N huge": (("kdf", "n"), 2**40, "outside what Veil writes"),
    "N below the minimum": (("kdf", "n"), 2**16, "outside what Veil writes"),
    "N not a power of two": (("kdf", "n"), 2**17 + 1, "outside what Veil writes"),
    "N a string": (("kdf", "n"), "131072", "outside what Veil writes"),
    "N a float": (("kdf", "n"), 131072.0, "outside what Veil writes"),
    "r huge": (("kdf", "r"), 10**6, "outside what Veil writes"),
    "p huge": (("kdf", "p"), 2**30, "outside what Veil writes"),
    "p true": (("kdf", "p"), True, "outside what Veil writes"),
    "salt short": (("kdf", "salt"), b64(b"12345678"), "salt"),
    "salt a kilobyte": (("kdf", "salt"), b64(bytes(1024)), "salt"),
    "salt not base64": (("kdf", "salt"), "!!!!", "salt"),
    "verifier short": (("kdf", "verifier"), b64(b"x"), "verifier"),
    "kdf name": (("kdf", "name"), "argon2id", "not scrypt"),
    "cipher": (("wrap", "cipher"), "AES-128-GCM", "cipher"),
    "nonce length": (("wrap", "nonce"), b64(bytes(16)), "nonce"),
    "key length": (("wrap", "key"), b64(bytes(64)), "wrapped key"),
    "version newer": (("version",), 3, "format version"),
    "version string": (("version",), "2", "format version"),
    "version old, fields new": (("version",), 1, "fields"),
    "home id not a uuid": (("home_id",), "../../etc", "home id"),
    "check not hex": (("check",), "z" * 32, "check"),
    "method unknown": (("method",), "plaintext", "key method"),
    "kdf not an object": (("kdf",), [], "not a JSON object"),
}


@pytest.mark.parametrize("where, value, detail", REFUSED_UNDERIVED.values(), ids=REFUSED_UNDERIVED.keys())
def test_each_edited_parameter_is_refused_as_altered_before_any_derivation(
        tmp_path, v2_file, derivations, where, value, detail):
    meta = copy.deepcopy(v2_file[1])
    target = meta
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    write(tmp_path, meta)
    asked = []
    with pytest.raises(KeyStoreAlteredError, match=ALTERED) as caught:
        open_library_keys(tmp_path, lambda creating: asked.append(creating) or GOOD)
    assert detail in str(caught.value)
    assert "backup" in str(caught.value)
    assert derivations == [] and asked == []


def test_the_refusal_of_huge_parameters_names_them(tmp_path, v2_file):
    meta = copy.deepcopy(v2_file[1])
    meta["kdf"].update(n=2**40, r=10**6)
    write(tmp_path, meta)
    with pytest.raises(KeyStoreAlteredError) as caught:
        open_library_keys(tmp_path, ask())
    message = str(caught.value)
    assert message.startswith("keystore.json was altered or damaged: its key-derivation parameters "
                              "are outside what Veil writes (N=2^40, r=1000000")


@pytest.mark.parametrize("data", [b"not json", b"[1, 2]", b'{"version": 2, "version": 2}',
                                  b'{"version": NaN}', b"\xff\xfe", b" " * (65 * 1024)],
                         ids=["text", "array", "duplicate key", "NaN", "not UTF-8", "huge"])
def test_a_file_that_is_not_well_formed_is_altered_not_a_wrong_passphrase(tmp_path, data, derivations):
    write(tmp_path, data)
    with pytest.raises(KeyStoreAlteredError, match=ALTERED):
        open_library_keys(tmp_path, ask())
    assert derivations == []


def test_a_huge_file_is_not_read_whole(tmp_path):
    write(tmp_path, b'{"salt": "' + b"A" * (2**20) + b'"}')
    with pytest.raises(KeyStoreAlteredError, match="over 64 KiB"):
        open_library_keys(tmp_path, ask())


def test_a_missing_or_extra_field_is_named(tmp_path, v2_file):
    meta = copy.deepcopy(v2_file[1])
    del meta["kdf"]["verifier"]
    meta["wrap"]["aad"] = ""
    write(tmp_path, meta)
    with pytest.raises(KeyStoreAlteredError, match="missing verifier"):
        open_library_keys(tmp_path, ask())


def flip(value: str) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[0] ^= 1
    return b64(bytes(raw))


BOUND_EDITS = {
    "home id": lambda meta: meta.update(home_id=str(uuid.uuid4())),
    "nonce": lambda meta: meta["wrap"].update(nonce=flip(meta["wrap"]["nonce"])),
    "wrapped key": lambda meta: meta["wrap"].update(key=flip(meta["wrap"]["key"])),
    "check": lambda meta: meta.update(check="0" * 32),
    "verifier": lambda meta: meta["kdf"].update(verifier=flip(meta["kdf"]["verifier"])),
}


@pytest.mark.parametrize("edit", BOUND_EDITS.values(), ids=BOUND_EDITS.keys())
def test_with_the_right_passphrase_an_edit_of_a_bound_field_is_named_altered(tmp_path, v2_file, edit):
    meta = copy.deepcopy(v2_file[1])
    edit(meta)
    write(tmp_path, meta)
    with pytest.raises(KeyStoreAlteredError, match=ALTERED):
        open_library_keys(tmp_path, ask())


def test_a_wrong_passphrase_still_says_wrong_passphrase(tmp_path, v2_file):
    write(tmp_path, v2_file[1])
    with pytest.raises(WrongPassphraseError, match="does not unlock") as caught:
        open_library_keys(tmp_path, ask("wrong horse battery"))
    assert not isinstance(caught.value, KeyStoreAlteredError)


def test_an_edited_salt_cannot_be_told_from_a_wrong_passphrase_and_the_message_says_so(tmp_path, v2_file):
    meta = copy.deepcopy(v2_file[1])
    meta["kdf"]["salt"] = flip(meta["kdf"]["salt"])
    write(tmp_path, meta)
    with pytest.raises(WrongPassphraseError, match="may have been altered"):
        open_library_keys(tmp_path, ask())


def test_an_old_format_home_unlocks_and_is_rewritten_in_format_2_with_the_same_key(tmp_path, derivations):
    master = old_veil_keystore(tmp_path, GOOD)
    before = json.loads((tmp_path / "keystore.json").read_text())
    keys = open_library_keys(tmp_path, ask())
    assert keys.master == master and keys.method == "passphrase"
    after = json.loads((tmp_path / "keystore.json").read_text())
    assert after["version"] == 2 and after["kdf"]["n"] >= 2**17 and after["home_id"] == before["home_id"]
    assert after["kdf"]["salt"] != before["kdf"]["salt"]
    assert derivations == [2**15, 2**17]  # unlock the old, wrap the new
    again = open_library_keys(tmp_path, ask())
    assert again.master == master and again.home_id == keys.home_id
    assert derivations == [2**15, 2**17, 2**17]


def test_an_old_format_home_with_a_wrong_passphrase_is_left_as_it_was(tmp_path):
    old_veil_keystore(tmp_path, GOOD)
    before = (tmp_path / "keystore.json").read_bytes()
    with pytest.raises(WrongPassphraseError):
        open_library_keys(tmp_path, ask("wrong horse battery"))
    assert (tmp_path / "keystore.json").read_bytes() == before


@pytest.mark.parametrize("kdf", [{"n": 2**14}, {"n": 2**17}, {"r": 1}, {"p": 2}, {"name": "pbkdf2"}],
                         ids=["N weaker", "N stronger", "r", "p", "name"])
def test_an_old_format_file_with_other_parameters_than_old_veil_wrote_is_refused(tmp_path, kdf, derivations):
    old_veil_keystore(tmp_path, GOOD, **kdf)
    with pytest.raises(KeyStoreAlteredError, match=ALTERED):
        open_library_keys(tmp_path, ask())
    assert derivations == []


def test_a_new_file_edited_to_look_old_gains_nothing(tmp_path, v2_file):
    """Downgrade: the wrapped key is bound to format 2's parameters, so a file dressed as
    format 1 does not unlock (it reads as a wrong passphrase: format 1 has no verifier)."""
    meta = copy.deepcopy(v2_file[1])
    meta["version"] = 1
    meta["kdf"] = {k: v for k, v in meta["kdf"].items() if k != "verifier"} | {"n": 2**15}
    path = write(tmp_path, meta)
    before = path.read_bytes()
    with pytest.raises(WrongPassphraseError):
        open_library_keys(tmp_path, ask())
    assert path.read_bytes() == before


def test_a_migration_that_cannot_write_says_why_and_keeps_the_old_file(tmp_path, monkeypatch):
    old_veil_keystore(tmp_path, GOOD)
    before = (tmp_path / "keystore.json").read_bytes()

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keystore, "atomic_write_bytes", full)
    with pytest.raises(KeyStoreError, match="No space left on device.*open the library again"):
        open_library_keys(tmp_path, ask())
    assert (tmp_path / "keystore.json").read_bytes() == before


def test_keyring_files_old_and_new_open_and_edits_are_named(tmp_path, memory_keyring):
    keyring.set_keyring(memory_keyring)
    keys = open_library_keys(tmp_path)
    meta = json.loads((tmp_path / "keystore.json").read_text())
    assert meta == {"version": 2, "home_id": keys.home_id, "method": "keyring", "check": meta["check"]}
    write(tmp_path, meta | {"version": 1})  # as old Veil wrote it
    assert open_library_keys(tmp_path).master == keys.master
    write(tmp_path, meta | {"home_id": "x"})
    with pytest.raises(KeyStoreAlteredError, match="home id"):
        open_library_keys(tmp_path)
    write(tmp_path, meta | {"kdf": {}})
    with pytest.raises(KeyStoreAlteredError, match=ALTERED):
        open_library_keys(tmp_path)


def test_an_altered_file_needs_no_passphrase_prompt_so_it_is_named_at_once(tmp_path, v2_file):
    write(tmp_path, v2_file[1])
    assert keystore.needs_passphrase(tmp_path)
    meta = copy.deepcopy(v2_file[1])
    meta["kdf"]["r"] = 10**6
    write(tmp_path, meta)
    assert not keystore.needs_passphrase(tmp_path)
    write(tmp_path, b"[]")
    assert not keystore.needs_passphrase(tmp_path)


def test_a_fifo_in_place_of_the_key_file_is_named_not_waited_on(tmp_path):
    import os

    from desktop.core.common.errors import KeyStoreError
    from desktop.core.keys.keystore import KEYSTORE_FILE, open_library_keys

    home = tmp_path / "fifo-home"
    home.mkdir()
    os.mkfifo(home / KEYSTORE_FILE)
    with pytest.raises(KeyStoreError, match="not a regular file"):
        open_library_keys(home, lambda _creating: "correct horse battery")
