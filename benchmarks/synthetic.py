"""Generate a series of real-looking instances from one real DICOM file, with new UIDs.

Used by the import benchmark and by tests that need many files (crash safety). The pixel
data and every other attribute come from the source file; only the UIDs, instance number
and (optionally) patient identity change.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
from pydicom.uid import generate_uid


def write_series(
    source: str | Path,
    out_dir: str | Path,
    count: int,
    patient_name: str | None = None,
    patient_id: str | None = None,
) -> list[Path]:
    """Write ``count`` instances of one new study/series derived from ``source``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ds = pydicom.dcmread(source)
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    if patient_name is not None:
        ds.PatientName = patient_name
    if patient_id is not None:
        ds.PatientID = patient_id
    paths = []
    for i in range(count):
        uid = generate_uid()
        ds.SOPInstanceUID = uid
        ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.InstanceNumber = i + 1
        path = out / f"IM{i:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def sample_file(name: str) -> Path:
    """A file of pydicom's test files or pydicom-data, by name (a benchmark's input)."""
    from desktop.app.library.samples import sample_folders

    for folder in sample_folders():
        hit = next(Path(folder).rglob(name), None)
        if hit is not None:
            return hit
    raise SystemExit(f"{name} not found: install pydicom-data (the samples extra)")

