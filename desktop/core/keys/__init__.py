"""The library key: where it lives (OS keyring, or a passphrase-wrapped key) and what it derives."""

from desktop.core.keys.keystore import (
    LibraryKeys,
    PassphrasePrompt,
    keyring_available,
    open_library_keys,
    passphrase_from_file,
)

__all__ = [
    "LibraryKeys",
    "PassphrasePrompt",
    "keyring_available",
    "open_library_keys",
    "passphrase_from_file",
]
