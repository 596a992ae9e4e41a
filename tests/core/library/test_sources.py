"""Discovery of what to import, including the hostile cases the issue lists."""

from __future__ import annotations

import os
import shutil
import zipfile

import pydicom
import pytest

from desktop.core.library.sources import DirectoryRead, FileSource, Rejected, ZipMember, discover
from tests.conftest import pydicom_test_files

TF = pydicom_test_files()


def _split(found):
    found = list(found)
    sources = [f for f in found if isinstance(f, (FileSource, ZipMember))]
    rejected = {os.path.basename(r.label.split(" -> ")[-1]): r.reason for r in found if isinstance(r, Rejected)}
    return sources, rejected


def test_folders_are_walked_recursively_and_each_file_found_once(few_dicoms):
    sources, rejected = _split(list(discover([few_dicoms, few_dicoms / "ct"])))
    assert len(sources) == 5 and not rejected


def test_zip_members_are_read_in_place(tmp_path):
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(TF / "CT_small.dcm", "a/CT_small.dcm")
        zf.write(TF / "MR_small.dcm", "../../escape/MR_small.dcm")
        zf.writestr("nested.zip", b"PK")
    found = list(discover([archive]))
    members = sorted(s.member for s in found if isinstance(s, ZipMember))
    assert members == ["../../escape/MR_small.dcm", "a/CT_small.dcm"]
    assert any(isinstance(r, Rejected) and "zip inside a zip" in r.reason for r in found)
    assert not (tmp_path / "escape").exists()


def test_a_broken_zip_is_rejected(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    assert _split(discover([bad]))[1] == {"bad.zip": "not a readable .zip archive"}


def _dicomdir_copy(tmp_path):
    media = tmp_path / "cd"
    shutil.copytree(TF / "dicomdirtests" / "TINY_ALPHA", media)
    return media


def test_dicomdir_entries_are_followed(tmp_path):
    media = _dicomdir_copy(tmp_path)
    found = list(discover([media / "DICOMDIR"]))
    sources, rejected = _split(found)
    directory = [f for f in found if isinstance(f, DirectoryRead)]
    assert directory and directory[0].entries == len(sources) > 0
    assert not rejected


def test_dicomdir_entries_pointing_outside_are_not_followed(tmp_path):
    media = _dicomdir_copy(tmp_path)
    secret = tmp_path / "outside.dcm"
    shutil.copy(TF / "CT_small.dcm", secret)
    ds = pydicom.dcmread(media / "DICOMDIR")
    images = [r for r in ds.DirectoryRecordSequence if "ReferencedFileID" in r]
    images[0].ReferencedFileID = ["..", "outside.dcm"]
    os.symlink(secret, media / "LINKOUT")
    images[1].ReferencedFileID = "LINKOUT"
    ds.save_as(media / "DICOMDIR")
    found = list(discover([media / "DICOMDIR"]))
    reasons = [r.reason for r in found if isinstance(r, Rejected)]
    assert sum("outside its folder" in r for r in reasons) == 2
    assert not any(isinstance(s, FileSource) and s.path == str(secret) for s in found)


def test_symlink_loops_end_with_a_reason(tmp_path):
    root = tmp_path / "tree"
    (root / "a").mkdir(parents=True)
    shutil.copy(TF / "CT_small.dcm", root / "a" / "ct.dcm")
    os.symlink(root, root / "a" / "back-to-root")
    os.symlink("self", root / "self")
    sources, rejected = _split(list(discover([root])))
    assert len(sources) == 1
    assert "symlink loop" in rejected["back-to-root"]
    assert "symlink loop" in rejected["self"]


def test_fifos_are_skipped_never_opened(tmp_path):
    fifo = tmp_path / "pipe.dcm"
    os.mkfifo(fifo)
    assert _split(discover([tmp_path]))[1] == {"pipe.dcm": "not a regular file (device, FIFO or socket)"}


def test_missing_paths_are_reported(tmp_path):
    assert "does not exist" in _split(discover([tmp_path / "nope"]))[1]["nope"]


@pytest.mark.skipif(os.geteuid() == 0,
                    reason="root reads every file; tests/app/library/test_import.py drops its capabilities instead")
def test_unreadable_folder_is_reported(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        assert "permission denied" in _split(discover([tmp_path]))[1]["locked"]
    finally:
        locked.chmod(0o700)


def test_a_dicomdir_entry_that_is_a_symlink_loop_is_rejected(tmp_path):
    media = _dicomdir_copy(tmp_path)
    ds = pydicom.dcmread(media / "DICOMDIR")
    [r for r in ds.DirectoryRecordSequence if "ReferencedFileID" in r][0].ReferencedFileID = "LOOP"
    ds.save_as(media / "DICOMDIR")
    os.symlink("LOOP", media / "LOOP")
    for target in (media / "DICOMDIR", media):
        reasons = _split(discover([target]))[1]
        assert "symlink loop" in reasons["LOOP"]


def test_zip_entries_in_a_method_python_cannot_read_are_rejected(tmp_path):
    archive = tmp_path / "deflate64.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.write(TF / "CT_small.dcm", "a.dcm")
        zf.write(TF / "MR_small.dcm", "b.dcm")
    blob = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("b.dcm")
    # Patch method 9 (Deflate64, as Windows Explorer writes) in the local and central headers.
    blob[info.header_offset + 8 : info.header_offset + 10] = (9).to_bytes(2, "little")
    central = blob.rfind(b"PK\x01\x02")
    blob[central + 10 : central + 12] = (9).to_bytes(2, "little")
    archive.write_bytes(bytes(blob))
    found = list(discover([archive]))
    assert [s.member for s in found if isinstance(s, ZipMember)] == ["a.dcm"]
    assert "Deflate64" in _split(found)[1]["deflate64.zip::b.dcm"]


def test_links_out_of_the_folder_chosen_are_not_followed_unless_asked(tmp_path):
    root, elsewhere = tmp_path / "tree", tmp_path / "elsewhere"
    (root / "a").mkdir(parents=True)
    elsewhere.mkdir()
    shutil.copy(TF / "CT_small.dcm", root / "a" / "ct.dcm")
    shutil.copy(TF / "MR_small.dcm", elsewhere / "mr.dcm")
    os.symlink(elsewhere, root / "to-elsewhere")  # a folder outside
    os.symlink(elsewhere / "mr.dcm", root / "mr-link.dcm")  # a file outside
    os.symlink(root / "a" / "ct.dcm", root / "ct-link.dcm")  # inside: the same file, found once
    sources, rejected = _split(list(discover([root])))
    assert len(sources) == 1 and os.path.basename(sources[0].path) in ("ct.dcm", "ct-link.dcm")
    assert "outside the folder chosen" in rejected["to-elsewhere"]
    assert "outside the folder chosen" in rejected["mr-link.dcm"]
    sources, rejected = _split(list(discover([root], follow_links_out=True)))
    assert len(sources) == 2 and not rejected
