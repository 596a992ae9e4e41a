"""The viewer as a radiologist uses it: open, scroll, window, invert, zoom, overlays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from PySide6.QtCore import Qt

from desktop.core.imaging.display import render
from desktop.ui.library.study_model import StudyTableModel
from desktop.ui.viewer import view_commands
from desktop.ui.viewer.cine import DEFAULT_FPS, frame_rate
from tests.conftest import pydicom_test_files
from tests.ui.ui_helpers import import_and_wait
from tests.ui.viewer.conftest import OPEN_TIMEOUT_MS, drag, open_viewer, shown_array, wheel


def expected(viewer, window=None, invert=False) -> np.ndarray:
    pixels, params = viewer.view.series.frame(viewer.view.index)
    return render(pixels, params, window, invert)


def test_double_click_on_a_study_opens_its_first_series(qtbot, library):
    browser = library.browser
    browser.filter_edit.setText("CT")
    view = browser.studies_view
    row = next(r for r in range(view.model().rowCount())
               if view.model().index(r, StudyTableModel.PATIENT).data() and
               browser.study_model.row_at(browser.proxy.mapToSource(view.model().index(r, 0)).row()).image_count == 12)
    rect = view.visualRect(view.model().index(row, StudyTableModel.PATIENT))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert len(library.viewers) == 1
    viewer = library.viewers[0]
    qtbot.addWidget(viewer)
    qtbot.waitUntil(lambda: viewer.view is not None, timeout=OPEN_TIMEOUT_MS)
    assert viewer.isVisible()
    assert np.array_equal(shown_array(viewer), expected(viewer))
    assert viewer.position_label.text() == "Image 1 / 12"
    assert viewer.viewport.message == ""
    # the series list shows the study's one series, selected
    assert viewer.series_list.count() == 1
    assert "12 images" in viewer.series_list.item(0).text()


def test_double_click_on_a_series_opens_it(qtbot, library):
    browser = library.browser
    browser.filter_edit.setText("CT")
    view = browser.series_view
    rect = view.visualRect(view.model().index(0, 0))
    with qtbot.waitSignal(library.browser.open_requested):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    viewer = library.viewers[-1]
    qtbot.addWidget(viewer)
    qtbot.waitUntil(lambda: viewer.view is not None, timeout=OPEN_TIMEOUT_MS)
    assert viewer.current_ref == browser.series_of(browser.selected_study())[0].series_ref


def test_wheel_keys_and_slider_move_through_the_series(qtbot, library):
    viewer = open_viewer(qtbot, library, "CT", 12)
    wheel(viewer.viewport, 1)
    assert viewer.position_label.text() == "Image 2 / 12"
    assert viewer.slider.value() == 1
    c = viewer.commands
    c.next_image.trigger()
    assert viewer.view.index == 2
    c.last_image.trigger()
    assert viewer.position_label.text() == "Image 12 / 12"
    c.next_image.trigger()  # clamped at the end
    assert viewer.view.index == 11
    c.page_back.trigger()
    assert viewer.view.index == 1
    c.first_image.trigger()
    assert viewer.view.index == 0
    wheel(viewer.viewport, -1)  # clamped at the start
    assert viewer.view.index == 0
    viewer.slider.setValue(7)
    assert "Image 8 / 12" in viewer.viewport.corners.bottom_left
    # the keys themselves
    viewer.activateWindow()
    qtbot.waitActive(viewer)
    viewer.viewport.setFocus()
    qtbot.keyClick(viewer.viewport, Qt.Key.Key_Down)
    assert viewer.view.index == 8
    qtbot.keyClick(viewer.viewport, Qt.Key.Key_Home)
    assert viewer.view.index == 0
    qtbot.keyClick(viewer.viewport, Qt.Key.Key_PageDown)
    assert viewer.view.index == 10
    assert np.array_equal(shown_array(viewer), expected(viewer))


def test_window_drag_invert_and_default(qtbot, library):
    viewer = open_viewer(qtbot, library, "CT", 12)
    header = viewer.view.header_window()
    before = shown_array(viewer).copy()
    label = viewer.view.window_label()
    assert label in viewer.viewport.corners.bottom_right
    drag(viewer.viewport, Qt.MouseButton.RightButton, 40, 30)  # wider, higher centre
    window = viewer.view.window
    assert window.width > header.width and window.center > header.center
    assert viewer.view.window_label() != label
    assert viewer.view.window_label() in viewer.viewport.corners.bottom_right
    after = shown_array(viewer)
    assert not np.array_equal(after, before)
    assert np.array_equal(after, expected(viewer, window))
    # the window stays while scrolling
    viewer.commands.next_image.trigger()
    assert viewer.view.window == window
    # invert
    viewer.commands.invert.trigger()
    assert np.array_equal(shown_array(viewer), 255 - expected(viewer, window))
    assert "inverted" in viewer.viewport.corners.bottom_right
    viewer.commands.invert.trigger()
    # left drag is W/L too, unless the pan tool is on
    drag(viewer.viewport, Qt.MouseButton.LeftButton, -10, 0)
    assert viewer.view.window.width < window.width
    viewer.commands.default_window.trigger()
    assert viewer.view.window is None
    assert viewer.view.window_label() == label
    assert np.array_equal(shown_array(viewer), expected(viewer))


def test_zoom_pan_fit_actual_size_and_reset(qtbot, library):
    viewer = open_viewer(qtbot, library, "CT", 12)
    vp = viewer.viewport
    fitted = vp.scale()
    assert vp.zoom is None
    assert abs(vp.image_rect().center().x() - vp.width() / 2) < 1  # centred
    rows, cols = shown_array(viewer).shape[:2]
    assert vp.image_rect().width() <= vp.width() + 0.5 and vp.image_rect().height() <= vp.height() + 0.5
    wheel(vp, -1, Qt.KeyboardModifier.ControlModifier)  # Ctrl+wheel up: zoom in
    assert vp.scale() > fitted
    assert viewer.view.index == 0  # zooming does not scroll
    assert f"Zoom {vp.scale() * 100:.0f}%" in vp.corners.bottom_right
    drag(vp, Qt.MouseButton.MiddleButton, 25, -15)
    assert (vp.pan.x(), vp.pan.y()) != (0, 0)
    viewer.commands.actual_size.trigger()
    assert vp.scale() == 1.0 and vp.image_rect().width() == cols
    viewer.commands.pan_tool.setChecked(True)
    window_before = viewer.view.window
    drag(vp, Qt.MouseButton.LeftButton, 10, 10)
    assert viewer.view.window == window_before and vp.pan.x() == 10
    viewer.commands.invert.setChecked(True)
    drag(vp, Qt.MouseButton.RightButton, 30, 0)
    viewer.commands.reset.trigger()
    assert vp.zoom is None and vp.scale() == fitted
    assert viewer.view.window is None and not viewer.view.invert
    assert np.array_equal(shown_array(viewer), expected(viewer))
    viewer.commands.fit.trigger()
    assert vp.scale() == fitted


def test_overlays_show_identity_and_toggle(qtbot, library):
    viewer = open_viewer(qtbot, library, "CT", 12)
    corners = viewer.viewport.corners
    assert "CompressedSamples, CT1" in corners.top_left
    assert corners.top_right  # study date
    assert "Image 1 / 12" in corners.bottom_left and "Im 1" in corners.bottom_left
    assert corners.bottom_right.startswith("W ")
    assert viewer.commands.overlays.isChecked() and viewer.viewport.overlays_visible
    viewer.commands.overlays.trigger()
    assert not viewer.viewport.overlays_visible
    image = viewer.viewport.grab().toImage()
    assert image.width() > 0


def test_colour_image_has_no_window_but_inverts(qtbot, library):
    viewer = open_viewer(qtbot, library, "OT")  # SC_rgb_small_odd.dcm
    assert shown_array(viewer).ndim == 3
    assert np.array_equal(shown_array(viewer), expected(viewer))
    assert viewer.view.window_label() == ""
    drag(viewer.viewport, Qt.MouseButton.RightButton, 10, 10)
    assert viewer.view.window is None
    viewer.commands.invert.trigger()
    assert np.array_equal(shown_array(viewer), 255 - expected(viewer))


def test_undecodable_image_shows_why(qtbot, window, tmp_path: Path):
    ds = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")
    ds.PatientName = "Broken^Pixels"
    ds.file_meta.TransferSyntaxUID = pydicom.uid.JPEGBaseline8Bit
    ds.PixelData = pydicom.encaps.encapsulate([b"\xff\xd8 not a jpeg \xff\xd9"])
    ds["PixelData"].VR = "OB"
    folder = tmp_path / "broken"
    folder.mkdir()
    ds.save_as(folder / "broken.dcm", enforce_file_format=True)
    import_and_wait(qtbot, window, [folder])
    viewer = open_viewer(qtbot, window, "CT")
    assert viewer.viewport.array is None
    assert "cannot be decoded" in viewer.viewport.message
    assert viewer.view.window_label() == ""
    drag(viewer.viewport, Qt.MouseButton.RightButton, 20, 20)  # nothing to window: no crash
    viewer.commands.invert.trigger()
    viewer.commands.reset.trigger()
    assert "cannot be decoded" in viewer.viewport.message
    viewer.viewport.grab()


def test_presets_rotate_flip_and_export(qtbot, library, tmp_path: Path):
    from desktop.core.imaging.presets import presets_for
    from desktop.core.imaging.transform import apply_view

    viewer = open_viewer(qtbot, library, "CT", 12)
    presets = presets_for("CT")
    assert presets and len(viewer.preset_actions) == len(presets)
    assert viewer.presets_menu.isEnabled()
    viewer.preset_actions[0].trigger()
    assert viewer.view.window == presets[0]
    assert np.array_equal(shown_array(viewer), expected(viewer, presets[0]))
    assert f"W {presets[0].width:.0f}" in viewer.viewport.corners.bottom_right
    viewer.commands.default_window.trigger()
    base = expected(viewer)
    viewer.commands.rotate_right.trigger()
    assert np.array_equal(shown_array(viewer), apply_view(base, 1, False, False))
    viewer.commands.flip_h.trigger()  # about the screen's axis, after the turn
    assert np.array_equal(shown_array(viewer), apply_view(base, 1, False, False)[:, ::-1])
    viewer.commands.rotate_left.trigger()  # a mirrored image turned back is mirrored top to bottom
    assert np.array_equal(shown_array(viewer), base[::-1])
    viewer.commands.flip_v.trigger()
    assert np.array_equal(shown_array(viewer), base)
    viewer.commands.flip_v.trigger()
    assert np.array_equal(shown_array(viewer), base[::-1])
    from tests.conftest import teaching

    out = view_commands.export_png(viewer, str(tmp_path / "shown"), purpose=teaching(viewer.home),
                                   confirm_burned_in=True)
    assert out == tmp_path / "shown.png"
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(out)), base[::-1])
    assert '"action":"export.png"' in viewer.home.audit_path.read_text()  # a disclosure, accounted for
    viewer.commands.reset.trigger()
    assert np.array_equal(shown_array(viewer), base)


def test_colour_and_mr_series_have_their_own_presets(qtbot, library):
    viewer = open_viewer(qtbot, library, "OT")
    viewer.preset_actions and viewer.preset_actions[0].trigger()
    assert viewer.view.window is None  # colour: no window
    assert np.array_equal(shown_array(viewer), expected(viewer))


def test_cine_plays_the_series_in_a_loop(qtbot, library):
    viewer = open_viewer(qtbot, library, "CT", 12)
    assert viewer.commands.cine.isEnabled()
    viewer.commands.cine.trigger()
    assert viewer.cine.playing and viewer.cine.fps == DEFAULT_FPS  # CT_small gives no rate
    viewer.cine.play(200.0)  # faster for the test
    qtbot.waitUntil(lambda: viewer.view.index == 11, timeout=5000)
    qtbot.waitUntil(lambda: viewer.view.index < 11, timeout=5000)  # loops to the start
    viewer.commands.cine.trigger()
    assert not viewer.cine.playing
    single = open_viewer(qtbot, library, "OT")
    assert not single.commands.cine.isEnabled()


def test_frame_rate_from_the_header():
    ds = Dataset()
    assert frame_rate(ds) == DEFAULT_FPS
    ds.FrameTime = "40"
    assert frame_rate(ds) == 25.0
    ds.CineRate = 15
    assert frame_rate(ds) == 15.0
    ds.RecommendedDisplayFrameRate = 30
    assert frame_rate(ds) == 30.0
    ds.RecommendedDisplayFrameRate = 0
    assert frame_rate(ds) == 15.0


def test_tag_browser_lists_and_finds_elements(qtbot, library):
    viewer = open_viewer(qtbot, library, "CT", 12)
    browser = view_commands.show_tags(viewer)
    assert browser is not None and browser.isVisible()
    tree = browser.tree
    tags = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert "(0010,0010)" in tags and tags[0].startswith("(0002,")
    pixel = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                 if tree.topLevelItem(i).text(0) == "(7FE0,0010)")
    assert pixel.text(3).startswith("<pixel data")
    browser.filter_edit.setText("PatientName")
    assert [tree.topLevelItem(i).text(3) for i in range(tree.topLevelItemCount())] == ["CompressedSamples^CT1"]
    browser.close()


def test_the_series_panel_shows_a_thumbnail_of_each_series(qtbot, library):
    viewer = open_viewer(qtbot, library, "CT")
    panel = viewer.series_list
    qtbot.waitUntil(lambda: all(not panel.item(i).icon().isNull() for i in range(panel.count())),
                    timeout=OPEN_TIMEOUT_MS)
    icon = panel.item(0).icon().pixmap(panel.iconSize())
    assert not icon.isNull() and max(icon.width(), icon.height()) > 16


def test_the_value_under_the_cursor_shows_in_the_corner(qtbot, library):
    viewer = open_viewer(qtbot, library, "CT", 12)
    vp = viewer.viewport
    centre = vp.image_rect().center().toPoint()
    qtbot.mouseMove(vp, centre)
    qtbot.waitUntil(lambda: "HU" in vp.corners.bottom_right)
    line = vp.corners.bottom_right.splitlines()[0]
    assert line.startswith("X 6") and line.endswith(" HU")  # the middle of a 128-pixel CT
    vp.hovered.emit(-1, -1)  # the mouse left the image
    assert "HU" not in vp.corners.bottom_right


def test_orientation_letters_sit_at_the_edges_and_turn_with_the_image(qtbot, library):
    viewer = open_viewer(qtbot, library, "CT", 12)  # an axial CT: anterior up, the patient's left on the right
    assert viewer.viewport.corners.edges == ("A", "L", "P", "R")
    viewer.commands.rotate_right.trigger()
    assert viewer.viewport.corners.edges == ("R", "A", "L", "P")
    viewer.commands.flip_h.trigger()
    assert viewer.viewport.corners.edges == ("R", "P", "L", "A")
    viewer.commands.overlays.trigger()  # O hides them with the corners
    assert not viewer.viewport.overlays_visible


def test_a_scale_bar_and_the_slice_position_show_on_a_ct(qtbot, library):
    viewer = open_viewer(qtbot, library, "CT", 12)
    corners = viewer.viewport.corners
    assert corners.scale_bar is not None and corners.scale_bar[1].endswith(("cm", "mm"))
    assert "Thk" in corners.bottom_left
    before = corners.scale_bar[0]
    viewer.commands.zoom_in.trigger()  # the bar keeps its millimetres: longer on screen, or a shorter length
    after = viewer.viewport.corners.scale_bar
    assert after is not None and (after[0] > before or after[1] != corners.scale_bar[1])


def test_the_right_button_zooms_as_in_horos_and_ohif_when_chosen_and_it_is_remembered(qtbot, library):
    viewer = open_viewer(qtbot, library, "CT", 12)
    assert not viewer.commands.right_zooms.isChecked()
    viewer.commands.right_zooms.trigger()
    vp = viewer.viewport
    vp.fit()
    before_scale, before_window = vp.scale(), viewer.view.window
    drag(vp, Qt.MouseButton.RightButton, 0, -40)  # up: magnify
    assert vp.scale() > before_scale * 1.3 and viewer.view.window == before_window  # the window untouched
    drag(vp, Qt.MouseButton.LeftButton, 30, 0)  # the left button still adjusts the window
    assert viewer.view.window is not None
    again = open_viewer(qtbot, library, "CT", 12)  # a new viewer starts with the choice
    assert again.commands.right_zooms.isChecked() and again.viewport.right_zooms
    again.commands.right_zooms.trigger()
    assert not again.viewport.right_zooms
