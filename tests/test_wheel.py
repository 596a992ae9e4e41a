"""A wheel built from the tracked files (what a clean clone holds) installs into a fresh virtual
environment and works there, away from the checkout: its data files (de-identification tables
and profiles, templates, the icon) are package data, found through importlib.resources."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

GUI_SCRIPT = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QElapsedTimer
    from PySide6.QtTest import QTest
    import desktop
    from desktop.ui.launch import application, start

    assert "site-packages" in desktop.__file__, desktop.__file__
    app = application()
    assert not app.windowIcon().isNull(), "the window icon did not load from the package data"
    window = start(sys.argv[1])
    clock = QElapsedTimer()
    clock.start()
    while not window.studies_in_view() and clock.elapsed() < 120_000:
        QTest.qWait(100)
    print("studies", len(window.studies_in_view()), "visible", window.isVisible())
    window.close()
    QTest.qWait(200)
""")


def _tracked_copy(dest: Path) -> Path:
    """The files a clean clone holds (tracked, as they are now in the worktree)."""
    files = subprocess.run(["git", "ls-files", "-z"], capture_output=True, cwd=ROOT, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh venv with only the wheel installed; the dependencies come from the test venv's
    site-packages (added as a path, so the checkout's own editable install is not seen)."""
    base = tmp_path_factory.mktemp("wheel")
    source = _tracked_copy(base / "clone")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(base / "dist"), str(source)],
                           capture_output=True, text=True, cwd=base, timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels = list((base / "dist").glob("veil-*.whl"))
    assert len(wheels) == 1, wheels
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    purelib = Path(subprocess.run([str(venv / "bin" / "python"), "-c",
                                   "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    (purelib / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                           "--no-deps", "--no-index", str(wheels[0])],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    passphrase = base / "passphrase"
    passphrase.write_text("correct horse battery staple\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEIL_", "PYTHON"))}
    env.update(VEIL_HOME=str(base / "home"), VEIL_PASSPHRASE_FILE=str(passphrase),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", QT_QPA_PLATFORM="offscreen",
               HOME=str(base / "user"))
    return venv, env


def _veil(installed: tuple[Path, dict[str, str]], *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    venv, env = installed
    return subprocess.run([str(venv / "bin" / "veil"), *args], capture_output=True, text=True,
                          cwd=venv.parent, env=env, timeout=timeout)


def test_the_wheel_lists_the_profiles_from_its_package_data(installed) -> None:
    done = _veil(installed, "profiles")
    assert done.returncode == 0, done.stderr
    for preset in ("teaching", "research", "publication"):
        assert preset in done.stdout
    assert "No de-identification profiles" not in done.stdout + done.stderr


def test_the_wheel_imports_the_samples_and_opens_the_window(installed) -> None:
    done = _veil(installed, "import", "--samples")
    assert done.returncode == 0, done.stderr[-3000:]
    listed = _veil(installed, "ls")
    assert listed.returncode == 0 and "CT" in listed.stdout, listed.stderr
    venv, env = installed
    gui = subprocess.run([str(venv / "bin" / "python"), "-c", GUI_SCRIPT, env["VEIL_HOME"]], capture_output=True,
                         text=True, cwd=venv.parent, env=env, timeout=300)
    assert gui.returncode == 0, gui.stderr[-3000:]
    words = gui.stdout.split()
    assert words[0] == "studies" and int(words[1]) > 0 and words[3] == "True", gui.stdout
