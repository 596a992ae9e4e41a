"""The user's own keys and the address book of colleagues packages are encrypted to."""
