"""The ``.veil`` document type (an encrypted share package), named once for every system.

Each desktop registers a document type its own way; these are the same facts written three
times, so a double-click on a package opens Veil wherever it is installed:

- Linux (freedesktop shared-mime-info): the MIME type and its glob, in
  ``packaging/veil-package.xml`` and ``packaging/veil.desktop`` (tests compare them with this
  module);
- Windows: a ProgID under ``Software\\Classes`` (of ``HKEY_CURRENT_USER`` for one user,
  ``HKEY_LOCAL_MACHINE`` for every user): :func:`windows_registry_entries`, which the Inno Setup
  script ``packaging/windows/veil.iss`` writes (a test parses it) and :func:`windows_reg_file`
  prints as a ``.reg`` file for a site that deploys the association by itself;
- macOS: a Uniform Type Identifier exported by the app and claimed as its document type, in
  the bundle's ``Info.plist``: :func:`macos_info_plist` (``packaging/veil.spec`` uses it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["BUNDLE_IDENTIFIER", "DESCRIPTION", "EXTENSION", "MIME_TYPE", "UTI", "WINDOWS_PROGID", "RegistryValue",
           "linux_mime_glob", "macos_info_plist", "windows_reg_file", "windows_registry_entries"]

#: The file name extension of a share package, with its dot.
EXTENSION = ".veil"
#: Its MIME type (not registered with IANA, hence ``x-``): the one ``packaging/veil-package.xml`` declares.
MIME_TYPE = "application/x-veil-package"
#: Its Uniform Type Identifier on macOS, in the reverse-DNS space of the app's bundle identifier.
UTI = "org.veil.package"
#: Its programmatic identifier on Windows (``<Program>.<Component>``, the form Windows documents).
WINDOWS_PROGID = "Veil.Package"
#: What a person sees as the type's name (Explorer's Type column, Finder's Kind, the MIME comment).
DESCRIPTION = "Veil share package"
#: The app's own identifier on macOS.
BUNDLE_IDENTIFIER = "org.veil.Veil"
#: Where file types live in either registry hive (``HKCR`` is the merged view of the two).
CLASSES = "Software\\Classes"

#: The hives a ``.reg`` file may name, by their short names too.
_HIVES = {"HKCU": "HKEY_CURRENT_USER", "HKLM": "HKEY_LOCAL_MACHINE",
          "HKEY_CURRENT_USER": "HKEY_CURRENT_USER", "HKEY_LOCAL_MACHINE": "HKEY_LOCAL_MACHINE"}


@dataclass(frozen=True)
class RegistryValue:
    """One string value (``REG_SZ``) to write: ``subkey`` is relative to the hive, ``name`` is
    empty for the key's default value (``@`` in a ``.reg`` file)."""

    subkey: str
    name: str
    data: str


def linux_mime_glob() -> str:
    """The shared-mime-info glob pattern that names a package by its file name (``*.veil``)."""
    return "*" + EXTENSION


def windows_registry_entries(exe: str) -> list[RegistryValue]:
    """The values that associate ``.veil`` with ``exe`` (the full path of ``veil-gui.exe``, the
    bundle's windowed executable, which opens no console window), under ``Software\\Classes``
    of whichever hive the installer writes to.

    The extension names the ProgID and the MIME type; the ProgID carries the description, the
    icon (the first icon resource of ``veil-gui.exe``) and the command a double-click runs (the
    window, with the file's path as one quoted argument).
    """
    extension_key = f"{CLASSES}\\{EXTENSION}"
    progid_key = f"{CLASSES}\\{WINDOWS_PROGID}"
    return [
        RegistryValue(extension_key, "", WINDOWS_PROGID),
        RegistryValue(extension_key, "Content Type", MIME_TYPE),
        RegistryValue(progid_key, "", DESCRIPTION),
        RegistryValue(f"{progid_key}\\DefaultIcon", "", f'"{exe}",0'),
        RegistryValue(f"{progid_key}\\shell\\open\\command", "", f'"{exe}" "%1"'),
    ]


def _reg_string(text: str) -> str:
    """A ``.reg`` file's quoted string: backslashes and double quotes escaped with a backslash."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def windows_reg_file(exe: str, hive: str = "HKEY_CURRENT_USER") -> str:
    """The text of a ``.reg`` file (Registry Editor 5.00, CRLF line ends) writing
    :func:`windows_registry_entries` under ``hive`` (``HKEY_CURRENT_USER``/``HKCU`` for one
    user, ``HKEY_LOCAL_MACHINE``/``HKLM`` for every user). Save it as UTF-16 (what regedit
    itself writes) when ``exe`` is not plain ASCII."""
    try:
        root = _HIVES[hive.upper()]
    except KeyError:
        raise ValueError(f"not a hive a .reg file for file types can name: {hive!r} (HKCU or HKLM)") from None
    lines = ["Windows Registry Editor Version 5.00"]
    current = None
    for value in windows_registry_entries(exe):
        if value.subkey != current:
            lines += ["", f"[{root}\\{value.subkey}]"]
            current = value.subkey
        name = "@" if not value.name else _reg_string(value.name)
        lines.append(f"{name}={_reg_string(value.data)}")
    return "\r\n".join(lines) + "\r\n"


def apple_version(version: str) -> str:
    """``version`` as Apple's bundle versions must be: one to three integers joined by dots (the
    leading release numbers of a PEP 440 version: ``0.2.0.dev3`` -> ``0.2.0``, ``1.0rc1`` -> ``1.0``)."""
    found = re.match(r"\d+(?:\.\d+){0,2}", version.strip())
    return found.group(0) if found else "0"


def macos_info_plist(version: str) -> dict[str, Any]:
    """The ``Info.plist`` entries of ``Veil.app`` (version ``version``): the app's identity and
    the ``.veil`` type, exported by the app (it defines the type) and claimed as a document
    type it opens as a viewer and owns (Launch Services prefers it for the type)."""
    return {
        "CFBundleIdentifier": BUNDLE_IDENTIFIER,
        "CFBundleName": "Veil",
        "CFBundleDisplayName": "Veil",
        "CFBundleShortVersionString": apple_version(version),
        "CFBundleVersion": apple_version(version),
        "NSHighResolutionCapable": True,
        "CFBundleDocumentTypes": [{
            "CFBundleTypeName": DESCRIPTION,
            "CFBundleTypeRole": "Viewer",
            "LSHandlerRank": "Owner",
            "LSItemContentTypes": [UTI],
        }],
        "UTExportedTypeDeclarations": [{
            "UTTypeIdentifier": UTI,
            "UTTypeDescription": DESCRIPTION,
            "UTTypeConformsTo": ["public.data"],
            "UTTypeTagSpecification": {
                "public.filename-extension": [EXTENSION.lstrip(".")],
                "public.mime-type": [MIME_TYPE],
            },
        }],
    }
