"""The in-memory DICOMDIR: pydicom's FileSet and dcmdump read it and its references resolve."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.fileset import FileSet

from desktop.core.share.dicomdir import build_dicomdir
from desktop.core.share.member_names import dicom_member_name, is_dicom_file_id


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
