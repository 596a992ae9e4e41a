"""The idle lock: lock screen, hiding the other windows, its settings."""
