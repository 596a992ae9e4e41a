"""Veil's folders on Linux, Windows and macOS, computed here on Linux with platformdirs' classes
for each system (desktop.app.platform.paths), and the running system's used for the home."""

from __future__ import annotations

import platform
from pathlib import Path, PurePosixPath, PureWindowsPath

import platformdirs
import pytest

from desktop.app.library.home import resolve_home
from desktop.app.platform.paths import PlatformPaths, platform_paths

XDG = ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_DIRS", "XDG_CONFIG_DIRS")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A HOME of its own, no XDG overrides (they win on macOS too), no Windows folder overrides."""
    for name in XDG + ("WIN_PD_OVERRIDE_LOCAL_APPDATA", "WIN_PD_OVERRIDE_APPDATA", "WIN_PD_OVERRIDE_COMMON_APPDATA"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "ada"
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.mark.skipif(platform.system() != "Linux", reason="the Linux answer as concrete paths")
def test_linux_follows_xdg(clean_env: Path) -> None:
    paths = platform_paths("Linux")
    assert paths == PlatformPaths(system="Linux", user_data=clean_env / ".local/share/veil",
                                  site_config_file=Path("/etc/xdg/veil/site.json"),
                                  user_log=clean_env / ".local/state/veil/log")
    assert isinstance(paths.user_data, Path)


@pytest.mark.skipif(platform.system() != "Linux", reason="the Linux answer as concrete paths")
def test_linux_takes_the_xdg_variables(clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", f"{tmp_path / 'etc'}:/etc/xdg")
    paths = platform_paths("Linux")
    assert paths.user_data == tmp_path / "data" / "veil"
    assert paths.site_config_file == tmp_path / "etc" / "veil" / "site.json"  # the first of the list


def test_windows_uses_local_appdata_and_programdata(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Off Windows platformdirs cannot ask the shell (ctypes has no windll): its overrides stand in.
    monkeypatch.setenv("WIN_PD_OVERRIDE_LOCAL_APPDATA", r"C:\Users\ada\AppData\Local")
    monkeypatch.setenv("WIN_PD_OVERRIDE_APPDATA", r"C:\Users\ada\AppData\Roaming")
    monkeypatch.setenv("WIN_PD_OVERRIDE_COMMON_APPDATA", r"C:\ProgramData")
    paths = platform_paths("Windows")
    assert paths == PlatformPaths(system="Windows",
                                  user_data=PureWindowsPath(r"C:\Users\ada\AppData\Local\veil"),  # not roaming
                                  site_config_file=PureWindowsPath(r"C:\ProgramData\veil\site.json"),
                                  user_log=PureWindowsPath(r"C:\Users\ada\AppData\Local\veil\Logs"))
    assert str(paths.site_config_file) == r"C:\ProgramData\veil\site.json"


@pytest.mark.skipif(platform.system() == "Windows", reason="on Windows the shell answers")
def test_windows_off_windows_without_the_overrides_says_what_it_needs(clean_env: Path) -> None:
    with pytest.raises(ValueError, match="WIN_PD_OVERRIDE_LOCAL_APPDATA"):
        platform_paths("Windows")


@pytest.mark.skipif(platform.system() == "Darwin", reason="the macOS answer as pure paths")
def test_macos_uses_the_library_folders(clean_env: Path) -> None:
    paths = platform_paths("Darwin")
    assert paths == PlatformPaths(system="Darwin",
                                  user_data=PurePosixPath(clean_env / "Library/Application Support/veil"),
                                  site_config_file=PurePosixPath("/Library/Application Support/veil/site.json"),
                                  user_log=PurePosixPath(clean_env / "Library/Logs/veil"))


def test_another_unix_is_answered_as_linux(clean_env: Path) -> None:
    assert str(platform_paths("FreeBSD").user_data) == str(clean_env / ".local/share/veil")


def test_the_running_system_gets_what_platformdirs_gives_it(clean_env: Path) -> None:
    paths = platform_paths(platform.system())
    assert paths.user_data == platformdirs.user_data_path("veil", appauthor=False)
    assert paths.site_config_file == platformdirs.site_config_path("veil", appauthor=False) / "site.json"
    assert paths.user_log == platformdirs.user_log_path("veil", appauthor=False)


def test_the_default_home_is_the_user_data_folder(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VEIL_HOME", raising=False)
    assert resolve_home() == platform_paths(platform.system()).user_data
    monkeypatch.setenv("VEIL_HOME", str(clean_env / "elsewhere"))
    assert resolve_home() == (clean_env / "elsewhere").resolve()
