"""What a start (and ``veil check --repair``) does about work a crash interrupted (issue 15):
settle the write-ahead intents of processes that are gone (:mod:`desktop.app.write_ahead`),
audit disclosures stored without their audit line, and sweep staging folders nobody holds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from desktop.app.disclosing import audit_unaudited, store_recovered
from desktop.app.home import VeilHome
from desktop.app.write_ahead import (
    ABANDONED,
    STAGING_PREFIXES,
    disclosure_of,
    leftovers,
    mark,
    output_complete,
    pending_intents,
    pid_alive,
    remove_paths,
    transaction,
)


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
    busy = {p.target for p in pending if pid_alive(p.pid) and p.pid != os.getpid()}
    for p in pending:
        if pid_alive(p.pid):
            continue
        if output_complete(p):
            remove_paths([Path(p.staging)] if p.staging else [], result.removed)
            store_recovered(home, p.id, disclosure_of(p.payload["disclosure"]) if p.payload.get("disclosure") else None,
                            p.payload.get("audit"))
            result.recovered += 1
        else:
            remove_paths(leftovers(p, busy), result.removed)
            conn = home.connect()
            try:
                with transaction(conn):
                    mark(conn, p.id, ABANDONED)
                home.record(conn, "export.abandoned", kind=p.kind, intent=p.id,
                            removed=len(result.removed))
            finally:
                conn.close()
            result.abandoned += 1
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
        live = {str(s) for s, pid in conn.execute(
            "SELECT staging, pid FROM write_intents WHERE state = 'pending'") if pid_alive(int(pid))}
    finally:
        conn.close()
    removed: list[str] = []
    for entry in entries:
        if str(entry) in live:
            continue
        owner = entry.name.split("-")
        if len(owner) >= 3 and owner[1].isdigit() and pid_alive(int(owner[1])):
            continue  # a live process's, not yet named by an intent
        remove_paths([entry], removed)
    return removed
