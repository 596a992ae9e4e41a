"""Orientation letters at the edges of the view (PS3.3 C.7.6.2.1.1, C.7.6.1.1.1) on real axial,
coronal, sagittal, oblique and projection images, and as the view turns and flips."""

from __future__ import annotations

import warnings

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from desktop.core.imaging.geometry import EdgeLetters, direction_letters, edge_letters, pixel_spacing
from desktop.core.imaging.transform import apply_view
from tests.conftest import pydicom_data_files, pydicom_test_files


def _header(path) -> Dataset:  # noqa: ANN001
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path, stop_before_pixels=True)


def _letters(ds: Dataset) -> tuple[str, str, str, str]:
    found = edge_letters(ds)
    assert found is not None
    return found.top, found.right, found.bottom, found.left


def test_axial_ct_is_anterior_up_and_the_patients_left_on_the_right():
    """Radiological convention: looking up from the feet."""
    assert _letters(_header(pydicom_test_files() / "CT_small.dcm")) == ("A", "L", "P", "R")
    assert _letters(_header(next(pydicom_data_files().rglob("693_UNCR.dcm")))) == ("A", "L", "P", "R")


def test_coronal_and_sagittal_from_their_direction_cosines():
    ds = _header(pydicom_test_files() / "CT_small.dcm")
    ds.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]  # coronal: rows to the left, columns to the feet
    assert _letters(ds) == ("H", "L", "F", "R")
    ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]  # sagittal: rows to the back
    assert _letters(ds) == ("H", "P", "F", "A")


def test_a_real_oblique_sagittal_mr_names_both_directions_strongest_first():
    ds = _header(next(pydicom_data_files().rglob("MR2_UNCR.dcm")))  # rows (0.57, 0.82, 0)
    assert _letters(ds) == ("H", "PL", "F", "AR")
    assert direction_letters((0.0, -0.7071, 0.7071)) in ("AH", "HA")
    assert direction_letters((0.1, 0.1, 0.98)) == "H"  # small components earn no letter


def test_a_projection_radiograph_uses_patient_orientation():
    ds = _header(next(pydicom_data_files().rglob("RG1_UNCR.dcm")))
    assert "ImageOrientationPatient" not in ds and list(ds.PatientOrientation) == ["L", "F"]
    assert _letters(ds) == ("H", "L", "F", "R")
    ds.PatientOrientation = ["X", "F"]  # not a direction
    assert edge_letters(ds) is None


def test_an_enhanced_ct_reads_its_plane_orientation_functional_group():
    ds = _header(next(pydicom_data_files().rglob("eCT_Supplemental.dcm")))
    assert "ImageOrientationPatient" not in ds
    cosines = [float(v) for v in (ds.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0]
                                  .ImageOrientationPatient)]
    found = edge_letters(ds, 0)
    assert found is not None and found.right == direction_letters(tuple(cosines[:3]))
    assert found.bottom == direction_letters(tuple(cosines[3:]))
    assert pixel_spacing(ds, 0) is not None


@pytest.mark.parametrize("quarters, flip_h, flip_v", [(q, h, v) for q in range(4) for h in (False, True)
                                                     for v in (False, True)])
def test_letters_turn_and_flip_with_the_image(quarters, flip_h, flip_v):
    """Each edge's letter follows the pixels: mark each edge of an image, view it, and the
    marks land where the letters say."""
    image = np.zeros((5, 7), dtype=np.uint8)
    image[0, 1:-1], image[1:-1, -1], image[-1, 1:-1], image[1:-1, 0] = 1, 2, 3, 4  # top, right, bottom, left
    letters = EdgeLetters("A", "L", "P", "R")
    by_mark = {1: "A", 2: "L", 3: "P", 4: "R"}
    seen = apply_view(image, quarters, flip_h, flip_v)
    viewed = letters.viewed(quarters, flip_h, flip_v)
    assert by_mark[int(seen[0, 1:-1].max())] == viewed.top
    assert by_mark[int(seen[1:-1, -1].max())] == viewed.right
    assert by_mark[int(seen[-1, 1:-1].max())] == viewed.bottom
    assert by_mark[int(seen[1:-1, 0].max())] == viewed.left


@pytest.mark.parametrize("quarters, flip_h, flip_v", [(q, h, v) for q in range(4) for h in (False, True)
                                                     for v in (False, True)])
def test_the_pixel_under_the_cursor_is_found_back_in_the_stored_image(quarters, flip_h, flip_v):
    from desktop.core.imaging.transform import source_pixel

    stored = np.arange(5 * 7).reshape(5, 7)
    seen = apply_view(stored, quarters, flip_h, flip_v)
    for y in range(seen.shape[0]):
        for x in range(seen.shape[1]):
            col, row = source_pixel(x, y, 5, 7, quarters, flip_h, flip_v)
            assert stored[row, col] == seen[y, x]
