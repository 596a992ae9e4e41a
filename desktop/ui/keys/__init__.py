"""Keys: the passphrase, the user's key card, the address book."""
