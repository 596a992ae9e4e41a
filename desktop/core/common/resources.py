"""Where Veil's data files are read from at run time: the ``desktop.resources`` package data
(de-identification tables and profiles, templates, presets, icons), found through
:mod:`importlib.resources` so a checkout, an editable install, a wheel and a bundle all agree."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

RESOURCE_PACKAGE = "desktop.resources"


def resources_root() -> Path:
    """The folder holding Veil's data files. Veil is installed as files (never zipped), so the
    package's resources are a real folder; anything else is an installation error."""
    root = resources.files(RESOURCE_PACKAGE)
    if not isinstance(root, Path):
        raise RuntimeError(f"Veil's data files ({RESOURCE_PACKAGE}) are not installed as files")
    return root


def resource_path(*parts: str) -> Path:
    """The data file (or folder) ``parts`` under Veil's resources, e.g. ``("deid", "profiles")``."""
    return resources_root().joinpath(*parts)


def read_resource(*parts: str) -> bytes:
    """The bytes of the data file ``parts`` under Veil's resources, read through
    :mod:`importlib.resources` (works from any installation, zipped or not); OSError if missing."""
    return resources.files(RESOURCE_PACKAGE).joinpath(*parts).read_bytes()
