"""Import progress on stderr for ``veil import``: files done of the total, the current rate
(files/s and MB/s over the last few seconds) and, when one file takes long, its name.

Drawn in place on a terminal, a few times a second; with ``--progress`` anywhere else, as a
line a second (a log stays readable). The final summary stays on stdout.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from typing import TYPE_CHECKING, TextIO

from desktop.cli.support import safe

if TYPE_CHECKING:  # annotations only: the commands import the app late, so the command line starts fast
    from desktop.app.library.import_progress import ImportStatus

#: Seconds of history the rate is measured over.
RATE_WINDOW = 5.0


class ImportProgressLines:
    """A sink for :class:`desktop.app.library.import_progress.ImportStatus` (called from the import's
    progress thread)."""

    def __init__(self, force: bool = False, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.enabled = self.tty or force
        self._shown = -1.0
        self._window: list[tuple[float, int, int]] = []

    def __call__(self, s: ImportStatus) -> None:
        if not self.enabled or (not s.total and not s.finished):
            return
        window = self._window
        window.append((s.elapsed, s.done, s.bytes_done))
        while len(window) > 2 and s.elapsed - window[0][0] > RATE_WINDOW:
            window.pop(0)
        if not s.finished and s.elapsed - self._shown < (0.25 if self.tty else 1.0):
            return
        self._shown = s.elapsed
        since, done0, bytes0 = (0.0, 0, 0) if s.finished or s.elapsed - window[0][0] < 0.5 else window[0]
        span = max(s.elapsed - since, 1e-3)
        line = (f"{s.done:,}/{s.total:,} files, {(s.done - done0) / span:.1f} files/s, "
                f"{(s.bytes_done - bytes0) / span / 1e6:.1f} MB/s")
        if s.finished:
            line += f", {s.elapsed:.1f} s in all"
        elif s.slow_file:
            line += f"; reading {safe(s.slow_file)} for {s.slow_seconds:.0f} s"
        if self.tty:
            width = shutil.get_terminal_size().columns - 1
            if len(line) > width:
                line = line[:max(width - 1, 0)] + "…"
            self.stream.write("\r" + line.ljust(width) + ("\n" if s.finished else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def size_argument(text: str) -> int:
    """An argparse type for sizes: ``2G``, ``512M``, a number of bytes."""
    from desktop.core.dicom.input_budget import parse_size

    try:
        return parse_size(text)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (say 2G, 512M or a number of bytes)") from None


class TerminalProgress:
    """A bar of done/total on stderr, when it is a terminal (de-identification, leak check, redaction)."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if self.enabled and total:
            width = 30
            filled = width * done // total
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            sys.stderr.flush()
            if done == total:
                sys.stderr.write("\n")
