"""Nothing identifiable is readable at rest: not in the index, the objects, the log, temps."""

from __future__ import annotations

import secrets
from pathlib import Path

from desktop.app.browsing.catalogue import load_catalogue
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from tests.conftest import pydicom_test_files, write_series


def _all_bytes_under(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()]


def test_a_unique_patient_name_is_nowhere_under_veil_home(veil_home, tmp_path):
    family = "Qzx" + secrets.token_hex(6)
    name, pid = f"{family}^Ottilie", "PID" + secrets.token_hex(5)
    src = tmp_path / "src"
    files = write_series(pydicom_test_files() / "CT_small.dcm", src, 30, patient_name=name, patient_id=pid)
    needles = [family.encode(), pid.encode(), family.encode("utf-16-le"), family.upper().encode()]
    assert any(needles[0] in f.read_bytes() for f in files)  # the probe finds it where it is

    home = VeilHome.open(veil_home)
    report = import_paths(home, [src], workers=2)
    assert report.imported == 30
    # The library really holds it (it is encrypted, not absent)...
    assert any(s.patient_name == name for s in load_catalogue(home).studies)
    # ...and no byte under VEIL_HOME shows it: index, WAL, objects, audit log, keystore, temps.
    everything = _all_bytes_under(veil_home)
    assert {p.name for p, _ in everything} >= {"library.sqlite", "audit.log", "keystore.json"}
    for path, blob in everything:
        for needle in needles:
            assert needle not in blob, f"{needle!r} found in {path.relative_to(veil_home)}"
