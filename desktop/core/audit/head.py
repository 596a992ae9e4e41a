"""The head of the audit chain, kept outside the home, so a rolled-back home is named.

Everything in a Veil home can be put back from an older copy without any key: an older
``library.sqlite`` and ``audit.log`` still agree with each other, and the disclosures and
consent withdrawals recorded since simply vanish. A log can only show it is complete relative
to a head kept where its editor cannot reach (the reason Certificate Transparency auditors keep
the last signed tree head they saw: RFC 6962, sections 3.5 and 5.4). Veil
keeps the head (how many lines, and the hash of the last) in the OS keyring, beside the
library key, under the user ``audit-head:<home id>``: a copy of the home does not carry it.

The head only moves forward along the chain it already names (:func:`advance`; the caller
holds the audit log's lock, so two processes never move it back). A home whose chain is
shorter than that head, or holds another line at its number, was rolled back
(:func:`rollback`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import keyring
import keyring.errors

from desktop.core.common.errors import AuditError

_VALUE = re.compile(r"^(\d+):([0-9a-f]{64})$")


class HeadUnavailable(AuditError):
    """The keyring cannot be read or written, or holds something that is no head."""


@dataclass(frozen=True)
class Head:
    """The head of a chain: ``count`` lines, the last of which hashes to ``hash``."""

    count: int
    hash: str


def head_user(home_id: str) -> str:
    """The keyring user name the audit head of the home ``home_id`` is kept under."""
    return f"audit-head:{home_id}"


class KeyringHead:
    """The head of one home's audit chain in the OS keyring (service ``service``)."""

    def __init__(self, service: str, home_id: str) -> None:
        self.service = service
        self.user = head_user(home_id)

    def read(self) -> Head | None:
        """The head last written, None if none was; raises :class:`HeadUnavailable`."""
        try:
            value = keyring.get_password(self.service, self.user)
        except Exception as exc:  # noqa: BLE001 - any keyring backend's failure (D-Bus, a locked collection)
            raise HeadUnavailable(_unreadable(exc)) from None
        if value is None:
            return None
        match = _VALUE.match(value)
        if match is None:
            raise HeadUnavailable("The system keyring's record of the audit head is damaged, so a rollback "
                                  "of this library cannot be checked.")
        return Head(int(match.group(1)), match.group(2))

    def write(self, head: Head) -> None:
        """Keep ``head``; raises :class:`HeadUnavailable`."""
        try:
            keyring.set_password(self.service, self.user, f"{head.count}:{head.hash}")
        except Exception as exc:  # noqa: BLE001 - any keyring backend's failure, reported as such
            raise HeadUnavailable(_unreadable(exc)) from None


def _unreadable(exc: Exception) -> str:
    kind = "locked" if isinstance(exc, keyring.errors.KeyringLocked) else "unavailable"
    return (f"The system keyring is {kind} ({type(exc).__name__}), so the audit head kept there "
            "cannot be used; unlock the keyring and try again.")


def rollback(stored: Head | None, head: Head, hash_at: Callable[[int], str | None]) -> str | None:
    """Why the chain whose head is ``head`` is behind ``stored`` (a rollback), or None.

    ``hash_at(n)`` is the hash of the chain's line ``n`` (None if it has none).
    """
    if stored is None or stored.count == 0:
        return None
    kept = f"the keyring's record says {stored.count} events ending in {stored.hash[:12]}"
    if head.count < stored.count:
        return (f"The library was rolled back: {kept}, the library has {head.count}. Events after "
                f"{head.count} are missing (a copy of an older library was put back?)")
    if hash_at(stored.count) != stored.hash:
        return (f"The library was rolled back: {kept}, and the library's event {stored.count} is another "
                "one. Events were lost and others recorded since (a copy of an older library was put "
                "back, then used?)")
    return None


def advance(store: KeyringHead, head: Head, hash_at: Callable[[int], str | None]) -> bool:
    """Move the kept head forward to ``head`` if ``head`` extends it; whether it moved.

    Never moves it back, nor onto another chain (a rolled-back home keeps being named). The
    caller holds the audit log's lock. Raises :class:`HeadUnavailable`.
    """
    stored = store.read()
    if stored is not None and (stored.count >= head.count or rollback(stored, head, hash_at)):
        return False
    store.write(head)
    return True
