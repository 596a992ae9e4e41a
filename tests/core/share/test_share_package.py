"""Writing and opening packages: round trips, manifest, cancel and failure leave nothing,
no plaintext on disk during a write, memory that does not grow with the package."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

import pytest

from desktop.core.common.errors import Cancelled
from desktop.core.share.errors import ExportError
from desktop.core.share.manifest import key_fingerprint
from desktop.core.share.reader import open_package
from desktop.core.share.writer import write_package

from .conftest import FAST_SCRYPT


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_round_trip_to_recipients(make_package, tmp_path, alice, bob, mallory, dicom_files,
                                  details):
    package = make_package(recipients=[bob.card, alice.card.age_recipient])
    assert package.read_bytes().startswith(b"age-encryption.org/v1\n")
    opened = open_package(package, tmp_path / "stage", identities=[bob.identity])
    assert opened.sender == alice.card and opened.sender_fingerprint == alice.card.fingerprint
    manifest = opened.manifest
    assert manifest.details == details
    assert manifest.encryption == "x25519"
    assert [(r.age_recipient, r.fingerprint, r.name) for r in manifest.recipients] == [
        (bob.card.age_recipient, bob.card.fingerprint, "Dr Bob Receiver"),
        (alice.card.age_recipient, key_fingerprint(alice.card.age_recipient), "")]
    assert not opened.arrival.forwarded and opened.arrival.stanzas == 2
    assert set(opened.files) == {"README.txt", "DICOMDIR"} | {n for n, _ in dicom_files}
    for name, source in dicom_files:
        assert _sha(opened.files[name]) == _sha(source)
    for record in manifest.files:
        assert _sha(opened.files[record.path]) == record.sha256
    readme = opened.files["README.txt"].read_text()
    assert "age -d -i key.txt" in readme and alice.card.fingerprint in readme
    # the bare age1 recipient (Alice herself here) can open it too
    assert open_package(package, tmp_path / "again", identities=[alice.identity.age_secret])
    assert not any(p.name.endswith(".partial") for p in tmp_path.iterdir())


def test_round_trip_with_passphrase(make_package, tmp_path):
    package = make_package(passphrase="long enough passphrase")
    opened = open_package(package, tmp_path / "stage", passphrase="long enough passphrase")
    assert opened.manifest.encryption == "passphrase" and not opened.manifest.recipients
    assert (tmp_path / "stage" / "DICOMDIR").is_file()


def test_progress_covers_both_passes(make_package, dicom_files):
    seen = []
    make_package(progress=lambda done, total: seen.append((done, total)))
    total = 2 * sum(p.stat().st_size for _, p in dicom_files)
    assert seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.parametrize("stop_after", [1, 4])  # during the hashing pass, during the writing
def test_cancel_leaves_no_file(make_package, tmp_path, stop_after):
    calls = []
    with pytest.raises(Cancelled):
        make_package(cancelled=lambda: calls.append(1) or len(calls) >= stop_after)
    assert not list(tmp_path.glob("*.veil*"))


@pytest.mark.parametrize("change", ["rewrite", "truncate"])
def test_source_changing_while_writing_fails_and_leaves_no_file(make_package, tmp_path,
                                                                 dicom_files, change):
    victim = tmp_path / "changing.bin"  # longer than pass 2 reads ahead (8 MiB)
    victim.write_bytes(os.urandom(24 << 20))
    files = [*dicom_files, ("previews/changing.bin", victim)]
    total_sources = sum(p.stat().st_size for _, p in files)

    def change_it(done: int, total: int) -> None:
        if total_sources + (1 << 20) < done < total_sources + (2 << 20):  # second pass
            time.sleep(0.02)  # past the file system's coarse timestamp tick
            with open(victim, "r+b") as fh:
                if change == "truncate":
                    fh.truncate(2 << 20)
                else:
                    fh.seek(-10, os.SEEK_END)
                    fh.write(b"0123456789")

    with pytest.raises(ExportError, match="changed while it was being packaged"):
        make_package(files=files, progress=change_it)
    assert not list(tmp_path.glob("*.veil*"))


def test_a_full_disk_fails_cleanly(make_package, tmp_path, monkeypatch):
    import errno

    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "writev", full)  # through the page cache
    monkeypatch.setattr(os, "write", full)  # with O_DIRECT
    with pytest.raises(ExportError, match="No space left on device"):
        make_package()
    assert not list(tmp_path.glob("*.veil*"))


@pytest.mark.parametrize("files, message", [
    ([], "at least one DICOM"),
    ([("DICOM/../x", None)], "unsafe name"),
    ([("DICOM/d000/im1", None)], "PS3.10 names"),
    ([("manifest.json", None)], "at least one DICOM"),
    ([("DICOM/A", "dup"), ("DICOM/A", "dup")], "twice"),
    ([("DICOM/A", "not-dicom")], "not a DICOM file"),
    ([("DICOM/A", "missing")], "cannot be read"),
])
def test_bad_inputs_are_refused_with_a_reason(make_package, tmp_path, dicom_files, files,
                                              message):
    junk = tmp_path / "junk.txt"
    junk.write_text("not dicom")
    paths = {None: dicom_files[0][1], "dup": dicom_files[0][1], "not-dicom": junk,
             "missing": tmp_path / "Doe^John" / "gone.dcm"}
    with pytest.raises(ExportError, match=message) as caught:
        make_package(files=[(n, paths[p]) for n, p in files])
    assert "Doe^John" not in str(caught.value)  # a source path may name the patient
    assert not list(tmp_path.glob("*.veil*"))


def test_sender_card_must_match_identity_and_output_must_be_new(tmp_path, alice, bob,
                                                                dicom_files, details):
    with pytest.raises(ExportError, match="does not belong"):
        write_package(tmp_path / "a.veil", dicom_files, details, alice.identity, bob.card,
                      recipients=[bob.card])
    (tmp_path / "b.veil").write_bytes(b"old")
    with pytest.raises(ExportError, match="already exists"):
        write_package(tmp_path / "b.veil", dicom_files, details, alice.identity, alice.card,
                      recipients=[bob.card])
    with pytest.raises(ExportError, match="recipients"):
        write_package(tmp_path / "c.veil", dicom_files, details, alice.identity, alice.card,
                      recipients=[bob.card], passphrase="both")


def test_no_plaintext_touches_disk_while_writing(make_package, tmp_path, monkeypatch,
                                                 dicom_files):
    watched_tmp = tmp_path / "tmp"
    watched_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(watched_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(watched_tmp))
    markers = [b"PK\x03\x04\x14\x00\x00\x08", b"PK\x01\x02", b"\x00" * 16 + b"DICM",
               b"CompressedSamples", b"veil-package-manifest", b"DICOMDIR"]
    scans = []

    def scan(done: int, total: int) -> None:
        assert list(watched_tmp.iterdir()) == []
        for path in tmp_path.iterdir():
            if path.is_file():
                assert path.name.endswith(".veil.partial"), path.name
                data = path.read_bytes()
                assert not data or data.startswith(b"age-encryption.org/v1\n")
                assert not any(marker in data for marker in markers)
                scans.append(len(data))

    filler = tmp_path / "sources" / "filler.bin"  # more than the writer may queue (5 MiB)
    filler.parent.mkdir()
    filler.write_bytes(os.urandom(16 << 20))
    package = make_package(progress=scan, files=[*dicom_files, ("previews/filler.bin", filler)])
    filler.unlink()
    assert scans and max(scans) > 1 << 20  # the partial file was seen growing
    data = package.read_bytes()
    assert not any(marker in data for marker in markers)
    assert list(watched_tmp.iterdir()) == []


def test_memory_does_not_grow_with_the_package(tmp_path, alice, bob, dicom_files, details):
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        for _ in range(48):
            fh.write(os.urandom(1 << 20))
    files = [*dicom_files, ("previews/big.bin", big)]
    out = tmp_path / "big.veil"
    tracemalloc.start()
    try:
        write_package(out, files, details, alice.identity, alice.card, recipients=[bob.card])
        written_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        open_package(out, tmp_path / "stage", identities=[bob.identity])
        opened_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert written_peak < 8 << 20, written_peak  # 48 MB went through
    assert opened_peak < 8 << 20, opened_peak


def test_scrypt_work_factor_default_is_ages():
    import inspect

    default = inspect.signature(write_package).parameters["scrypt_log_n"].default
    assert default == 18 and FAST_SCRYPT < default


def test_a_plain_archive_is_the_same_signed_file_set_without_encryption(tmp_path, alice,
                                                                         dicom_files, details):
    import shutil
    import subprocess
    import zipfile

    import pydicom

    from desktop.core.share.manifest import Manifest, check_signed_by_sender, verify_signature
    from desktop.core.share.writer import write_archive

    with pytest.raises(ExportError, match="NAME.zip"):
        write_archive(tmp_path / "case.veil", dicom_files, details, alice.identity, alice.card)
    written = write_archive(tmp_path / "case.zip", dicom_files, details, alice.identity, alice.card)
    assert written.size == (tmp_path / "case.zip").stat().st_size
    with zipfile.ZipFile(tmp_path / "case.zip") as archive:
        assert archive.testzip() is None
        archive.extractall(tmp_path / "out")
    out = tmp_path / "out"
    manifest = Manifest.from_bytes((out / "manifest.json").read_bytes())
    check_signed_by_sender(manifest, verify_signature((out / "manifest.json").read_bytes(),
                                                      (out / "manifest.sig").read_bytes()))
    assert manifest.encryption == "none" and manifest.recipients == ()
    for record in manifest.files:
        assert _sha(out / record.path) == record.sha256
    assert "not encrypted" in (out / "README.txt").read_text()
    records = pydicom.dcmread(out / "DICOMDIR").DirectoryRecordSequence
    files = {"/".join(r.ReferencedFileID) for r in records if "ReferencedFileID" in r}
    assert files == {name for name, _ in dicom_files}
    if shutil.which("dcmdump"):  # dcmtk reads the file-set's directory
        dump = subprocess.run(["dcmdump", str(out / "DICOMDIR")], capture_output=True, text=True)
        assert dump.returncode == 0 and "DirectoryRecordSequence" in dump.stdout
