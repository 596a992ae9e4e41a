"""The bundle's one executable (PyInstaller's script; see packaging/veil.spec).

``veil`` is the command line (``veil`` alone or ``veil gui`` opens the window). Run under the
name ``veil-gui`` (the Linux symlink the menu entry starts; the windowed ``veil-gui.exe`` on
Windows, with no console window) it is the window's own entry point, and so it is when its one
argument is a ``.veil`` package (macOS hands the package a double-click opens as the argument,
through PyInstaller's argv emulation). ``freeze_support`` comes first: the import and
de-identification pools use multiprocessing's forkserver (spawn on Windows and macOS), which
start this executable again with a ``-c`` command.
"""

import multiprocessing
import os
import sys


def opens_the_window(argv):
    """Whether this start is the window's (by the executable's name, or a lone package to open)
    rather than the command line's."""
    name = os.path.splitext(os.path.basename(argv[0]))[0].lower() if argv else ""
    if name == "veil-gui":
        return True
    return len(argv) == 2 and argv[1].lower().endswith(".veil") and not argv[1].startswith("-")


if __name__ == "__main__":
    multiprocessing.freeze_support()
    if opens_the_window(sys.argv):
        from desktop.ui.launch import main
    else:
        from desktop.cli.main import main
    raise SystemExit(main())
