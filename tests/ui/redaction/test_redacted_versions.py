"""Redacted versions in the UI (issue 13): the browser marks a redacted series, the viewer opens
the redacted versions and shows the originals on demand under a banner, Redact mode draws on
the originals and Apply comes back to the new redacted versions of the same series."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from PySide6.QtCore import Qt

from desktop.app.redaction.mask_store import MaskStore
from desktop.app.redaction.redacting import apply_series_masks
from desktop.app.redaction.session import Slot
from desktop.core.library import index
from desktop.core.library.masks import save_mask
from desktop.core.redaction.burn_in import darkest_stored_value
from desktop.core.redaction.mask import Mask, Scope
from desktop.core.redaction.shapes import Rect
from desktop.ui.common import background, theme
from desktop.ui.library.study_model import SeriesTableModel, StudyTableModel
from desktop.ui.viewer.overlays import REDACTED_NOTE
from desktop.ui.viewer.pane import EDITING_BANNER, ORIGINAL_BANNER, UNREDACTED_BANNER
from tests.ui.redaction.test_redact_mode import APPLY_TIMEOUT_MS, click, close, enter_redact, key, mouse_drag
from tests.ui.ui_helpers import wait_idle
from tests.ui.viewer.conftest import OPEN_TIMEOUT_MS, open_viewer

#: The banner burned into the first three images of the twelve-image CT series.
BANNER = Rect(0, 0, 0, 128, 16)
REDACTED_IMAGES = 3


def _ct_series(win) -> tuple[object, object]:
    study = next(s for s in win.catalogue.studies if "CT" in s.modalities and s.image_count == 12)
    return study, win.browser.series_of(study)[0]


def _redact_first_images(win, count: int = REDACTED_IMAGES) -> None:
    """Mask the top band of the first ``count`` images and apply, as the app layer does."""
    home = win.home
    _study, series = _ct_series(win)
    conn = home.connect()
    try:
        for image in index.list_instances(conn, series.series_ref)[:count]:
            save_mask(conn, image.instance_ref, Mask(128, 128, scope=Scope.IMAGE).with_shape(BANNER))
    finally:
        conn.close()
    report = apply_series_masks(home, series.series_ref)
    assert report.written == count, report.headline()


@pytest.fixture
def redacted(qtbot, library):
    """The library with the first three images of the CT series redacted (a top band)."""
    _redact_first_images(library)
    library.refresh()
    wait_idle(qtbot, library)
    qtbot.waitUntil(lambda: any(r.redacted_count for rows in library.catalogue.series_by_study.values()
                                for r in rows), timeout=OPEN_TIMEOUT_MS)
    return library


def _band(pixels: np.ndarray) -> np.ndarray:
    return pixels[:16, :128]


def _original_pixels(home, image) -> np.ndarray:
    return pydicom.dcmread(io.BytesIO(home.objects.read(image.object_sha256))).pixel_array


def _opened(viewer, versions: str) -> bool:
    view = viewer.view
    return view is not None and view.series.versions == versions and viewer.pane.versions == versions


def test_the_browser_marks_a_redacted_series(qtbot, redacted):
    browser = redacted.browser
    study, _ = _ct_series(redacted)
    browser.filter_edit.setText("redacted")  # the filter finds studies with redacted images
    assert browser.visible_study_count() == 1 and browser.selected_study().study_uid == study.study_uid
    model = browser.series_model
    cell = model.index(0, SeriesTableModel.REDACTED)
    assert model.headerData(SeriesTableModel.REDACTED, Qt.Orientation.Horizontal) == "Redacted"
    assert cell.data() == "◼ 3 of 12 redacted"
    assert cell.data(Qt.ItemDataRole.ForegroundRole).name() == theme.ACCENT
    tip = cell.data(Qt.ItemDataRole.ToolTipRole)
    assert "Exports take the redacted versions" in tip and "originals stay in the library, untouched" in tip
    assert model.index(0, SeriesTableModel.REDACTED - 2).data() == "12"  # each image counted once
    assert "1 with redacted images" in browser.series_title.text()
    source = browser.proxy.mapToSource(browser.proxy.index(0, StudyTableModel.IMAGES))
    assert "3 redacted in Veil" in browser.study_model.data(source, Qt.ItemDataRole.ToolTipRole)
    # a series Veil redacted nothing of has no mark
    browser.filter_edit.setText("MR")
    assert browser.series_model.index(0, SeriesTableModel.REDACTED).data() == ""
    assert browser.series_model.index(0, SeriesTableModel.REDACTED).data(Qt.ItemDataRole.ToolTipRole) is None


def test_the_viewer_opens_the_redacted_versions_and_shows_the_originals_on_demand(qtbot, redacted):
    viewer = open_viewer(qtbot, redacted, "CT", 12)
    home, pane, show = viewer.home, viewer.pane, viewer.commands.show_original
    assert "3 of 12 redacted" in viewer.series_list.item(0).text()
    assert show.shortcut().toString() == "Ctrl+Shift+O" and show in viewer.menus["View"].actions()

    # the current versions: the first three images are their redacted versions, band burned
    series = viewer.view.series
    assert series.versions == "current" and [i.redacted_version for i in series.images][:4] == [True] * 3 + [False]
    conn = home.connect()
    try:
        originals = index.list_instances(conn, viewer.current_ref, versions="originals")
    finally:
        conn.close()
    pixels, _ = series.frame(0)
    source = pydicom.dcmread(io.BytesIO(home.objects.read(originals[0].object_sha256)))
    assert (_band(pixels) == darkest_stored_value(source)).all()
    assert not np.array_equal(_band(pixels), _band(source.pixel_array))
    assert viewer.viewport.corners.bottom_left.endswith(REDACTED_NOTE)
    assert not pane.banner.isVisible()
    assert show.isEnabled() and not show.isChecked()

    # Show Original (its key): the original pixels, under the banner; the place is kept
    viewer.go_to(1)
    viewer.viewport.setFocus()
    ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(viewer.viewport, Qt.Key.Key_O, ctrl_shift)
    qtbot.waitUntil(lambda: _opened(viewer, "originals"), timeout=OPEN_TIMEOUT_MS)
    assert show.isChecked() and viewer.view.index == 1
    assert [i.instance_ref for i in viewer.view.series.images] == [i.instance_ref for i in originals]
    pixels, _ = viewer.view.series.frame(1)
    assert np.array_equal(pixels, _original_pixels(home, originals[1]))
    assert pane.banner.isVisible() and pane.banner.text() == ORIGINAL_BANNER
    assert "every export" in pane.banner.toolTip()
    assert REDACTED_NOTE not in viewer.viewport.corners.bottom_left
    assert "originals" in viewer.statusBar().currentMessage()
    # an image Veil did not redact says so, plainly
    viewer.go_to(5)
    assert pane.banner.isVisible() and pane.banner.text() == UNREDACTED_BANNER
    viewer.go_to(2)
    assert pane.banner.text() == ORIGINAL_BANNER
    # sharing "this image" from the original sends its redacted version
    with qtbot.waitSignal(viewer.share_image_requested) as sent:
        viewer._share_image()
    version = next(i for i in series.images if i.replaces_ref == originals[2].instance_ref)
    assert sent.args[1] == version.sop_instance_uid != originals[2].sop_instance_uid
    # the view of the originals is accounted for
    assert '"versions":"originals"' in home.audit_path.read_text().replace(" ", "")

    # unchecking: back to the redacted versions, same place
    show.trigger()
    qtbot.waitUntil(lambda: _opened(viewer, "current"), timeout=OPEN_TIMEOUT_MS)
    assert viewer.view.index == 2 and viewer.view.series.images[2].redacted_version
    assert not pane.banner.isVisible() and not show.isChecked()
    assert (_band(viewer.view.series.frame(2)[0]) == darkest_stored_value(source)).all()
    close(viewer)


def test_show_original_is_only_for_a_series_with_redacted_images(qtbot, library):
    viewer = open_viewer(qtbot, library, "CT", 12)
    assert not viewer.commands.show_original.isEnabled()
    viewer.show_original(True)  # even asked for, nothing changes
    assert viewer.pane.versions == "current" and not viewer.pane.banner.isVisible()
    assert REDACTED_NOTE not in viewer.viewport.corners.bottom_left
    close(viewer)


def test_redact_mode_draws_on_the_originals_and_apply_comes_back_to_the_redacted_versions(qtbot, redacted):
    viewer = open_viewer(qtbot, redacted, "CT", 12)
    home, series_ref = viewer.home, viewer.current_ref
    conn = home.connect()
    try:
        originals = index.list_instances(conn, series_ref, versions="originals")
        series_count = conn.execute("SELECT count(*) FROM series").fetchone()[0]
    finally:
        conn.close()
    original_refs = {i.instance_ref for i in originals}
    assert viewer.view.series.images[0].redacted_version

    # entering Redact mode shows the originals: the masks belong to them
    viewer.go_to(1)
    enter_redact(qtbot, viewer)
    mode = viewer.redact
    assert _opened(viewer, "originals") and viewer.view.index == 1
    assert {i.instance_ref for i in mode.session.images} == original_refs
    assert mode.here.instance_ref == originals[1].instance_ref
    assert viewer.commands.show_original.isChecked() and not viewer.commands.show_original.isEnabled()
    assert viewer.pane.banner.isVisible() and viewer.pane.banner.text() == EDITING_BANNER
    # the masks applied before are there, on the originals they were drawn on
    assert mode.session.slots_here() == [Slot(originals[1].instance_ref, Scope.IMAGE, 0)]

    # a new mask on an image not redacted yet: saved against the original
    viewer.go_to(6)
    assert mode.here.instance_ref == originals[6].instance_ref
    mouse_drag(viewer, [(40, 100), (90, 120)])
    covered = mode.session.working_history.mask.rasterize()
    assert covered.sum() > 500
    qtbot.waitUntil(lambda: mode.saver.idle and background.pending() == 0, timeout=OPEN_TIMEOUT_MS)
    conn = home.connect()
    try:
        owners = {r[0] for r in conn.execute("SELECT instance_ref FROM masks")}
    finally:
        conn.close()
    assert owners <= original_refs and originals[6].instance_ref in owners

    # Apply: back to the current versions of the same series, now four redacted
    mode.actions.apply.trigger()
    qtbot.waitUntil(lambda: mode.last_report is not None, timeout=APPLY_TIMEOUT_MS)
    assert mode.last_report.written == 1 and mode.last_report.series_uid
    qtbot.waitUntil(lambda: not mode.active and _opened(viewer, "current")
                    and viewer.view.series.images[6].redacted_version, timeout=OPEN_TIMEOUT_MS)
    assert viewer.current_ref == series_ref and viewer.view.index == 6
    assert sum(i.redacted_version for i in viewer.view.series.images) == 4
    pixels, _ = viewer.view.series.frame(6)
    source = pydicom.dcmread(io.BytesIO(home.objects.read(originals[6].object_sha256)))
    assert (pixels[covered] == darkest_stored_value(source)).all()
    assert np.array_equal(pixels[~covered], source.pixel_array[~covered])
    assert not viewer.pane.banner.isVisible() and viewer.commands.show_original.isEnabled()
    qtbot.waitUntil(lambda: "4 of 12 redacted" in viewer.series_list.item(0).text(), timeout=OPEN_TIMEOUT_MS)
    assert "Showing the redacted versions" in viewer.statusBar().currentMessage()
    conn = home.connect()
    try:
        assert conn.execute("SELECT count(*) FROM series").fetchone()[0] == series_count  # no new series
        owners = {r[0] for r in conn.execute("SELECT instance_ref FROM masks")}
    finally:
        conn.close()
    assert owners <= original_refs
    qtbot.waitUntil(lambda: _ct_series(redacted)[1].redacted_count == 4, timeout=OPEN_TIMEOUT_MS)
    close(viewer)


def test_leaving_redact_mode_shows_the_redacted_versions_again(qtbot, redacted):
    viewer = open_viewer(qtbot, redacted, "CT", 12)
    enter_redact(qtbot, viewer)
    assert _opened(viewer, "originals")
    viewer.redact.actions.redact.trigger()
    qtbot.waitUntil(lambda: _opened(viewer, "current"), timeout=OPEN_TIMEOUT_MS)
    assert viewer.view.series.images[0].redacted_version and not viewer.commands.show_original.isChecked()
    close(viewer)


def test_removing_every_mask_and_applying_gives_the_originals_back(qtbot, redacted):
    viewer = open_viewer(qtbot, redacted, "CT", 12)
    enter_redact(qtbot, viewer)
    mode = viewer.redact
    key(qtbot, viewer, Qt.Key.Key_S)  # the select tool: click the band, Delete removes it
    for number in range(REDACTED_IMAGES):
        viewer.go_to(number)
        assert mode.session.slots_here()
        click(viewer, 64, 8)
        key(qtbot, viewer, Qt.Key.Key_Delete)
        assert not mode.session.slots_here()
    qtbot.waitUntil(lambda: mode.saver.idle and background.pending() == 0, timeout=OPEN_TIMEOUT_MS)
    assert not mode.session.stored() and mode.actions.apply.isEnabled()  # Apply undoes the redaction
    mode.actions.apply.trigger()
    qtbot.waitUntil(lambda: mode.last_report is not None, timeout=APPLY_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not mode.active and viewer.view is not None
                    and not viewer.view.series.has_redacted_versions, timeout=OPEN_TIMEOUT_MS)
    assert not any(i.redacted_version for i in viewer.view.series.images)
    assert not viewer.commands.show_original.isEnabled()
    qtbot.waitUntil(lambda: _ct_series(redacted)[1].redacted_count == 0, timeout=OPEN_TIMEOUT_MS)
    close(viewer)


def test_no_mask_is_ever_saved_against_a_redacted_version(redacted):
    home = redacted.home
    _, series = _ct_series(redacted)
    conn = home.connect()
    try:
        version = index.list_instances(conn, series.series_ref)[0]
    finally:
        conn.close()
    assert version.redacted_version
    mask = Mask(128, 128, scope=Scope.IMAGE).with_shape(Rect(0, 10, 10, 20, 20))
    MaskStore(home).write({Slot(version.instance_ref, Scope.IMAGE, 0): (1, mask)})
    conn = home.connect()
    try:
        owners = [r[0] for r in conn.execute("SELECT instance_ref FROM masks WHERE mask_json = ?",
                                             (mask.to_json(),))]
    finally:
        conn.close()
    assert owners == [version.replaces_ref]
