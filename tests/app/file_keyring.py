"""A keyring backend for tests that run ``veil`` in a subprocess: secrets in a JSON file named
by ``VEIL_TEST_KEYRING`` (a test's temporary folder), never the user's keyring.

Selected with ``PYTHON_KEYRING_BACKEND=tests.app.file_keyring.FileKeyring``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring.backend


class FileKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def _path(self) -> Path:
        return Path(os.environ["VEIL_TEST_KEYRING"])

    def _load(self) -> dict[str, str]:
        try:
            return json.loads(self._path().read_text())
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\0{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        secrets = self._load()
        secrets[f"{service}\0{username}"] = password
        self._path().write_text(json.dumps(secrets))

    def delete_password(self, service: str, username: str) -> None:
        secrets = self._load()
        secrets.pop(f"{service}\0{username}", None)
        self._path().write_text(json.dumps(secrets))
