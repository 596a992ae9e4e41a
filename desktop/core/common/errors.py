"""One error hierarchy for Veil.

Every message is meant for a person: it says what went wrong and what to do, and it never
carries a patient identifier (names, IDs, UIDs, dates of the patient).
"""

from __future__ import annotations


class VeilError(Exception):
    """Base of every error Veil raises on purpose."""


class KeyStoreError(VeilError):
    """The library key cannot be found, created or unlocked."""


class WrongPassphraseError(KeyStoreError):
    """The passphrase does not unlock the library key."""


class KeyStoreAlteredError(KeyStoreError):
    """``keystore.json`` is not what Veil writes: edited, truncated or damaged."""


class LibraryError(VeilError):
    """The library on disk is missing, damaged or of an unknown version."""


class ObjectStoreError(LibraryError):
    """An object in ``objects/`` is missing, altered or cannot be decrypted."""


class AuditError(VeilError):
    """The audit log cannot be written or read."""


class Cancelled(VeilError):
    """The user cancelled a long operation."""
