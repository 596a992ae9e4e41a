"""``veil gui [NAME.veil]``: the bundle's menu entry starts ``veil gui %f`` when it has no
``veil-gui``; the package given reaches the window as a double-click's does."""

from __future__ import annotations

import pytest

from desktop.cli.main import main


def test_veil_gui_passes_the_package_to_the_window(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001
    import desktop.ui.launch as launch

    opened: list[tuple[str | None, str | None]] = []
    monkeypatch.setattr(launch, "run_app", lambda home=None, package=None: opened.append((home, package)) or 0)
    assert main(["--home", str(tmp_path), "gui", "case.veil"]) == 0
    assert main(["--home", str(tmp_path), "gui"]) == 0
    assert opened == [(str(tmp_path), "case.veil"), (str(tmp_path), None)]
