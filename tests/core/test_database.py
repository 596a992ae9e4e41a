from __future__ import annotations

import os
import stat

import pytest

from desktop.core.errors import LibraryError
from desktop.core.library import database

KEY = os.urandom(32)


def test_new_index_is_encrypted_wal_with_foreign_keys_and_all_migrations(tmp_path):
    path = tmp_path / "library.sqlite"
    conn = database.connect(path, KEY)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert database.schema_version(conn) == len(database.migrations()) >= 1
    conn.execute("INSERT INTO imports (started_at) VALUES ('x')")
    conn.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.read_bytes().startswith(b"SQLite format 3")


def test_wrong_key_is_a_clear_error(tmp_path):
    path = tmp_path / "library.sqlite"
    database.connect(path, KEY).close()
    with pytest.raises(LibraryError, match="cannot be opened with this library's key"):
        database.connect(path, os.urandom(32))


def test_a_library_from_a_newer_veil_is_refused(tmp_path):
    path = tmp_path / "library.sqlite"
    conn = database.connect(path, KEY)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(LibraryError, match="newer Veil"):
        database.connect(path, KEY)


def test_migrations_are_numbered_without_gaps():
    numbers = [n for n, _ in database.migrations()]
    assert numbers == list(range(1, len(numbers) + 1))


def test_foreign_keys_are_enforced(tmp_path):
    conn = database.connect(tmp_path / "library.sqlite", KEY)
    with pytest.raises(database.IntegrityError):
        conn.execute("INSERT INTO studies (patient_ref, study_uid) VALUES (12345, '1.2')")
