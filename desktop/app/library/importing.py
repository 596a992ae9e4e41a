"""Use case: import paths (folders, files, .zip, DICOMDIR) into the library.

Discovery runs here; reading, hashing, parsing and sealing run in worker processes (both
cores: pydicom parsing holds the GIL); indexing runs here in batched transactions. Every file
is held to an :class:`~desktop.core.dicom.input_budget.InputBudget` (size at discovery; structure,
nesting, element count and time before it is parsed); what breaks it is rejected, named.

Durability per batch: the workers' sealed temp files are flushed with one ``syncfs``, renamed
into ``objects/``, the renames flushed with a second ``syncfs``, and only then does the
transaction that indexes them commit. A crash at any point leaves a library that opens, no
half-written object, and an import that completes when run again.

A full disk (ENOSPC or EDQUOT while sealing, SQLite's "database or disk is full" while
indexing) stops the import: no more files are handed out, the batch that was not committed is
rolled back and its sealed files removed (in ``tmp/`` and any renamed into ``objects/``), what
was committed stays and is counted, and the report says which disk is full and about how much
more the import needed (:attr:`ImportReport.disk_full`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.app.common.formatting import megabytes, plural
from desktop.app.common.tasks import CancelToken, Progress, no_progress
from desktop.app.common.worker_pool import die_with_parent, forkserver_usable, pooled_results
from desktop.app.library.home import VeilHome
from desktop.app.library.import_progress import StatusSink, Ticker, Tracker
from desktop.core.audit.log import os_user
from desktop.core.common.atomic_files import sync_filesystem
from desktop.core.common.disk_full import DiskFullError, is_disk_full
from desktop.core.common.faults import fault_point
from desktop.core.dicom.input_budget import DEFAULT_BUDGET, InputBudget
from desktop.core.library import index
from desktop.core.library.database import Connection, rollback
from desktop.core.library.ingest import Ingested, NoRoom, ingest, release_archives
from desktop.core.library.object_store import ObjectStore
from desktop.core.library.sources import DirectoryRead, Rejected, Source, discover

#: Below this many files the import runs in this process: starting workers costs more.
IN_PROCESS_BELOW = 24
log = logging.getLogger(__name__)
TASK_SIZE = 8
COMMIT_EVERY = 128
#: Tasks queued per worker, so workers keep busy while this process flushes a batch.
IN_FLIGHT_PER_WORKER = 8

Result = Ingested | Rejected | NoRoom


@dataclass
class ImportReport:
    """What an import did, for a person: counts, and every rejected file with its reason."""

    total: int = 0
    imported: int = 0
    #: Files whose exact bytes the library already holds (nothing was added for them).
    already_present_files: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    #: Same SOP Instance UID as an indexed instance but other bytes (another transfer syntax
    #: of the same image, typically). The first one imported is kept.
    duplicates: list[str] = field(default_factory=list)
    directories: list[DirectoryRead] = field(default_factory=list)
    study_uids: set[str] = field(default_factory=set)
    cancelled: bool = False
    seconds: float = 0.0
    bytes_read: int = 0
    #: The disk holding the library filled up: about how many more bytes the import needed
    #: (0 when it did not). ``unfinished`` files were then not imported; ``home`` names the disk.
    disk_full: int = 0
    unfinished: int = 0
    home: str = ""
    #: Row ids of patients/studies/series seen in this import (not part of the report proper).
    row_cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def already_present(self) -> int:
        return len(self.already_present_files)

    @property
    def nothing_new(self) -> bool:
        return self.imported == 0 and self.already_present > 0 and not self.disk_full

    def summary(self) -> str:
        parts = [f"Imported {plural(self.imported, 'new instance')}"
                 f" ({plural(len(self.study_uids), 'study', 'studies')})"]
        if self.already_present:
            parts.append(f"{self.already_present} already in the library (nothing added for them)")
        if self.duplicates:
            parts.append(f"{plural(len(self.duplicates), 'duplicate')} of instances already in the "
                         "library (same SOP Instance UID, other bytes)")
        if self.rejected:
            parts.append(f"{len(self.rejected)} rejected")
        if self.unfinished:
            parts.append(f"{plural(self.unfinished, 'file')} not imported (no room)")
        text = "; ".join(parts) + "."
        if self.cancelled:
            handled = self.imported + self.already_present + len(self.duplicates) + len(self.rejected)
            text = f"Cancelled after {handled} files. " + text
        return text

    def disk_full_message(self) -> str:
        """What a person reads when the disk filled up (empty when it did not)."""
        if not self.disk_full:
            return ""
        where = f"the disk holding the Veil library ({self.home})" if self.home else "the library's disk"
        if not self.unfinished:
            return (f"Import stopped: {where} is full, so the end of the import could not be recorded "
                    f"(it needs about {megabytes(self.disk_full)} more). Free some space there.")
        return (f"Import stopped: {where} is full; the import needed about {megabytes(self.disk_full)} "
                "more. What was imported before it stopped stays in the library; free some space there "
                "and import again to add the rest.")


NOTHING_NEW = "Nothing new: every file is already in the library."
NOTHING_FOUND = "Nothing to import: no files were found there."


def headline(report: ImportReport) -> str:
    """The one line a person reads when an import ends."""
    if report.disk_full:
        return f"{report.disk_full_message()} {report.summary()}"
    if report.cancelled:
        return report.summary()  # "Cancelled after N files. Imported …"
    if report.nothing_new:
        others = []
        if report.rejected:
            others.append(f"{len(report.rejected):,} rejected")
        if report.duplicates:
            others.append(plural(len(report.duplicates), "duplicate"))
        if not others:
            return NOTHING_NEW
        return f"Nothing new: every importable file is already in the library ({', '.join(others)})."
    if report.total == 0 and not report.rejected:
        return NOTHING_FOUND
    return report.summary()


# -- worker side ----------------------------------------------------------------------------
_STORE: ObjectStore | None = None
_BUDGET: InputBudget = DEFAULT_BUDGET
#: This worker's slot in the shared array of where readers are (see import_progress).
_SLOTS: Any = None
_SLOT = -1


def _worker_init(root: str, tmp: str, object_key: bytes, name_key: bytes, budget: InputBudget = DEFAULT_BUDGET,
                 slots: Any = None, claimed: Any = None, main_pid: int = 0, owner: str | None = None) -> None:
    global _STORE, _BUDGET, _SLOTS, _SLOT
    if main_pid:
        die_with_parent(main_pid)
    # Temps named by the main process's life token: it commits them after this worker is gone.
    _STORE = ObjectStore(Path(root), Path(tmp), object_key, name_key, owner)
    _BUDGET = budget
    if slots is not None and claimed is not None:
        with claimed.get_lock():
            _SLOT, claimed.value = claimed.value, claimed.value + 1
        _SLOTS = slots if 2 * _SLOT + 1 < len(slots) else None


def _worker_run(task: list[tuple[int, Source]]) -> list[tuple[int, Result]]:
    assert _STORE is not None
    out = []
    for number, source in task:
        if _SLOTS is not None:
            _SLOTS[2 * _SLOT], _SLOTS[2 * _SLOT + 1] = float(number), time.monotonic()
        out.append((number, ingest(source, _STORE, _BUDGET)))
    if _SLOTS is not None:
        _SLOTS[2 * _SLOT + 1] = 0.0
    return out


def _pool(home: VeilHome, workers: int, budget: InputBudget, slots: Any, claimed: Any) -> ProcessPoolExecutor:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["desktop.core.library.ingest"])
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_worker_init,
        initargs=(str(home.objects.root), str(home.objects.tmp), home.keys.object_key,
                  home.keys.object_name_key, budget, slots, claimed, os.getpid(), home.objects.owner),
    )


def _results_parallel(home: VeilHome, sources: list[Source], workers: int, stopped: Callable[[], bool],
                      budget: InputBudget, tracker: Tracker) -> Iterator[tuple[int, Result]]:
    """Ingest in worker processes; if the pool breaks (a worker killed by the OS, say), the
    files not yet done are ingested here instead, so the batch still completes."""
    ctx = multiprocessing.get_context("forkserver")
    slots, claimed = ctx.Array("d", 2 * workers, lock=False), ctx.Value("i", 0)
    tracker.slots = slots
    pool = _pool(home, workers, budget, slots, claimed)
    leftovers: list[tuple[int, Source]] = []
    try:
        yield from pooled_results(list(enumerate(sources)), TASK_SIZE, workers * IN_FLIGHT_PER_WORKER,
                                  lambda task: pool.submit(_worker_run, task), stopped, leftovers)
        if leftovers:
            log.warning("import worker process died; finishing the import in this process")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    tracker.slots = [0.0, 0.0]
    yield from _results_serial(home, leftovers, stopped, budget, tracker)


def _results_serial(home: VeilHome, sources: list[tuple[int, Source]], stopped: Callable[[], bool],
                    budget: InputBudget, tracker: Tracker) -> Iterator[tuple[int, Result]]:
    try:
        for number, source in sources:
            if stopped():
                return
            tracker.reading(number)
            result = ingest(source, home.objects, budget)
            tracker.idle()
            yield number, result
    finally:
        release_archives()


# -- the use case ------------------------------------------------------------------------------
def import_paths(
    home: VeilHome,
    paths: Iterable[str | os.PathLike[str]],
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    workers: int | None = None,
    *,
    follow_links_out: bool = False,
    budget: InputBudget = DEFAULT_BUDGET,
    status: StatusSink | None = None,
) -> ImportReport:
    """Import everything under ``paths``; never stops for a bad file (a full disk stops it, see
    the module docstring). Symlinks that lead out of a folder given are not followed unless
    ``follow_links_out``. ``status``, if given, receives an
    :class:`~desktop.app.library.import_progress.ImportStatus` a few times a second from another thread
    (files and bytes done, the file being read when it takes long), and a last one at the end."""
    cancel = cancel or CancelToken()
    started = time.perf_counter()
    report = ImportReport(home=str(home.path))
    sources: list[Source] = []
    for found in discover(paths, lambda: cancel.cancelled, follow_links_out=follow_links_out, budget=budget):
        if isinstance(found, Rejected):
            report.rejected.append(found)
        elif isinstance(found, DirectoryRead):
            report.directories.append(found)
        else:
            sources.append(found)
    discovery_interrupted = cancel.cancelled
    report.total = len(sources)
    progress(0, report.total)
    workers = workers or max(1, min(os.cpu_count() or 1, 8))
    tracker = Tracker([s.label for s in sources], [s.size for s in sources])
    ticker = Ticker(tracker, status) if status is not None else None
    try:
        conn = home.connect()
    except Exception as exc:
        if ticker is not None:
            ticker.stop()
        if is_disk_full(exc, home.path):
            raise DiskFullError(f"The disk holding the Veil library ({home.path}) is full: nothing was "
                                f"imported (the import needs about {megabytes(tracker.bytes_total)}). "
                                "Free some space there and import again.") from exc
        raise
    run = _Run(home, conn, report, sources, tracker)
    outcome = "failed"
    try:
        run.import_id = index.start_import(conn, os_user())
        # Recorded before anything is indexed, so even an import killed midway is accounted
        # for: a started line with no closing line says exactly that.
        home.record(conn, "import.started", import_id=run.import_id, files=report.total)
        stopped = lambda: cancel.cancelled or run.full.is_set()  # noqa: E731
        if len(sources) < IN_PROCESS_BELOW or workers == 1 or not forkserver_usable():
            results = _results_serial(home, list(enumerate(sources)), stopped, budget, tracker)
        else:
            results = _results_parallel(home, sources, workers, stopped, budget, tracker)
        last_progress = 0.0
        for number, result in results:
            tracker.finished_one(number, result.size if isinstance(result, Ingested) else 0)
            run.take(number, result)
            now = time.perf_counter()
            if now - last_progress > 0.05 or tracker.done == report.total:
                progress(tracker.done, report.total)
                last_progress = now
        run.flush()
        report.cancelled = not run.full.is_set() and (
            discovery_interrupted or (cancel.cancelled and tracker.done < report.total))
        outcome = "failed-disk-full" if run.full.is_set() else "cancelled" if report.cancelled else "completed"
    except BaseException as exc:
        if not is_disk_full(exc, home.path):
            raise
        run.disk_full()  # before anything was indexed: the start could not be recorded
        outcome = "failed-disk-full"
    finally:
        try:
            if outcome == "failed-disk-full":
                run.account_unfinished()
            _finish(home, conn, run.import_id, outcome, report)
        finally:
            conn.close()
            if ticker is not None:
                ticker.stop()
    report.seconds = time.perf_counter() - started
    return report


def _finish(home: VeilHome, conn: Connection, import_id: int | None, outcome: str, report: ImportReport) -> None:
    """Record the end of the import; a full disk then is said in the report, not raised."""
    try:
        if import_id is not None:
            _record_end(home, conn, import_id, outcome, report)
    except Exception as exc:
        if is_disk_full(exc, home.path):
            report.disk_full = max(report.disk_full, 1 << 20)
            log.error("the disk holding the library is full: the end of an import could not be recorded")
        elif outcome == "completed" or outcome == "cancelled":
            raise
        else:  # keep the original failure; this one is about the audit trail, not the data
            log.error("the end of a failed import could not be recorded in the audit log")


class _Run:
    """The state of one import between its results and the index: the batch being filled,
    and what a full disk left undone."""

    def __init__(self, home: VeilHome, conn: Connection, report: ImportReport, sources: list[Source],
                 tracker: Tracker) -> None:
        self.home, self.conn, self.report, self.sources, self.tracker = home, conn, report, sources, tracker
        self.import_id: int | None = None
        self.batch: list[Ingested] = []
        self.full = threading.Event()
        #: Sizes of the files that a full disk left out (failed to seal, or rolled back).
        self.left_out: list[int] = []

    def take(self, number: int, result: Result) -> None:
        """One file's result. A file sealed before (or while) the disk filled is still indexed:
        its space is spent already, and indexing needs little more."""
        if isinstance(result, Rejected):
            self.report.rejected.append(result)
            return
        if isinstance(result, NoRoom):
            self.left_out.append(self.sources[number].size)
            self.full.set()  # no more files are handed out
            return
        self.batch.append(result)
        self.report.bytes_read += result.size
        if len(self.batch) >= COMMIT_EVERY:
            self.flush()

    def flush(self) -> None:
        batch, self.batch = self.batch, []
        if not batch or self.import_id is None:
            _discard(self.home, batch, set())
            return
        try:
            _index_batch(self.home, self.conn, batch, self.import_id, self.report)
        except Exception as exc:
            if not is_disk_full(exc, self.home.path):
                raise
            self.left_out.extend(item.size for item in batch)
            self.report.bytes_read -= sum(item.size for item in batch)
            self.full.set()

    def disk_full(self) -> None:
        self.full.set()
        _discard(self.home, self.batch, set())
        self.left_out.extend(item.size for item in self.batch)
        self.batch = []

    def account_unfinished(self) -> None:
        """Count what the full disk left undone: files that failed, were rolled back, or were
        never read. About as many bytes are needed again (sealing adds a few per MiB)."""
        never_read = self.tracker.bytes_total - self.tracker.bytes_handled
        never_count = self.tracker.total - self.tracker.done
        self.report.unfinished = len(self.left_out) + never_count
        self.report.disk_full = max(sum(self.left_out) + never_read, 1)


_COLLISION_REASONS = {
    index.Added.STUDY_OF_ANOTHER_PATIENT:
        "UID collision: its Study Instance UID already belongs to another patient in the "
        "library; not merged",
    index.Added.SERIES_OF_ANOTHER_STUDY:
        "UID collision: its Series Instance UID already belongs to another study in the "
        "library; not merged",
}


def _record_end(home: VeilHome, conn: Connection, import_id: int, outcome: str,
                report: ImportReport) -> None:
    """Whatever happened, what was indexed is accounted for in the index and the audit log."""
    index.finish_import(conn, import_id, report.imported, report.already_present,
                        len(report.rejected), report.cancelled)
    home.record(
        conn, "import", import_id=import_id, outcome=outcome,
        imported=report.imported, already_present=report.already_present,
        duplicates=len(report.duplicates), rejected=len(report.rejected),
        cancelled=report.cancelled,
        studies=sorted(home.audit.pseudonym(uid) for uid in report.study_uids),
    )


def _index_batch(home: VeilHome, conn: Connection, batch: list[Ingested], import_id: int,
                 report: ImportReport) -> None:
    """Commit ``batch``'s sealed objects and index them in one transaction. If that fails (a
    full disk, say) it is rolled back whole: its objects are removed (temps and any renamed into
    ``objects/`` by it), the report's counts are as before it, and the error is raised."""
    if not batch:
        return
    counts = (report.imported, len(report.already_present_files), len(report.duplicates),
              len(report.rejected), set(report.study_uids))
    created: set[str] = set()
    # Flush the staged objects, rename them into place, flush the renames, then index. The
    # renames happen under the index's write lock, so `veil check --prune` (which takes the
    # same lock) never sees a renamed object that is about to be indexed as an orphan.
    fault_point("import.staged")
    try:
        sync_filesystem(home.objects.root)
        conn.execute("BEGIN IMMEDIATE")
    except BaseException:
        _discard(home, batch, created)
        raise
    try:
        for item in batch:
            if item.staged and home.objects.commit(Path(item.staged), item.sha256):
                created.add(item.sha256)
        sync_filesystem(home.objects.root)
        fault_point("import.committed")
        for item in batch:
            outcome = index.add_instance(conn, item.header, item.sha256, item.size, item.label,
                                         import_id, report.row_cache, item.crc32)
            if outcome is index.Added.NEW:
                report.imported += 1
                report.study_uids.add(item.header.study_uid)
            elif outcome is index.Added.ALREADY_PRESENT:
                report.already_present_files.append(item.label)
            else:
                if item.staged:  # keep no unreferenced copy of someone's data
                    home.objects.discard(item.sha256)
                if outcome is index.Added.UID_CONFLICT:
                    report.duplicates.append(item.label)
                else:
                    report.rejected.append(Rejected(item.label, _COLLISION_REASONS[outcome]))
        conn.execute("COMMIT")
        fault_point("import.indexed")
    except BaseException:
        rollback(conn)  # SQLite may have rolled back itself (a full disk): the cause is kept
        _discard(home, batch, created)
        report.imported = counts[0]
        del report.already_present_files[counts[1]:], report.duplicates[counts[2]:], report.rejected[counts[3]:]
        report.study_uids = counts[4]
        report.row_cache.clear()  # it may name rows of the rolled-back transaction
        raise


def _discard(home: VeilHome, batch: list[Ingested], created: set[str]) -> None:
    """Remove what ``batch`` left on disk: sealed temps, and the objects it renamed into place
    (``created``; nothing indexed refers to them once its transaction rolled back)."""
    for item in batch:
        try:
            if item.sha256 in created:
                home.objects.discard(item.sha256)
            elif item.staged:
                Path(item.staged).unlink(missing_ok=True)
        except OSError:
            log.warning("a sealed temp file of an import could not be removed; the next start sweeps it")
