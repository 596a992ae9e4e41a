"""One place reports errors; launching gives the dark, iconed window."""

from __future__ import annotations

import logging
import sys

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QMessageBox

from desktop.core.common.errors import KeyStoreError
from desktop.ui import launch
from desktop.ui.common import errors
from desktop.ui.common.errors import GENERIC_MESSAGE, show_error
from desktop.ui.common.theme import apply_theme


def test_veil_error_shows_its_own_message(qtbot):
    box = show_error(None, KeyStoreError("The keyring refused."))
    qtbot.addWidget(box)
    assert box.text() == "The keyring refused."
    assert box.icon() == QMessageBox.Icon.Warning
    assert box.detailedText() == ""


def test_unexpected_error_is_generic_and_logged_without_its_message(qtbot, caplog):
    try:
        raise ValueError("Doe^Jane 1970-01-01")  # stands for patient data in a message
    except ValueError as exc:
        with caplog.at_level(logging.ERROR, logger="veil.ui"):
            box = show_error(None, exc)
    qtbot.addWidget(box)
    assert box.text() == GENERIC_MESSAGE
    assert box.detailedText() == ""
    assert "ValueError" in caplog.text
    assert "Doe" not in caplog.text and "1970" not in caplog.text
    assert "test_unexpected_error_is_generic" in caplog.text  # where it happened


def test_describe_unexpected_names_type_and_place():
    try:
        {}["secret"]
    except KeyError as exc:
        text = errors.describe_unexpected(exc)
    assert text.startswith("builtins.KeyError at test_describe_unexpected_names_type_and_place")
    assert "secret" not in text


def test_launch_applies_dark_fusion_and_opens_the_library(qtbot, veil_home):
    app = launch.application()
    assert apply_theme(app).name().lower() == "fusion"
    palette = app.palette()
    assert palette.color(QPalette.ColorRole.Window).lightness() < 60
    assert palette.color(QPalette.ColorRole.WindowText).lightness() > 200
    assert not app.windowIcon().isNull()
    window = launch.start(str(veil_home))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.empty_page)
    assert window.home is not None and window.home.path == veil_home.resolve()
    screen = window.screen().availableGeometry()
    assert min(900, 0.8 * screen.width()) <= window.width() <= screen.width()
    assert min(600, 0.8 * screen.height()) <= window.height() <= screen.height()


def test_run_app_runs_until_the_window_closes_and_cleans_up(qtbot, veil_home):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.ui.main_window import MainWindow

    def close_when_open():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if windows and windows[0].home is not None:
            windows[0].commands.quit.trigger()  # File > Quit
        else:
            QTimer.singleShot(50, close_when_open)

    QTimer.singleShot(50, close_when_open)
    assert launch.run_app(str(veil_home)) == 0
    assert sys.excepthook is not errors._excepthook
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)
                and w.home_path == veil_home.resolve()]  # disposed, not left for exit
    assert (veil_home / "library.sqlite").exists()


def test_uncaught_exception_in_a_slot_is_reported_in_a_box(qtbot):
    from tests.ui.ui_helpers import message_boxes

    try:
        raise RuntimeError("Doe^Jane")
    except RuntimeError as exc:
        errors._excepthook(RuntimeError, exc, exc.__traceback__)
    boxes = message_boxes("ErrorBox")
    assert boxes and boxes[0].text() == GENERIC_MESSAGE
    for box in boxes:
        box.close()
