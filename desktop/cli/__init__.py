"""``veil``: the command line, one module per command group. Without a command it opens the app."""

from desktop.cli.main import main

__all__ = ["main"]
