"""desktop.app.common.worker_pool.forkserver_usable: no forkserver where multiprocessing has none
(Windows), nor where its socket path would not fit."""

from __future__ import annotations

import multiprocessing
import tempfile

import pytest

from desktop.app.common import worker_pool


@pytest.mark.skipif("forkserver" not in multiprocessing.get_all_start_methods(), reason="no forkserver here")
def test_usable_under_a_short_temp_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "gettempdir", lambda: "/tmp")
    assert worker_pool.forkserver_usable()
    monkeypatch.setattr(tempfile, "gettempdir", lambda: "/" + "t" * 100)
    assert not worker_pool.forkserver_usable()


def test_not_usable_where_multiprocessing_has_no_forkserver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_pool.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    monkeypatch.setattr(tempfile, "gettempdir", lambda: "/tmp")
    assert not worker_pool.forkserver_usable()
