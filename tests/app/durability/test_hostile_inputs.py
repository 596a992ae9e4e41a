"""A folder of hostile inputs, made here, imported by the real ``veil import`` (issue 15, point 3).

Sparse and zero-filled files, deep and long sequences, too many elements, lying lengths, a
missing delimiter, elements out of order, an unknown VR, a zip bomb, zips inside a zip, a zip of
100,000 entries, symlink loops and escapes, a FIFO, unreadable files and folders, and names with
control characters, next to real images. The import finishes, names every bad file with its
reason (names escaped), prints no traceback, and imports the images. Its wall time and peak
memory are measured and printed (for docs/RELIABILITY.md); only the memory budget is asserted
(the peak RSS of the command and its workers, from getrusage), never the time. The subprocess
timeout is a hang guard, not a performance check.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from desktop.cli.support import safe
from desktop.core.dicom.input_budget import GiB
from tests import hostile
from tests.conftest import pydicom_test_files, write_series

TF = pydicom_test_files()
#: Real images in the folder (two of pydicom's, and a series made from one).
GOOD = 30
#: Runs the command given as its child and records the child's wall time and peak RSS (with its
#: workers': RUSAGE_CHILDREN covers every descendant that was waited for).
MEASURE = ("import json, os, resource, subprocess, sys, time\n"
           "t = time.perf_counter()\n"
           "code = subprocess.run(sys.argv[1:]).returncode\n"
           "json.dump({'seconds': time.perf_counter() - t,\n"
           "           'peak_rss_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024},\n"
           "          open(os.environ['VEIL_TEST_RUSAGE'], 'w'))\n"
           "sys.exit(code)\n")
#: Capabilities dropped so that root cannot read a mode-000 file (as test_import does).
DROP = "-dac_override,-dac_read_search"


def _drop_privileges() -> list[str] | None:
    """The prefix that makes a mode-000 file unreadable for the command, or None if there is none."""
    if os.geteuid() != 0:
        return []  # an ordinary user cannot read it anyway
    if shutil.which("setpriv") is None:
        return None
    return ["setpriv", f"--inh-caps={DROP}", f"--bounding-set={DROP}"]


def _veil(tmp_path: Path, *args: str, prefix: list[str] | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    """``veil ARGS`` as the ``cli`` fixture runs it (own VEIL_HOME, HOME, TMPDIR, no keyring),
    measured; the result and {seconds, peak_rss_mb}."""
    for name in ("home", "user", "tmp"):
        (tmp_path / name).mkdir(exist_ok=True)
    passfile = tmp_path / "pass"
    passfile.write_text("correct horse battery\n")
    usage = tmp_path / "rusage.json"
    env = dict(os.environ, VEIL_HOME=str(tmp_path / "home"), VEIL_PASSPHRASE_FILE=str(passfile),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", HOME=str(tmp_path / "user"),
               TMPDIR=str(tmp_path / "tmp"), XDG_CACHE_HOME=str(tmp_path / "user" / ".cache"),
               VEIL_TEST_RUSAGE=str(usage))
    done = subprocess.run([*(prefix or []), sys.executable, "-c", MEASURE, sys.executable, "-m", "desktop", *args],
                          env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                          cwd=Path(__file__).resolve().parents[3])
    return done, json.loads(usage.read_text())


def _rejection(stdout: str, label: str) -> str | None:
    """The reason ``veil import`` printed for ``label`` in its "Rejected:" list, or None."""
    listed = stdout.split("Rejected:\n", 1)[1] if "Rejected:\n" in stdout else ""
    start = f"  {safe(label)}: "
    return next((line[len(start):] for line in listed.splitlines() if line.startswith(start)), None)


def _zip_in_zip(path: Path, tmp_path: Path) -> None:
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.write(TF / "CT_small.dcm", "CT_small.dcm")
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(inner, "inner.zip")
        zf.write(inner, "disguised.dcm")  # a zip by its bytes, not by its name


def _many_entries(path: Path, count: int) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for n in range(count):
            zf.writestr(f"e/{n:06d}", b"")


def hostile_folder(tmp_path: Path, unreadable: bool) -> tuple[Path, dict[str, str]]:
    """The folder, and {path: what its rejection must say}."""
    root = tmp_path / "hostile"
    (root / "good").mkdir(parents=True)
    shutil.copy(TF / "CT_small.dcm", root / "good" / "CT_small.dcm")
    shutil.copy(TF / "MR_small.dcm", root / "good" / "MR_small.dcm")
    write_series(TF / "CT_small.dcm", root / "good" / "series", GOOD - 2)  # enough for the worker processes
    expect: dict[str, str] = {}

    def put(name: str, data: bytes, reason: str) -> None:
        (root / name).write_bytes(data)
        expect[str(root / name)] = reason

    if hostile.write_sparse(root / "sparse-4g.dcm", hostile.meta(), 4 * GiB):
        expect[str(root / "sparse-4g.dcm")] = "the file is 4.0 GiB, larger than the 2.0 GiB limit for one file"
        hostile.write_sparse(root / "sparse-1.5g.dcm", hostile.meta(), 3 * GiB // 2)
        expect[str(root / "sparse-1.5g.dcm")] = "the file is 1.5 GiB of which the data after the header is all zeros"
    else:
        (root / "sparse-4g.dcm").unlink()
    put("zeros-10m.dcm", bytes(10 << 20), "the file is 10.0 MiB of which the data is all zeros")
    put("deep.dcm", hostile.deep(200), "sequences nested more than 32 deep (limit 32)")
    put("long.dcm", hostile.many_items(200_000), "more than 100,000 sequence items (limit 100,000)")
    put("wide.dcm", hostile.many_elements(600_000), "more than 500,000 elements, items and fragments")
    put("lying.dcm", hostile.lying_pixel_data(), "Pixel Data (7FE0,0010) declares 4294967294 bytes but only 12 remain")
    put("undelimited.dcm", hostile.undelimited_sequence(), "has an undefined length and no delimiter")
    put("disorder.dcm", hostile.out_of_order(), "must be in ascending tag order")
    put("vr.dcm", hostile.unknown_vr(), "the VR 'QZ', which DICOM does not define")
    with zipfile.ZipFile(root / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.dcm", bytes(64 << 20))
    expect[f"{root / 'bomb.zip'}::zeros.dcm"] = "a zip bomb?"
    _zip_in_zip(root / "nest.zip", tmp_path)
    expect[f"{root / 'nest.zip'}::inner.zip"] = "a zip inside a zip"
    expect[f"{root / 'nest.zip'}::disguised.dcm"] = "a .zip archive inside a .zip archive"
    _many_entries(root / "many.zip", 100_000)
    expect[str(root / "many.zip")] = "the .zip archive holds 100,000 entries (limit 50,000)"
    links = root / "links"
    links.mkdir()
    os.symlink("b", links / "a")
    os.symlink("a", links / "b")
    os.symlink("..", links / "up")
    os.symlink("/etc", links / "etc")
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(TF / "rtplan.dcm", outside / "secret.dcm")
    os.symlink(outside / "secret.dcm", links / "secret.dcm")
    for name in ("a", "b"):
        expect[str(links / name)] = "symlink loop"
    expect[str(links / "up")] = "symlink loop: this folder was already visited"
    for name in ("etc", "secret.dcm"):
        expect[str(links / name)] = "a link to a place outside the folder chosen: not followed"
    os.mkfifo(root / "fifo.dcm")
    expect[str(root / "fifo.dcm")] = "not a regular file"
    if unreadable:
        shutil.copy(TF / "CT_small.dcm", root / "locked.dcm")
        os.chmod(root / "locked.dcm", 0)
        (root / "locked-dir").mkdir()
        shutil.copy(TF / "MR_small.dcm", root / "locked-dir" / "MR_small.dcm")
        os.chmod(root / "locked-dir", 0)
        expect[str(root / "locked.dcm")] = "cannot be read: permission denied"
        expect[str(root / "locked-dir")] = "cannot be read: permission denied"
    for name in ("new\nline.dcm", "esc\x1b[31mred.dcm", "bell\x07.dcm"):
        put(name, b"not an image at all\n", "not a DICOM file")
    return root, expect


def test_a_folder_of_hostile_inputs_imports_what_is_good_and_names_every_bad_file(tmp_path):
    prefix = _drop_privileges()
    root, expect = hostile_folder(tmp_path, unreadable=prefix is not None)
    try:
        done, usage = _veil(tmp_path, "import", "--progress", "--workers", "2", str(root), prefix=prefix)
    finally:
        for locked in (root / "locked.dcm", root / "locked-dir"):
            if locked.exists():
                os.chmod(locked, stat.S_IRWXU)
    print(f"\nhostile folder import: {usage['seconds']:.1f} s wall, peak RSS {usage['peak_rss_mb']:.0f} MB")
    print(done.stderr)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Traceback" not in out and "unexpected error" not in out
    assert "\x1b" not in out and "\x07" not in out  # control characters in names are shown escaped
    assert done.stdout.startswith(f"Imported {GOOD} new instances"), done.stdout  # the good images, nothing else
    for label, reason in expect.items():
        printed = _rejection(done.stdout, label)
        assert printed is not None, f"{safe(label)} is not named among the rejections:\n{done.stdout}"
        assert reason in printed, (label, printed)
    listed = done.stdout.split("Rejected:\n", 1)[1].splitlines()
    assert len([line for line in listed if not line.startswith("  (")]) == len(expect)  # nothing else rejected
    assert "--max-file-size raises the limit" in done.stdout
    assert "files/s" in done.stderr and "MB/s" in done.stderr  # --progress on a pipe
    assert usage["peak_rss_mb"] < 1024  # the memory budget: under 1 GB with the workers


def test_a_single_sparse_file_of_zeros_is_refused_at_once_even_under_a_larger_size_limit(tmp_path):
    big = tmp_path / "zeros.dcm"
    if not hostile.write_sparse(big, hostile.meta(), 4 * GiB):
        pytest.skip("this file system does not make sparse files")
    done, usage = _veil(tmp_path, "import", "--max-file-size", "8G", str(big))
    print(f"\nsparse 4 GiB single-file import: {usage['seconds']:.1f} s wall, peak RSS {usage['peak_rss_mb']:.0f} MB")
    assert done.returncode == 0, done.stderr
    assert _rejection(done.stdout, str(big)) == "the file is 4.0 GiB of which the data after the header is all zeros"
    assert usage["peak_rss_mb"] < 1024
