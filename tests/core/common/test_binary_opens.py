"""Every ``os.open`` of a file in desktop/ asks for binary mode (``portable.BINARY``).

Windows's C runtime opens a descriptor in text mode unless ``O_BINARY`` is among the flags: a
written ``\\n`` becomes ``\\r\\n`` and a read stops at Ctrl-Z. Audit lines are hashed, objects are
sealed, atomic writes must land byte for byte: one call without it breaks Windows only, which no
test here runs. So this reads the source: the flags of each ``os.open(`` (with the names they are
built from in the same function or module) must name BINARY, unless they open a folder
(``O_DIRECTORY``, POSIX-only) or the call is one of :data:`FOLDER_OPENS`.
"""

from __future__ import annotations

import ast
from pathlib import Path

from desktop.core.common import portable

ROOT = Path(__file__).resolve().parents[3]

#: (file, function) of opens of a folder whose flags cannot say so: Linux's syncfs of the file
#: system holding a folder (the libc call exists nowhere else, so neither does this open).
FOLDER_OPENS = {("desktop/core/common/atomic_files.py", "sync_filesystem")}


def _assignments(scope: ast.AST) -> dict[str, list[ast.expr]]:
    """name -> the expressions assigned to it in ``scope`` (``a, b = x, y`` pairs them up)."""
    found: dict[str, list[ast.expr]] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node.value)
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    for name, value in zip(target.elts, node.value.elts):
                        if isinstance(name, ast.Name):
                            found.setdefault(name.id, []).append(value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            found.setdefault(node.target.id, []).append(node.value)
    return found


def _words(expr: ast.expr, names: dict[str, list[ast.expr]], depth: int = 0) -> set[str]:
    """The names, attributes and string constants ``expr`` is built from, following local names."""
    words: set[str] = set()
    for node in ast.walk(expr):
        if isinstance(node, ast.Name):
            words.add(node.id)
            if depth < 5:
                for value in names.get(node.id, []):
                    words |= _words(value, names, depth + 1)
        elif isinstance(node, ast.Attribute):
            words.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            words.add(node.value)  # getattr(os, "O_DIRECTORY", 0)
    return words


def _is_os_open(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "open"
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "os")


def text_mode_opens(source: str, where: str) -> tuple[int, list[str]]:
    """(how many ``os.open`` calls ``source`` has, those that may open a file in text mode)."""
    tree = ast.parse(source)
    module_names = _assignments(tree)
    calls = 0
    bad: list[str] = []
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for function in [None, *functions]:
        scope: ast.AST = tree if function is None else function
        names = dict(module_names)
        if function is not None:
            names.update(_assignments(function))
        for node in ast.walk(scope):
            if not _is_os_open(node) or _innermost(functions, node) is not function:
                continue
            assert isinstance(node, ast.Call)
            calls += 1
            flags = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "flags"), None)
            words = _words(flags, names) if flags is not None else set()
            name = function.name if function is not None else "<module>"
            if words & {"BINARY", "O_BINARY", "O_DIRECTORY"} or (where, name) in FOLDER_OPENS:
                continue
            bad.append(f"{where}:{node.lineno} ({name}): {ast.unparse(node)}")
    return calls, bad


def _innermost(functions: list[ast.FunctionDef | ast.AsyncFunctionDef], node: ast.AST) -> object:
    """The innermost function holding ``node`` (None: the module's top level)."""
    holders = [f for f in functions if any(n is node for n in ast.walk(f))]
    return min(holders, key=lambda f: len(list(ast.walk(f))), default=None)


def test_every_os_open_in_desktop_is_binary() -> None:
    calls, bad = 0, []
    for path in sorted((ROOT / "desktop").rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        found, wrong = text_mode_opens(path.read_text(encoding="utf-8"), where)
        calls, bad = calls + found, bad + wrong
    assert calls >= 20  # it did find them
    assert not bad, "os.open without portable.BINARY (text mode on Windows):\n" + "\n".join(bad)


def test_the_check_finds_a_text_mode_open() -> None:
    source = '''
import os
FLAGS = os.O_WRONLY | os.O_CREAT

def plain(p):
    return os.open(p, os.O_RDONLY)

def through_a_name(p):
    flags, direct = os.O_WRONLY | os.O_CREAT, True
    return os.open(p, flags | 0o1000, 0o600)

def module_flags(p):
    return os.open(p, flags=FLAGS)

def fine(p):
    flags = os.O_WRONLY | BINARY
    os.open(p, os.O_RDONLY | portable.BINARY)
    os.open(p, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    return os.open(p, flags)
'''
    calls, bad = text_mode_opens(source, "sample.py")
    assert calls == 6
    assert [line.split(" ")[1] for line in bad] == ["(plain):", "(through_a_name):", "(module_flags):"]


def test_binary_is_o_binary_where_there_is_one() -> None:
    import os

    assert portable.BINARY == getattr(os, "O_BINARY", 0)  # 0 on POSIX: the flags are unchanged
