"""The Windows and macOS packaging as data, checked on Linux (the builds themselves run only on
those systems): the icons packaging/make_icons.py draws from veil.svg, the hardened-runtime
entitlements, the Info.plist the spec gives Veil.app, and the Inno Setup script's registry
entries against desktop.app.platform.associations (so the installer and the code cannot drift)."""

from __future__ import annotations

import os
import plistlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from desktop import __version__
from desktop.app.platform.associations import UTI, RegistryValue, macos_info_plist, windows_registry_entries

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
ISS = PACKAGING / "windows" / "veil.iss"
ENTITLEMENTS = PACKAGING / "macos" / "entitlements.plist"


@pytest.fixture(scope="module")
def icons(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("icons")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, str(PACKAGING / "make_icons.py"), str(out)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(out / "veil.ico"), str(out / "veil.icns")]
    return out


def _not_blank(image: Image.Image) -> bool:
    colours = image.convert("RGBA").getcolors(maxcolors=1 << 20)
    return colours is None or len(colours) > 2


def test_the_ico_holds_every_windows_size_drawn(icons: Path) -> None:
    with Image.open(icons / "veil.ico") as ico:
        assert ico.format == "ICO"
        sizes = sorted(ico.info["sizes"])
        assert sizes == [(s, s) for s in (16, 24, 32, 48, 64, 128, 256)]
        for size in sizes:
            ico.size = size
            ico.load()
            assert ico.size == size and _not_blank(ico)


def test_the_icns_opens_at_its_largest_size(icons: Path) -> None:
    with Image.open(icons / "veil.icns") as icns:
        assert icns.format == "ICNS"
        assert icns.size == (1024, 1024)
        icns.load()
        assert _not_blank(icns)
        # (points, points, scale): 32 to 1024 px, every size Pillow writes
        assert {w * scale for w, _, scale in icns.info["sizes"]} == {32, 64, 128, 256, 512, 1024}


def test_no_generated_icon_is_kept_in_git() -> None:
    done = subprocess.run(["git", "ls-files", "*.ico", "*.icns"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout == ""


def test_the_entitlements_are_exactly_the_two_a_frozen_python_needs() -> None:
    entitlements = plistlib.loads(ENTITLEMENTS.read_bytes())
    assert entitlements == {"com.apple.security.cs.allow-unsigned-executable-memory": True,
                            "com.apple.security.cs.disable-library-validation": True}


def test_the_info_plist_round_trips_and_names_the_type_both_ways() -> None:
    plist = macos_info_plist(__version__)
    assert plistlib.loads(plistlib.dumps(plist, fmt=plistlib.FMT_XML)) == plist
    assert plistlib.loads(plistlib.dumps(plist, fmt=plistlib.FMT_BINARY)) == plist
    assert plist["CFBundleDocumentTypes"][0]["LSItemContentTypes"] == [UTI]
    assert plist["UTExportedTypeDeclarations"][0]["UTTypeIdentifier"] == UTI


def test_the_spec_uses_what_this_checkout_holds() -> None:
    spec = (PACKAGING / "veil.spec").read_text(encoding="utf-8")
    assert "macos_info_plist(" in spec
    for named in re.findall(r'ROOT / "packaging" / ((?:"[^"]+"(?: / )?)+)', spec):
        path = PACKAGING.joinpath(*re.findall(r'"([^"]+)"', named))
        assert path.exists(), path
    assert '"macos" / "entitlements.plist"' in spec and '"make_icons.py"' in spec


def _iss_section(text: str, name: str) -> list[str]:
    lines, inside = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            inside = stripped == f"[{name}]"
        elif inside and stripped and not stripped.startswith(";"):
            lines.append(stripped)
    return lines


def _iss_parameters(line: str) -> dict[str, str]:
    """An Inno Setup entry (``Name: value; Name: "quoted"``, a quote doubled inside quotes) as a
    dict, quotes undone."""
    found = {}
    for match in re.finditer(r'\s*(\w+):\s*("(?:[^"]|"")*"|[^;]*)\s*(?:;|$)', line):
        name, value = match.group(1), match.group(2).strip()
        if value.startswith('"'):
            value = value[1:-1].replace('""', '"')
        found[name] = value
    return found


def test_the_installer_writes_exactly_the_association_the_code_names() -> None:
    entries = [_iss_parameters(line) for line in _iss_section(ISS.read_text(encoding="utf-8"), "Registry")]
    assert {e["Root"] for e in entries} == {"HKA"}  # HKLM for everyone, HKCU for one user
    assert {e["ValueType"] for e in entries} == {"string"}
    written = [RegistryValue(e["Subkey"], e["ValueName"], e["ValueData"]) for e in entries]
    assert written == windows_registry_entries(r"{app}\veil-gui.exe")
    progid = [e for e in entries if e["Subkey"].startswith(r"Software\Classes\Veil.Package")]
    assert all("uninsdeletekey" in e["Flags"].split() for e in progid)


def test_the_installer_asks_for_whom_and_announces_the_association() -> None:
    text = ISS.read_text(encoding="utf-8")
    setup = dict(line.split("=", 1) for line in _iss_section(text, "Setup") if "=" in line)
    assert setup["DefaultDirName"] == r"{autopf}\Veil"
    assert setup["PrivilegesRequiredOverridesAllowed"] == "dialog"
    assert setup["ChangesAssociations"] == "yes"
    (shortcut,) = [_iss_parameters(line) for line in _iss_section(text, "Icons")]
    assert shortcut["Filename"] == r"{app}\veil-gui.exe" and "Parameters" not in shortcut  # no console window


def _bundle_entry():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bundle_entry", PACKAGING / "bundle_entry.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("argv", "window"), [
    (["/opt/veil/veil-gui"], True),  # Linux: the menu entry's symlink
    (["/opt/veil/veil-gui", "/home/u/case.veil"], True),
    ([r"C:\Program Files\Veil\veil-gui.exe", r"C:\Users\u\case.veil"], True),  # Windows: the association
    (["/Applications/Veil.app/Contents/MacOS/veil", "/Users/u/Case.VEIL"], True),  # macOS: opened in Finder
    (["/opt/veil/veil"], False),  # the command line (which opens the window itself with no command)
    (["/opt/veil/veil", "open", "case.veil"], False),
    (["/opt/veil/veil", "--help"], False),
    ([r"C:\Program Files\Veil\veil.exe", "import", "--samples"], False),
])
def test_the_bundle_starts_the_window_or_the_command_line_as_it_was_asked(argv, window) -> None:
    assert _bundle_entry().opens_the_window(argv) is window
