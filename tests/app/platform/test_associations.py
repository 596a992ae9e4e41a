"""The .veil document type is named once (desktop.app.platform.associations): the Linux files
in packaging/ agree with it, and the Windows registry and macOS Info.plist forms are checked as
data (their installers run only on those systems)."""

from __future__ import annotations

import configparser
import plistlib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from desktop.app.platform import associations
from desktop.app.platform.associations import (
    DESCRIPTION,
    MIME_TYPE,
    UTI,
    WINDOWS_PROGID,
    RegistryValue,
    linux_mime_glob,
    macos_info_plist,
    windows_reg_file,
    windows_registry_entries,
)

ROOT = Path(__file__).resolve().parents[3]
PACKAGING = ROOT / "packaging"
FREEDESKTOP = "{http://www.freedesktop.org/standards/shared-mime-info}"
EXE = r"C:\Program Files\Veil\veil-gui.exe"


def test_the_names_are_the_ones_the_packaging_docs_give():
    assert associations.EXTENSION == ".veil"
    assert MIME_TYPE == "application/x-veil-package"
    assert UTI == "org.veil.package"
    assert WINDOWS_PROGID == "Veil.Package"
    assert linux_mime_glob() == "*.veil"


def test_the_freedesktop_mime_package_declares_the_same_type():
    root = ET.parse(PACKAGING / "veil-package.xml").getroot()
    (mime,) = root.findall(f"{FREEDESKTOP}mime-type")
    assert mime.get("type") == MIME_TYPE
    assert [g.get("pattern") for g in mime.findall(f"{FREEDESKTOP}glob")] == [linux_mime_glob()]
    assert mime.findtext(f"{FREEDESKTOP}comment") == DESCRIPTION


def test_the_desktop_entry_opens_that_type():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive in a desktop entry
    entry.read(PACKAGING / "veil.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    assert [t for t in section["MimeType"].split(";") if t] == [MIME_TYPE]
    assert section["Exec"].split()[-1] == "%f"  # the package's path is handed over


def test_the_development_desktop_integration_names_the_same_type():
    script = (ROOT / "scripts" / "desktop-integration.sh").read_text(encoding="utf-8")
    assert f"VEIL_MIME_TYPE={MIME_TYPE}\n" in script


def test_windows_entries_map_the_extension_to_the_progid_and_the_progid_to_the_window():
    entries = windows_registry_entries(EXE)
    assert entries == [
        RegistryValue(r"Software\Classes\.veil", "", "Veil.Package"),
        RegistryValue(r"Software\Classes\.veil", "Content Type", MIME_TYPE),
        RegistryValue(r"Software\Classes\Veil.Package", "", DESCRIPTION),
        RegistryValue(r"Software\Classes\Veil.Package\DefaultIcon", "", f'"{EXE}",0'),
        RegistryValue(r"Software\Classes\Veil.Package\shell\open\command", "", f'"{EXE}" "%1"'),
    ]
    assert all(not e.subkey.upper().startswith(("HKEY", "HKCU", "HKLM", "HKCR")) for e in entries)


def _parse_reg(text: str) -> dict[str, dict[str, str]]:
    """A minimal .reg reader: [key] headers, @= or "name"= string values (backslash escapes)."""
    keys: dict[str, dict[str, str]] = {}
    current = None
    for line in text.split("\r\n")[1:]:
        if not line:
            continue
        if line.startswith("["):
            current = keys.setdefault(line[1:-1], {})
            continue
        assert current is not None
        name, _, quoted = line.partition("=") if line.startswith("@") else line[1:].partition('"=')
        assert quoted.startswith('"') and quoted.endswith('"'), line
        value = quoted[1:-1]
        assert '"' not in value.replace('\\"', ""), f"unescaped quote in {line}"
        current["" if name == "@" else name] = value.replace('\\"', '"').replace("\\\\", "\\")
    return keys


@pytest.mark.parametrize(("hive", "root"), [("HKCU", "HKEY_CURRENT_USER"), ("hklm", "HKEY_LOCAL_MACHINE")])
def test_the_reg_file_holds_every_entry_escaped(hive, root):
    text = windows_reg_file(EXE, hive)
    assert text.startswith("Windows Registry Editor Version 5.00\r\n\r\n[")
    assert "\n" not in text.replace("\r\n", "")
    assert r'@="\"C:\\Program Files\\Veil\\veil-gui.exe\" \"%1\""' in text
    parsed = _parse_reg(text)
    expected: dict[str, dict[str, str]] = {}
    for entry in windows_registry_entries(EXE):
        expected.setdefault(f"{root}\\{entry.subkey}", {})[entry.name] = entry.data
    assert parsed == expected


def test_the_reg_file_refuses_a_hive_that_holds_no_file_types():
    with pytest.raises(ValueError, match="HKCU or HKLM"):
        windows_reg_file(EXE, "HKEY_USERS")


def test_the_info_plist_exports_the_type_and_claims_it_as_the_viewer():
    plist = macos_info_plist("1.2.3")
    assert plistlib.loads(plistlib.dumps(plist)) == plist
    assert plist["CFBundleIdentifier"] == "org.veil.Veil"
    assert plist["CFBundleName"] == "Veil"
    assert plist["CFBundleShortVersionString"] == "1.2.3"
    assert plist["NSHighResolutionCapable"] is True
    (document,) = plist["CFBundleDocumentTypes"]
    assert document["LSItemContentTypes"] == [UTI]
    assert (document["CFBundleTypeRole"], document["LSHandlerRank"]) == ("Viewer", "Owner")
    (exported,) = plist["UTExportedTypeDeclarations"]
    assert exported["UTTypeIdentifier"] == UTI
    assert exported["UTTypeConformsTo"] == ["public.data"]
    assert exported["UTTypeTagSpecification"] == {"public.filename-extension": ["veil"],
                                                  "public.mime-type": [MIME_TYPE]}


@pytest.mark.parametrize(("version", "apple"), [
    ("0.1.0", "0.1.0"), ("0.2.0.dev3", "0.2.0"), ("1.0rc1", "1.0"), ("2", "2"), ("1.2.3.4", "1.2.3"), ("dev", "0"),
])
def test_the_app_bundle_version_is_what_apple_accepts(version, apple):
    plist = macos_info_plist(version)
    assert plist["CFBundleShortVersionString"] == plist["CFBundleVersion"] == apple
