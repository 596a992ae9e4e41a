"""Veil's data files: de-identification tables and profiles, templates, icons (package data)."""
