"""Teaching cases onto a full disk: a deck, slide images (folder or zip) and a teaching-file
ZIP each stop, name the disk, leave no partial file, record no disclosure and audit the
failure; with room, the same export then works."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pydicom
import pytest

from tests.app.durability.test_full_disk import _consistent, _files, _fill, _mount
from tests.conftest import pydicom_test_files, write_series


@pytest.fixture
def disk(tmp_path: Path):  # noqa: ANN201
    """A 24 MB tmpfs (room for the exports once the filler goes), unmounted after."""
    where = tmp_path / "small"
    where.mkdir()
    _mount(where, "24m")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture
def case_library(tmp_path: Path, veil_cli) -> None:  # noqa: ANN001
    """Case 1: a CT case with 12 key images (slides of ~180 KB each) that a site policy allows
    for teaching."""
    paths = write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "in", 12, "Smith^Anna", "MRN-1001")
    assert veil_cli("import", str(tmp_path / "in")).returncode == 0
    assert veil_cli("consent", "add", "--site-wide", "--not-required", "Teaching file policy v3",
                    "--purpose", "teaching").returncode == 0
    keys = [a for p in paths for a in ("--key", str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID))]
    study = str(pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID)
    made = veil_cli("case", "new", "--study", study, "--title", "Pneumothorax", "--diagnosis", "Pneumothorax", *keys)
    assert made.returncode == 0, made.stdout + made.stderr


@pytest.mark.parametrize("how", ["pptx", "slides", "zip", "unencrypted"])
def test_a_case_export_onto_a_full_disk_names_it_and_leaves_nothing(tmp_path, disk, veil_cli, case_library, how):
    filler = _fill(disk, 64 * 1024)
    target = disk / "out" / {"pptx": "deck.pptx", "slides": "slides", "zip": "slides.zip",
                                   "unencrypted": "case.zip"}[how]
    target.parent.mkdir()
    args = ["case", "export", "1", "--purpose", "teaching", f"--{how}", str(target)]
    done = veil_cli(*args)
    assert done.returncode == 1, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert "is full" in said and str(target.parent) in said, said
    assert "unexpected error" not in said and "Traceback" not in said
    assert _files(disk) == [filler] and not target.exists()  # no partial deck, image, zip or temp file
    assert not list((tmp_path / "home" / "tmp").iterdir())
    actions = [json.loads(line) for line in (tmp_path / "home" / "audit.log").read_text().splitlines()]
    assert not [a for a in actions if a["action"] == "disclosure"]
    filler.unlink()
    _consistent(veil_cli)
    again = veil_cli(*args)
    assert again.returncode == 0 and target.exists(), again.stdout + again.stderr
    assert [a for a in (json.loads(line) for line in (tmp_path / "home" / "audit.log").read_text().splitlines())
            if a["action"] == "disclosure"]
