"""Write-ahead records of what Veil writes outside the library, and what a restart
does with those a crash interrupted.

Every exit that writes a file or folder someone can take away (a share package, a
de-identified folder, slides, a PNG) first commits an *intent* in the index (table
``write_intents``): what it is about to write (``target``), where it builds it first
(``staging``), and, once it knows, the files that will become visible (``finals``) and the
disclosure to account for (a :class:`~desktop.core.library.disclosures.Disclosure`, stored
whole). The disclosure is stored in the same transaction that marks the intent done
(:func:`desktop.app.consent.disclosing.record_disclosure`), so there is no moment at which an output
is both complete and unaccounted for that a restart cannot see.

:func:`desktop.app.startup.recovery.recover` (on every start, and ``veil check --repair``) looks at the intents left
pending by a process that no longer runs:

- the output became visible (the package file is there, or every final file of a folder) →
  the disclosure is accounted for now, marked ``recovered``, and audited as such;
- it did not → what it started is removed (staging, ``*.partial``, ``.veil-partial-*`` temps,
  and final files of a folder that was only partly renamed into place), audited as
  ``export.abandoned``.

A send to a node (:data:`NETWORK_SEND`) leaves nothing to look at: it counts as visible once it
was marked *leaving* (:func:`mark_leaving`, committed before its first object is transmitted).

(:mod:`desktop.app.startup.recovery` does that, and sweeps what no intent names.)
HIPAA 45 CFR 164.528 (every disclosure accounted for), 164.312(b) (audit controls).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from desktop.app.library.home import VeilHome
from desktop.core.common.atomic_files import OUTPUT_TEMP_PREFIX
from desktop.core.common.disk_full import DiskFullError, is_disk_full
from desktop.core.common.liveness import token_alive
from desktop.core.common.portable import process_alive
from desktop.core.library.database import Connection, inserted_id, rollback
from desktop.core.library.disclosures import DisclosedItem, Disclosure
from desktop.core.share.file_sink import partial_path

log = logging.getLogger(__name__)

#: File times come from the kernel's coarse clock (a few ms behind the time Python reads).
COARSE_CLOCK = 0.05

PENDING, DONE, ABANDONED, RECOVERED = "pending", "done", "abandoned", "recovered"
#: Staging folders under VEIL_HOME/tmp that only a live process may hold.
STAGING_PREFIXES = ("share-", "open-", "slides-", "send-")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def owner_alive(home: VeilHome, owner: str, pid: int) -> bool:
    """Whether the process that holds an intent still runs: by its life token's lock
    (:mod:`desktop.core.common.liveness`), or by its pid for intents written before tokens."""
    if owner:
        return token_alive(home.path / "tmp", owner)
    return pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a process of another user counts as running)."""
    return process_alive(pid)


def staging_folder(home: VeilHome, prefix: str, token: str) -> Path:
    """``VEIL_HOME/tmp/<prefix>-<life token>-<token>``: the life token lets a later start tell
    that it is orphaned."""
    return home.path / "tmp" / f"{prefix}-{home.objects.owner}-{token}"


# -- the writing side ----------------------------------------------------------------------------
def begin(home: VeilHome, kind: str, target: Path, staging: Path | None = None) -> int:
    """Commit the intent to write ``target`` (built in ``staging``); its id. A full disk under
    the library raises :class:`DiskFullError` before anything is written."""
    try:
        conn = home.connect()
        try:
            with transaction(conn):
                cur = conn.execute(
                    "INSERT INTO write_intents (kind, target, staging, started, pid, owner) VALUES (?, ?, ?, ?, ?, ?)",
                    (kind, str(Path(target).absolute()), str(staging or ""), _now(), os.getpid(),
                     home.objects.owner))
                return inserted_id(cur)
        finally:
            conn.close()
    except Exception as exc:
        _raise_if_full(home, exc)
        raise


def _raise_if_full(home: VeilHome, exc: BaseException) -> None:
    if is_disk_full(exc, home.path):
        raise DiskFullError(f"The disk holding the Veil library ({home.path}) is full, so Veil cannot record "
                            "what it is about to write. Nothing was written; free some room and try again.") from exc


def expect(home: VeilHome, intent: int, finals: Sequence[str] = (), disclosure: Disclosure | None = None,
           audit: tuple[str, dict] | None = None, leaving: bool | None = None) -> None:
    """Before the output becomes visible: the files that will appear (relative to the target
    folder; none for a single file) and what to account for and audit if a crash follows.
    ``leaving``: a send (:data:`NETWORK_SEND`) says False here, then :func:`mark_leaving` just
    before its first object is transmitted."""
    target = _target_of(home, intent)
    payload: dict[str, object] = {
        "finals": list(finals),
        # Files already there (an earlier export to the same folder): never removed, and no
        # proof that this one completed.
        "kept": [name for name in finals if target is not None and (target / name).exists()],
        "disclosure": _disclosure_json(disclosure) if disclosure is not None else None,
        "audit": list(audit) if audit is not None else None}
    if leaving is not None:
        payload["leaving"] = leaving
    _store_payload(home, intent, payload)


def mark_leaving(home: VeilHome, intent: int) -> None:
    """A send's first object is about to be transmitted: committed before it goes, so a crash
    from here on is accounted for as a disclosure, and one before it (nothing reached the node)
    is not."""
    conn = home.connect()
    try:
        row = conn.execute("SELECT payload FROM write_intents WHERE id = ?", (intent,)).fetchone()
    finally:
        conn.close()
    payload = json.loads(str(row[0]) if row and row[0] else "{}")
    payload["leaving"] = True
    _store_payload(home, intent, payload)


def _store_payload(home: VeilHome, intent: int, payload: dict) -> None:
    try:
        conn = home.connect()
        try:
            with transaction(conn):
                conn.execute("UPDATE write_intents SET payload = ? WHERE id = ?", (json.dumps(payload), intent))
        finally:
            conn.close()
    except Exception as exc:
        _raise_if_full(home, exc)
        raise


def _target_of(home: VeilHome, intent: int) -> Path | None:
    conn = home.connect()
    try:
        row = conn.execute("SELECT target FROM write_intents WHERE id = ?", (intent,)).fetchone()
    finally:
        conn.close()
    return None if row is None else Path(str(row[0]))


def mark(conn: Connection, intent: int | None, state: str) -> bool:
    """Settle a pending intent inside the caller's transaction; False when it was not pending
    (another process settled it first: recovery running twice at once)."""
    if intent is None:
        return True
    cur = conn.execute("UPDATE write_intents SET state = ?, finished = ? WHERE id = ? AND state = 'pending'",
                       (state, _now(), intent))
    return cur.rowcount == 1


def settle(home: VeilHome, intent: int | None, state: str = DONE) -> None:
    """Settle an intent in a transaction of its own (done, or abandoned after a failure that
    already removed what it wrote)."""
    if intent is None:
        return
    try:
        conn = home.connect()
        try:
            with transaction(conn):
                mark(conn, intent, state)
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - left pending, the next start settles it
        log.warning("a write-ahead intent could not be settled (%s); the next start settles it",
                    type(exc).__name__)


class transaction:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __enter__(self) -> Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.conn.execute("COMMIT")
        else:
            rollback(self.conn)  # a failing rollback never hides the original failure


def _disclosure_json(d: Disclosure) -> dict:
    return dataclasses.asdict(d)


def _disclosed_item(item: dict[str, Any]) -> DisclosedItem:
    """An item back from JSON, whose lists were the item's tuples."""
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in item.items()}
    return DisclosedItem(**values)


def disclosure_of(data: dict) -> Disclosure:
    items = tuple(_disclosed_item(item) for item in data.get("items", ()))
    known = {f.name for f in dataclasses.fields(Disclosure)}
    fields = {k: v for k, v in data.items() if k in known and k != "items"}
    return Disclosure(**fields, items=items)


# -- the restart side ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PendingIntent:
    id: int
    kind: str
    target: Path
    staging: str
    pid: int
    owner: str
    payload: dict
    started: float  # seconds since the epoch

def pending_intents(conn: Connection) -> list[PendingIntent]:
    rows = conn.execute("SELECT id, kind, target, staging, pid, owner, payload, started FROM write_intents "
                        "WHERE state = 'pending' ORDER BY id").fetchall()
    out = []
    for ref, kind, target, staging, pid, owner, payload, started in rows:
        try:
            data = json.loads(payload or "{}")
        except ValueError:
            data = {}
        out.append(PendingIntent(int(ref), str(kind), Path(str(target)), str(staging), int(pid), str(owner), data,
                                 datetime.fromisoformat(str(started)).timestamp()))
    return out


#: The intent kind of a send to a DICOM node (:mod:`desktop.app.network.sending`).
NETWORK_SEND = "network.send"


def output_complete(p: PendingIntent) -> bool:
    """Whether the output of ``p`` became visible, whole."""
    finals = p.payload.get("finals") or []
    if p.payload.get("disclosure") is None and p.payload.get("audit") is None:
        return False  # it crashed before it knew what it would write: nothing was renamed yet
    if p.kind == NETWORK_SEND:  # nothing to look at on the node: accounted for once an object may have left
        return bool(p.payload.get("leaving", True))  # (an intent from before "leaving" was kept: it may have)
    if finals:  # every file in place, written since it began (one there before proves nothing)
        return all(_written_since(p.target / name, p.started) for name in finals)
    try:  # a file there before the export began (overwritten only at the end) is not its output
        written = p.target.stat().st_mtime >= p.started - COARSE_CLOCK
    except OSError:
        return False
    return written and p.target.is_file() and not partial_path(p.target).exists()


def remove_paths(paths: Iterable[Path], removed: list[str]) -> None:
    for path in paths:
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
            else:
                continue
        except OSError:
            continue
        removed.append(str(path))


def leftovers(p: PendingIntent, busy_targets: set[Path]) -> list[Path]:
    """What an interrupted ``p`` may have left: its staging, its partial file, the temps in its
    folder (unless a live process writes to the same folder), final files of a folder it only
    partly renamed into place."""
    out: list[Path] = []
    if p.staging:
        out.append(Path(p.staging))
    if p.target.is_symlink() or p.target.parent.is_symlink():
        return out  # not where it wrote any more: remove nothing there
    out.append(partial_path(p.target))
    out.extend(temps_of(p, busy_targets))
    kept = set(p.payload.get("kept") or [])
    for name in p.payload.get("finals") or []:
        if name in kept or ".." in Path(name).parts or Path(name).is_absolute():
            continue
        final = p.target / name
        if _through_link(p.target, final):
            continue  # a folder on its way became a link: not where it wrote
        if _written_since(final, p.started):  # a file there from before is not its output
            out.append(final)
    return out


def _through_link(root: Path, path: Path) -> bool:
    """Whether ``path`` (below ``root``) or a folder between them is a symbolic link."""
    here = path
    while here != root and root in here.parents:
        if here.is_symlink():
            return True
        here = here.parent
    return False


def temps_of(p: PendingIntent, busy: set[Path]) -> list[Path]:
    """The staged temps an interrupted ``p`` left in its target folder, unless a live process
    writes in that folder (or a folder inside it) too: then they may be that process's."""
    if not p.target.is_dir() or p.target.is_symlink():
        return []
    if any(b == p.target or p.target in b.parents for b in busy):
        return []
    found: list[Path] = []
    for folder, _dirs, files in os.walk(p.target, followlinks=False):  # never through a link
        found.extend(Path(folder) / f for f in files if f.startswith(OUTPUT_TEMP_PREFIX))
    return found


def _written_since(path: Path, started: float) -> bool:
    try:
        return path.is_file() and path.stat().st_mtime >= started - COARSE_CLOCK  # started: to the microsecond
    except OSError:
        return False
