"""Fixtures for the desktop UI: a window showing the opened Veil home ``home`` (tests/conftest.py)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from desktop.app.library.home import VeilHome
from desktop.ui.common import background
from desktop.ui.common.theme import apply_theme
from desktop.ui.main_window import MainWindow
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS


@pytest.fixture
def window(qtbot, qapp, home: VeilHome) -> MainWindow:
    """The main window on ``home``, catalogue loaded, in the real theme."""
    apply_theme(qapp)
    win = MainWindow(home.path)
    qtbot.addWidget(win)
    win.show()
    win.set_home(home)
    qtbot.waitUntil(lambda: win.catalogue is not None)
    yield win
    win.imports.cancel()
    background.wait_for_all(IMPORT_TIMEOUT_MS)
    QApplication.processEvents()
