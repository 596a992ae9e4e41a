"""The display pipeline against values worked out by hand from PS3.3 C.11."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from desktop.core.imaging.display import (
    DisplayParams,
    LookupTable,
    Window,
    apply_window,
    display_params,
    modality_values,
    render,
)


def test_linear_window_follows_c_11_2_1_2_1():
    # c=40, w=400 (a CT soft-tissue window): below c-0.5-(w-1)/2 = -160 -> 0, above 239 -> 255,
    # between: ((x - 39.5) / 399 + 0.5) * 255
    x = np.array([-1000, -160, -159, 39.5, 40, 239, 240, 3000], dtype=np.float32)
    out = apply_window(x, Window(40, 400))
    expected = [0, 0, round((( -159 - 39.5) / 399 + 0.5) * 255), round(0.5 * 255),
                round(((40 - 39.5) / 399 + 0.5) * 255), 255, 255, 255]
    assert out.tolist() == expected


def test_linear_exact_and_sigmoid_follow_c_11_2_1_3():
    x = np.array([-60.0, -50.0, 0.0, 50.0, 60.0], dtype=np.float32)
    assert apply_window(x, Window(0, 100, "LINEAR_EXACT")).tolist() == [0, 0, 128, 255, 255]
    sig = apply_window(x, Window(0, 100, "SIGMOID"))
    assert sig[2] == 128 and sig[0] < sig[1] < sig[2] < sig[3] < sig[4]
    assert sig[3] == round(255 / (1 + np.exp(-2.0)))


def test_width_one_is_a_threshold():
    assert apply_window(np.array([9.0, 9.5, 10.0]), Window(10, 1)).tolist() == [0, 0, 255]


def test_rescale_gives_hounsfield_units_from_signed_stored_values():
    stored = np.array([[-2000, 0], [1024, 3071]], dtype=np.int16)
    hu = modality_values(stored, DisplayParams(slope=1.0, intercept=-1024.0))
    assert hu.tolist() == [[-3024, -1024], [0, 2047]]
    scaled = modality_values(np.array([100], dtype=np.uint16), DisplayParams(slope=0.5, intercept=10.0))
    assert scaled.tolist() == [60.0]


def test_monochrome1_is_inverted_and_the_user_invert_undoes_it():
    stored = np.array([[0, 100, 200]], dtype=np.uint16)
    window = Window(100.5, 201)  # 0 -> 0, 200 -> 255 in MONOCHROME2
    m2 = render(stored, DisplayParams("MONOCHROME2"), window)
    m1 = render(stored, DisplayParams("MONOCHROME1"), window)
    assert m2.tolist() == [[0, 128, 255]]
    assert m1.tolist() == [[255, 127, 0]]  # low values are white in MONOCHROME1
    assert render(stored, DisplayParams("MONOCHROME1"), window, invert=True).tolist() == m2.tolist()


def test_lookup_tables_clamp_below_and_above():
    lut = LookupTable(first_mapped=-2, bits=8, table=np.array([10, 20, 30], dtype=np.float32))
    assert lut.apply(np.array([-10, -2, -1, 0, 99])).tolist() == [10, 10, 20, 30, 30]


def test_voi_lut_sequence_scales_by_its_bit_depth():
    params = DisplayParams(voi_lut=LookupTable(0, 16, np.array([0, 32768, 65535], dtype=np.float32)))
    assert render(np.array([[0, 1, 2]], dtype=np.uint16), params).tolist() == [[0, 128, 255]]
    # a user's window replaces the VOI LUT
    assert render(np.array([[0, 2]], dtype=np.uint16), params, Window(1.5, 3)).tolist() == [[0, 255]]


def test_no_window_in_the_header_spans_the_data():
    out = render(np.array([[100, 150, 200]], dtype=np.uint16), DisplayParams())
    assert out.tolist() == [[0, 128, 255]]


def test_enhanced_multiframe_takes_rescale_and_window_per_frame():
    ds = Dataset()
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsStored = 12
    shared = Dataset()
    shared.PixelValueTransformationSequence = Sequence([_ds(RescaleSlope=1, RescaleIntercept=-1024)])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for c, w in [(40, 400), (-600, 1500)]:
        item = Dataset()
        item.FrameVOILUTSequence = Sequence([_ds(WindowCenter=c, WindowWidth=w)])
        frames.append(item)
    frames[1].PixelValueTransformationSequence = Sequence([_ds(RescaleSlope=2, RescaleIntercept=0)])
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    first, second = display_params(ds, 0), display_params(ds, 1)
    assert (first.slope, first.intercept, first.windows[0].center) == (1.0, -1024.0, 40.0)
    assert (second.slope, second.intercept, second.windows[0].width) == (2.0, 0.0, 1500.0)


def _ds(**values) -> Dataset:
    item = Dataset()
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def test_colour_passes_through_and_16_bit_colour_is_scaled():
    rgb = np.zeros((1, 2, 3), dtype=np.uint8)
    rgb[0, 1] = (255, 128, 0)
    assert render(rgb, DisplayParams("RGB")).tolist() == rgb.tolist()
    wide = np.array([[[65535, 0, 32768]]], dtype=np.uint16)
    assert render(wide, DisplayParams("RGB", bits_stored=16)).tolist() == [[[255, 0, 128]]]


@pytest.mark.parametrize("size", [(512, 512), (1024, 1024)])
def test_output_is_contiguous_uint8_ready_for_a_qimage(size):
    out = render(np.random.randint(0, 4096, size, dtype=np.uint16), DisplayParams(bits_stored=12), Window(2048, 4096))
    assert out.dtype == np.uint8 and out.shape == size and out.flags.c_contiguous


def _lut_item(descriptor, data) -> Dataset:
    item = Dataset()
    item.LUTDescriptor = descriptor
    item.add_new(0x00283006, "OW", data)  # LUT Data as raw words, as files carry it
    return item


def test_an_8_bit_lut_with_an_odd_number_of_entries_is_read_as_bytes():
    ds = Dataset()
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelRepresentation = 0
    table = bytes(range(255)) + b"\0"  # 255 entries, padded to an even length
    ds.VOILUTSequence = Sequence([_lut_item([255, 0, 8], table)])
    params = display_params(ds)
    assert len(params.voi_lut.table) == 255
    assert render(np.array([[0, 100, 254]], dtype=np.uint8), params).tolist() == [[0, 100, 254]]


def test_a_voi_lut_after_a_negative_rescale_starts_at_a_signed_value():
    """CT stored unsigned with intercept -1024: the VOI LUT's first mapped value is SS."""
    ds = Dataset()
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelRepresentation = 0
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    words = np.linspace(0, 65535, 4096).astype("<u2").tobytes()
    ds.VOILUTSequence = Sequence([_lut_item([4096, 65536 - 1024, 16], words)])
    params = display_params(ds)
    assert params.voi_lut.first_mapped == -1024
    out = render(np.array([[0, 2048, 4095]], dtype=np.uint16), params)
    assert out.tolist() == [[0, 128, 255]]


def test_lut_indices_round_and_nan_does_not_blank_the_image():
    lut = LookupTable(first_mapped=-2, bits=8, table=np.array([10, 20, 30, 40], dtype=np.float32))
    assert lut.apply(np.array([-1.6, -1.4, -0.4])).tolist() == [10, 20, 30]  # nearest: -2, -1, 0
    values = np.array([[0.0, np.nan, 50.0, 100.0]], dtype=np.float32)
    out = render(values, DisplayParams())
    assert out[0, 0] == 0 and out[0, 3] == 255 and out[0, 2] in (127, 128)


# -- the automatic window (no window in the header) -------------------------------------------------
def _redacted_ct(band_rows: int = 24):
    """pydicom's CT_small (signed, no window in its header) and the same image redacted as Veil
    does it: a top band burned with the darkest stored value (-32768)."""
    import pydicom

    from desktop.core.imaging.frames import decode_frame
    from desktop.core.redaction.burn_in import burn_in, darkest_stored_value
    from tests.conftest import pydicom_test_files

    ds = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")
    assert "WindowCenter" not in ds and int(ds.PixelRepresentation) == 1
    mask = np.zeros((ds.Rows, ds.Columns), dtype=bool)
    mask[:band_rows] = True
    redacted = burn_in(ds, lambda _f: mask, "2.25.1234").dataset
    burned = decode_frame(redacted, 0)
    assert darkest_stored_value(ds) == -32768 and (burned[:band_rows] == -32768).all()
    return decode_frame(ds, 0), burned, display_params(ds)


def test_a_redacted_ct_without_a_window_is_not_washed_out_by_its_burned_band():
    original, burned, params = _redacted_ct()
    before, after = render(original, params), render(burned, params)
    rest = slice(24, None)
    assert (after[:24] == 0).all()  # the band shows black
    # the rest of the image keeps its contrast: the band's -32768 does not enter the window
    assert int(after[rest].max()) - int(after[rest].min()) > 200
    assert np.abs(after[rest].astype(int) - before[rest].astype(int)).mean() < 8
    # a window spanning the data would have pressed the whole picture into a few grey levels
    from desktop.core.imaging.display import full_range_window

    washed = apply_window(modality_values(burned, params), full_range_window(modality_values(burned, params)))
    assert int(washed[rest].max()) - int(washed[rest].min()) < 20


def test_the_auto_window_leaves_out_the_extremes_and_stray_pixels():
    from desktop.core.imaging.display import auto_window

    rng = np.random.default_rng(7)
    values = rng.normal(40.0, 30.0, (100, 100)).astype(np.float32)
    values[:30] = -33792.0  # a third of the frame burned (CT: -32768 stored, -1024 intercept)
    values[50, 50] = 5000.0  # one stray bright pixel
    window = auto_window(values)
    low, high = window.center - 0.5 - (window.width - 1) / 2, window.center - 0.5 + (window.width - 1) / 2
    assert -80 < low < 0 and 80 < high < 160 and window.name == "auto"
    # burned on MONOCHROME1 (the highest value), too
    values[:30], values[50, 50] = 4095.0, 40.0  # the highest value the image holds
    assert auto_window(values).width < 400
    # two-valued data shows black and white, flat data falls back to the full range
    two = np.array([[0.0, 0.0, 1000.0]], dtype=np.float32)
    assert apply_window(two, auto_window(two)).tolist() == [[0, 0, 255]]
    assert auto_window(np.full((4, 4), 7.0, dtype=np.float32)).width == 2
    # a large frame is read through a sample, with the same result near enough
    big = np.tile(values, (12, 12))
    assert abs(auto_window(big).center - auto_window(values).center) < 5


def test_the_viewer_thumbnails_and_slides_share_the_auto_window():
    import pydicom

    from desktop.core.imaging.shown import slide_pixels
    from desktop.core.redaction.burn_in import burn_in
    from tests.conftest import pydicom_test_files

    ds = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")
    mask = np.zeros((ds.Rows, ds.Columns), dtype=bool)
    mask[:24] = True
    redacted = burn_in(ds, lambda _f: mask, "2.25.1234").dataset
    from desktop.core.imaging.frames import decode_frame

    assert np.array_equal(slide_pixels(redacted, 0), render(decode_frame(redacted, 0), display_params(redacted)))
