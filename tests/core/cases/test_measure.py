"""Measurements against numpy on real CT and MR: lengths with isotropic and anisotropic pixel
spacing, angles in the patient's plane, ellipse ROI statistics in Hounsfield units."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from desktop.core.cases.annotations import Annotation, Kind
from desktop.core.cases.measure import angle_degrees, describe, ellipse_mask, length, roi_stats
from desktop.core.imaging.display import display_params, modality_values
from desktop.core.imaging.frames import decode_frame
from desktop.core.imaging.geometry import PixelSpacing, pixel_spacing
from tests.conftest import pydicom_data_files, pydicom_test_files


def _read(path):  # noqa: ANN001, ANN202 - Path -> (Dataset, modality values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
    return ds, modality_values(decode_frame(ds, 0), display_params(ds, 0))


def _line(a, b) -> Annotation:  # noqa: ANN001
    return Annotation(1, Kind.LINE, (a, b))


@pytest.mark.parametrize("path", [pydicom_test_files() / "CT_small.dcm", pydicom_test_files() / "MR_small.dcm",
                                  next(pydicom_data_files().rglob("MR2_UNCR.dcm"))], ids=lambda p: p.name)
def test_a_length_is_the_pixel_step_times_the_spacing(path):
    ds, _values = _read(path)
    spacing = pixel_spacing(ds)
    row_mm, column_mm = (float(v) for v in ds.PixelSpacing)
    assert spacing is not None and (spacing.row_mm, spacing.column_mm) == (row_mm, column_mm)
    value, unit = length(_line((10, 20), (40, 60)), spacing)
    assert unit == "mm" and value == pytest.approx(math.hypot(30 * column_mm, 40 * row_mm))
    assert describe(_line((10, 20), (40, 60)), spacing) == f"{value:.1f} mm"


def test_anisotropic_pixels_are_measured_along_each_axis():
    ds, _values = _read(pydicom_test_files() / "CT_small.dcm")
    ds.PixelSpacing = [0.5, 0.8]  # rows 0.5 mm apart, columns 0.8 mm apart (PS3.3 10.7.1.3)
    spacing = pixel_spacing(ds)
    assert length(_line((0, 0), (10, 0)), spacing)[0] == pytest.approx(8.0)   # along a row: column spacing
    assert length(_line((0, 0), (0, 10)), spacing)[0] == pytest.approx(5.0)   # down a column: row spacing
    assert length(_line((10, 20), (70, 100)), spacing)[0] == pytest.approx(math.hypot(60 * 0.8, 80 * 0.5))
    # 45 degrees in the patient, 58 on the pixel grid
    angle = Annotation(1, Kind.ANGLE, ((10, 0), (0, 0), (10, 16)))
    assert angle_degrees(angle, spacing) == pytest.approx(45.0)
    assert angle_degrees(angle, None) == pytest.approx(math.degrees(math.atan2(16, 10)))
    square = Annotation(1, Kind.ANGLE, ((0, 0), (10, 0), (10, 16)))
    assert angle_degrees(square, spacing) == pytest.approx(90.0)


def test_spacing_at_the_detector_says_it_is_not_calibrated():
    ds, _values = _read(next(pydicom_data_files().rglob("RG1_UNCR.dcm")))
    assert pixel_spacing(ds) is None
    assert describe(_line((0, 0), (30, 40)), None) == "50.0 px"
    ds.ImagerPixelSpacing = [0.15, 0.15]
    spacing = pixel_spacing(ds)
    assert spacing is not None and not spacing.calibrated
    assert describe(_line((0, 0), (30, 40)), spacing) == "7.5 mm (not calibrated (Imager Pixel Spacing))"
    ds.PixelSpacing = [0.14, 0.14]  # corrected to the patient: calibrated, and preferred
    assert pixel_spacing(ds) == PixelSpacing(0.14, 0.14)


@pytest.mark.parametrize("raw", [b"0\\0.5 ", b"-1\\1 ", b"nan\\1 ", b"1 ", b"1e9\\1 ", b"abc ", b"1\\1\\1 "])
def test_a_spacing_that_is_not_a_spacing_is_ignored(raw):
    """As read from a hostile file: the value pydicom has not converted yet."""
    tag = Tag(0x00280030)
    ds = Dataset({tag: RawDataElement(tag, "DS", len(raw), raw, 0, False, True)})
    assert pixel_spacing(ds) is None


def _numpy_roi(values: np.ndarray, cx: float, cy: float, a: float, b: float) -> np.ndarray:
    """The pixels inside the ellipse, picked one by one (not the module's vectorised mask)."""
    picked = [values[y, x] for y in range(values.shape[0]) for x in range(values.shape[1])
              if ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1]
    return np.array(picked, dtype=np.float64)


@pytest.mark.parametrize("box", [((40, 50), (80, 70)), ((5.5, 5.5), (20.25, 60.75)), ((60, 60), (62, 62))])
def test_roi_statistics_on_ct_are_hounsfield_units_as_numpy_finds_them(box):
    ds, values = _read(pydicom_test_files() / "CT_small.dcm")
    assert float(ds.RescaleSlope) == 1 and float(ds.RescaleIntercept) != 0  # HU come from the rescale
    spacing = pixel_spacing(ds)
    roi = Annotation(1, Kind.ROI, box)
    cx, cy, a, b = roi.ellipse()
    inside = _numpy_roi(values, cx, cy, a, b)
    stats = roi_stats(roi, values, spacing)
    assert stats is not None and stats.pixels == inside.size
    assert stats.mean == pytest.approx(inside.mean()) and stats.sd == pytest.approx(inside.std())
    assert (stats.minimum, stats.maximum) == (inside.min(), inside.max())
    assert stats.area == pytest.approx(math.pi * a * b * spacing.row_mm * spacing.column_mm)
    assert stats.area_unit == "mm²"
    stored = decode_frame(ds, 0)[ellipse_mask(roi, 128, 128)].astype(np.float64)
    assert stats.mean == pytest.approx(stored.mean() + float(ds.RescaleIntercept))


def test_roi_statistics_on_real_mr_with_anisotropic_spacing():
    ds, values = _read(next(pydicom_data_files().rglob("MR2_UNCR.dcm")))
    ds.PixelSpacing = [0.2, 0.35]
    spacing = pixel_spacing(ds)
    roi = Annotation(1, Kind.ROI, ((400, 300), (520, 380)))
    cx, cy, a, b = roi.ellipse()
    inside = _numpy_roi(values[280:400, 380:540], cx - 380, cy - 280, a, b)
    stats = roi_stats(roi, values, spacing)
    assert stats.pixels == inside.size and stats.mean == pytest.approx(inside.mean())
    assert stats.sd == pytest.approx(inside.std())
    assert stats.area == pytest.approx(math.pi * 60 * 0.35 * 40 * 0.2)
    text = describe(roi, spacing, values, "")
    assert text.startswith(f"Mean {stats.mean:.1f}, SD {stats.sd:.1f}, ") and text.endswith(" mm²")


def test_an_roi_with_no_pixel_or_on_colour_has_no_statistics():
    values = np.arange(100, dtype=np.float64).reshape(10, 10)
    assert roi_stats(Annotation(1, Kind.ROI, ((2.1, 2.1), (2.4, 2.4))), values, None) is None
    assert roi_stats(Annotation(1, Kind.ROI, ((1, 1), (5, 5))), np.zeros((10, 10, 3)), None) is None
    assert describe(Annotation(1, Kind.ROI, ((2.1, 2.1), (2.4, 2.4))), None, values) == ""
    stats = roi_stats(Annotation(1, Kind.ROI, ((0, 0), (4, 4))), values, None)
    assert stats is not None and stats.area_unit == "px²" and stats.area == pytest.approx(math.pi * 4)
