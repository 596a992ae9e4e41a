"""Use case: check a Veil home end to end (index integrity, every object whole)."""

from __future__ import annotations

from dataclasses import dataclass, field

from desktop.app.library.home import VeilHome
from desktop.core.common.errors import ObjectStoreError
from desktop.core.library.consents import form_objects
from desktop.core.library.database import rollback


@dataclass
class CheckReport:
    integrity: str = ""
    objects_checked: int = 0
    damaged: list[str] = field(default_factory=list)  # SOP Instance UIDs are not shown: row ids
    unreferenced: int = 0
    pruned: int = 0

    @property
    def ok(self) -> bool:
        return self.integrity == "ok" and not self.damaged


def check_home(home: VeilHome, verify_objects: bool = True, prune: bool = False) -> CheckReport:
    """Integrity of the index, every indexed object whole, and objects nothing refers to.

    ``prune`` deletes those unreferenced objects (originals left by an import that crashed
    before indexing them): they hold someone's data for no purpose. It runs under the index's
    write lock, which imports also hold while they rename objects into place.
    """
    report = CheckReport()
    conn = home.connect()
    try:
        report.integrity = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        rows = conn.execute("SELECT id, object_sha256 FROM instances ORDER BY id").fetchall()
        forms = form_objects(conn)
    finally:
        conn.close()
    referenced = {home.objects.path_for(sha).name for sha in forms}  # scanned consent forms
    for row_id, sha in rows:
        referenced.add(home.objects.path_for(sha).name)
        if not verify_objects:
            continue
        report.objects_checked += 1
        try:
            home.objects.read(sha, verify=True)
        except ObjectStoreError as exc:
            report.damaged.append(f"instance #{row_id}: {exc}")
    for n, sha in enumerate(forms if verify_objects else [], start=1):
        report.objects_checked += 1
        try:
            home.objects.read(sha, verify=True)
        except ObjectStoreError as exc:
            report.damaged.append(f"consent form {n}: {exc}")
    report.unreferenced = sum(1 for p in home.objects.iter_object_paths() if p.name not in referenced)
    if prune and report.unreferenced:
        report.pruned = _prune(home)
    return report


def _prune(home: VeilHome) -> int:
    conn = home.connect()
    try:
        conn.execute("BEGIN IMMEDIATE")
        referenced = {home.objects.path_for(sha).name
                      for (sha,) in conn.execute("SELECT object_sha256 FROM instances")}
        referenced |= {home.objects.path_for(sha).name for sha in form_objects(conn)}
        pruned = 0
        for path in list(home.objects.iter_object_paths()):
            if path.name not in referenced:
                path.unlink()
                pruned += 1
        conn.execute("COMMIT")
        if pruned:
            home.record(conn, "objects.pruned", count=pruned)
        return pruned
    except BaseException:
        rollback(conn)
        raise
    finally:
        conn.close()
