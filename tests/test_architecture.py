"""The house rules a reader relies on, checked: folders by feature, every module inside a layer
contract, no import cycle, small modules, public pydicom API only."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "desktop"
MAX_MODULE_LINES = 500
MAX_FILES_AT_TOP_OF_UI = 12


def _contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["importlinter"]["contracts"]


def _layers(contract: dict) -> list[str]:
    return [name.strip() for layer in contract["layers"] for name in re.split(r"[|:]", layer)]


def _covered(module: str, layers: list[str]) -> bool:
    return any(module == layer or module.startswith(layer + ".") for layer in layers)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("desktop")


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), counting every import:
    inside functions and under TYPE_CHECKING too."""
    modules = sorted(graph.modules)
    edges = {m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i in graph.modules) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in edges[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(modules)))
    try:
        for module in modules:
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_no_module_takes_part_in_an_import_cycle(graph: grimp.ImportGraph) -> None:
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "a.b", "a.c", "a.d"):
        graph.add_module(module)
    graph.add_import(importer="a.b", imported="a.c")
    graph.add_import(importer="a.c", imported="a.b")
    graph.add_import(importer="a.d", imported="a.b")
    assert _cycles(graph) == [["a.b", "a.c"]]


def test_every_folder_of_code_is_a_package_the_contracts_can_see() -> None:
    missing = [str(folder.relative_to(ROOT)) for folder in sorted(PACKAGE.rglob("*"))
               if folder.is_dir() and folder.name != "__pycache__" and any(folder.glob("*.py"))
               and not (folder / "__init__.py").is_file()]
    assert missing == []


def test_every_module_is_inside_the_layer_contracts(graph: grimp.ImportGraph) -> None:
    contracts = {contract["name"]: contract for contract in _contracts()}
    layers = next(c for name, c in contracts.items() if name.startswith("layers:"))
    domains = next(c for name, c in contracts.items() if name.startswith("core domains"))
    outside = [m for m in sorted(graph.modules) if m != "desktop" and not _covered(m, _layers(layers))]
    assert outside == []
    core = [m for m in sorted(graph.modules) if m.startswith("desktop.core.")]
    assert core, "the graph must see the core"
    assert [m for m in core if not _covered(m, _layers(domains))] == []


def test_the_graph_sees_every_module_on_disk(graph: grimp.ImportGraph) -> None:
    on_disk = set()
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        on_disk.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    assert sorted(on_disk - set(graph.modules)) == []


def test_no_module_is_over_the_size_limit() -> None:
    too_long = {str(p.relative_to(ROOT)): n for p in sorted(PACKAGE.rglob("*.py"))
                if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert too_long == {}


def test_the_ui_is_grouped_by_feature() -> None:
    top = sorted(p.name for p in (PACKAGE / "ui").iterdir() if p.is_file() and p.suffix == ".py")
    assert len(top) <= MAX_FILES_AT_TOP_OF_UI, top
    features = {p.name for p in (PACKAGE / "ui").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert {"library", "viewer", "redaction", "deid", "consent", "share", "keys", "common"} <= features


def test_only_the_public_pydicom_api_is_used() -> None:
    private = re.compile(r"\._dict\b|\._parent_encoding\b|\._character_set\b|\._pixel_array\b")
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in sorted(PACKAGE.rglob("*.py"))
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if private.search(line)]
    assert hits == []


def test_docstrings_cite_the_standard_not_the_tracker() -> None:
    issue = re.compile(r"\b[Ii]ssues? \d+\b")
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in sorted(PACKAGE.rglob("*.py"))
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if issue.search(line)]
    assert hits == []
