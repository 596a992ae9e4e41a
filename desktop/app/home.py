"""A Veil home opened for work: keys unlocked, index connected, objects and audit ready.

``VEIL_HOME`` (default: the platform's user data folder) holds ``library.sqlite`` (SQLCipher),
``objects/`` (sealed originals), ``audit.log`` (hash chain) and ``keystore.json`` (how the key
is kept; never the key itself in clear).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from desktop.core.audit import AuditLog, Verification, verify_log
from desktop.core.audit.log import GENESIS
from desktop.core.keys import LibraryKeys, PassphrasePrompt, open_library_keys
from desktop.core.library import database, index
from desktop.core.library.object_store import ObjectStore


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The Veil home: ``explicit``, else ``$VEIL_HOME``, else the user data folder."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get("VEIL_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return platformdirs.user_data_path("veil", appauthor=False)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@dataclass
class VeilHome:
    """Everything a use case needs to work on one Veil home."""

    path: Path
    keys: LibraryKeys
    objects: ObjectStore
    audit: AuditLog

    @property
    def database_path(self) -> Path:
        return self.path / "library.sqlite"

    @property
    def audit_path(self) -> Path:
        return self.path / "audit.log"

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, prompt: PassphrasePrompt | None = None) -> "VeilHome":
        """Open (creating on first use) the home at ``path``; asks ``prompt`` only if needed."""
        home = resolve_home(path)
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Two first opens at once (the app and a script) must not each mint a key.
        with _exclusive(home / ".open.lock"):
            keys = open_library_keys(home, prompt)
            objects = ObjectStore(home / "objects", home / "tmp", keys.object_key, keys.object_name_key)
            objects.sweep_stale_temps()
            opened = cls(home, keys, objects, AuditLog(home / "audit.log", keys.audit_key))
            opened.connect().close()  # create or migrate the schema now, not mid-import
        return opened

    def connect(self) -> database.Connection:
        """A new connection to the index (one per thread)."""
        return database.connect(self.database_path, self.keys.database_key)

    def record(self, conn: database.Connection, action: str, **details: object) -> int:
        """Append an audit event chained onto the last one this library wrote, and anchor its
        hash in the index (the index's write lock serialises writers across processes); its
        sequence number."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            after = index.last_audit_line(conn) or (0, GENESIS)
            seq, digest = self.audit.append(action, after=after, **details)
            index.add_audit_line(conn, seq, digest)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return seq

    def verify_audit(self) -> Verification:
        conn = self.connect()
        try:
            anchors = index.audit_anchors(conn)
        finally:
            conn.close()
        return verify_log(self.audit_path, anchors)
