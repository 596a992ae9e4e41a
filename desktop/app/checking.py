"""Use case: check a Veil home end to end (index integrity, every object whole)."""

from __future__ import annotations

from dataclasses import dataclass, field

from desktop.app.home import VeilHome
from desktop.core.errors import ObjectStoreError


@dataclass
class CheckReport:
    integrity: str = ""
    objects_checked: int = 0
    damaged: list[str] = field(default_factory=list)  # SOP Instance UIDs are not shown: row ids
    unreferenced: int = 0

    @property
    def ok(self) -> bool:
        return self.integrity == "ok" and not self.damaged


def check_home(home: VeilHome, verify_objects: bool = True) -> CheckReport:
    report = CheckReport()
    conn = home.connect()
    try:
        report.integrity = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        rows = conn.execute("SELECT id, object_sha256 FROM instances ORDER BY id").fetchall()
    finally:
        conn.close()
    referenced = set()
    for row_id, sha in rows:
        referenced.add(home.objects.path_for(sha).name)
        if not verify_objects:
            continue
        report.objects_checked += 1
        try:
            home.objects.read(sha)
        except ObjectStoreError as exc:
            report.damaged.append(f"instance #{row_id}: {exc}")
    report.unreferenced = sum(1 for p in home.objects.iter_object_paths() if p.name not in referenced)
    return report
