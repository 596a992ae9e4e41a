"""Fixtures for the viewer: a library with real images and a viewer open on one series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from desktop.ui.viewer.viewer_window import ViewerWindow
from tests.conftest import pydicom_test_files, write_series
from tests.ui.ui_helpers import import_and_wait

OPEN_TIMEOUT_MS = 10_000


def open_viewer(qtbot, win, modality: str = "CT", images: int | None = None) -> ViewerWindow:
    """A viewer on the first study of ``modality`` (with ``images`` images, if given)."""
    study = next(s for s in win.catalogue.studies
                 if modality in s.modalities and (images is None or s.image_count == images))
    viewer = win.open_viewer(study)
    qtbot.addWidget(viewer)
    qtbot.waitUntil(lambda: viewer.view is not None, timeout=OPEN_TIMEOUT_MS)
    return viewer


def wheel(widget, steps: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """Turn the wheel ``steps`` notches (positive: towards the user, i.e. down)."""
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, widget.mapToGlobal(centre), QPoint(0, 0), QPoint(0, -120 * steps),
                        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def drag(widget, button: Qt.MouseButton, dx: float, dy: float) -> None:
    start = QPointF(widget.width() / 2, widget.height() / 2)
    end = start + QPointF(dx, dy)
    t = QMouseEvent.Type
    for kind, pos, buttons in ((t.MouseButtonPress, start, button), (t.MouseMove, end, button),
                               (t.MouseButtonRelease, end, Qt.MouseButton.NoButton)):
        QApplication.sendEvent(widget, QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons,
                                                   Qt.KeyboardModifier.NoModifier))


def shown_array(viewer: ViewerWindow) -> np.ndarray:
    assert viewer.viewport.array is not None
    return viewer.viewport.array


@pytest.fixture
def library(qtbot, window, few_dicoms: Path, tmp_path: Path):
    """The window with the five sample files and a twelve-image CT series imported."""
    write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "stack", 12)
    import_and_wait(qtbot, window, [few_dicoms, tmp_path / "stack"])
    return window
