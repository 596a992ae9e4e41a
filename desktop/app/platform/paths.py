"""Where Veil keeps things on each system, as platformdirs computes them.

platformdirs' per-system classes are plain Python, so the answer for Windows or macOS can be
computed (and tested) on Linux: :func:`platform_paths` takes the system's name
(:func:`platform.system`'s answer) instead of looking at the running one.

- Linux (XDG): user data (the default ``VEIL_HOME``) ``~/.local/share/veil``, site configuration
  ``/etc/xdg/veil/site.json``, logs ``~/.local/state/veil/log``;
- Windows: ``%LOCALAPPDATA%\\veil``, ``%PROGRAMDATA%\\veil\\site.json``, ``%LOCALAPPDATA%\\veil\\Logs``;
- macOS: ``~/Library/Application Support/veil``, ``/Library/Application Support/veil/site.json``,
  ``~/Library/Logs/veil``.

platformdirs reads the environment itself: the XDG variables on Linux (and on macOS, where
they win over Apple's folders), ``HOME`` on both. On Windows it asks the shell (through
ctypes); elsewhere, where there is no Windows shell to ask, it takes the folders from its
``WIN_PD_OVERRIDE_LOCAL_APPDATA`` and ``WIN_PD_OVERRIDE_COMMON_APPDATA`` variables (full Windows
paths), which is how the tests ask for Windows' answer on Linux.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from platformdirs.api import PlatformDirsABC
from platformdirs.macos import MacOS
from platformdirs.unix import Unix
from platformdirs.windows import Windows

__all__ = ["APP_NAME", "SITE_CONFIG_FILE_NAME", "PlatformPaths", "platform_paths"]

#: The folder name under each system's base folders (no author folder on Windows: ``appauthor=False``).
APP_NAME = "veil"
#: The site configuration file's name in the site configuration folder.
SITE_CONFIG_FILE_NAME = "site.json"


@dataclass(frozen=True)
class PlatformPaths:
    """Veil's folders on one system. For the running system they are :class:`~pathlib.Path`;
    for another, pure paths of that system's flavour (Windows paths keep their backslashes)."""

    system: str
    #: The user's data folder: the Veil home unless ``VEIL_HOME`` or ``--home`` names another.
    user_data: PurePath
    #: The read-only site defaults a hospital's IT presets (``site.json``), unless ``VEIL_SITE_CONFIG`` names another.
    site_config_file: PurePath
    #: The user's log folder.
    user_log: PurePath


def _dirs_class(system: str) -> type[PlatformDirsABC]:
    """platformdirs' class for ``system``: every other Unix (the BSDs) is a Unix, as platformdirs does."""
    if system == "Windows":
        return Windows
    if system == "Darwin":
        return MacOS
    return Unix


def _path_class(system: str) -> type[PurePath]:
    if system == platform.system():
        return Path
    return PureWindowsPath if system == "Windows" else PurePosixPath


def platform_paths(system: str) -> PlatformPaths:
    """Veil's folders on ``system`` (``"Linux"``, ``"Windows"``, ``"Darwin"``, as
    :func:`platform.system` names them), for the current user and environment.

    The user data folder is not roaming on Windows (a library of images stays on the machine,
    not in the user's roaming profile), as ``platformdirs.user_data_path`` answers by default.
    """
    dirs = _dirs_class(system)(appname=APP_NAME, appauthor=False, roaming=False)
    path = _path_class(system)
    try:
        return PlatformPaths(
            system=system,
            user_data=path(dirs.user_data_dir),
            site_config_file=path(dirs.site_config_dir) / SITE_CONFIG_FILE_NAME,
            user_log=path(dirs.user_log_dir),
        )
    except NotImplementedError:  # platformdirs' Windows class, off Windows, without its overrides
        raise ValueError("Windows' folders can be computed off Windows only from WIN_PD_OVERRIDE_LOCAL_APPDATA "
                         "and WIN_PD_OVERRIDE_COMMON_APPDATA (full Windows paths)") from None
