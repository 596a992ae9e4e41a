"""A full disk is an ordinary error (issue 15, first step: de-identification to a folder).

The output folder sits on a small tmpfs the test mounts (root only; otherwise it skips, saying
why): the export stops, names the disk that is full and about how much it needed, leaves no
partial file behind, and is recorded as failed in the audit log."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from desktop.app.deidentifying import deidentify_paths
from desktop.app.home import VeilHome
from desktop.core.deid.profiles import preset
from tests.conftest import pydicom_test_files, teaching, write_series


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 1 MB tmpfs, mounted for the test and unmounted after."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    where = tmp_path / "small"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_full_disk_stops_the_export_names_it_and_leaves_nothing(veil_home, tmp_path, small_disk, workers):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 60, "Smith^Anna", "MRN-1001")  # ~2.3 MB out
    home = VeilHome.open()
    out = small_disk / "out"
    report = deidentify_paths(home, preset("teaching"), [src], out, workers=workers, purpose=teaching(home))
    assert report.refused and report.disk_full and report.written == 0
    headline = report.headline()
    assert f"the disk holding {out} is full" in headline and "Nothing was written" in headline
    assert " MB" in headline  # about how much it needed
    assert [p for p in out.rglob("*") if p.is_file()] == []  # no partial file, no staged file
    lines = [json.loads(line) for line in home.audit_path.read_text().splitlines()]
    export = [line for line in lines if line.get("action") == "deid.export"][-1]
    assert export["outcome"] == "failed-disk-full" and export["written"] == 0
    assert home.verify_audit().ok


def test_the_cli_says_the_disk_is_full_and_exits_non_zero(tmp_path, small_disk, cli):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 60, "Smith^Anna", "MRN-1001")
    assert cli("consent", "add", "--site-wide", "--not-required", "Teaching file policy v3",
               "--purpose", "teaching").returncode == 0
    done = cli("deid", "--purpose", "teaching", str(src), str(small_disk / "out"))
    assert done.returncode == 1
    assert "is full" in done.stdout and "unexpected error" not in done.stdout + done.stderr
    assert not [p for p in (small_disk / "out").rglob("*") if p.is_file()]
