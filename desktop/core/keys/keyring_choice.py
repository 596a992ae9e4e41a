"""Which keyring backends Veil trusts with a library's master key, decided from names alone.

``keyring`` picks a backend by priority among those that load on the running system; on a
desktop that is the system's own store, which protects secrets with the user's login:

- Windows: ``keyring.backends.Windows.WinVaultKeyring`` (the Credential Manager);
- macOS: ``keyring.backends.macOS.Keyring`` (the login Keychain);
- Linux: ``keyring.backends.SecretService.Keyring`` (GNOME Keyring, or KWallet through the
  Secret Service) or ``keyring.backends.kwallet.DBusKeyring`` (KWallet's own D-Bus interface).

What is never trusted: the backends of ``keyrings.alt`` (files in clear or barely obscured,
including its "encrypted" file keyring, whose passphrase prompt Veil cannot drive), the null
and fail backends (they store nothing), anything calling itself plaintext, a backend whose
priority says it is not usable here (<= 0), and a chainer that chains any untrusted one.
Where no trusted backend exists, Veil wraps the key with a passphrase instead
(:mod:`desktop.core.keys.keystore`).

The decision takes names and numbers, not backend objects, so every system's answer can be
tested on any system (the classes of all three live in the keyring package everywhere).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["CHAINER", "INSECURE_PREFIXES", "backend_facts", "expected_backend", "expected_backends",
           "is_protected_backend", "qualified_name"]

#: Backends under these modules write secrets where anyone reading the disk can read them, or nowhere.
INSECURE_PREFIXES = ("keyrings.alt", "keyring.backends.null", "keyring.backends.fail")
#: keyring's backend that tries each usable backend in turn.
CHAINER = "keyring.backends.chainer.ChainerBackend"

#: The system store of each system, as :func:`platform.system` names it (Linux: either desktop's).
_EXPECTED: dict[str, tuple[str, ...]] = {
    "Windows": ("keyring.backends.Windows.WinVaultKeyring",),
    "Darwin": ("keyring.backends.macOS.Keyring",),
    "Linux": ("keyring.backends.SecretService.Keyring", "keyring.backends.kwallet.DBusKeyring"),
}


def qualified_name(backend: object) -> str:
    """``module.Class`` of a backend object (what :func:`is_protected_backend` judges)."""
    kind = type(backend)
    return f"{kind.__module__}.{kind.__qualname__}"


def _priority(backend: object) -> float | None:
    """A backend's priority as a number, or None where it has none that reads as one."""
    value = getattr(backend, "priority", None)
    if not isinstance(value, (int, float, str)):
        return None
    try:
        return float(value)
    except (ValueError, OverflowError):
        return None


def backend_facts(backend: object) -> tuple[str, float | None, tuple[str, ...]]:
    """What :func:`is_protected_backend` needs of a live backend: its name, its priority, and
    (for the chainer) the names of the backends it chains."""
    name = qualified_name(backend)
    chained: tuple[str, ...] = ()
    if name == CHAINER:
        chained = tuple(qualified_name(b) for b in getattr(backend, "backends", ()) or ())
    return name, _priority(backend), chained


def is_protected_backend(qualified_name: str, priority: float | None, chained: Sequence[str] = ()) -> bool:
    """True when the backend named ``qualified_name`` (``module.Class``) keeps secrets protected.

    ``priority`` is the backend's own (None when it has none that is a number: not held
    against it). A chainer is judged by ``chained``, the backends it would try (keyring leaves
    out those of priority <= 0 itself): protected only when it chains some and every one of
    them is (it writes to the first that takes the secret, so a locked Secret Service would
    send the key on to a plaintext file beside it); its own priority, low whenever it chains
    fewer than two, says nothing about them.
    """
    if qualified_name.startswith(INSECURE_PREFIXES) or "plaintext" in qualified_name.lower():
        return False
    if qualified_name == CHAINER:
        return bool(chained) and all(is_protected_backend(name, None) for name in chained)
    return priority is None or (not math.isnan(priority) and priority > 0)


def expected_backends(system: str) -> tuple[str, ...]:
    """The system stores keyring uses on ``system`` (``"Windows"``, ``"Darwin"``, ``"Linux"``);
    empty for a system Veil has none on record for."""
    return _EXPECTED.get(system, ())


def expected_backend(system: str) -> str:
    """The system store keyring uses on ``system``: on Linux the Secret Service (GNOME Keyring,
    and KWallet 5.97+ which speaks it too; :func:`expected_backends` also lists KWallet's own)."""
    try:
        return _EXPECTED[system][0]
    except KeyError:
        raise ValueError(f"no system keyring on record for {system!r} (Windows, Darwin or Linux)") from None
