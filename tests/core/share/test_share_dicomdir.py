"""The in-memory DICOMDIR: pydicom's FileSet and dcmdump read it and its references resolve;
the quick header reader agrees with pydicom or steps aside."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import zlib
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.fileset import FileSet

from desktop.core.share.dicomdir import (
    DirectoryEntry,
    build_dicomdir,
    directory_entry,
    quick_directory_entry,
)
from desktop.core.share.member_names import dicom_member_name, is_dicom_file_id
from desktop.core.share.scan import Counter, scan
from desktop.core.share.sources import ChunkSource


def _file_set(tmp_path: Path, names: list[str], strip: tuple[str, ...] = ()) -> Path:
    instances = []
    for index, name in enumerate(names):
        file_id = dicom_member_name(index)
        assert is_dicom_file_id(file_id)
        target = tmp_path.joinpath(*file_id.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        dataset = pydicom.dcmread(get_testdata_file(name))
        for keyword in strip:
            if keyword in dataset:
                setattr(dataset, keyword, None)
        dataset.save_as(target)
        instances.append((file_id, pydicom.dcmread(target, stop_before_pixels=True)))
    (tmp_path / "DICOMDIR").write_bytes(build_dicomdir(instances))
    return tmp_path / "DICOMDIR"


def test_file_set_loads_and_every_reference_resolves(tmp_path):
    names = ["CT_small.dcm", "MR_small.dcm", "US1_J2KR.dcm", "rtdose.dcm", "emri_small.dcm"]
    dicomdir = _file_set(tmp_path, names)
    file_set = FileSet(dicomdir)
    assert len(file_set) == len(names)
    for instance in file_set:
        assert pydicom.dcmread(instance.path).SOPInstanceUID == instance.SOPInstanceUID
    kinds = {r.DirectoryRecordType for r in pydicom.dcmread(dicomdir).DirectoryRecordSequence}
    assert kinds == {"PATIENT", "STUDY", "SERIES", "IMAGE", "RT DOSE"}
    if shutil.which("dcmdump"):
        done = subprocess.run(["dcmdump", str(dicomdir)], capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout.count("refFileID") == len(names)
    if shutil.which("dciodvfy"):  # dicom3tools: every record has the attributes it needs (some
        # test files have empty Patient ID, Study ID or Instance Number, kept empty here)
        done = subprocess.run(["dciodvfy", str(dicomdir)], capture_output=True, text=True)
        problems = [line for line in (done.stdout + done.stderr).splitlines()
                    if line.startswith("Error") and "Empty attribute" not in line]
        assert problems == []


def test_emptied_type1_attributes_are_written_empty(tmp_path):
    dicomdir = _file_set(tmp_path, ["CT_small.dcm"], strip=("StudyID", "StudyDate",
                                                            "InstanceNumber", "SeriesNumber"))
    records = pydicom.dcmread(dicomdir).DirectoryRecordSequence
    study = next(r for r in records if r.DirectoryRecordType == "STUDY")
    assert study.StudyID in ("", None)
    assert len(FileSet(dicomdir)) == 1


def _local_test_files() -> list[Path]:
    """pydicom's and pydicom-data's own files (no download)."""
    import data_store
    import pydicom.data

    roots = [Path(pydicom.data.__file__).parent / "test_files",
             Path(data_store.__file__).parent / "data"]
    return sorted(f for root in roots for f in root.rglob("*") if f.is_file())


def _pydicom_entry(data: bytes) -> DirectoryEntry | None:
    try:
        header = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        header.file_meta.TransferSyntaxUID  # noqa: B018
        header.SOPClassUID  # noqa: B018
        header.SOPInstanceUID  # noqa: B018
        return directory_entry("DICOM/D000/IM000007", header)
    except Exception:  # noqa: BLE001 - not a PS3.10 file
        return None


def _same(quick: DirectoryEntry, slow: DirectoryEntry) -> bool:
    levels = ({k: quick.levels[k].value for k in quick.levels.keys()},
              {k: slow.levels[k].value for k in slow.levels.keys()})
    return ((quick.keys, quick.leaf, quick.sop_instance_uid)
            == (slow.keys, slow.leaf, slow.sop_instance_uid) and levels[0] == levels[1])


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom on its deliberately odd files
def test_the_quick_header_reader_agrees_with_pydicom_on_every_test_file():
    read = 0
    for path in _local_test_files():
        data = path.read_bytes()
        slow = _pydicom_entry(data)
        quick = quick_directory_entry("DICOM/D000/IM000007", data[:1 << 20],
                                      len(data) <= 1 << 20)
        if quick is not None:
            assert slow is not None and _same(quick, slow), path.name
            read += 1
    assert read >= 150  # implicit and explicit VR, nested sequences, many SOP classes


@pytest.mark.parametrize("name", ["CT_small.dcm", "rtdose.dcm", "MR_small.dcm",
                                  "US1_J2KR.dcm", "emri_small.dcm", "SC_rgb.dcm"])
def test_the_quick_header_reader_never_guesses_from_cut_bytes(name):
    data = Path(get_testdata_file(name)).read_bytes()
    full = quick_directory_entry("DICOM/D000/IM000007", data, True)
    slow = _pydicom_entry(data)
    assert full is None or (slow is not None and _same(full, slow))
    for cut in sorted({*range(0, min(len(data), 3000), 7), len(data) // 2, len(data) - 1}):
        partial = quick_directory_entry("DICOM/D000/IM000007", data[:cut], False)
        assert partial is None or (full is not None and _same(partial, full)), cut


def test_a_header_longer_than_a_block_is_read_through_a_window(tmp_path):
    import tracemalloc

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.private_block(0x0011, "VEIL TEST", create=True).add_new(0x01, "OB", os.urandom(5 << 20))
    path = tmp_path / "long.dcm"
    ds.save_as(path, enforce_file_format=True)
    data = path.read_bytes()
    source = ChunkSource("DICOM/D000/IM000007", len(data),
                         lambda: (data[i:i + 65536] for i in range(0, len(data), 65536)))
    tracemalloc.start()
    try:
        scanned, entry = scan(source, True, Counter())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert entry is not None and _same(entry, _pydicom_entry(data))
    assert scanned.sha256 == hashlib.sha256(data).hexdigest()
    assert scanned.crc32 == zlib.crc32(data)
    assert peak < 4 << 20, peak  # the 5 MiB value was skipped, not kept
