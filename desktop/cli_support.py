"""What the command line's commands share: opening the home (asking for the passphrase on a
terminal), a progress bar on stderr, and printing names safely."""

from __future__ import annotations

import argparse
import getpass
import sys

from desktop.core.errors import VeilError


def _prompt(creating: bool) -> str | None:
    print("No system keyring is available: Veil protects this library with a passphrase.", file=sys.stderr)
    first = getpass.getpass("New library passphrase: " if creating else "Library passphrase: ")
    if creating and getpass.getpass("Repeat the passphrase: ") != first:
        raise VeilError("The two passphrases differ; nothing was created.")
    return first


def open_home(args: argparse.Namespace):  # noqa: ANN201 - VeilHome, imported late
    from desktop.app.home import VeilHome

    # Without a terminal there is nobody to ask: the keystore then explains VEIL_PASSPHRASE_FILE.
    return VeilHome.open(args.home, prompt=_prompt if sys.stdin.isatty() else None)


def safe(label: str) -> str:
    """A file name on one line: control characters (a newline in a name) shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in label)
