"""``library.sqlite``: the encrypted index (SQLCipher), WAL mode, foreign keys, migrations.

Migrations are numbered SQL files in ``migrations/`` (``0001_initial.sql`` ...). The number of
the last one applied is SQLite's ``user_version``; each runs in its own transaction.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import sqlcipher3.dbapi2 as sqlcipher

from desktop.core.common.disk_full import DiskFullError, is_disk_full
from desktop.core.common.errors import LibraryError
from desktop.core.common.portable import BINARY

if TYPE_CHECKING:
    import sqlite3

    # sqlcipher3 ships no type information; it is the standard library's sqlite3 module built
    # against SQLCipher, with the same classes and methods.
    Connection: TypeAlias = sqlite3.Connection
    Cursor: TypeAlias = sqlite3.Cursor
    DatabaseError: TypeAlias = sqlite3.DatabaseError
else:
    Connection = sqlcipher.Connection
    Cursor = sqlcipher.Cursor
    DatabaseError = sqlcipher.DatabaseError
IntegrityError = sqlcipher.IntegrityError
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str]]:
    """(number, SQL) of every migration shipped, in order."""
    found = []
    for entry in resources.files("desktop.core.library").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise LibraryError("Veil's schema migrations are not numbered 1, 2, 3, ... without gaps.")
    return found


def connect(path: Path, key: bytes) -> Connection:
    """Open (or create) the encrypted index at ``path`` and bring its schema up to date."""
    if not Path(path).exists():
        # Owner-only from the first byte; SQLite gives the -wal and -shm files the same mode.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | BINARY, 0o600))
    conn: Connection = sqlcipher.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        # Temp tables and sorts stay in memory: no plaintext spill files.
        conn.execute("PRAGMA temp_store = MEMORY")
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except DatabaseError as exc:
            if is_disk_full(exc, Path(path).parent):  # SQLite could not make its -shm or -wal file
                raise DiskFullError(
                    f"The disk holding the Veil library ({Path(path).parent}) is full: library.sqlite cannot be "
                    "opened. Free some room on that disk and try again.") from exc
            raise LibraryError(
                "library.sqlite cannot be opened with this library's key "
                "(wrong key, or the file is damaged)."
            ) from None
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise LibraryError("library.sqlite could not be switched to WAL mode.")
        conn.execute("PRAGMA foreign_keys = ON")
        # FULL: a commit is on disk before Veil writes the audit line that reports it.
        conn.execute("PRAGMA synchronous = FULL")
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def inserted_id(cursor: Cursor) -> int:
    """The id SQLite gave the row the INSERT just run on ``cursor`` added."""
    row_id = cursor.lastrowid
    if row_id is None:  # no INSERT ran on this cursor
        raise TypeError("no row was inserted")
    return row_id


def schema_version(conn: Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def rollback(conn: Connection) -> None:
    """Take back the open transaction, if one is open (SQLite may already have rolled it back,
    e.g. on a full disk); a failing rollback never replaces the error that led here."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except DatabaseError:  # the original error is the one worth reporting
            pass


def migrate(conn: Connection) -> int:
    """Apply the migrations not yet applied; returns the resulting schema version."""
    known = migrations()
    current = schema_version(conn)
    if current > len(known):
        raise LibraryError(
            f"This library was written by a newer Veil (schema {current}); "
            f"this Veil knows schema {len(known)}. Update Veil to open it."
        )
    for number, sql in known[current:]:
        conn.execute("BEGIN IMMEDIATE")
        if schema_version(conn) >= number:  # another process applied it meanwhile
            conn.execute("ROLLBACK")
            continue
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise
    return schema_version(conn)


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (migrations use no semicolons inside strings)."""
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]
