"""Start the desktop app: ``veil`` (no command), ``veil gui`` or ``veil-gui [NAME.veil]``.

A package given on the command line (how a double-click on a ``.veil`` file arrives, through
``packaging/veil.desktop``) is opened once the library is open.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from desktop import __version__
from desktop.app.common.log_policy import configure_logging
from desktop.app.library.home import resolve_home
from desktop.ui.common import background
from desktop.ui.common.errors import install_excepthook, uninstall_excepthook
from desktop.ui.main_window import MainWindow
from desktop.ui.common.resources import app_icon
from desktop.ui.common.theme import apply_theme


def application(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication, created once, with Veil's name, icon and dark theme."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(list(argv if argv is not None else sys.argv[:1]))
    app.setApplicationName("veil")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("veil")  # matches packaging/veil.desktop
    apply_theme(app)
    app.setWindowIcon(app_icon())
    return app


def start(home: str | None = None, package: str | None = None) -> MainWindow:
    """Show the window and start opening the library (returns at once); then open ``package``."""
    window = MainWindow(resolve_home(home))
    window.show()
    if package:
        window.share.open_package(Path(package).expanduser().absolute())  # waits for the library
    window.open_library()
    return window


def run_app(home: str | None = None, package: str | None = None) -> int:
    """Run the desktop app until its window closes; the exit status."""
    app = application()
    install_excepthook()
    window = start(home, package)
    try:
        app.exec()
    finally:
        uninstall_excepthook()
        background.wait_for_all()
        background.discard_pending()
    code = window.exit_code
    _dispose(window)
    return code


def _dispose(window: MainWindow) -> None:
    """Destroy the window now, while the QApplication exists, not during interpreter exit
    (whose garbage collector would free Qt objects in no particular order)."""
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``veil-gui``."""
    configure_logging()
    parser = argparse.ArgumentParser(prog="veil-gui", description="Open the Veil desktop app.")
    parser.add_argument("--version", action="version", version=f"veil {__version__}")
    parser.add_argument("--home", help="the Veil home folder (default: $VEIL_HOME, else your user data folder)")
    parser.add_argument("package", nargs="?", metavar="NAME.veil",
                        help="a share package to verify and import once the library is open")
    args = parser.parse_args(argv)
    return run_app(home=args.home, package=args.package)


if __name__ == "__main__":
    raise SystemExit(main())
