"""The bundle's one executable (PyInstaller's script; see packaging/veil.spec).

``veil`` is the command line (``veil`` alone or ``veil gui`` opens the window); run under the
name ``veil-gui`` (the symlink beside it, which the menu entry starts with a ``.veil`` package) it
is the window's own entry point. ``freeze_support`` comes first: the import and de-identification
pools use multiprocessing's forkserver, which starts this executable again with a ``-c`` command.
"""

import multiprocessing
import os
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    if os.path.basename(sys.argv[0]) == "veil-gui":
        from desktop.ui.launch import main
    else:
        from desktop.cli.main import main
    raise SystemExit(main())
