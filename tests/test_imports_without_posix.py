"""Veil imports where Python has no POSIX-only modules (Windows): nothing of desktop.core,
desktop.app or the command line imports fcntl, pwd, grp, termios or resource at module level.

packaging/README.md builds the bundle on Windows and macOS from the same spec; on Windows a
module-level ``import fcntl`` stops the app before its first window. This test cannot run
Windows, so it takes those modules away in a fresh interpreter (an import of them raises
ImportError, as on Windows) and imports every module there. The platform code that needs them
is behind small functions (desktop.core.common.file_locks, desktop.core.common.portable) that
import them only when called, and only on POSIX.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Modules of the standard library that exist only on POSIX systems (not on Windows).
POSIX_ONLY = ("fcntl", "pwd", "grp", "termios", "resource")


def _modules(package: str) -> list[str]:
    pkg = __import__(package, fromlist=["_"])
    return [package] + [m.name for m in pkgutil.walk_packages(pkg.__path__, package + ".")]


_SCRIPT = """
import sys, traceback
POSIX_ONLY = {posix!r}
for name in POSIX_ONLY:
    sys.modules.pop(name, None)  # none is loaded at start-up; be sure
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name in POSIX_ONLY:
            raise ImportError(f"No module named {{name!r}} (refused: as on Windows)", name=name)
        return None
sys.meta_path.insert(0, Refuse())
failed = []
for module in {modules!r}:
    try:
        __import__(module)
    except Exception:
        failed.append(module + ":\\n" + traceback.format_exc(limit=-3))
for name in POSIX_ONLY:
    assert name not in sys.modules, name
if failed:
    print("\\n".join(failed))
    sys.exit(1)
print("ok", len({modules!r}))
"""


def test_every_module_imports_without_posix_only_modules() -> None:
    # Skips none: every module of desktop.core and desktop.app (Qt-free, tests/test_layering.py)
    # and the command line's entry point, which imports the rest of desktop.cli.
    modules = _modules("desktop.core") + _modules("desktop.app") + ["desktop.cli.main"]
    assert len(modules) > 100
    script = _SCRIPT.format(posix=POSIX_ONLY, modules=modules)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok")


def test_the_refusal_is_real() -> None:
    """The finder above does refuse (else the test would pass for nothing)."""
    script = _SCRIPT.format(posix=POSIX_ONLY, modules=["fcntl"])
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 1
    assert "refused: as on Windows" in done.stdout
