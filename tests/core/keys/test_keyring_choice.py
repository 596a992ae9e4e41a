"""Which keyring backends hold a library's key (desktop.core.keys.keyring_choice), judged by the
real class names of each system's backend: the classes ship in the keyring package on every
system, so Windows' and macOS' are named here on Linux."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import SecretService, Windows, chainer, fail, kwallet, libsecret, macOS, null

from desktop.core.keys import keyring_available
from desktop.core.keys.keyring_choice import (
    CHAINER,
    backend_facts,
    expected_backend,
    expected_backends,
    is_protected_backend,
    qualified_name,
)


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


SYSTEM_STORES = {
    "Windows": _name(Windows.WinVaultKeyring),
    "Darwin": _name(macOS.Keyring),
    "Linux": _name(SecretService.Keyring),
}
#: keyrings.alt is not installed here (nor wanted): its backends by name.
KEYRINGS_ALT = ("keyrings.alt.file.PlaintextKeyring", "keyrings.alt.file.EncryptedKeyring")


def test_the_expected_backends_are_the_classes_keyring_ships():
    assert {system: expected_backend(system) for system in SYSTEM_STORES} == SYSTEM_STORES
    assert expected_backends("Linux") == (_name(SecretService.Keyring), _name(kwallet.DBusKeyring))
    assert expected_backends("Plan9") == ()
    with pytest.raises(ValueError, match="Plan9"):
        expected_backend("Plan9")


@pytest.mark.parametrize("system", ["Windows", "Darwin", "Linux"])
def test_every_system_store_is_protected(system):
    for name in expected_backends(system):
        assert is_protected_backend(name, 5.0)
        assert is_protected_backend(name, None)  # a priority that is not a number is not held against it


def test_libsecret_is_protected_too():
    assert is_protected_backend(_name(libsecret.Keyring), 4.8)


@pytest.mark.parametrize("name", [*KEYRINGS_ALT, _name(null.Keyring), _name(fail.Keyring),
                                  "some.vendor.PlainTextKeyring", "keyrings.alt.Windows.RegistryKeyring"])
def test_stores_in_clear_or_nowhere_are_not(name):
    assert not is_protected_backend(name, 5.0)


@pytest.mark.parametrize("priority", [0.0, -1.0, float("nan")])
def test_a_backend_not_usable_here_is_not(priority):
    assert not is_protected_backend(_name(SecretService.Keyring), priority)


def test_a_chainer_is_judged_by_what_it_chains():
    assert CHAINER == _name(chainer.ChainerBackend)
    # the chainer writes to the first backend that takes the secret: a plaintext file beside a
    # locked Secret Service would receive the key, so one untrusted backend is one too many
    assert not is_protected_backend(CHAINER, 10.0, [_name(SecretService.Keyring), KEYRINGS_ALT[0]])
    assert is_protected_backend(CHAINER, 10.0, [_name(SecretService.Keyring), _name(kwallet.DBusKeyring)])
    assert is_protected_backend(CHAINER, -1.0, [_name(macOS.Keyring)])  # its own priority: low with one backend
    assert not is_protected_backend(CHAINER, 10.0, list(KEYRINGS_ALT))
    assert not is_protected_backend(CHAINER, 10.0, [])


class _Fake:
    """A backend-shaped object whose class claims a module and a name."""


def _fake(module: str, name: str, **attributes: object) -> object:
    return type(name, (_Fake,), {"__module__": module, "__qualname__": name, **attributes})()


def test_backend_facts_reads_name_priority_and_chained_backends():
    vault = _fake("keyring.backends.Windows", "WinVaultKeyring", priority=5)
    assert qualified_name(vault) == SYSTEM_STORES["Windows"]
    assert backend_facts(vault) == (SYSTEM_STORES["Windows"], 5.0, ())
    assert backend_facts(_fake("x", "Odd", priority="high"))[1] is None
    assert backend_facts(_fake("x", "NoPriority"))[1] is None
    chained = _fake("keyring.backends.chainer", "ChainerBackend", priority=10, backends=[vault])
    assert backend_facts(chained) == (CHAINER, 10.0, (SYSTEM_STORES["Windows"],))


@pytest.mark.parametrize(("backend", "available"), [(null.Keyring(), False), (fail.Keyring(), False)])
def test_keyring_available_asks_the_same_question_of_the_live_backend(backend, available):
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        assert keyring_available() is available
    finally:
        keyring.set_keyring(previous)


def test_the_tests_own_keyring_is_trusted(memory_keyring):
    assert keyring_available()
