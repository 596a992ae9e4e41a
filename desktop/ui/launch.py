"""Start the desktop app: ``veil`` (no command), ``veil gui`` or ``veil-gui [NAME.veil]``.

A package given on the command line (how a double-click on a ``.veil`` file arrives, through
``packaging/veil.desktop``) is opened once the library is open.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QTimer
from PySide6.QtWidgets import QApplication

from desktop import __version__
from desktop.app.common.log_policy import configure_logging
from desktop.app.library.home import resolve_home
from desktop.ui.common import background
from desktop.ui.common.errors import install_excepthook, uninstall_excepthook
from desktop.ui.common.resources import app_icon
from desktop.ui.common.theme import apply_theme
from desktop.ui.main_window import MainWindow


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


#: Qt platform plugins that draw without a display server (QT_QPA_PLATFORM).
_HEADLESS = frozenset({"offscreen", "minimal", "minimalegl", "vnc", "eglfs", "linuxfb", "vkkhrdisplay"})

#: The system libraries Qt's X11 (xcb) platform plugin loads that PySide6's wheels do not bring,
#: by the Debian/Ubuntu package holding each (README, "System packages"). Without one, Qt aborts
#: at start with a hint that names libxcb-cursor0 whatever is missing.
XCB_LIBRARIES = {
    "libxcb-cursor0": "libxcb-cursor.so.0", "libxcb-icccm4": "libxcb-icccm.so.4",
    "libxcb-keysyms1": "libxcb-keysyms.so.1", "libxcb-shape0": "libxcb-shape.so.0",
    "libxcb-randr0": "libxcb-randr.so.0", "libxcb-render-util0": "libxcb-render-util.so.0",
    "libxcb-image0": "libxcb-image.so.0", "libxkbcommon0": "libxkbcommon.so.0",
    "libxkbcommon-x11-0": "libxkbcommon-x11.so.0", "libgl1": "libGL.so.1", "libegl1": "libEGL.so.1",
    "libfontconfig1": "libfontconfig.so.1", "libdbus-1-3": "libdbus-1.so.3", "libglib2.0-0": "libglib-2.0.so.0",
}

_USE_THE_COMMAND_LINE = ("The command line works without a window:\n"
                         "  veil --help\n"
                         "  veil import PATH...    (or veil import --samples)\n"
                         "  veil ls")


def _loadable(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def x_display_answers(display: str, timeout: float = 5.0) -> bool:
    """Whether the X server named by ``display`` accepts a connection from us (its socket answers
    and its authorisation, through libxcb as Qt does); True when libxcb itself is missing (the
    library check names it). A server that does not answer within ``timeout`` seconds counts as
    not answering (an unreachable TCP display would otherwise hold the start for minutes)."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return True
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    answer: list[bool] = []

    def connect() -> None:
        connection = xcb.xcb_connect(display.encode(), None)
        answer.append(xcb.xcb_connection_has_error(connection) == 0)
        xcb.xcb_disconnect(connection)

    trying = threading.Thread(target=connect, name="veil-display-check", daemon=True)
    trying.start()
    trying.join(timeout)
    return bool(answer and answer[0])


def display_problem(env: Mapping[str, str] | None = None, platform: str | None = None,
                    loadable: Callable[[str], bool] = _loadable,
                    answers: Callable[[str], bool] = x_display_answers) -> str | None:
    """Why Veil's window cannot open here, said before Qt is started (Qt aborts the process, with a
    hint about xcb-cursor, when it finds no display); None when it can, as far as can be told.

    On Linux a window needs an X11 (DISPLAY) or Wayland (WAYLAND_DISPLAY) display, unless
    QT_QPA_PLATFORM names a plugin that needs none (offscreen, vnc, ...); on X11, the libraries
    of Qt's xcb plugin must be installed and the display must answer (a stale DISPLAY, an X
    server that has gone, or one this user may not use).
    """
    env = os.environ if env is None else env
    if not (platform or sys.platform).startswith("linux"):
        return None
    wanted = [p.split(":")[0].strip() for p in env.get("QT_QPA_PLATFORM", "").split(";") if p.strip()]
    if any(p in _HEADLESS for p in wanted):
        return None
    x11, wayland = bool(env.get("DISPLAY")), bool(env.get("WAYLAND_DISPLAY"))
    if not x11 and not wayland:
        return ("Veil's window needs a display, and this session has none (neither DISPLAY nor WAYLAND_DISPLAY\n"
                "is set: a server, an SSH login without X forwarding, a container). Open it on your desktop, or\n"
                "log in with ssh -X. " + _USE_THE_COMMAND_LINE)
    xcb = "xcb" in wanted or (not wanted and not wayland)
    missing = [package for package, soname in XCB_LIBRARIES.items() if not loadable(soname)] if x11 and xcb else []
    if missing:
        return (f"Veil's window cannot open: Qt's X11 (xcb) platform needs {' '.join(missing)}, not installed here.\n"
                f"On Debian/Ubuntu: sudo apt-get install {' '.join(missing)}\n"
                "(the README's \"System packages\" lists all that Qt needs). " + _USE_THE_COMMAND_LINE)
    if x11 and xcb and not answers(env["DISPLAY"]):
        return (f"Veil's window cannot open: the X display {env['DISPLAY']} does not answer (its X server is not\n"
                "running, or this session may not use it: check DISPLAY, and XAUTHORITY with sudo or su). "
                + _USE_THE_COMMAND_LINE)
    return None


def run_app(home: str | None = None, package: str | None = None) -> int:
    """Run the desktop app until its window closes; the exit status (2, said on stderr, when there
    is no display to open it on: :func:`display_problem`)."""
    problem = display_problem()
    if problem:
        print(f"veil: {problem}", file=sys.stderr)
        return 2
    app = application()
    install_excepthook()
    window = start(home, package)
    previous = close_on_terminate(window)
    try:
        app.exec()
    finally:
        signal.signal(signal.SIGTERM, previous)
        uninstall_excepthook()
        background.wait_for_all()
        background.discard_pending()
    code = window.exit_code
    _dispose(window)
    return code


def close_on_terminate(window: MainWindow) -> signal.Handlers | Callable[..., object] | int | None:
    """SIGTERM (the desktop session logging out, ``kill``, systemd) closes the window as its close
    button does: an export or import is cancelled and leaves nothing, and receiving finishes the
    import of what senders were told is stored, instead of the process dying where it stands.
    Python runs a signal handler only between bytecodes, so a timer wakes it while Qt waits.
    Returns the handler it replaced."""
    def terminate(_signum: int, _frame: object) -> None:
        QTimer.singleShot(0, window.close)

    previous = signal.signal(signal.SIGTERM, terminate)
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(250)
    return previous


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
