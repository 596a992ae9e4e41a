"""Use cases: what a person can do with Veil, for the CLI and the GUI alike. No Qt here."""
