"""Importing: counts, idempotence, archives, DICOMDIRs, hostile input, the whole corpus."""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from desktop.app.browsing.catalogue import load_catalogue
from desktop.app.common.tasks import CancelToken
from desktop.app.library.checking import check_home
from desktop.app.library.importing import import_paths
from desktop.app.library.samples import sample_folders
from tests.conftest import pydicom_data_files, pydicom_test_files

TF = pydicom_test_files()


def test_a_folder_imports_into_patients_studies_series(home, few_dicoms):
    report = import_paths(home, [few_dicoms])
    assert (report.imported, report.already_present, report.rejected) == (5, 0, [])
    cat = load_catalogue(home)
    assert cat.counts.instances == 5
    ct = next(s for s in cat.studies if s.patient_id == "1CT1")
    assert (ct.modalities, ct.series_count, ct.image_count) == ("CT", 1, 1)
    series = cat.series_by_study[ct.study_ref][0]
    assert series.manufacturer == "GE MEDICAL SYSTEMS"


def test_importing_again_adds_nothing_and_says_so(home, few_dicoms):
    import_paths(home, [few_dicoms])
    again = import_paths(home, [few_dicoms])
    assert (again.imported, again.already_present) == (0, 5)
    assert again.nothing_new
    assert "already in the library" in again.summary()
    assert load_catalogue(home).counts.instances == 5
    assert sum(1 for _ in home.objects.iter_object_paths()) == 5


def test_zip_and_single_files(home, tmp_path):
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(TF / "CT_small.dcm", "x/CT_small.dcm")
        zf.writestr("x/readme.txt", "hello")
    report = import_paths(home, [archive, TF / "MR_small.dcm"])
    assert report.imported == 2
    assert [r.reason for r in report.rejected] == [
        "not a DICOM file: no 'DICM' prefix and the data does not parse as a DICOM dataset"]
    assert report.rejected[0].label.endswith("study.zip::x/readme.txt")


def test_a_dicomdir_imports_its_media(home, tmp_path):
    media = tmp_path / "cd"
    shutil.copytree(TF / "dicomdirtests" / "TINY_ALPHA", media)
    report = import_paths(home, [media / "DICOMDIR"])
    assert report.imported == report.directories[0].entries > 0
    assert report.rejected == []


def test_hostile_input_never_stops_the_batch_and_writes_only_in_veil_home(home, tmp_path, few_dicoms):
    bad = tmp_path / "bad"
    bad.mkdir()
    ct = (TF / "CT_small.dcm").read_bytes()
    (bad / "zero.dcm").write_bytes(b"")
    (bad / "truncated.dcm").write_bytes(ct[: len(ct) // 2])
    (bad / "random.dcm").write_bytes(b"\0" * 128 + b"DICM" + os.urandom(5000))
    patched = bytearray(ct)
    at = patched.find(b"\x10\x00\x10\x00PN")
    patched[at + 6 : at + 8] = b"\xf0\xff"
    (bad / "pastend.dcm").write_bytes(bytes(patched[: at + 300]))
    os.symlink(bad, bad / "loop")
    os.mkfifo(bad / "fifo")
    before = _snapshot(tmp_path, exclude=home.path)

    report = import_paths(home, [bad, few_dicoms])

    assert report.imported == 5
    reasons = {Path(r.label).name: r.reason for r in report.rejected}
    assert reasons["zero.dcm"] == "empty file (0 bytes)"
    assert reasons["truncated.dcm"].startswith("truncated")
    assert "File Meta Information" in reasons["random.dcm"]
    assert "declares 65520 bytes" in reasons["pastend.dcm"]
    assert "symlink loop" in reasons["loop"]
    assert "not a regular file" in reasons["fifo"]
    assert all("\n" not in r.reason for r in report.rejected)
    assert _snapshot(tmp_path, exclude=home.path) == before
    assert check_home(home).ok


def _snapshot(root: Path, exclude: Path) -> dict[str, str]:
    out = {}
    for dirpath, _dirnames, filenames in os.walk(root):
        if Path(dirpath).is_relative_to(exclude):
            continue
        for name in filenames:
            p = Path(dirpath) / name
            if p.is_file() and not p.is_symlink():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[str(p)] = "special"
    return out


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_unreadable_file_is_rejected_and_the_batch_goes_on(tmp_path):
    """Root reads everything, so drop its DAC capabilities for the import: a mode-000 file
    is then unreadable, as for any user."""
    import subprocess
    import sys

    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(TF / "CT_small.dcm", src / "ok.dcm")
    shutil.copy(TF / "MR_small.dcm", src / "secret.dcm")
    os.chmod(src / "secret.dcm", 0)
    passfile = tmp_path / "pass"
    passfile.write_text("correct horse battery")
    env = dict(os.environ, VEIL_HOME=str(tmp_path / "home"), VEIL_PASSPHRASE_FILE=str(passfile),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    drop = "-dac_override,-dac_read_search"
    done = subprocess.run(
        ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}",
         sys.executable, "-m", "desktop", "import", str(src)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Imported 1 new instance" in done.stdout
    assert "secret.dcm: cannot be read: permission denied" in done.stdout


def test_cancel_stops_between_files_and_keeps_what_was_done(home):
    token = CancelToken()
    seen = []

    def progress(done, total):
        seen.append(done)
        if done >= 3:
            token.cancel()

    report = import_paths(home, sample_folders(), progress=progress, cancel=token, workers=1)
    assert report.cancelled
    assert 3 <= report.imported + report.already_present + len(report.rejected) + len(report.duplicates) < report.total
    assert check_home(home).ok


@pytest.mark.slow
def test_every_file_of_pydicom_and_pydicom_data_is_imported_or_rejected_with_a_reason(home):
    roots = [TF.parent, pydicom_data_files()]  # pydicom/data (test_files, charsets, palettes)
    files = {str(p) for r in roots for p in r.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")}
    report = import_paths(home, roots)
    accounted: dict[str, str] = {}
    imported = check_home(home)
    assert imported.ok
    for r in report.rejected:
        assert r.reason and "\n" not in r.reason
        accounted[r.label.split(" -> ")[0].split("::")[0]] = r.reason
    for label in report.duplicates:
        accounted[label] = "duplicate"
    for label in report.already_present_files:
        accounted[label] = "already present"
    for d in report.directories:
        accounted[d.label] = "directory"
    conn = home.connect()
    stored = {row[0] for row in conn.execute("SELECT source_path FROM instances")}
    conn.close()
    for label in stored:
        accounted.setdefault(label, "imported")
    # Every file has exactly one outcome, named: imported, already present (pydicom and
    # pydicom-data hold a few identical files), duplicate, DICOMDIR read, or rejected + reason.
    assert files - set(accounted) == set()
    assert report.already_present >= 1
    assert report.imported >= 140


def test_a_worker_that_dies_does_not_lose_the_batch(home, tmp_path, monkeypatch):
    """A worker SIGKILLed mid-import (as the OOM killer does): the rest still imports."""
    import signal

    import desktop.app.library.importing as importing
    from tests.conftest import write_series

    src = tmp_path / "series"
    write_series(TF / "CT_small.dcm", src, 400)
    pools = []
    real_pool = importing._pool

    def spy_pool(*args):
        pools.append(real_pool(*args))
        return pools[-1]

    killed = []

    def progress(done, total):
        if done >= 40 and not killed and pools and pools[0]._processes:
            pid = next(iter(pools[0]._processes))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    monkeypatch.setattr(importing, "_pool", spy_pool)
    report = import_paths(home, [src], progress=progress, workers=2)
    assert killed
    assert report.imported == 400 and not report.rejected
    assert check_home(home).ok


def test_cancel_while_files_are_still_being_found_is_recorded_as_cancelled(home):
    token = CancelToken()
    token.cancel()
    report = import_paths(home, sample_folders(), cancel=token)
    assert report.cancelled and report.imported == 0
    conn = home.connect()
    assert conn.execute("SELECT cancelled FROM imports").fetchone()[0] == 1
    conn.close()
    assert '"cancelled":true' in home.audit_path.read_text()


def test_files_too_large_to_read_into_memory_are_memory_mapped(home, few_dicoms, monkeypatch):
    import desktop.core.library.ingest as ingest

    monkeypatch.setattr(ingest, "IN_MEMORY_LIMIT", 1000)  # every file takes the mmap path
    report = import_paths(home, [few_dicoms], workers=1)
    assert report.imported == 5 and not report.rejected
    assert check_home(home).ok
    truncated = few_dicoms.parent / "cut"
    truncated.mkdir()
    data = (few_dicoms / "ct" / "CT_small.dcm").read_bytes()
    (truncated / "cut.dcm").write_bytes(data[: len(data) - 1000])
    (truncated / "zero.dcm").write_bytes(b"")
    again = import_paths(home, [truncated], workers=1)
    reasons = sorted(r.reason for r in again.rejected)
    assert reasons[0] == "empty file (0 bytes)"
    assert reasons[1].startswith("truncated: Pixel Data")


def test_a_study_uid_shared_by_two_patients_is_never_merged(home, tmp_path):
    """Two patients' files with one Study Instance UID (a broken modality, a bad merge):
    merging would show Bob's images under Alice's name."""
    import pydicom
    from pydicom.uid import generate_uid

    study, series = generate_uid(), generate_uid()
    for name, pid, series_uid in [("Alpha^Alice", "A1", series), ("Bravo^Bob", "B2", generate_uid()),
                                  ("Charlie^Carl", "C3", series)]:
        ds = pydicom.dcmread(TF / "CT_small.dcm")
        ds.PatientName, ds.PatientID = name, pid
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study if pid != "C3" else generate_uid(), series_uid
        ds.save_as(tmp_path / f"{pid}.dcm")
    report = import_paths(home, [tmp_path / "A1.dcm", tmp_path / "B2.dcm", tmp_path / "C3.dcm"])
    assert report.imported == 1
    reasons = {Path(r.label).name: r.reason for r in report.rejected}
    assert "Study Instance UID already belongs to another patient" in reasons["B2.dcm"]
    assert "Series Instance UID already belongs to another study" in reasons["C3.dcm"]
    cat = load_catalogue(home)
    assert [(s.patient_name, s.image_count) for s in cat.studies] == [("Alpha^Alice", 1)]
    assert check_home(home).ok and check_home(home).unreferenced == 0


def test_objects_left_by_an_interrupted_import_can_be_pruned(home, few_dicoms):
    import hashlib

    import_paths(home, [few_dicoms])
    orphan = b"DICM" + os.urandom(1000)  # stored, never indexed: what a crash leaves
    home.objects.put_bytes(orphan, hashlib.sha256(orphan).hexdigest())
    before = check_home(home)
    assert before.ok and before.unreferenced == 1 and before.pruned == 0
    after = check_home(home, prune=True)
    assert after.pruned == 1
    final = check_home(home)
    assert final.ok and final.unreferenced == 0 and final.objects_checked == 5
    assert '"action":"objects.pruned"' in home.audit_path.read_text()
    assert home.verify_audit().ok


def test_a_long_temp_folder_path_does_not_stop_an_import(home, tmp_path, monkeypatch):
    # The worker pool's Unix socket lives under TMPDIR; a path past 107 bytes cannot be bound.
    import tempfile

    from tests.conftest import write_series

    long_tmp = tmp_path / ("t" * 90)
    long_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(long_tmp))
    src = tmp_path / "in"
    write_series(TF / "CT_small.dcm", src, 40, "Smith^Anna", "MRN-1001")
    report = import_paths(home, [src], workers=2)
    assert report.imported == 40 and not report.rejected


def test_a_study_with_no_image_to_show_says_so_in_the_listing(home, tmp_path):
    """A structured report alone: the browser says there is nothing to show before it is opened."""
    import shutil

    from desktop.app.browsing.catalogue import load_catalogue
    from tests.conftest import pydicom_test_files

    (tmp_path / "sr").mkdir()
    shutil.copy(pydicom_test_files() / "test-SR.dcm", tmp_path / "sr")
    shutil.copy(pydicom_test_files() / "CT_small.dcm", tmp_path / "sr")
    import_paths(home, [tmp_path / "sr"])
    studies = {s.modalities: s for s in load_catalogue(home).studies}
    assert studies["SR"].nothing_to_show and studies["SR"].displayable_count == 0
    assert not studies["CT"].nothing_to_show and studies["CT"].displayable_count == 1
