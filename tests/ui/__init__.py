"""Tests of the desktop UI (pytest-qt, offscreen)."""
