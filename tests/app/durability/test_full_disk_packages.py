"""A full disk under a share package is an ordinary error (issue 15): writing one onto a full disk,
and opening one into a library whose disk is full. Each names the disk and about how much it
needed, leaves no partial file and no sealed temp, records no disclosure, imports nothing, and
leaves the library and its audit trail whole. The small disks are tmpfs mounts the tests make
(root only; otherwise they skip, saying why)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from desktop.app.browsing.catalogue import load_catalogue
from desktop.app.keys.identity import my_card
from desktop.app.library.checking import check_home
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.app.share.receiving import open_received
from desktop.app.share.sharing import ShareRequest, export_package
from desktop.core.common.disk_full import DiskFullError
from desktop.core.deid.profiles import preset
from tests.conftest import pydicom_test_files, teaching, write_series

PASSPHRASE = "correct horse battery staple"


def _mount(where: Path, size: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    where.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


@pytest.fixture
def mounts(tmp_path):
    made: list[Path] = []

    def mount(name: str, size: str) -> Path:
        where = tmp_path / name
        _mount(where, size)
        made.append(where)
        return where

    yield mount
    for where in made:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _fill(where: Path, leave: int) -> Path:
    """Fill the disk holding ``where`` until only about ``leave`` bytes are free."""
    filler = where / "filler"
    stats = os.statvfs(where)
    free = stats.f_bfree * stats.f_frsize
    with open(filler, "wb") as fh:
        fh.truncate(0)
        block = b"\0" * (64 << 10)
        remaining = max(0, free - leave)
        while remaining > 0:
            try:
                remaining -= fh.write(block[: min(len(block), remaining)])
            except OSError:
                break
    return filler


def _alice(tmp_path: Path) -> tuple[VeilHome, str]:
    alice = VeilHome.open(tmp_path / "alice")
    write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "in", 60, "Quisenberry^Marguerite", "QX4471902")
    import_paths(alice, [tmp_path / "in"])
    teaching(alice)
    return alice, load_catalogue(alice).studies[0].study_uid


def test_a_package_onto_a_full_disk_names_it_and_leaves_nothing(tmp_path, memory_keyring, mounts):
    alice, study = _alice(tmp_path)
    small = mounts("small", "1m")
    out = small / "case.veil"
    with pytest.raises(DiskFullError) as caught:
        export_package(alice, ShareRequest((study,), teaching(alice), out, preset("teaching"), passphrase=PASSPHRASE))
    message = str(caught.value)
    assert f"The disk holding {small} is full" in message and " MB" in message and "Nothing was written" in message
    assert list(small.iterdir()) == []  # no package, no .partial
    assert [p.name for p in (alice.path / "tmp").iterdir()] == []  # the sealed staging went too
    conn = alice.connect()
    try:
        assert conn.execute("SELECT count(*) FROM disclosures").fetchone()[0] == 0
        assert conn.execute("SELECT state FROM write_intents").fetchall() == [("abandoned",)]
    finally:
        conn.close()
    assert alice.verify_audit().ok


def test_opening_into_a_full_library_names_the_disk_and_imports_nothing(tmp_path, memory_keyring, mounts):
    alice, study = _alice(tmp_path)
    package = tmp_path / "case.veil"
    bob = VeilHome.open(mounts("bob-disk", "8m") / "bob")
    from desktop.app.keys.contacts import add_card

    add_card(alice, my_card(bob), name="Dr Bob", verified=True)
    request = ShareRequest((study,), teaching(alice), package, preset("teaching"), passphrase=PASSPHRASE)
    assert export_package(alice, request).package is not None
    filler = _fill(bob.path.parent, leave=256 << 10)  # room for an audit line, not for 60 images
    with pytest.raises(DiskFullError) as caught:
        open_received(bob, package, passphrase=PASSPHRASE)
    message = str(caught.value)
    assert f"The disk holding the Veil library ({bob.path}) is full" in message and " MB" in message
    assert "Nothing was imported" in message
    assert [p.name for p in (bob.path / "tmp").iterdir()] == []  # no sealed temp left
    filler.unlink()
    conn = bob.connect()
    try:
        assert conn.execute("SELECT count(*) FROM instances").fetchone()[0] == 0
    finally:
        conn.close()
    report = check_home(bob)
    assert report.ok and report.unreferenced == 0
    assert bob.verify_audit().ok


def test_redacted_copies_onto_a_full_disk_name_it_keep_nothing_and_fail(tmp_path, memory_keyring, mounts):
    from desktop.app.redaction.redacting_files import redact_paths

    home = VeilHome.open(tmp_path / "home")
    write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "in", 60, "Quisenberry^Marguerite", "QX4471902")
    small = mounts("small", "1m")
    with pytest.raises(DiskFullError) as caught:
        redact_paths(home, [tmp_path / "in"], small / "out", templates=[])
    message = str(caught.value)
    assert f"The disk holding {small / 'out'} is full" in message and " MB" in message and "Nothing was kept" in message
    assert [p for p in small.rglob("*") if p.is_file()] == []
    conn = home.connect()
    try:
        assert conn.execute("SELECT state FROM write_intents").fetchall() == [("abandoned",)]
    finally:
        conn.close()
