"""Import progress (issue 15): files done, the rate, and the file being read when it takes long,
handed over from a thread of its own so that a stuck file is named while it is stuck."""

from __future__ import annotations

import io
import threading

from desktop.app.library import import_progress, importing
from desktop.app.library.import_progress import ImportStatus
from desktop.app.library.importing import import_paths
from desktop.cli.progress import ImportProgressLines
from tests.conftest import pydicom_test_files


def test_the_file_being_read_is_named_while_it_takes_long(home, tmp_path, monkeypatch):
    """No clock is asserted: the stand-in reader waits until the status names its file."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm"):
        (folder / name).write_bytes((pydicom_test_files() / name).read_bytes())
    monkeypatch.setattr(import_progress, "SLOW_SECONDS", 0.0)
    monkeypatch.setattr(import_progress, "TICK_SECONDS", 0.01)
    named = threading.Event()
    seen: list[ImportStatus] = []
    slow = str(folder / "MR_small.dcm")

    def sink(status: ImportStatus) -> None:
        seen.append(status)
        if status.slow_file == slow:
            named.set()

    real = importing.ingest

    def reader(source, store, budget):  # noqa: ANN001, ANN202
        if source.label == slow:
            named.wait(timeout=30)  # a hang guard, not a clock: it returns as soon as the file is named
        return real(source, store, budget)

    monkeypatch.setattr(importing, "ingest", reader)
    report = import_paths(home, [folder], workers=1, status=sink)
    assert named.is_set() and report.imported == 2
    final = seen[-1]
    assert final.finished and final.done == final.total == 2 and final.slow_file is None
    assert final.bytes_done == report.bytes_read == final.bytes_total


def _status(done: int, elapsed: float, **kw) -> ImportStatus:  # noqa: ANN003
    return ImportStatus(done=done, total=10, bytes_done=done * 1_000_000, bytes_total=10_000_000,
                        elapsed=elapsed, **kw)


def test_progress_lines_give_the_rate_and_the_slow_file_escaped():
    out = io.StringIO()
    lines = ImportProgressLines(force=True, stream=out)
    lines(_status(2, 1.0))
    lines(_status(3, 1.2))  # within the second: not drawn again off a terminal
    lines(_status(6, 2.5, slow_file="/in/bad\nname\x1b.dcm", slow_seconds=4.2))
    lines(_status(10, 4.0, finished=True))
    text = out.getvalue().splitlines()
    assert text[0] == "2/10 files, 2.0 files/s, 2.0 MB/s"
    assert text[1] == r"6/10 files, 2.7 files/s, 2.7 MB/s; reading /in/bad\nname\x1b.dcm for 4 s"
    assert text[2] == "10/10 files, 2.5 files/s, 2.5 MB/s, 4.0 s in all"
    assert len(text) == 3


def test_no_progress_off_a_terminal_unless_asked():
    out = io.StringIO()
    ImportProgressLines(stream=out)(_status(5, 3.0))
    assert out.getvalue() == ""


def test_a_size_limit_that_is_not_a_size_is_refused_by_the_cli(veil_cli, tmp_path):
    done = veil_cli("import", "--max-file-size", "lots", str(tmp_path))
    assert done.returncode == 2 and "not a size: 'lots'" in done.stderr
