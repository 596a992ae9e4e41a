"""The self-contained Linux bundle (issue 19): ``packaging/build-linux.sh`` builds ``dist/veil/``,
and that folder, copied anywhere, works with no virtual environment, no Python of ours and a
clean ``HOME``: ``veil --version``; the sample studies imported; one study de-identified to a
folder (through the worker pool's forkserver, which re-runs the frozen executable); a passphrase
package exported and opened into a second home; the window started under Xvfb, found, shot
and ended. Nothing the build machine holds leaks into the bundle: no checkout path, no absolute
source path in the frozen modules.

Building takes about 75 s here (PyInstaller, 2 cores; the bundle is about 360 MB); the checks
after it about 30 s. One module-scoped build serves every test below; ``VEIL_BUNDLE=path/to/veil``
(a built ``dist/veil``) skips the build for a quicker local run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux bundle is built and run on Linux"),
]

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle, built by the one script (or given by VEIL_BUNDLE), copied to a fresh folder."""
    base = tmp_path_factory.mktemp("bundle")
    given = os.environ.get("VEIL_BUNDLE")
    if given:
        built = Path(given)
        assert (built / "veil").is_file(), f"VEIL_BUNDLE={given} holds no veil executable"
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VEIL_")}
        env.update(VEIL_DIST=str(base / "dist"), VEIL_BUILD_WORK=str(base / "work"),
                   # the test environment has PyInstaller (run-tests installs the bundle extra)
                   VEIL_EXTRAS=os.environ.get("VEIL_BUNDLE_EXTRAS", "test,bundle"))
        start = time.monotonic()
        done = subprocess.run([str(ROOT / "packaging" / "build-linux.sh")], capture_output=True, text=True,
                              cwd=ROOT, env=env, timeout=1200)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
        print(f"bundle built in {time.monotonic() - start:.0f} s")
        built = base / "dist" / "veil"
    copy = base / "elsewhere" / "veil"
    shutil.copytree(built, copy, symlinks=True)
    if not given:
        shutil.rmtree(base / "dist")
        shutil.rmtree(base / "work", ignore_errors=True)
    return copy


def _env(home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment: no virtual environment, no PYTHONPATH, a fresh HOME, a passphrase
    file where a desktop would have its keyring."""
    home.mkdir(parents=True, exist_ok=True)
    passphrase = home.parent / f"{home.name}.passphrase"
    passphrase.write_text(PASSPHRASE + "\n")
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "VEIL_PASSPHRASE_FILE": str(passphrase), **extra}


def _no_network() -> list[str]:
    """``unshare -n`` (as root) or ``unshare -rn`` (a user namespace): the command then runs with
    no network at all, not even loopback; the bundle needs none (issue 19). [] where the system
    allows neither (the commands then run with the machine's network)."""
    unshare = shutil.which("unshare")
    for flags in ("-n", "-rn"):
        if unshare and subprocess.run([unshare, flags, "true"], capture_output=True).returncode == 0:
            return [unshare, flags]
    return []


NO_NETWORK = _no_network()


def _veil(bundle: Path, env: dict[str, str], *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """``veil ARGS`` from the bundle, with no network where the system allows it."""
    return subprocess.run([*NO_NETWORK, str(bundle / "veil"), *args], capture_output=True, text=True, env=env,
                          cwd=env["HOME"], timeout=timeout)


def test_the_bundle_works_as_the_command_line_from_a_fresh_folder(bundle: Path, tmp_path: Path) -> None:
    """Every command with no network at all (``unshare -n``): nothing is fetched at run time."""
    print("no network: " + (" ".join(NO_NETWORK) or "unshare is not allowed here; run with the network"))
    env = _env(tmp_path / "home")
    version = _veil(bundle, env, "--version")
    assert version.returncode == 0 and version.stdout.startswith("veil "), version.stdout + version.stderr
    # A site deploying it finds the site file's documentation inside (issue 19: "the bundle documents").
    assert (bundle / "share" / "doc" / "SITE.md").read_text() == (ROOT / "docs" / "SITE.md").read_text()
    window = subprocess.run([str(bundle / "veil-gui"), "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert window.returncode == 0 and "NAME.veil" in window.stdout, window.stdout + window.stderr  # the menu's entry

    imported = _veil(bundle, env, "import", "--samples")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "sample stud" in imported.stdout, imported.stdout
    listed = _veil(bundle, env, "ls")
    assert listed.returncode == 0, listed.stderr
    # the de-identified study: the CT with the most instances, so the worker pool runs
    ct = [line.split() for line in listed.stdout.splitlines() if " CT " in line and line.split()[0].isdigit()]
    assert ct, listed.stdout
    study = max(ct, key=lambda words: int(words[words.index("instances") - 1]) if "instances" in words else 1)[0]
    assert (tmp_path / "home" / ".local" / "share").is_dir(), "the library is not in the platform's data folder"

    assert _veil(bundle, env, "consent", "add", "--site-wide", "--not-required", "Teaching files",
                 "--purpose", "teaching").returncode == 0
    out = tmp_path / "deidentified"
    deid = _veil(bundle, env, "deid", "--study", study, "--workers", "2", "--purpose", "teaching", str(out))
    assert deid.returncode == 0, deid.stdout + deid.stderr
    assert "De-identified" in deid.stdout and "OCR read" in deid.stdout, deid.stdout
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written, deid.stdout

    package = tmp_path / "case.veil"
    exported = _veil(bundle, env, "export", "--study", study, "--purpose", "teaching",
                     "--passphrase-file", env["VEIL_PASSPHRASE_FILE"], "-o", str(package))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert package.stat().st_size > 0

    other = _env(tmp_path / "colleague")
    opened = _veil(bundle, other, "open", "--passphrase-file", env["VEIL_PASSPHRASE_FILE"], str(package))
    assert opened.returncode == 0, opened.stdout + opened.stderr
    assert "Imported" in opened.stdout, opened.stdout
    theirs = _veil(bundle, other, "ls")
    assert theirs.returncode == 0 and "TEACH-" in theirs.stdout, theirs.stdout + theirs.stderr


# Run under xvfb-run: starts the bundle's window with the minimal environment (and the virtual
# display), waits for a top-level window named Veil (xwininfo, from x11-utils; without it, for
# the screen to show anything but the empty root), lets it paint, grabs the screen with Qt (this
# test environment's PySide6), then ends the app with SIGTERM.
GUI_DRIVER = textwrap.dedent("""
    import json, os, shutil, signal, subprocess, sys, time
    from PySide6.QtGui import QGuiApplication
    exe, shot, env = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    env["DISPLAY"] = os.environ["DISPLAY"]
    if "XAUTHORITY" in os.environ:
        env["XAUTHORITY"] = os.environ["XAUTHORITY"]
    qt = QGuiApplication(["grab", "-platform", "xcb"])

    def grab():
        return qt.primaryScreen().grabWindow(0).toImage()

    def blank(image):
        small = image.scaled(64, 40)
        return len({small.pixel(x, y) for x in range(64) for y in range(40)}) <= 1

    xwininfo = shutil.which("xwininfo")
    start = time.monotonic()
    app = subprocess.Popen([exe], env=env, cwd=env["HOME"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    shown = None
    while time.monotonic() - start < 120 and app.poll() is None:
        if xwininfo:
            found = '"Veil"' in subprocess.run([xwininfo, "-root", "-tree"], capture_output=True, text=True).stdout
        else:
            found = not blank(grab())
        if found:
            shown = time.monotonic() - start
            break
        time.sleep(0.1)
    if shown is not None:
        time.sleep(3)  # the library opens and the browser paints
        grab().save(shot, "PNG")
    alive = app.poll() is None
    if alive:
        app.send_signal(signal.SIGTERM)
    try:
        out, err = app.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        app.kill()
        out, err = app.communicate()
    print(json.dumps({"shown": shown, "alive": alive, "rc": app.returncode, "by": "title" if xwininfo else "paint",
                      "stderr": err.decode()[-3000:]}))
""")


def test_the_bundle_opens_its_window_under_xvfb(bundle: Path, tmp_path: Path) -> None:
    import json

    if not shutil.which("xvfb-run"):
        pytest.skip("the window test needs xvfb-run (apt-get install xvfb)")
    env = _env(tmp_path / "home")
    assert _veil(bundle, env, "import", "--samples").returncode == 0
    shot = tmp_path / "window.png"
    driver_env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    done = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", sys.executable, "-c", GUI_DRIVER,
                           str(bundle / "veil"), str(shot), json.dumps(env)],
                          capture_output=True, text=True, env=driver_env, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["shown"] is not None, f"no window within 120 s: {result}"
    assert result["alive"], f"the app ended by itself: {result}"
    assert result["rc"] == 0, result  # SIGTERM closed the window as its close button does (launch.close_on_terminate)
    print(f"first window after {result['shown']:.1f} s (found by its {result['by']})")

    from PIL import Image

    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 16, f"the screenshot is blank ({colours and len(colours)} colours)"


def test_the_bundle_holds_no_path_of_the_build_machine(bundle: Path, tmp_path: Path) -> None:
    """No file names the checkout (PyInstaller stores module paths relative to their package).
    The Python build prefix inside libpython and lib-dynload (pyenv's or the distribution's) is
    compiled into those binaries and is no one's data; it is not checked."""
    checkout = str(ROOT).encode()
    holders = [str(p.relative_to(bundle)) for p in bundle.rglob("*")
               if p.is_file() and not p.is_symlink() and checkout in p.read_bytes()]
    assert not holders, holders
    try:
        from PyInstaller.archive.readers import CArchiveReader, ZlibArchiveReader
    except ImportError:
        pytest.skip("PyInstaller is not installed here: the frozen modules' paths were not read")
    pyz = tmp_path / "PYZ.pyz"
    pyz.write_bytes(CArchiveReader(str(bundle / "veil")).extract("PYZ.pyz"))
    archive = ZlibArchiveReader(str(pyz))
    codes = [archive.extract(name) for name in archive.toc]
    absolute = [c.co_filename for c in codes if c is not None and not isinstance(c, bytes)
                and os.path.isabs(c.co_filename)]
    assert not absolute, absolute[:10]
    assert any(c.co_filename == "desktop/cli/main.py" for c in codes if c is not None and not isinstance(c, bytes))


def test_the_bundle_installs_itself_as_the_readme_says(bundle: Path, tmp_path: Path) -> None:
    """A user who unpacked the bundle runs ``veil/install.sh`` as it is (not through bash: its
    mode is the bundle's), then the installed ``veil``, then the installed ``uninstall.sh``,
    which leaves the home as it found it."""
    home = tmp_path / "user"
    env = _env(home)
    before = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    for script in ("install.sh", "uninstall.sh"):
        assert os.access(bundle / script, os.X_OK), f"{script} in the bundle is not executable"
    installed = subprocess.run([str(bundle / "install.sh"), "--user"], capture_output=True, text=True, env=env,
                               cwd=home, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    command = home / ".local" / "bin" / "veil"
    version = subprocess.run([str(command), "--version"], capture_output=True, text=True, env=env, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("veil "), version.stdout + version.stderr
    entry = home / ".local" / "share" / "applications" / "veil.desktop"
    assert f'Exec="{home}/.local/opt/veil/veil-gui" %f' in entry.read_text()
    removed = subprocess.run([str(home / ".local" / "opt" / "veil" / "uninstall.sh"), "--user"], capture_output=True,
                             text=True, env=env, cwd=home, timeout=300)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == before


def test_the_bundle_takes_from_the_system_only_what_its_readme_lists(bundle: Path) -> None:
    """Every shared library a bundled binary needs (ELF ``NEEDED``, read with ``objdump -p``) is
    either in the bundle or one the table "What the bundle takes from the system" of
    packaging/README.md names: a new system dependency cannot slip in unlisted."""
    import re

    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump (binutils) is not installed: the libraries' NEEDED entries were not read")
    readme = (ROOT / "packaging" / "README.md").read_text()
    table = readme.split("### What the bundle takes from the system", 1)[1].split("\n\n`QT_RUNTIME_PACKAGES`", 1)[0]

    def base(name: str) -> str:
        return name.split(".so", 1)[0]

    listed = {base(name) for name in re.findall(r"`((?:lib|ld-linux)[\w+.-]*)`", table)}
    listed |= {base(f"lib{name}") for name in re.findall(r"`lib(\w+)`", table)}  # `libm`, `libdl` in the glibc row
    bundled = {p.name for p in bundle.rglob("*")}
    unlisted: dict[str, str] = {}
    for path in bundle.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        with open(path, "rb") as file:
            if file.read(4) != b"\x7fELF":
                continue
        dump = subprocess.run([objdump, "-p", str(path)], capture_output=True, text=True, timeout=60).stdout
        for needed in re.findall(r"NEEDED\s+(\S+)", dump):
            if needed not in bundled and base(needed) not in listed:
                unlisted.setdefault(needed, str(path.relative_to(bundle)))
    assert not unlisted, f"system libraries the README does not list (and a file needing each): {unlisted}"
    assert {"libc", "libGL", "libxcb", "libfontconfig"} <= listed  # the table was read
