"""A key image burned for a slide: the view applied as the viewer applies it, and each
annotation drawn exactly where its points land (the pixels are read back)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pydicom
import pytest

from desktop.core.cases.annotations import Annotations, Kind
from desktop.core.cases.burn import ANNOTATION_RGB, burn_key_image, map_point, viewed
from desktop.core.cases.case import KeyImage, KeyView
from desktop.core.imaging.display import Window, display_params, modality_values, render
from desktop.core.imaging.frames import decode_frame
from desktop.core.imaging.geometry import pixel_spacing
from desktop.core.imaging.transform import apply_view
from tests.conftest import pydicom_test_files

UID = "1.2.826.0.1.3680043.8.498.7"
YELLOW = np.array(ANNOTATION_RGB, dtype=np.uint8)


@pytest.fixture(scope="module")
def ct():  # noqa: ANN201 - (Dataset, rendered frame, modality values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")
    frame, params = decode_frame(ds, 0), display_params(ds, 0)
    return ds, render(frame, params, Window(40, 400)), modality_values(frame, params)


def _arrow_key(view: KeyView, tail=(20.0, 100.0), tip=(100.0, 30.0)) -> KeyImage:  # noqa: ANN001
    return KeyImage(UID, 0, view, Annotations(128, 128).add(Kind.ARROW, [tail, tip]))


def _on_shaft(out: np.ndarray, view: KeyView, scale: float, tail, tip, at: float = 0.4) -> np.ndarray:  # noqa: ANN001
    point = (tail[0] + at * (tip[0] - tail[0]), tail[1] + at * (tip[1] - tail[1]))
    x, y = map_point(point, view, 128, 128, scale)
    return out[math.floor(y + 0.5), math.floor(x + 0.5)]


@pytest.mark.parametrize("view", [
    KeyView(),
    KeyView(rotation_quarters=1),
    KeyView(rotation_quarters=3, flip_h=True),
    KeyView(flip_v=True, crop=(10, 20, 120, 110)),
    KeyView(rotation_quarters=2, flip_h=True, flip_v=True, crop=(0, 0, 128, 64)),
], ids=["plain", "turned", "turned-flipped", "flipped-cropped", "half"])
def test_the_arrow_is_burned_where_its_points_land_in_the_view(ct, view):
    ds, rendered, _values = ct
    tail, tip = (20.0, 100.0), (100.0, 30.0)
    if view.crop == (0, 0, 128, 64):
        tail, tip = (20.0, 60.0), (100.0, 10.0)
    key = _arrow_key(view, tail, tip)
    out = burn_key_image(rendered, key, pixel_spacing(ds), max_side=512)
    plain, scale = viewed(rendered, view, 512)
    assert out.shape == np.asarray(plain).shape and max(out.shape[:2]) == 512
    for at in (0.2, 0.4, 0.6):
        assert np.array_equal(_on_shaft(out, view, scale, tail, tip, at), YELLOW)
    # the image is the viewed image everywhere the arrow is not: a corner far from it is unchanged
    corner = np.asarray(plain)
    far = (slice(0, 20), slice(0, 20)) if view == KeyView() else (slice(out.shape[0] - 20, None), slice(0, 20))
    changed = np.any(out[far] != corner[far], axis=-1)
    assert changed.mean() < 0.2


def test_the_view_is_the_viewers_own_transform(ct):
    _ds, rendered, _values = ct
    view = KeyView(rotation_quarters=1, flip_h=True, crop=(8, 16, 72, 112))
    image, scale = viewed(rendered, view, 96)
    expected = apply_view(rendered[16:112, 8:72], 1, True, False)
    assert image.size == (96, 64) and scale == pytest.approx(1.0)
    assert np.array_equal(np.asarray(image)[..., 0], expected)


def test_a_point_maps_as_its_pixel_moves():
    """The pixel at an image point moves with apply_view to where map_point says."""
    image = np.zeros((6, 9), dtype=np.uint8)
    image[1, 7] = 255
    for view in (KeyView(rotation_quarters=q, flip_h=h, flip_v=v) for q in range(4) for h in (0, 1) for v in (0, 1)):
        seen = apply_view(image, view.rotation_quarters, view.flip_h, view.flip_v)
        x, y = map_point((7, 1), view, 6, 9)
        assert seen[round(y), round(x)] == 255


def test_measurements_and_labels_are_drawn_beside_their_shapes(ct):
    ds, rendered, values = ct
    marks = (Annotations(128, 128)
             .add(Kind.LINE, [(10, 10), (60, 10)])
             .add(Kind.ROI, [(40, 50), (80, 80)])
             .add(Kind.ANGLE, [(90, 120), (100, 100), (120, 120)])
             .add(Kind.ELLIPSE, [(5, 90), (30, 120)])
             .add(Kind.TEXT, [(70, 5)], "Apex"))
    key = KeyImage(UID, 0, KeyView(), marks)
    out = burn_key_image(rendered, key, pixel_spacing(ds), values, "HU", max_side=512)
    plain = np.asarray(viewed(rendered, KeyView(), 512)[0])
    yellow = np.all(out == YELLOW, axis=-1) & ~np.all(plain == YELLOW, axis=-1)
    scale = 4.0
    # the line, the top of the ROI's outline, the angle's vertex, and text below each measurement
    assert yellow[round(10 * scale + 1.5), round(35 * scale + 1.5)]
    assert yellow[round(80 * scale), round(60 * scale)] or yellow[round(80 * scale) - 2, round(60 * scale)]
    assert yellow[round(11 * scale):round(20 * scale), round(61 * scale):round(100 * scale)].any()  # its length
    assert yellow[round(80 * scale):round(95 * scale), round(40 * scale):round(100 * scale)].any()  # ROI stats
    assert yellow[0:round(20 * scale), round(70 * scale):].any()  # the text label


@pytest.mark.parametrize("quarters", range(4))
@pytest.mark.parametrize("flips", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("crop", [None, (10, 20, 90, 70)])
def test_a_point_on_screen_maps_back_to_the_image_point_under_it(quarters, flips, crop):  # noqa: ANN001
    """The annotation tools place points with unmap_point: the inverse of where burning puts them."""
    from desktop.core.cases.burn import unmap_point, viewed_size

    view = KeyView(crop=crop, rotation_quarters=quarters, flip_h=flips[0], flip_v=flips[1])
    for point in [(12.0, 21.0), (88.5, 69.25), (50.0, 40.0), (10.0, 68.0)]:
        shown = map_point(point, view, 100, 120, 3.0)
        back = unmap_point(shown, view, 100, 120, 3.0)
        assert back == pytest.approx(point)
    width, height = viewed_size(view, 100, 120)
    expected = (80, 50) if crop else (120, 100)
    assert (width, height) == (expected if quarters % 2 == 0 else expected[::-1])
    # the viewed image's top-left pixel comes from the crop's corner that the view puts there
    corner = unmap_point((0.0, 0.0), view, 100, 120)
    assert map_point(corner, view, 100, 120) == pytest.approx((0.0, 0.0))
