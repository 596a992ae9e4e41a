"""Work off the UI thread: results by signal, progress forwarded, superseded results dropped."""

from __future__ import annotations

import threading
import time

import shiboken6
from PySide6.QtCore import QObject, QThread
from PySide6.QtWidgets import QApplication

from desktop.ui.common import background
from desktop.ui.common.background import run_in_background


def test_op_runs_off_the_ui_thread_and_result_arrives_on_it(qtbot):
    seen: dict[str, object] = {}

    def op(progress):
        seen["op_thread"] = threading.current_thread()
        for i in range(3):
            progress(i + 1, 3)
        return 42

    def on_success(result):
        seen["result"] = result
        seen["callback_on_ui_thread"] = QThread.currentThread() is QApplication.instance().thread()

    progress: list[tuple[int, int]] = []
    run_in_background(op, on_success, lambda exc: seen.setdefault("error", exc),
                      lambda d, t: progress.append((d, t)))
    qtbot.waitUntil(lambda: "result" in seen)
    assert seen["result"] == 42
    assert seen["op_thread"] is not threading.main_thread()
    assert seen["callback_on_ui_thread"]
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert "error" not in seen


def test_failure_is_delivered(qtbot):
    errors: list[BaseException] = []

    def op(_progress):
        raise ValueError("boom")

    run_in_background(op, lambda r: None, errors.append)
    qtbot.waitUntil(lambda: bool(errors))
    assert isinstance(errors[0], ValueError)


def test_superseded_result_is_dropped(qtbot):
    results: list[str] = []

    def slow(_progress):
        time.sleep(0.3)
        return "old"

    run_in_background(slow, results.append, lambda e: None, key="test-superseded")
    run_in_background(lambda _p: "new", results.append, lambda e: None, key="test-superseded")
    qtbot.waitUntil(lambda: background.pending() == 0, timeout=5000)
    assert results == ["new"]


def test_result_for_a_destroyed_context_is_dropped(qtbot):
    results: list[str] = []
    context = QObject()
    started = threading.Event()

    def op(_progress):
        started.set()
        time.sleep(0.2)
        return "late"

    run_in_background(op, results.append, lambda e: None, context=context)
    started.wait(2)
    shiboken6.delete(context)
    qtbot.waitUntil(lambda: background.pending() == 0, timeout=5000)
    assert results == []
