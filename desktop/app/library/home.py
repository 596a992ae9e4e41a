"""A Veil home opened for work: keys unlocked, index connected, objects and audit ready.

``VEIL_HOME`` (default: the platform's user data folder) holds ``library.sqlite`` (SQLCipher),
``objects/`` (sealed originals), ``audit.log`` (hash chain) and ``keystore.json`` (how the key
is kept; never the key itself in clear).

The audit trail (HIPAA 45 CFR 164.312(b)): the index is its source. :meth:`VeilHome.record` commits each line
there first, then appends it to ``audit.log`` and moves the head kept in the OS keyring
forward (:mod:`desktop.core.audit.head`). A crash or a full disk in between leaves the file
behind, never disagreeing: :meth:`VeilHome.sync_audit` (after every event, at every open and
before every verification) writes what it lacks from the index.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import keyring
from keyring.backends import fail as keyring_fail

from desktop.app.platform.paths import platform_paths
from desktop.core.audit import AuditLog, Verification, mirror, verify_log
from desktop.core.audit import head as audit_head
from desktop.core.audit.log import GENESIS, line_hash
from desktop.core.common import file_locks
from desktop.core.common.disk_full import DiskFullError, is_disk_full
from desktop.core.common.faults import fault_point
from desktop.core.common.portable import BINARY
from desktop.core.keys import LibraryKeys, PassphrasePrompt, open_library_keys
from desktop.core.keys.keystore import KEYRING_SERVICE
from desktop.core.library import database, index
from desktop.core.library.object_store import ObjectStore

log = logging.getLogger("veil.audit")


#: A change to the index made in the same transaction as the audit line about it.
Change = Callable[[database.Connection], None]


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The Veil home: ``explicit``, else ``$VEIL_HOME``, else the user data folder."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get("VEIL_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return Path(platform_paths(platform.system()).user_data)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | BINARY, 0o600)
    try:
        file_locks.lock(fd)
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
    def open(cls, path: str | os.PathLike[str] | None = None, prompt: PassphrasePrompt | None = None) -> VeilHome:
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
        opened.sync_audit()  # a crash or a full disk may have left audit.log behind the index
        return opened

    def connect(self) -> database.Connection:
        """A new connection to the index (one per thread)."""
        return database.connect(self.database_path, self.keys.database_key)

    def record(self, conn: database.Connection, action: str, change: Change | None = None, /,
               **details: object) -> int:
        """Record an audit event chained onto the last one this library wrote; its sequence number.

        The line is committed in the index first (whose write lock serialises writers across
        processes), then appended to ``audit.log``. A full disk before the commit records
        nothing and raises :class:`DiskFullError`; after it the event stands and the file
        catches up at the next event or open. ``change``, if given, makes the change the event
        is about in the same transaction: no crash can keep one without the other. ``change`` is
        given by position, so that no detail of the event can be taken for it.
        """
        conn.execute("BEGIN IMMEDIATE")
        try:
            if change is not None:
                change(conn)
            after = index.last_audit_line(conn) or (0, GENESIS)
            seq, line = self.audit.compose(action, after, **details)
            index.add_audit_line(conn, seq, line_hash(line), line)
            conn.execute("COMMIT")
        except BaseException as exc:
            _rollback(conn)
            if is_disk_full(exc):
                raise DiskFullError(
                    f"The disk holding the Veil library ({self.path}) is full, so an audit event could not "
                    "be recorded and nothing of it was kept. Free some space on that disk and try again."
                ) from exc
            raise
        fault_point("audit.committed")
        self.sync_audit(conn)
        return seq

    def sync_audit(self, conn: database.Connection | None = None) -> mirror.CatchUp | None:
        """Bring ``audit.log`` level with the index, and the keyring's head with the index's.

        Never raises for a full disk or a locked keyring: that is logged (without content) and
        the next event or open tries again. What it did, or None if the file could not be
        written. Bytes of a line cut short that Veil never wrote are removed, and their size
        and SHA-256 recorded (``audit.torn_line_dropped``).
        """
        own = conn is None
        conn = self.connect() if conn is None else conn
        try:
            try:
                with mirror.locked(self.audit_path) as fd:
                    done = mirror.catch_up(fd, lambda seq: [mirror.IndexLine(*row)
                                                            for row in index.audit_lines_from(conn, seq)])
                    self._advance_head(conn)
            except OSError as exc:
                log.warning("audit.log could not be brought level with the library (%s); "
                            "retried at the next event", exc.strerror or type(exc).__name__)
                return None
            if done.dropped is not None:
                self.record(conn, "audit.torn_line_dropped", bytes=len(done.dropped),
                            sha256=line_hash(done.dropped))
            return done
        finally:
            if own:
                conn.close()

    def _head_store(self) -> audit_head.KeyringHead | None:
        """Where the head is kept outside the home: the system keyring, wherever one exists,
        whatever keeps the library key (a home moved to a passphrase to dodge the check is still
        held to the head the keyring remembers)."""
        if isinstance(keyring.get_keyring(), keyring_fail.Keyring):
            return None
        return audit_head.KeyringHead(KEYRING_SERVICE, self.keys.home_id)

    def _advance_head(self, conn: database.Connection) -> None:
        store = self._head_store()
        last = index.last_audit_line(conn)
        if store is None or last is None:
            return
        try:
            audit_head.advance(store, audit_head.Head(*last), lambda seq: index.audit_line_hash(conn, seq))
        except audit_head.HeadUnavailable as exc:
            log.warning("the audit head was not kept in the keyring: %s", exc)

    def verify_audit(self) -> Verification:
        """Check ``audit.log`` against the index (every line the index holds, byte for byte,
        in order; the chain), and the index's head against the keyring's (a rollback)."""
        self.sync_audit()
        conn = self.connect()
        try:
            anchors = index.audit_anchors(conn)
            try:
                in_file = self.audit_path.read_bytes().count(b"\n")
            except FileNotFoundError:
                in_file = 0
            texts = {seq: text for seq, _, text in index.audit_lines_from(conn, in_file + 1) if text is not None}
            result = verify_log(self.audit_path, anchors, texts)
            return self._check_rollback(conn, result)
        finally:
            conn.close()

    def _check_rollback(self, conn: database.Connection, result: Verification) -> Verification:
        store = self._head_store()
        if store is None:
            return replace(result, message=f"{result.message}. Rollback cannot be checked on this machine: the "
                           "machine has no system keyring, so nothing outside this folder remembers how far "
                           "the audit trail reached.")
        try:
            stored = store.read()
        except audit_head.HeadUnavailable as exc:
            return replace(result, message=f"{result.message}. Rollback cannot be checked on this machine. {exc}")
        if stored is None:
            return replace(result, message=f"{result.message}. Rollback cannot be checked yet: the system keyring "
                           "holds no record of this library's audit trail (it is kept from the next event on).")
        head = audit_head.Head(*(index.last_audit_line(conn) or (0, GENESIS)))
        rolled = audit_head.rollback(stored, head, lambda seq: index.audit_line_hash(conn, seq))
        if rolled is None:
            return replace(result, rollback_checked=True, message=f"{result.message}; no rollback: the system "
                           f"keyring's record of the trail ({stored.count} events) matches the library")
        details = "" if result.ok else f" Also, in audit.log: {result.message}"
        first = result.first_bad_line if not result.ok else min(head.count, stored.count) + (head.count < stored.count)
        return replace(result, ok=False, rollback_checked=True, rolled_back=True, message=rolled + details,
                       first_bad_line=first)


def _rollback(conn: database.Connection) -> None:
    """End the failed transaction without hiding why it failed (a ROLLBACK can fail too, on a
    full disk or after SQLite already rolled back)."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except database.DatabaseError:
            pass
