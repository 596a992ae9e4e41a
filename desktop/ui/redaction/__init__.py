"""Redact mode in the viewer: paint masks, detect text, apply."""
