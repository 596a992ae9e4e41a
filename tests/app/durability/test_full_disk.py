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

from desktop.app.deid.deidentifying import deidentify_paths
from desktop.app.library.home import VeilHome
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


def test_the_cli_says_the_disk_is_full_and_exits_non_zero(tmp_path, small_disk, veil_cli):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 60, "Smith^Anna", "MRN-1001")
    assert veil_cli("consent", "add", "--site-wide", "--not-required", "Teaching file policy v3",
                    "--purpose", "teaching").returncode == 0
    done = veil_cli("deid", "--purpose", "teaching", str(src), str(small_disk / "out"))
    assert done.returncode == 1
    assert "is full" in done.stdout and "unexpected error" not in done.stdout + done.stderr
    assert not [p for p in (small_disk / "out").rglob("*") if p.is_file()]


# -- slides (folder and zip) and consent add on a full disk (issue 15) ---------------------------
import errno  # noqa: E402
import zipfile  # noqa: E402

import pydicom  # noqa: E402
import sqlcipher3.dbapi2 as sqlcipher  # noqa: E402 - the index's driver (its errors)

from desktop.app.consent import consenting  # noqa: E402
from desktop.app.share.slides import export_slides  # noqa: E402
from desktop.core.common.disk_full import DiskFullError, Reserve, is_disk_full  # noqa: E402
from desktop.core.consent import EVERY_PATIENT, Basis, ConsentRecord, Purpose, Scope  # noqa: E402


def _mount(where: Path, size: str) -> None:
    """A tmpfs of ``size`` at ``where`` (root only; the test skips, saying why, otherwise)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")


def _fill(disk: Path, leave: int) -> Path:
    """A file taking all the room on ``disk`` but ``leave`` bytes."""
    filler = disk / "filler"
    stats = os.statvfs(disk)
    os.close(os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600))
    fd = os.open(filler, os.O_WRONLY)
    try:
        os.posix_fallocate(fd, 0, max(stats.f_bfree * stats.f_frsize - leave, 4096))
    finally:
        os.close(fd)
    return filler


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def _actions(home: Path) -> list[dict]:
    return [json.loads(line) for line in (home / "audit.log").read_text().splitlines()]


def _consistent(veil_cli) -> None:  # noqa: ANN001
    """``veil check`` and ``veil audit verify`` pass, and nothing is left in the home's tmp."""
    checked, verified = veil_cli("check"), veil_cli("audit", "verify")
    assert checked.returncode == 0 and "unreferenced: 0" in checked.stdout, checked.stdout + checked.stderr
    assert verified.returncode == 0 and "OK" in verified.stdout, verified.stdout + verified.stderr


@pytest.fixture
def slides_library(tmp_path: Path, veil_cli) -> str:  # noqa: ANN001
    """A library (the ``veil_cli`` home) with a 20-image CT study (slides of ~180 KB) that a site
    policy allows for teaching; the study's UID."""
    paths = write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "in", 20, "Smith^Anna", "MRN-1001")
    assert veil_cli("import", str(tmp_path / "in")).returncode == 0
    assert veil_cli("consent", "add", "--site-wide", "--not-required", "Teaching file policy v3",
                    "--purpose", "teaching").returncode == 0
    return str(pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID)


@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
def test_slides_on_a_full_disk_stop_name_it_and_leave_nothing(tmp_path, small_disk, veil_cli, slides_library, zipped):
    filler = _fill(small_disk, 64 * 1024)
    target = small_disk / "deck" / "slides.zip" if zipped else small_disk / "out"
    where = ["--zip", str(target)] if zipped else [str(target)]
    done = veil_cli("slides", "--study", slides_library, "--purpose", "teaching", *where)
    assert done.returncode == 1, done.stdout + done.stderr
    folder = target.parent if zipped else target
    assert f"the disk holding {folder} is full (the slides need about " in done.stdout
    assert "Nothing was written" in done.stdout and "unexpected error" not in done.stdout + done.stderr
    assert "recorded in the accounting" not in done.stdout
    assert _files(small_disk) == [filler] and not target.exists()  # no partial zip, PNG or staged file
    assert not list((tmp_path / "home" / "tmp").iterdir())
    actions = _actions(tmp_path / "home")
    assert actions[-1]["action"] == "slides.export" and actions[-1]["outcome"] == "failed-disk-full"
    assert actions[-1]["written"] == 0 and not [a for a in actions if a["action"] == "disclosure"]
    filler.unlink()
    _consistent(veil_cli)
    again = veil_cli("slides", "--study", slides_library, "--purpose", "teaching", *where)
    assert again.returncode == 0 and "Wrote 20 slide images" in again.stdout  # with room, the same export works
    if zipped:
        assert len(zipfile.ZipFile(target).namelist()) == 20


def test_slides_renamed_into_place_are_removed_when_the_disk_fills_half_way(veil_home, tmp_path, monkeypatch):
    """A full disk while the staged slides are renamed into place (making a case folder):
    the slides already renamed go too; nothing is recorded as disclosed."""
    write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "in", 4, "Smith^Anna", "MRN-1001")
    home = VeilHome.open()
    from desktop.app.library.importing import import_paths

    import_paths(home, [tmp_path / "in"])
    study = pydicom.dcmread(next((tmp_path / "in").iterdir()), stop_before_pixels=True).StudyInstanceUID
    out = tmp_path / "out"
    real_replace, calls = os.replace, []

    def replace(src, dst):  # noqa: ANN001, ANN202
        if str(dst).startswith(str(out)) and dst.name.endswith(".png"):
            calls.append(dst)
            if len(calls) == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    report = export_slides(home, [study], teaching(home), out)
    monkeypatch.undo()
    assert len(calls) == 3 and report.disk_full > 0 and not report.files and report.disclosure is None
    assert "the disk holding" in report.headline() and not out.exists()
    assert home.verify_audit().ok


@pytest.fixture
def library_disk(tmp_path: Path, veil_cli) -> Path:  # noqa: ANN001
    """The ``veil_cli`` home on a tmpfs of its own (8 MB), with a study imported."""
    home = tmp_path / "home"
    _mount(home, "8m")
    try:
        write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "in", 3, "Smith^Anna", "MRN-1001")
        assert veil_cli("import", str(tmp_path / "in")).returncode == 0
        yield home
    finally:
        subprocess.run(["umount", "-l", str(home)], capture_output=True)


@pytest.mark.parametrize(("leave", "form"), [(0, False), (200 * 1024, False), (300 * 1024, True)],
                         ids=["no-room", "200KB", "300KB-with-form"])  # fails opening, holding room, storing
def test_consent_add_on_a_full_disk_records_nothing_and_says_so(tmp_path, veil_cli, library_disk, leave, form):
    scan = tmp_path / "form.pdf"
    scan.write_bytes(b"%PDF-1.4\n" + os.urandom(40_000))
    before = (library_disk / "audit.log").read_text()
    filler = _fill(library_disk, leave)
    done = veil_cli("consent", "add", "--site-wide", "--not-required", "Teaching file policy v3",
                    "--purpose", "teaching", *(["--form", str(scan)] if form else []))
    assert done.returncode == 1, done.stdout + done.stderr
    assert (f"The disk holding the Veil library ({library_disk}) is full; the consent was not recorded. "
            "Free about ") in done.stderr and "MB and try again." in done.stderr
    assert "unexpected error" not in done.stdout + done.stderr and "ROLLBACK" not in done.stderr
    assert not list((library_disk / "tmp").iterdir())  # no staged form, no reserve left behind
    filler.unlink()
    assert (library_disk / "audit.log").read_text() == before
    assert veil_cli("consent", "list").stdout.strip() == "No consent records."
    _consistent(veil_cli)  # no orphan sealed form ("unreferenced: 0"), the audit intact
    assert veil_cli("consent", "add", "--site-wide", "--not-required", "Teaching file policy v3", "--purpose",
                    "teaching", *(["--form", str(scan)] if form else [])).returncode == 0  # with room, it works
    _consistent(veil_cli)


def _policy() -> ConsentRecord:
    return ConsentRecord(basis=Basis.NOT_REQUIRED, scope=Scope(EVERY_PATIENT), purposes=frozenset({Purpose.TEACHING}),
                         obtained_on=__import__("datetime").date(2020, 1, 1), recorded_by="tests", policy="Policy")


def test_a_record_whose_audit_line_cannot_be_written_is_taken_back(veil_home, tmp_path, monkeypatch):
    home = VeilHome.open()
    scan = tmp_path / "form.pdf"
    scan.write_bytes(b"%PDF-1.4\n" + os.urandom(1000))
    real_record = VeilHome.record

    def record(self, conn, action, change=None, /, **details):  # noqa: ANN001, ANN202
        if action == "consent.add":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_record(self, conn, action, change, **details)

    monkeypatch.setattr(VeilHome, "record", record)
    with pytest.raises(DiskFullError, match=r"is full; the consent was not recorded\. Free about 1\.0 MB"):
        consenting.add_consent(home, _policy(), form=scan)
    assert consenting.consents_of(home) == []
    conn = home.connect()
    try:
        assert conn.execute("SELECT count(*) FROM consent_forms").fetchone()[0] == 0
    finally:
        conn.close()
    assert not list(home.objects.iter_object_paths()) and not list(home.objects.tmp.iterdir())
    monkeypatch.undo()
    consenting.add_consent(home, _policy(), form=scan)
    assert len(consenting.consents_of(home)) == 1 and home.verify_audit().ok


def test_what_counts_as_a_full_disk(tmp_path):
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied")) and not is_disk_full(None)
    sqlite_full = sqlcipher.OperationalError("database or disk is full")
    assert is_disk_full(sqlite_full) and not is_disk_full(sqlcipher.OperationalError("no such table: x"))
    try:  # a failing ROLLBACK raised while handling the full disk still counts as one
        try:
            raise sqlite_full
        except sqlcipher.OperationalError:
            raise sqlcipher.OperationalError("cannot rollback - no transaction is active")  # noqa: B904 - the implicit context is what is tested
    except sqlcipher.OperationalError as exc:
        assert is_disk_full(exc)
    io_error = sqlcipher.OperationalError("disk I/O error")  # SQLite growing its -shm file on a full disk
    assert not is_disk_full(io_error) and not is_disk_full(io_error, tmp_path)  # this disk has room

def test_room_held_back_is_given_back(small_disk):
    with pytest.raises(OSError) as failed, Reserve(small_disk / "r", 2 << 20):  # more than the disk holds
        pass
    assert is_disk_full(failed.value) and not (small_disk / "r").exists()
    with Reserve(small_disk / "r", 256 * 1024) as room:
        assert (small_disk / "r").stat().st_size == 256 * 1024
        room.release()
        assert not (small_disk / "r").exists()


# -- import onto a full disk (issue 15) ------------------------------------------------------------
from desktop.app.library.checking import check_home  # noqa: E402
from desktop.app.library.importing import headline, import_paths  # noqa: E402

#: 800 files of 1.4 KB (4 KB each on tmpfs): a few batches fit on the 1 MB disk, not all of them.
IMPORT_FILES = 800


def _small_files(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "SC_rgb_small_odd.dcm", src, IMPORT_FILES, "Smith^Anna", "MRN-1001")
    return src


def _indexed(home: VeilHome) -> int:
    conn = home.connect()
    try:
        return conn.execute("SELECT count(*) FROM instances").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_an_import_onto_a_full_disk_stops_counts_what_happened_and_leaves_nothing(tmp_path, small_disk, workers):
    src = _small_files(tmp_path)
    home = VeilHome.open(small_disk / "home")
    report = import_paths(home, [src], workers=workers)
    assert report.disk_full and 0 < report.imported < IMPORT_FILES and not report.rejected
    assert report.imported + report.unfinished == IMPORT_FILES == report.total
    text = headline(report)
    assert f"the disk holding the Veil library ({small_disk / 'home'}) is full" in text
    assert "KB more" in text or "MB more" in text  # about how much it needed
    assert f"Imported {report.imported} new instances" in text and f"{report.unfinished} files not imported" in text
    assert _indexed(home) == report.imported  # what was committed stays, and is what was counted
    assert list((small_disk / "home" / "tmp").iterdir()) == []  # no sealed temp left
    check = check_home(home)
    assert check.ok and check.unreferenced == 0  # no object the index does not know
    assert home.verify_audit().ok
    lines = [json.loads(line) for line in home.audit_path.read_text().splitlines()]
    end = [line for line in lines if line.get("action") == "import"][-1]
    assert end["outcome"] == "failed-disk-full" and end["imported"] == report.imported
    # With room again, the same import adds the rest.
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    again = import_paths(home, [src], workers=workers)
    assert not again.disk_full and again.imported == report.unfinished
    assert _indexed(home) == IMPORT_FILES


def test_the_cli_import_onto_a_full_disk_says_so_and_exits_non_zero(tmp_path, small_disk, veil_cli):
    src = _small_files(tmp_path)
    done = veil_cli("--home", str(small_disk / "home"), "import", str(src))
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert f"the disk holding the Veil library ({small_disk / 'home'}) is full" in done.stdout
    assert "unexpected error" not in out and "Traceback" not in out and "already in the library" not in out
    imported = int(done.stdout.split("Imported ", 1)[1].split(" ", 1)[0])
    assert 0 < imported < IMPORT_FILES and f"{IMPORT_FILES - imported} files not imported" in done.stdout
    # A disk with room to open the library but not to add one file: nothing imported, non-zero.
    _fill(small_disk, leave=96 << 10)
    done = veil_cli("--home", str(small_disk / "home"), "import", str(tmp_path / "in"))
    out = done.stdout + done.stderr
    assert done.returncode == 1 and "is full" in out, out
    assert "unexpected error" not in out and "Traceback" not in out and "Nothing new" not in out
