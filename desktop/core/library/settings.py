"""Small settings of a library (table ``settings``): text values by key.

The index is encrypted at rest; still, no secret belongs here (secrets live in the keyring
or a sealed file).
"""

from __future__ import annotations

from collections.abc import Mapping

from desktop.core.library.database import Connection


def get_setting(conn: Connection, key: str) -> str | None:
    """The value of ``key``, or None when it was never set."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def get_settings(conn: Connection, prefix: str) -> dict[str, str]:
    """Every setting whose key starts with ``prefix``."""
    rows = conn.execute("SELECT key, value FROM settings WHERE substr(key, 1, ?) = ?",
                        (len(prefix), prefix)).fetchall()
    return {str(k): str(v) for k, v in rows}


def set_settings(conn: Connection, values: Mapping[str, str]) -> None:
    """Set these keys (in one transaction of the caller's, or each on its own)."""
    conn.executemany("INSERT INTO settings (key, value) VALUES (?, ?) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                     [(k, str(v)) for k, v in values.items()])
