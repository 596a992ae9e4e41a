"""Pass 1 over the files of an export: hashes and DICOMDIR, on a few threads.

Each source is scanned by :func:`scan.scan` on a worker thread (hashlib, zlib and the
decryption of sealed sources release the GIL; each DICOM header is parsed by the worker that
read it, in a fraction of a millisecond). The DICOMDIR entries are added in the selection's
order as the workers finish, so memory holds a few entries, not one per file. Progress and
cancel callbacks run on the calling thread only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait

from desktop.core.common.errors import Cancelled
from desktop.core.share import member_names as names
from desktop.core.share.dicomdir import DicomdirBuilder, DirectoryEntry
from desktop.core.share.errors import ExportError
from desktop.core.share.scan import Counter, Scanned, scan
from desktop.core.share.sources import PackageSource

#: Called with (bytes read so far, bytes to read in all) over both passes.
Progress = Callable[[int, int], None]
#: Returns True when the person asked to stop.
CancelCheck = Callable[[], bool]
# One more worker than cores: while one waits for the GIL (a header), the others hash.
_THREADS = max(2, min(4, (os.cpu_count() or 1) + 1))


class Meter:
    """Progress and cancel checks (on the calling thread)."""

    def __init__(self, total: int, progress: Progress | None, cancelled: CancelCheck | None):
        self.total, self.done = total, 0
        self._progress, self._cancelled = progress, cancelled

    def step(self, size: int) -> None:
        """``size`` more bytes were read; Cancelled if the person asked to stop."""
        if self._cancelled is not None and self._cancelled():
            raise Cancelled("The export was cancelled; no package was written.")
        self.done += size
        if self._progress is not None:
            self._progress(self.done, self.total)


def is_dicom(source: PackageSource) -> bool:
    """True for a member of the DICOM file-set (it gets a DICOMDIR record)."""
    return source.name.startswith(names.DICOM_FOLDER + "/")


def hashed_bytes(source: PackageSource) -> int:
    """The bytes pass 1 reads of ``source`` (none if it gives both hashes)."""
    return source.size if source.sha256 is None or source.crc32 is None else 0


class _Directory:
    """The DICOMDIR, fed in the selection's order; refuses an instance given twice."""

    def __init__(self) -> None:
        self.builder = DicomdirBuilder()
        self._uids: set[str] = set()

    def add(self, name: str, entry: DirectoryEntry) -> None:
        if entry.sop_instance_uid in self._uids:
            raise ExportError(f"{name} is the same DICOM instance as another file of the "
                              "selection.")
        self._uids.add(entry.sop_instance_uid)
        self.builder.add_entry(entry)


def survey(sources: Sequence[PackageSource], meter: Meter) -> tuple[list[Scanned], bytes]:
    """Pass 1: every source hashed (unless it gives its hashes), and the DICOMDIR.

    Sources to hash go to the worker threads; a source that gives both hashes is scanned on
    the calling thread when its turn comes (reading a header is Python work that holds the GIL:
    threads would only add their overhead)."""
    counter, reported, added = Counter(), 0, 0
    directory = _Directory()
    scanned: list[Scanned] = []
    with ThreadPoolExecutor(_THREADS, thread_name_prefix="veil-scan") as pool:
        futures: list[Future[tuple[Scanned, DirectoryEntry | None]] | PackageSource | None] = [
            pool.submit(scan, source, is_dicom(source), counter) if hashed_bytes(source)
            else source for source in sources]
        try:
            while added < len(futures):
                window = [f for f in futures[added:added + 64] if isinstance(f, Future)]
                done, _ = wait(window, timeout=0.05, return_when=FIRST_EXCEPTION)
                for future in window:  # the first failure in the selection's order
                    if future in done and future.exception() is not None:
                        future.result()
                while added < len(futures) and (item := futures[added]) is not None:
                    if isinstance(item, Future):
                        if not item.done():
                            break
                        result, entry = item.result()
                    else:
                        result, entry = scan(item, is_dicom(item), counter)
                        meter.step(0)  # a cancel is seen between headers too
                    futures[added] = None  # its entry is freed once added
                    if entry is not None:
                        directory.add(result.source.name, entry)
                    scanned.append(result)
                    added += 1
                meter.step(counter.value - reported)
                reported = counter.value
        finally:  # on an error or a cancel: queued files are skipped, running ones stop
            counter.stop.set()  # within 1 MiB
            for pending in futures:
                if isinstance(pending, Future):
                    pending.cancel()
    return scanned, directory.builder.encode()
