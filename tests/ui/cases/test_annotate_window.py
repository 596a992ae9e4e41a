"""The Annotate window, used with the mouse as a radiologist would: each tool draws on the key
image where the mouse went (the canvas' own pixels read back), lengths and ROIs are measured in
mm and HU, Select moves and Delete deletes, a label is typed in, Escape drops a half-drawn
angle, and every gesture is one undo step shared with the case editor."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from desktop.app.cases import casebook
from desktop.app.cases.annotating import Tool
from desktop.app.cases.draft import CaseDraft
from desktop.app.library.importing import import_paths
from desktop.core.cases.annotations import Kind
from desktop.core.cases.burn import ANNOTATION_RGB
from desktop.core.cases.case import KeyView
from desktop.ui.cases.editor import CaseEditor
from tests.conftest import pydicom_test_files
from tests.planting.pixels import plant_file

LOAD_MS = 20_000


@pytest.fixture
def editor(qtbot, home, tmp_path, monkeypatch):  # noqa: ANN001, ANN201 - a CaseEditor with one CT key image
    import pydicom
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr("desktop.ui.cases.editor.QMessageBox.question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)  # closing at the end of a test

    planted = plant_file(pydicom_test_files() / "CT_small.dcm", tmp_path / "in", hidden_bits=False, comments=False)
    ds = pydicom.dcmread(planted.path, stop_before_pixels=True)
    import_paths(home, [tmp_path / "in"])
    draft = CaseDraft(home, casebook.new_case(home, [ds.StudyInstanceUID], "Hepatic cyst"))
    draft.mark(ds.SOPInstanceUID, 0, KeyView(window_center=40, window_width=400, rotation_quarters=1, flip_h=True))
    widget = CaseEditor(draft, "Planted patient")
    qtbot.addWidget(widget)
    widget.show()
    return widget


@pytest.fixture
def annotator(qtbot, editor):  # noqa: ANN001, ANN201
    editor.key_list.setCurrentRow(0)
    assert editor.annotate_button.isEnabled()
    qtbot.mouseClick(editor.annotate_button, Qt.MouseButton.LeftButton)
    window = editor.annotators[editor.case.key_images[0].key]
    qtbot.waitUntil(lambda: window.canvas.picture is not None, timeout=LOAD_MS)
    window.canvas.setFocus()
    return window


def _at(window, point) -> QPoint:  # noqa: ANN001
    return window.canvas.to_widget(point).toPoint()


def _drag(window, start, end) -> None:  # noqa: ANN001
    canvas = window.canvas
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _at(window, start))
    middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    QTest.mouseMove(canvas, _at(window, middle))
    QTest.mouseMove(canvas, _at(window, end))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _at(window, end))


def _click(window, point) -> None:  # noqa: ANN001
    QTest.mouseMove(window.canvas, _at(window, point))
    QTest.mouseClick(window.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _at(window, point))


def _annotations(editor):  # noqa: ANN001, ANN202
    return editor.case.key_images[0].annotations


def _is_yellow(image, at: QPoint) -> bool:  # noqa: ANN001
    """The annotation colour within a pixel or two of ``at`` (the line is anti-aliased)."""
    for dx in (-2, -1, 0, 1, 2):
        for dy in (-2, -1, 0, 1, 2):
            colour = image.pixelColor(at.x() + dx, at.y() + dy)
            if (colour.red(), colour.green(), colour.blue()) == ANNOTATION_RGB:
                return True
    return False


def test_each_tool_draws_where_the_mouse_went_and_measures(qtbot, editor, annotator):  # noqa: ANN001
    window = annotator
    assert window.tool_actions[Tool.ARROW].isChecked()  # a key image without annotations starts on Arrow
    _drag(window, (20.0, 100.0), (90.0, 40.0))
    shown = window.canvas.grab().toImage()
    assert _is_yellow(shown, _at(window, (55.0, 70.0)))  # the shaft, on screen, where the mouse went
    assert not _is_yellow(shown, _at(window, (45.0, 50.0)))  # and not beside it
    QTest.keyClick(window, Qt.Key.Key_L)
    assert window.tool_actions[Tool.LINE].isChecked()
    _drag(window, (10.0, 10.0), (10.0, 60.0))
    assert " mm" in window.status.text()  # the selected line says its length
    QTest.keyClick(window, Qt.Key.Key_E)
    _drag(window, (60.0, 60.0), (80.0, 75.0))
    QTest.keyClick(window, Qt.Key.Key_R)
    _drag(window, (40.0, 40.0), (70.0, 70.0))
    assert "Mean " in window.status.text() and " HU, SD " in window.status.text() and "mm²" in window.status.text()
    QTest.keyClick(window, Qt.Key.Key_G)
    _drag(window, (100.0, 100.0), (110.0, 80.0))
    _click(window, (120.0, 100.0))
    assert "°" in window.status.text()

    annotations = _annotations(editor)
    assert [a.kind for a in annotations.items] == [Kind.ARROW, Kind.LINE, Kind.ELLIPSE, Kind.ROI, Kind.ANGLE]
    arrow = annotations.items[0]
    assert arrow.points[0] == pytest.approx((20.0, 100.0), abs=1.0)
    assert arrow.points[1] == pytest.approx((90.0, 40.0), abs=1.0)
    line = annotations.items[1]
    assert abs(line.points[1][1] - line.points[0][1]) == pytest.approx(50.0, abs=1.0)
    # the editor shows it: an unsaved change, five annotations on the key image, undo named
    assert editor.draft.dirty and "5 annotation(s)" in editor.key_list.item(0).toolTip()
    assert editor.undo_button.toolTip() == "Undo Draw Angle"


def test_a_text_label_is_typed_and_checked_before_export(qtbot, editor, annotator, monkeypatch):  # noqa: ANN001
    window = annotator
    monkeypatch.setattr("desktop.ui.cases.annotate_window.QInputDialog.getText", lambda *a, **k: ("Cyst", True))
    QTest.keyClick(window, Qt.Key.Key_T)
    _click(window, (30.0, 30.0))
    (label,) = _annotations(editor).items
    assert label.kind is Kind.TEXT and label.text == "Cyst"
    assert ("Key image 1, annotation label", "Cyst") in editor.case.typed_texts() or any(
        text == "Cyst" for _where, text in editor.case.typed_texts())
    # double-click with Select edits the label
    monkeypatch.setattr("desktop.ui.cases.annotate_window.QInputDialog.getText",
                        lambda *a, **k: ("Simple cyst", True))
    QTest.keyClick(window, Qt.Key.Key_V)
    QTest.mouseDClick(window.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      _at(window, (30.0, 30.0)))
    assert _annotations(editor).items[0].text == "Simple cyst"


def test_select_moves_delete_deletes_and_undo_is_shared_with_the_editor(qtbot, editor, annotator):  # noqa: ANN001
    window = annotator
    _drag(window, (20.0, 20.0), (60.0, 20.0))  # an arrow
    QTest.keyClick(window, Qt.Key.Key_V)
    _drag(window, (40.0, 20.0), (40.0, 50.0))  # grab its shaft, move it down 30 pixels
    arrow = _annotations(editor).items[0]
    assert arrow.points[0] == pytest.approx((20.0, 50.0), abs=1.0)
    assert editor.undo_button.toolTip() == "Undo Move Arrow"
    QTest.keyClick(window.canvas, Qt.Key.Key_Delete)
    assert _annotations(editor).items == ()
    window.undo_action.trigger()  # Ctrl+Z in the window
    assert _annotations(editor).items[0].points[0] == pytest.approx((20.0, 50.0), abs=1.0)
    editor.undo()  # the editor's Undo undoes the move, and the window shows it
    assert window.canvas.session.base.items[0].points[0] == pytest.approx((20.0, 20.0), abs=1.0)
    window.redo_action.trigger()
    assert _annotations(editor).items[0].points[0] == pytest.approx((20.0, 50.0), abs=1.0)
    # the editor's thumbnail is rendered again with the arrow burned in
    qtbot.waitUntil(lambda: not editor.key_list.item(0).icon().isNull(), timeout=LOAD_MS)
    assert editor.save()
    saved = casebook.load(editor.draft.home, editor.draft.case_id)
    assert [a.kind for a in saved.key_images[0].annotations.items] == [Kind.ARROW]


def test_escape_drops_a_half_drawn_angle_and_removing_the_key_image_closes_the_window(qtbot, editor,  # noqa: ANN001
                                                                                      annotator):
    window = annotator
    QTest.keyClick(window, Qt.Key.Key_G)
    _drag(window, (10.0, 10.0), (50.0, 50.0))
    assert window.canvas.session.pending
    QTest.keyClick(window, Qt.Key.Key_Escape)
    assert not window.canvas.session.pending and _annotations(editor).items == ()
    editor.remove_current()
    qtbot.waitUntil(lambda: editor.annotators == {}, timeout=LOAD_MS)  # the window closed itself


def test_the_canvas_draws_the_picture_at_the_key_images_view(qtbot, editor, annotator):  # noqa: ANN001
    """Rotated a quarter turn and flipped: the picture on screen is the burned slide's image."""
    window = annotator
    picture = window.canvas.picture
    assert picture is not None and picture.pixels.shape[2] == 3
    image = window.canvas.grab().toImage()
    rect = window.canvas.image_rect()
    assert rect.width() == pytest.approx(rect.height(), abs=1)  # CT_small is square, turned or not
    centre = image.pixelColor(rect.center().toPoint())
    expected = picture.pixels[picture.pixels.shape[0] // 2, picture.pixels.shape[1] // 2]
    assert abs(centre.red() - int(expected[0])) < 40 and np.any(picture.pixels)
