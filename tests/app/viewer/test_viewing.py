"""Opening a series for viewing: order, decode, cache within budget, prefetch, audit."""

from __future__ import annotations

import shutil

import numpy as np

from desktop.app.browsing.catalogue import load_catalogue
from desktop.app.library.importing import import_paths
from desktop.app.viewer.frame_cache import FrameCache
from desktop.app.viewer.viewing import open_series
from desktop.core.imaging.display import render
from tests.conftest import pydicom_data_files, pydicom_test_files, write_series


def _series_ref(home, modality: str) -> int:
    cat = load_catalogue(home)
    return next(se.series_ref for rows in cat.series_by_study.values() for se in rows if se.modality == modality)


def test_a_series_opens_in_instance_order_and_its_frames_display(home, tmp_path):
    src = tmp_path / "ct"
    paths = write_series(pydicom_test_files() / "CT_small.dcm", src, 12)
    for path in paths[::2]:  # files on disk in another order than Instance Number
        path.rename(path.with_name("z" + path.name))
    import_paths(home, [src])
    series = open_series(home, _series_ref(home, "CT"))
    assert [img.instance_number for img in series.images] == list(range(1, 13))
    pixels, params = series.frame(0)
    shown = render(pixels, params)
    assert shown.dtype == np.uint8 and shown.shape == (128, 128)
    series.close()


def test_multiframe_frames_are_flattened_and_prefetched_around_the_current_one(home, tmp_path):
    shutil.copy(pydicom_data_files() / "emri_small.dcm", tmp_path / "mr.dcm")
    import_paths(home, [tmp_path / "mr.dcm"])
    series = open_series(home, _series_ref(home, "MR"))
    assert len(series.frames) == 10
    first, _ = series.frame(4)
    series.wait_for_prefetch()
    assert all(key in series.cache for key in series.frames)  # radius 8 covers all ten
    assert not np.array_equal(first, series.frame(5)[0])
    series.close()


def test_opening_a_series_is_accounted_for_without_identifiers(home, few_dicoms):
    import_paths(home, [few_dicoms])
    series = open_series(home, _series_ref(home, "CT"))
    log = home.audit_path.read_text()
    assert '"action":"view"' in log
    assert "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322" not in log  # CT_small's Study UID
    assert "CompressedSamples" not in log
    assert home.verify_audit().ok
    series.close()


def test_the_cache_never_holds_more_than_its_budget():
    cache = FrameCache(budget_bytes=10 * 512 * 512 * 2)
    for i in range(200):
        cache.put(("img", i), np.zeros((512, 512), dtype=np.uint16))
        assert cache.bytes_used <= cache.budget
    assert ("img", 199) in cache and ("img", 0) not in cache
    cache.get(("img", 190))
    cache.put(("img", 200), np.zeros((512, 512), dtype=np.uint16))
    assert ("img", 190) in cache and ("img", 191) not in cache  # least recently used goes first


def test_a_long_series_keeps_only_a_few_whole_datasets_in_memory(home, tmp_path):
    from desktop.app.viewer.viewing import DATASETS_KEPT

    write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "long", DATASETS_KEPT + 15)
    import_paths(home, [tmp_path / "long"])
    series = open_series(home, _series_ref(home, "CT"))
    for n in range(len(series.frames)):
        series.frame(n)
    series.wait_for_prefetch()
    assert len(series._datasets) <= DATASETS_KEPT
    series.close()


def test_exporting_the_view_as_png_writes_it_and_accounts_for_it(home, few_dicoms, tmp_path):
    from PIL import Image

    import_paths(home, [few_dicoms])
    series = open_series(home, _series_ref(home, "CT"))
    pixels, params = series.frame(0)
    shown = render(pixels, params)
    from tests.conftest import teaching

    report = series.export_png(tmp_path / "view.png", shown, 0, teaching(home), confirm_burned_in=True)
    assert not report.refused and report.disclosure is not None  # in the accounting of disclosures
    assert np.array_equal(np.asarray(Image.open(tmp_path / "view.png")), shown)
    log = home.audit_path.read_text()
    assert '"action":"export.png"' in log and "CompressedSamples" not in log
    assert home.verify_audit().ok
    series.close()


def test_each_series_gets_a_small_picture_of_its_middle_image(home, few_dicoms, tmp_path):
    from desktop.app.viewer.viewing import series_thumbnails

    import_paths(home, [few_dicoms])
    refs = [se.series_ref for rows in load_catalogue(home).series_by_study.values() for se in rows]
    pictures = series_thumbnails(home, refs, size=64)
    assert set(pictures) == set(refs)
    for picture in pictures.values():
        assert picture.dtype == np.uint8 and max(picture.shape[:2]) == 64
    colour = [p for p in pictures.values() if p.ndim == 3]
    assert colour  # the RGB secondary capture and the ultrasound stay in colour


def test_a_window_drag_moves_in_steps_of_its_own_width(home, tmp_path):
    """Horos and OHIF scale the drag by the window width: a brain window can be set by hand."""
    from desktop.app.viewer.view_state import DRAG_PIXELS_PER_WIDTH, SeriesView
    from desktop.core.imaging.display import Window

    write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "ct", 1, "Smith^Anna", "MRN-1")
    import_paths(home, [tmp_path / "ct"])
    view = SeriesView(open_series(home, _series_ref(home, "CT")))
    for width in (80.0, 400.0, 2000.0):
        view.set_window(Window(40.0, width))
        assert view.drag_window(100, 0)
        assert view.window.width == width + 100 * width / DRAG_PIXELS_PER_WIDTH  # the same share of any width
        assert view.window.center == 40.0
    view.set_window(Window(40.0, 80.0))
    view.drag_window(0, -10)
    assert abs(view.window.center - (40.0 - 10 * 80 / DRAG_PIXELS_PER_WIDTH)) < 1e-9  # about 3 HU for 10 px
    view.set_window(Window(40.0, 1.0))
    view.drag_window(256, 0)
    assert view.window.width > 2  # a window of width 1 can still be widened


def test_the_value_under_the_cursor_is_in_hounsfield_units_wherever_the_image_is_turned(home, tmp_path):
    import pydicom

    from desktop.app.viewer.view_state import SeriesView

    path = write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "ct", 1, "Smith^Anna", "MRN-1")[0]
    ds = pydicom.dcmread(path)
    import_paths(home, [tmp_path / "ct"])
    view = SeriesView(open_series(home, _series_ref(home, "CT")))
    hu = int(ds.pixel_array[20, 30]) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert view.value_at(30, 20, "HU") == f"X 30 Y 20: {hu:.0f} HU"
    view.rotation, view.flip_h = 1, True  # mirrored, then turned: stored (30, 20) shows at (127 - 20, 127 - 30)
    assert view.value_at(107, 97, "HU") == f"X 30 Y 20: {hu:.0f} HU"
    assert view.displayed()[97, 107] == view.rendered()[20, 30]
    assert view.value_at(-1, 5) is None and view.value_at(128, 0) is None


def test_the_scale_bar_is_the_longest_round_length_in_a_fifth_of_the_view():
    from desktop.app.viewer.image_facts import scale_bar
    from desktop.core.imaging.geometry import PixelSpacing

    spacing = PixelSpacing(0.5, 0.5)  # 2 screen pixels per image pixel: 0.25 mm a screen pixel
    assert scale_bar(spacing, 2.0, 1000) == (200.0, "5 cm")
    assert scale_bar(spacing, 2.0, 100) == (20.0, "5 mm")
    assert scale_bar(PixelSpacing(0.2, 0.4), 1.0, 1000, turned=True) == (100.0, "2 cm")  # rows run across
    assert scale_bar(PixelSpacing(0.15, 0.15, calibrated=False, source="Imager Pixel Spacing"), 1.0, 1000)[1] == (
        "2 cm (not calibrated)")
    assert scale_bar(None, 1.0, 1000) is None and scale_bar(spacing, 2.0, 10) is None


def test_slice_location_and_thickness_come_from_the_header_and_a_bad_value_is_left_out():
    import pydicom
    from pydicom.dataelem import RawDataElement
    from pydicom.dataset import Dataset
    from pydicom.tag import Tag

    from desktop.app.viewer.image_facts import image_facts

    ds = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm", stop_before_pixels=True)
    facts = image_facts(ds)
    assert facts.slice_text == f"Loc {float(ds.SliceLocation):.1f} mm  Thk {float(ds.SliceThickness):g} mm"
    assert facts.letters is not None and facts.spacing is not None
    tag = Tag(0x00201041)
    hostile = Dataset({tag: RawDataElement(tag, "DS", 4, b"abc ", 0, False, True)})
    assert image_facts(hostile).slice_text == ""
