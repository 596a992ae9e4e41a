"""SIGTERM (a desktop session logging out, ``kill``) closes Veil's window as its close button
does, so what runs is stopped or finished rather than cut where it stands: here an import that
is running when the signal comes is cancelled, and the window closes once it has let go."""

from __future__ import annotations

import os
import signal

from desktop.ui.launch import close_on_terminate
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS


def test_sigterm_closes_the_window_the_way_its_close_button_does(qtbot, window):  # noqa: ANN001
    previous = close_on_terminate(window)
    try:
        assert window.isVisible()
        os.kill(os.getpid(), signal.SIGTERM)  # handled: the test process lives on
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=IMPORT_TIMEOUT_MS)
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_sigterm_while_importing_cancels_the_import_then_closes(qtbot, window, tmp_path):  # noqa: ANN001
    from benchmarks.synthetic import write_series
    from tests.conftest import pydicom_test_files

    write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "in", 60, "Quisenberry^Marguerite", "QX4471902")
    previous = close_on_terminate(window)
    try:
        window.import_paths([tmp_path / "in"])
        qtbot.waitUntil(lambda: window.imports.busy, timeout=IMPORT_TIMEOUT_MS)
        os.kill(os.getpid(), signal.SIGTERM)
        qtbot.waitUntil(lambda: "before closing" in window.statusBar().currentMessage() or not window.isVisible(),
                        timeout=IMPORT_TIMEOUT_MS)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=IMPORT_TIMEOUT_MS)
        assert not window.imports.busy
    finally:
        signal.signal(signal.SIGTERM, previous)
