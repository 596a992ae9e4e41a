"""Starting the window where there is no display (a server, an SSH login, a container) says so
and points to the command line, instead of letting Qt abort with a hint about xcb-cursor; a
display whose Qt xcb plugin cannot load names the missing system package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.ui.launch import XCB_LIBRARIES, _loadable, display_problem, x_display_answers

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 and Wayland are Linux's")


@pytest.mark.parametrize("command", [["-m", "desktop"], ["-m", "desktop", "gui"], ["-m", "desktop.ui.launch"]],
                         ids=["veil", "veil gui", "veil-gui"])
def test_no_display_says_so_and_exits_2_without_qt_aborting(tmp_path, command):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["VEIL_HOME"] = str(tmp_path / "home")
    done = subprocess.run([sys.executable, *command], env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("veil: Veil's window needs a display, and this session has none")
    assert "veil --help" in done.stderr and "veil import PATH..." in done.stderr and "veil ls" in done.stderr
    assert "xcb" not in done.stderr and "Qt platform plugin" not in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "home").exists()  # nothing was opened or created


def test_a_missing_xcb_library_is_named_with_its_package():
    problem = display_problem({"DISPLAY": ":0"}, "linux", loadable=lambda soname: soname != "libxcb-cursor.so.0")
    assert problem is not None
    assert "needs libxcb-cursor0, not installed here" in problem
    assert "sudo apt-get install libxcb-cursor0\n" in problem and "veil ls" in problem


def test_several_missing_libraries_are_all_named():
    gone = {"libxcb-icccm.so.4", "libxkbcommon-x11.so.0"}
    problem = display_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux",
                              loadable=lambda soname: soname not in gone)
    assert problem is not None and "sudo apt-get install libxcb-icccm4 libxkbcommon-x11-0\n" in problem


def test_the_packages_named_are_those_the_readme_lists():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    listed = set(readme.split("### System packages", 1)[1].split("```")[1].split())
    assert set(XCB_LIBRARIES) <= listed


def test_an_x11_display_with_every_library_is_no_problem():
    assert display_problem({"DISPLAY": ":0"}, "linux", loadable=lambda soname: True,
                           answers=lambda display: True) is None


def test_a_display_that_does_not_answer_is_named_before_qt_aborts():
    problem = display_problem({"DISPLAY": ":0"}, "linux", loadable=lambda soname: True,
                              answers=lambda display: False)
    assert problem is not None and problem.startswith("Veil's window cannot open: the X display :0 does not answer")
    assert "veil ls" in problem


def _free_display() -> str:
    number = next(n for n in range(180, 400) if not Path(f"/tmp/.X11-unix/X{n}").exists()
                  and not Path(f"/tmp/.X{n}-lock").exists())
    return f":{number}"


@pytest.mark.skipif(not shutil.which("Xvfb"), reason="Xvfb is not installed (scripts/run-tests installs it)")
def test_the_display_check_connects_as_qt_would(tmp_path):
    display = _free_display()
    assert not x_display_answers(display)  # no server there
    server = subprocess.Popen(["Xvfb", display, "-nolisten", "tcp"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{display[1:]}").exists() and x_display_answers(display):
                break
            time.sleep(0.1)
        assert x_display_answers(display)
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.skipif(not all(_loadable(soname) for soname in XCB_LIBRARIES.values()),
                    reason="Qt's xcb libraries are not all installed (scripts/run-tests installs them where it can)")
def test_a_stale_display_exits_2_with_the_reason_and_qt_never_starts(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(DISPLAY=_free_display(), VEIL_HOME=str(tmp_path / "home"))
    done = subprocess.run([sys.executable, "-m", "desktop", "gui"], env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 2, done.stderr
    assert f"the X display {env['DISPLAY']} does not answer" in done.stderr
    assert "Qt platform plugin" not in done.stderr and "Aborted" not in done.stderr
    assert not (tmp_path / "home").exists()


@pytest.mark.parametrize("env", [
    {"QT_QPA_PLATFORM": "offscreen"},
    {"QT_QPA_PLATFORM": "vnc:size=800x600"},
    {"QT_QPA_PLATFORM": "xcb;offscreen", "DISPLAY": ":0"},  # Qt falls back to offscreen
    {"WAYLAND_DISPLAY": "wayland-0"},
    {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"},  # a Wayland session (with Xwayland)
])
def test_a_display_that_needs_no_xcb_is_no_problem_whatever_is_installed(env):
    assert display_problem(env, "linux", loadable=lambda soname: False) is None


def test_other_systems_are_left_to_qt():
    assert display_problem({}, "darwin") is None and display_problem({}, "win32") is None
