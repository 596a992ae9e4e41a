"""Fixtures for Redact mode: the viewer's library (real images imported) serves here too."""

from __future__ import annotations

from tests.ui.viewer.conftest import library  # noqa: F401 - the fixture, shared with the viewer's tests
