"""Ctrl+C in a command that writes: the work's token is cancelled, nothing is said but that."""

from __future__ import annotations

from desktop.cli.support import cancellable


def test_ctrl_c_cancels_the_work_and_says_nothing_was_written(capsys):
    seen = []

    def work(cancel):  # noqa: ANN001, ANN202
        seen.append(cancel)
        raise KeyboardInterrupt

    assert cancellable(work) is None
    assert seen[0].cancelled
    assert capsys.readouterr().err == "\nCancelled. Nothing was written.\n"
    assert cancellable(lambda cancel: ("done", cancel.cancelled)) == ("done", False)
