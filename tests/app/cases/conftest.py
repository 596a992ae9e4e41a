"""Fixtures of the teaching-case tests."""

from __future__ import annotations

import pydicom
import pytest

from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from tests.conftest import pydicom_test_files
from tests.planting.pixels import plant_file


@pytest.fixture
def planted_ct(tmp_path):  # noqa: ANN201 - (home, study UID, SOP Instance UID)
    """A library holding one CT with the fictional patient planted in its header everywhere."""
    home = VeilHome.open(tmp_path / "home")
    planted = plant_file(pydicom_test_files() / "CT_small.dcm", tmp_path / "in", hidden_bits=False, comments=False)
    ds = pydicom.dcmread(planted.path, stop_before_pixels=True)
    import_paths(home, [tmp_path / "in"])
    return home, ds.StudyInstanceUID, ds.SOPInstanceUID
