"""packaging/install.sh and uninstall.sh (issue 19, point 3): a bundle installed system-wide and
for one user into a fresh directory tree, with the menu entry, the icon and the .veil type, then
removed leaving the tree as it was. The bundle is a fake (a `veil` shell script): these tests do not
build the real one."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "packaging" / "install.sh"
UNINSTALL = ROOT / "packaging" / "uninstall.sh"
NOBODY = 65534
MIME = "application/x-veil-package"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def tmp_path(tmp_path_factory):
    """A temporary folder the unprivileged user can reach too (pytest's own are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="veil-install-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def fake_bundle(where: Path, version: str = "0.0-test", gui: bool = True) -> Path:
    """A folder like dist/veil/: an executable `veil` (and the veil-gui link), a few files."""
    bundle = where / "veil"
    (bundle / "_internal" / "desktop").mkdir(parents=True)
    veil = bundle / "veil"
    veil.write_text(f'#!/bin/sh\necho "veil {version}"\n')
    veil.chmod(0o755)
    if gui:
        (bundle / "veil-gui").symlink_to("veil")
    (bundle / "_internal" / "base_library.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    (bundle / "_internal" / "desktop" / f"version-{version}.txt").write_text(version)
    return bundle


def listing(tree: Path) -> dict[str, str]:
    """Every path under ``tree`` with its kind and content (a file's bytes, a link's target)."""
    out: dict[str, str] = {}
    for path in sorted(tree.rglob("*")):
        rel = str(path.relative_to(tree))
        if path.is_symlink():
            out[rel] = f"link {os.readlink(path)}"
        elif path.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = f"file {path.read_bytes()!r}"
    return out


def run(args: list[str], env: dict[str, str] | None = None, user: int | None = None) -> str:
    prefix = [] if user is None else ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    base = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    done = subprocess.run([*prefix, "bash", *args], env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def desktop_keys(path: Path) -> dict[str, str]:
    keys = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            keys[key] = value
    return keys


def check_xdg(data: Path, program: Path, args: str = "") -> None:
    """The menu entry starts PROGRAM with the file, the icon and the MIME type are in DATA."""
    entry = data / "applications" / "veil.desktop"
    keys = desktop_keys(entry)
    assert keys["Exec"] == f'"{program}"{args} %f'
    assert keys["TryExec"] == str(program)
    assert keys["Icon"] == "veil" and keys["MimeType"] == f"{MIME};"
    if shutil.which("desktop-file-validate"):
        done = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
        assert done.returncode == 0 and "error" not in done.stdout.lower(), done.stdout + done.stderr
    icon = data / "icons" / "hicolor" / "scalable" / "apps" / "veil.svg"
    assert icon.read_text().lstrip().startswith(("<svg", "<?xml"))
    xml = (data / "mime" / "packages" / "veil-package.xml").read_text()
    assert f'type="{MIME}"' in xml and 'pattern="*.veil"' in xml


def check_mime_registered(data: Path) -> None:
    if shutil.which("update-mime-database") is None:
        pytest.skip("update-mime-database (shared-mime-info) is not installed: the type is copied, not compiled")
    assert f"{MIME}:*.veil" in (data / "mime" / "globs2").read_text()


def test_system_install_and_uninstall_leave_a_fresh_tree_as_it_was(tmp_path):
    bundle = fake_bundle(tmp_path / "dist")
    tree = tmp_path / "tree"
    tree.mkdir()
    before = listing(tree)

    out = run([str(INSTALL), "--system", "--prefix", str(tree), str(bundle)])
    assert "installed (system)" in out
    app, data = tree / "opt" / "veil", tree / "usr" / "share"
    assert (app / "_internal" / "base_library.zip").is_file()
    command = tree / "usr" / "local" / "bin" / "veil"
    assert os.readlink(command) == str(app / "veil")
    assert subprocess.run([str(command)], capture_output=True, text=True).stdout == "veil 0.0-test\n"
    assert os.access(app / "uninstall.sh", os.X_OK)
    # The menu entry starts the bundle's window entry point, which opens a double-clicked package.
    check_xdg(data, app / "veil-gui")
    assert not (tree / "etc").exists() and not (tree / "root").exists()  # nothing per user, nothing in /etc

    # Installing again (an upgrade) replaces the bundle whole: no file of the old one is left.
    newer = fake_bundle(tmp_path / "newer", version="0.1-test")
    run([str(INSTALL), "--system", "--prefix", str(tree), str(newer)])
    assert subprocess.run([str(command)], capture_output=True, text=True).stdout == "veil 0.1-test\n"
    assert not (app / "_internal" / "desktop" / "version-0.0-test.txt").exists()
    assert [p.name for p in app.parent.iterdir()] == ["veil"]  # no staging or retired copy left
    check_mime_registered(data)

    out = run([str(UNINSTALL), "--system", "--prefix", str(tree)])
    assert "not touched" in out
    assert listing(tree) == before


def test_uninstall_touches_nothing_it_did_not_install(tmp_path):
    """A tree that already has other applications, MIME types and icons keeps them exactly."""
    tree = tmp_path / "tree"
    share = tree / "usr" / "share"
    other = share / "applications" / "other.desktop"
    other.parent.mkdir(parents=True)
    other.write_text("[Desktop Entry]\nType=Application\nName=Other\nExec=other %f\nMimeType=text/x-other;\n")
    package = share / "mime" / "packages" / "other.xml"
    package.parent.mkdir(parents=True)
    package.write_text('<?xml version="1.0"?>\n<mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">'
                       '<mime-type type="text/x-other"><glob pattern="*.other"/></mime-type></mime-info>\n')
    (tree / "usr" / "local" / "bin").mkdir(parents=True)
    (tree / "usr" / "local" / "bin" / "tool").write_text("#!/bin/sh\n")
    if shutil.which("update-mime-database"):
        subprocess.run(["update-mime-database", str(share / "mime")], check=True)
    before = listing(tree)

    run([str(INSTALL), "--system", "--prefix", str(tree), str(fake_bundle(tmp_path / "dist", gui=False))])
    # A bundle without veil-gui: the menu entry opens the window with `veil gui`.
    check_xdg(share, tree / "opt" / "veil" / "veil", " gui")
    if shutil.which("update-mime-database"):
        globs = (share / "mime" / "globs2").read_text()
        assert f"{MIME}:*.veil" in globs and "text/x-other:*.other" in globs
    run([str(UNINSTALL), "--system", "--prefix", str(tree)])
    assert listing(tree) == before


def test_destdir_stages_a_package_naming_the_final_paths(tmp_path):
    stage = tmp_path / "stage"
    run([str(INSTALL), "--system", str(fake_bundle(tmp_path / "dist"))], env={"DESTDIR": str(stage)})
    assert os.readlink(stage / "usr" / "local" / "bin" / "veil") == "/opt/veil/veil"
    check_xdg(stage / "usr" / "share", Path("/opt/veil/veil-gui"))
    assert not (stage / "usr" / "share" / "mime" / "globs2").exists()  # the package's scripts compile it
    manifest = (stage / "opt" / "veil" / "veil-install.manifest").read_text()
    assert str(stage) not in manifest and "link\t/usr/local/bin/veil\t/opt/veil/veil" in manifest


@pytest.mark.skipif(not IS_ROOT, reason="installing as a plain user is tried as root, through setpriv to nobody")
def test_user_install_and_uninstall_as_a_plain_user(tmp_path):
    bundle = fake_bundle(tmp_path / "dist")
    for path in [bundle, *bundle.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IRGRP | stat.S_IROTH | (0o055 if path.is_dir() else 0))
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    mimeapps = home / ".config" / "mimeapps.list"
    mimeapps.write_text("[Default Applications]\ntext/plain=editor.desktop;\n\n[Added Associations]\n"
                        "image/png=viewer.desktop;\n")
    library = home / "data" / "veil"
    library.mkdir(parents=True)
    (library / "audit.log").write_text("kept\n")
    for path in [home, *home.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / ".config")}
    before = listing(home)

    out = run([str(INSTALL), "--user", str(bundle)], env=env, user=NOBODY)
    assert "installed (user)" in out
    app, data = home / ".local" / "opt" / "veil", home / "data"
    assert os.stat(app / "veil").st_uid == NOBODY
    command = home / ".local" / "bin" / "veil"
    assert os.readlink(command) == str(app / "veil")
    assert subprocess.run([str(command)], capture_output=True, text=True).stdout == "veil 0.0-test\n"
    check_xdg(data, app / "veil-gui")
    # Double-click: Veil is the default for .veil packages, the other associations are kept.
    text = mimeapps.read_text()
    assert f"{MIME}=veil.desktop;" in text.split("[Added Associations]")[0]
    assert "text/plain=editor.desktop;" in text and "image/png=viewer.desktop;" in text
    run([str(INSTALL), "--user", str(bundle)], env=env, user=NOBODY)  # again: still one line
    assert mimeapps.read_text().count(MIME) == 1
    check_mime_registered(data)

    out = run([str(app / "uninstall.sh")], env=env, user=NOBODY)  # the installed bundle's own uninstaller
    assert "library" in out and "kept" in out
    assert listing(home) == before  # the library is still there, the mimeapps.list as it was

    run([str(INSTALL), "--user", str(bundle)], env=env, user=NOBODY)
    out = run([str(UNINSTALL), "--user", "--purge-data"], env=env, user=NOBODY)
    assert not library.exists() and "Deleted" in out


def test_system_install_refuses_without_root_or_prefix(tmp_path):
    if IS_ROOT:
        cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "bash"]
    else:
        cmd = ["bash"]
    bundle = fake_bundle(tmp_path / "dist")
    done = subprocess.run([*cmd, str(INSTALL), "--system", str(bundle)], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 1 and "needs root" in done.stderr


def test_a_checkout_registers_through_the_same_functions(tmp_path):
    """scripts/run-app's install_desktop_integration (tests/test_desktop_integration.py) shares the
    installer's code: here, that it makes Veil the .veil default and never fails the start."""
    home = tmp_path / "home"
    home.mkdir()
    script = f'source "{ROOT}/scripts/desktop-integration.sh"; install_desktop_integration "{ROOT}"'
    run(["-c", script], env={"HOME": str(home)})
    assert f"{MIME}=veil.desktop;" in (home / ".config" / "mimeapps.list").read_text()
    check_xdg(home / ".local" / "share", ROOT / ".venv" / "bin" / "veil-gui")
    blocked = home / "blocked"  # a data "folder" that is a file: nothing can be written, yet no error
    blocked.write_text("")
    out = run(["-c", f"set -euo pipefail; {script}; echo still-running"],
              env={"HOME": str(home), "XDG_DATA_HOME": str(blocked)})
    assert out == "still-running\n"


def test_install_leaves_another_programs_veil_command_alone(tmp_path):
    """A `veil` already on the PATH that is not this installation's (another program, a user's
    own script) is not overwritten: the install stops before it copies anything and says why."""
    tree = tmp_path / "tree"
    command = tree / "usr" / "local" / "bin" / "veil"
    command.parent.mkdir(parents=True)
    command.write_text("#!/bin/sh\necho another program\n")
    before = listing(tree)
    bundle = fake_bundle(tmp_path / "dist")
    done = subprocess.run(["bash", str(INSTALL), "--system", "--prefix", str(tree), str(bundle)], capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin"}, timeout=120)
    assert done.returncode == 1 and f"{command} exists and is not this installation's veil" in done.stderr
    assert listing(tree) == before


def test_a_running_veil_is_neither_replaced_nor_removed_under_it(tmp_path):
    """While Veil runs from the installed folder (it loads modules from it as it goes), an
    upgrade or an uninstall stops and says to quit it first; once it has quit, both work."""
    bundle = fake_bundle(tmp_path / "dist")
    (bundle / "veil").unlink()
    shutil.copy2(shutil.which("sleep") or "/bin/sleep", bundle / "veil")  # a real executable: /proc/PID/exe
    tree = tmp_path / "tree"
    tree.mkdir()
    run([str(INSTALL), "--system", "--prefix", str(tree), str(bundle)])
    running = subprocess.Popen([str(tree / "opt" / "veil" / "veil"), "60"])
    try:
        for script in (INSTALL, UNINSTALL):
            args = [str(script), "--system", "--prefix", str(tree)] + ([str(bundle)] if script == INSTALL else [])
            done = subprocess.run(["bash", *args], capture_output=True, text=True, timeout=120,
                                  env={"PATH": "/usr/bin:/bin"})
            assert done.returncode == 1 and "Veil is running from" in done.stderr, done.stderr
        assert (tree / "opt" / "veil" / "veil").exists()
    finally:
        running.kill()
        running.wait()
    run([str(INSTALL), "--system", "--prefix", str(tree), str(bundle)])
    run([str(UNINSTALL), "--system", "--prefix", str(tree)])
    assert not (tree / "opt" / "veil").exists()
