"""What a start (and ``veil check --repair``) does about work a crash interrupted:
settle the write-ahead intents of processes that are gone (:mod:`desktop.app.durability.write_ahead`),
audit disclosures stored without their audit line, and sweep staging folders nobody holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from desktop.app.consent.disclosing import audit_unaudited, store_recovered
from desktop.app.durability.write_ahead import (
    ABANDONED,
    STAGING_PREFIXES,
    disclosure_of,
    leftovers,
    mark,
    output_complete,
    owner_alive,
    pending_intents,
    pid_alive,
    remove_paths,
    temps_of,
    transaction,
)
from desktop.app.library.home import VeilHome
from desktop.core.common.liveness import token_alive


@dataclass
class Recovery:
    """What :func:`recover` and :func:`sweep` did, in words for ``veil check --repair``."""

    recovered: int = 0  # outputs found complete and accounted for now
    abandoned: int = 0  # outputs that never completed, removed
    audited: int = 0  # disclosures whose audit line was missing, written now
    removed: list[str] = field(default_factory=list)  # leftovers removed (paths)

    @property
    def anything(self) -> bool:
        return bool(self.recovered or self.abandoned or self.audited or self.removed)

    def lines(self) -> list[str]:
        out = []
        if self.recovered:
            out.append(f"{self.recovered} export(s) interrupted after their output was complete: "
                       "now accounted for as disclosures (audited as recovered)")
        if self.abandoned:
            out.append(f"{self.abandoned} export(s) interrupted before their output was complete: "
                       "what they had started was removed")
        if self.audited:
            out.append(f"{self.audited} disclosure(s) had no audit line: written now")
        if self.removed:
            out.append(f"{len(self.removed)} leftover temp file(s) or folder(s) of interrupted work removed")
        return out


def recover(home: VeilHome) -> Recovery:
    """Settle every intent left pending by a process that no longer runs (see the module)."""
    result = Recovery()
    conn = home.connect()
    try:
        pending = pending_intents(conn)
    finally:
        conn.close()
    live = {p.id for p in pending if owner_alive(home, p.owner, p.pid)}
    # Folders a live process writes into (its target, or the folder of its target file): the
    # temps found there may be its own.
    busy = {path for p in pending if p.id in live for path in (p.target, p.target.parent)}
    for p in pending:
        if p.id in live:
            continue
        if any(b == p.target or p.target in b.parents for b in busy):
            continue  # a live export writes there too: settled at a start when it is done
        if output_complete(p):
            remove_paths([Path(p.staging)] if p.staging else [], result.removed)
            remove_paths(temps_of(p, busy), result.removed)
            if store_recovered(home, p.id, disclosure_of(p.payload["disclosure"]) if p.payload.get("disclosure")
                               else None, p.payload.get("audit")):
                result.recovered += 1
            continue
        remove_paths(leftovers(p, busy), result.removed)
        conn = home.connect()
        try:
            with transaction(conn):
                settled = mark(conn, p.id, ABANDONED)
            if settled:  # not already settled by another process recovering at the same time
                home.record(conn, "export.abandoned", kind=p.kind, intent=p.id, removed=len(result.removed))
        finally:
            conn.close()
        result.abandoned += settled
    result.audited = audit_unaudited(home)
    result.removed.extend(sweep(home))
    return result


def sweep(home: VeilHome) -> list[str]:
    """Remove staging folders under ``VEIL_HOME/tmp`` whose process is gone (the folder is
    listed before the intents are read: an intent is always committed before its folder is
    made, so a folder in use is never taken for a leftover)."""
    tmp = home.path / "tmp"
    try:
        entries = [e for e in tmp.iterdir() if e.name.startswith(STAGING_PREFIXES)]
    except FileNotFoundError:
        return []
    conn = home.connect()
    try:
        live = {str(staging) for staging, pid, owner in conn.execute(
            "SELECT staging, pid, owner FROM write_intents WHERE state = 'pending'")
            if owner_alive(home, str(owner), int(pid))}
    finally:
        conn.close()
    removed: list[str] = []
    for entry in entries:
        if str(entry) in live:
            continue
        parts = entry.name.split("-")
        token = parts[1] if len(parts) >= 3 else ""
        if "x" in token and token_alive(tmp, token):
            continue  # a live process's, not yet named by an intent
        if token.isdigit() and pid_alive(int(token)):
            continue  # an older version's, named by its pid
        remove_paths([entry], removed)
    return removed
