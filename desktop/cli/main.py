"""``veil``: the command line. Without a command it opens the desktop app.

The commands call the same use cases as the GUI (``desktop.app``); Qt is imported only when
the window is opened.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from desktop.app.common.log_policy import configure_logging
from desktop.cli.audit import add_audit_commands
from desktop.cli.cases import add_case_commands
from desktop.cli.consent import add_consent_commands, add_report_commands
from desktop.cli.deid import add_deid_commands
from desktop.cli.keys import add_share_commands
from desktop.cli.library import add_library_commands
from desktop.cli.network import add_network_commands
from desktop.cli.packages import add_package_commands
from desktop.cli.site import add_site_commands
from desktop.cli.slides import add_slides_commands
from desktop.cli.support import disk_full_message, forward_audit
from desktop.cli.version import VersionAction
from desktop.core.common.disk_full import is_disk_full
from desktop.core.common.errors import VeilError


def cmd_gui(args: argparse.Namespace) -> int:
    from desktop.ui.launch import run_app

    return run_app(home=args.home, package=getattr(args, "package", None))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="veil", description="Share medical images without leaking the patient.")
    parser.add_argument("--version", action=VersionAction)
    parser.add_argument("--home", help="the Veil home folder (default: $VEIL_HOME, else your user data folder)")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("gui", help="open the desktop app (the default)")
    p.add_argument("package", nargs="?", metavar="NAME.veil",
                   help="a share package to verify and import once the library is open (a double-click on it)")
    p.set_defaults(func=cmd_gui)

    add_library_commands(sub)
    add_deid_commands(sub)
    add_audit_commands(sub)
    add_consent_commands(sub)
    add_report_commands(sub)
    add_share_commands(sub)
    add_package_commands(sub)
    add_slides_commands(sub)
    add_case_commands(sub)
    add_network_commands(sub)
    add_site_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    args = build_parser().parse_args(argv)
    func = getattr(args, "func", cmd_gui)
    try:
        try:
            return func(args)
        finally:
            forward_audit()  # the events this command recorded, to the syslog collector if one is set
    except VeilError as exc:
        print(f"veil: {exc}", file=sys.stderr)
        for line in getattr(exc, "details", ()):  # for the person at the terminal (StudyRefError)
            print(f"  {line}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: report it without values that may identify a patient
        if os.environ.get("VEIL_DEBUG"):
            raise
        if is_disk_full(exc):  # a full disk no command foresaw: still an ordinary error
            print(f"veil: {disk_full_message(args)}", file=sys.stderr)
            return 1
        print(f"veil: unexpected error ({type(exc).__name__}). Details are not shown because they "
              "may contain patient data; run again with VEIL_DEBUG=1 to see them.", file=sys.stderr)
        return 70
