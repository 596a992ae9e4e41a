"""Sample studies for a first run: the DICOM test data that pydicom and pydicom-data ship.

The folders are found on disk; pydicom's own ``get_testdata_files`` is not used because it
downloads missing files from the network.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def sample_folders() -> list[Path]:
    """Folders of sample DICOM files installed with Veil's dependencies."""
    folders = []
    spec = importlib.util.find_spec("pydicom")
    if spec and spec.origin:
        folders.append(Path(spec.origin).parent / "data" / "test_files")
    spec = importlib.util.find_spec("data_store")  # the pydicom-data package
    if spec and spec.origin:
        folders.append(Path(spec.origin).parent / "data")
    return [f for f in folders if f.is_dir()]
