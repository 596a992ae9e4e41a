"""Every file Veil reads at run time is package data found through importlib.resources: no
module of ``desktop/`` reaches for a path relative to the checkout, every resource file is
matched by pyproject's package-data (so a wheel or a bundle carries it), and every resource the
code names exists. Fast and static; ``tests/test_wheel.py`` builds and installs the wheel."""

from __future__ import annotations

import ast
import fnmatch
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DESKTOP = ROOT / "desktop"
#: Folders of the checkout that are not installed: code must never read from them.
CHECKOUT_ONLY = ("packaging", "scripts", "docs", "shared", "tests", "benchmarks", ".ci")
_CHECKOUT_PATTERNS = [
    re.compile(r"\bparents\s*\[\s*\d+\s*\]"),  # Path(__file__).resolve().parents[2] / ...
    re.compile(r"__file__\)?\s*(\.resolve\(\))?\s*\.parent\.parent"),
    re.compile(r"""["']\.\./"""),  # "../shared/..."
    re.compile(r"""/\s*["'](""" + "|".join(re.escape(name) for name in CHECKOUT_ONLY) + r""")["']"""),
]


def _sources() -> list[Path]:
    return sorted(p for p in DESKTOP.rglob("*.py") if "__pycache__" not in p.parts)


def _tracked(under: str) -> list[str]:
    done = subprocess.run(["git", "ls-files", "-z", under], capture_output=True, cwd=ROOT, check=True)
    return [name for name in done.stdout.decode().split("\0") if name]


def test_no_module_reads_a_path_relative_to_the_checkout():
    found = []
    for path in _sources():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if "__file__" in code and "resources" not in code:
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
            elif any(p.search(code) for p in _CHECKOUT_PATTERNS):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "run-time reads relative to the checkout (use desktop.core.common.resources):\n" + \
        "\n".join(found)


def _package_data() -> dict[str, list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data: dict[str, list[str]] = config["tool"]["setuptools"]["package-data"]
    return data


def _packaged(relative: str, data: dict[str, list[str]]) -> bool:
    """Whether the file ``relative`` (from the repository root) is matched by a package-data glob
    of its package (setuptools globs are relative to the package's folder)."""
    for package, globs in data.items():
        folder = package.replace(".", "/") + "/"
        if relative.startswith(folder) and any(fnmatch.fnmatch(relative[len(folder):], g) for g in globs):
            return True
    return False


def test_every_resource_file_is_package_data():
    data = _package_data()
    files = [name for name in _tracked("desktop") if not name.endswith(".py")]
    assert "desktop/resources/icons/veil.svg" in files
    missing = [name for name in files if not _packaged(name, data)]
    assert not missing, f"tracked data files the wheel would leave out (add them to package-data): {missing}"


def _named_resources() -> set[tuple[str, ...]]:
    """The literal paths passed to ``resource_path(...)`` or kept in ``*_FILE``/``*_DIR``
    tuples of string constants, anywhere in ``desktop/``."""
    named: set[tuple[str, ...]] = set()
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            args: list[ast.expr] = []
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                    "resource_path", "icon_path"):
                args = list(node.args)
                if getattr(node.func, "id", "") == "icon_path" and args:
                    args = [ast.Constant("icons"), *args]
            elif (isinstance(node, ast.Assign) and len(node.targets) == 1
                  and isinstance(node.targets[0], ast.Name)
                  and re.fullmatch(r"[A-Z_]*(FILE|DIR)", node.targets[0].id)
                  and isinstance(node.value, ast.Tuple)):
                args = list(node.value.elts)
            if args and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
                named.add(tuple(str(a.value) for a in args if isinstance(a, ast.Constant)))
    return named


def test_every_resource_the_code_names_exists_as_package_data():
    named = _named_resources()
    assert ("icons", "veil.svg") in named or any("icons" in n for n in named), named
    assert ("deid", "ps3.15-annex-e-table-e.1-1.json") in named
    data = _package_data()
    tracked = set(_tracked("desktop/resources"))
    for parts in named:
        relative = "desktop/resources/" + "/".join(parts)
        if (ROOT / relative).is_dir():
            assert any(t.startswith(relative + "/") and _packaged(t, data) for t in tracked), relative
        else:
            assert relative in tracked, f"{relative} is named in the code but not tracked"
            assert _packaged(relative, data), f"{relative} is not package data"


def test_the_window_icon_is_read_from_the_package():
    pytest.importorskip("PySide6")
    from desktop.core.common.resources import resources_root
    from desktop.ui.common.resources import icon_path

    path = icon_path()
    assert path.is_file() and path.is_relative_to(resources_root()), path
    assert "packaging" not in path.parts
