"""Helpers for UI tests: wait for imports to settle, find visible message boxes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

from desktop.ui.common import background
from desktop.ui.main_window import MainWindow

IMPORT_TIMEOUT_MS = 30_000


def wait_idle(qtbot, win: MainWindow, timeout: int = IMPORT_TIMEOUT_MS) -> None:
    """Until no import runs or waits and the last catalogue reload has arrived."""
    qtbot.waitUntil(lambda: not win.imports.busy and not win.imports.waiting
                    and background.pending() == 0, timeout=timeout)


def import_and_wait(qtbot, win: MainWindow, paths: list[Path] | list[str]) -> None:
    win.import_paths(list(paths))
    assert win.imports.busy
    wait_idle(qtbot, win)


def message_boxes(object_name: str | None = None) -> list[QMessageBox]:
    """Visible message boxes (optionally of one object name)."""
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.isVisible()
            and (object_name is None or w.objectName() == object_name)]
