"""Use case: import paths (folders, files, .zip, DICOMDIR) into the library.

Discovery runs here; reading, hashing, parsing and sealing run in worker processes (both
cores: pydicom parsing holds the GIL); indexing runs here in batched transactions.

Durability per batch: the workers' sealed temp files are flushed with one ``syncfs``, renamed
into ``objects/``, the renames flushed with a second ``syncfs``, and only then does the
transaction that indexes them commit. A crash at any point leaves a library that opens, no
half-written object, and an import that completes when run again.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from desktop.app.formatting import plural
from desktop.app.home import VeilHome
from desktop.app.tasks import CancelToken, Progress, no_progress
from desktop.app.worker_pool import forkserver_usable, pooled_results
from desktop.core.atomic_files import sync_filesystem
from desktop.core.audit.log import os_user
from desktop.core.library import index
from desktop.core.library.ingest import Ingested, ingest
from desktop.core.library.object_store import ObjectStore
from desktop.core.library.sources import DirectoryRead, Rejected, Source, discover

#: Below this many files the import runs in this process: starting workers costs more.
IN_PROCESS_BELOW = 24
log = logging.getLogger(__name__)
TASK_SIZE = 8
COMMIT_EVERY = 128
#: Tasks queued per worker, so workers keep busy while this process flushes a batch.
IN_FLIGHT_PER_WORKER = 8


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
    #: Row ids of patients/studies/series seen in this import (not part of the report proper).
    row_cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def already_present(self) -> int:
        return len(self.already_present_files)

    @property
    def nothing_new(self) -> bool:
        return self.imported == 0 and self.already_present > 0

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
        text = "; ".join(parts) + "."
        if self.cancelled:
            handled = self.imported + self.already_present + len(self.duplicates) + len(self.rejected)
            text = f"Cancelled after {handled} files. " + text
        return text


NOTHING_NEW = "Nothing new: every file is already in the library."
NOTHING_FOUND = "Nothing to import: no files were found there."


def headline(report: ImportReport) -> str:
    """The one line a person reads when an import ends."""
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


def _worker_init(root: str, tmp: str, object_key: bytes, name_key: bytes) -> None:
    global _STORE
    _STORE = ObjectStore(root, tmp, object_key, name_key)


def _worker_run(sources: list[Source]) -> list[Ingested | Rejected]:
    assert _STORE is not None
    return [ingest(s, _STORE) for s in sources]


def _pool(home: VeilHome, workers: int) -> ProcessPoolExecutor:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["desktop.core.library.ingest"])
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_worker_init,
        initargs=(str(home.objects.root), str(home.objects.tmp), home.keys.object_key,
                  home.keys.object_name_key),
    )


def _results_parallel(home: VeilHome, sources: list[Source], workers: int, cancel: CancelToken) -> Iterator[Ingested | Rejected]:
    """Ingest in worker processes; if the pool breaks (a worker killed by the OS, say), the
    files not yet done are ingested here instead, so the batch still completes."""
    pool = _pool(home, workers)
    leftovers: list[Source] = []
    try:
        yield from pooled_results(sources, TASK_SIZE, workers * IN_FLIGHT_PER_WORKER,
                                  lambda task: pool.submit(_worker_run, task), lambda: cancel.cancelled, leftovers)
        if leftovers:
            log.warning("import worker process died; finishing the import in this process")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    yield from _results_serial(home, leftovers, cancel)


def _results_serial(home: VeilHome, sources: list[Source], cancel: CancelToken) -> Iterator[Ingested | Rejected]:
    for source in sources:
        if cancel.cancelled:
            return
        yield ingest(source, home.objects)


# -- the use case ------------------------------------------------------------------------------
def import_paths(
    home: VeilHome,
    paths: Iterable[str | os.PathLike[str]],
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    workers: int | None = None,
    *,
    follow_links_out: bool = False,
) -> ImportReport:
    """Import everything under ``paths``; never stops for a bad file. Symlinks that lead out of
    a folder given are not followed unless ``follow_links_out``."""
    cancel = cancel or CancelToken()
    started = time.perf_counter()
    report = ImportReport()
    sources: list[Source] = []
    for found in discover(paths, lambda: cancel.cancelled, follow_links_out=follow_links_out):
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

    conn = home.connect()
    outcome = "failed"
    import_id: int | None = None
    try:
        import_id = index.start_import(conn, os_user())
        # Recorded before anything is indexed, so even an import killed midway is accounted
        # for: a started line with no closing line says exactly that.
        home.record(conn, "import.started", import_id=import_id, files=report.total)
        if len(sources) < IN_PROCESS_BELOW or workers == 1 or not forkserver_usable():
            results = _results_serial(home, sources, cancel)
        else:
            results = _results_parallel(home, sources, workers, cancel)
        batch: list[Ingested] = []
        done = 0
        last_progress = 0.0
        for result in results:
            done += 1
            if isinstance(result, Rejected):
                report.rejected.append(result)
            else:
                batch.append(result)
                report.bytes_read += result.size
            if len(batch) >= COMMIT_EVERY:
                _index_batch(home, conn, batch, import_id, report)
                batch = []
            now = time.perf_counter()
            if now - last_progress > 0.05 or done == report.total:
                progress(done, report.total)
                last_progress = now
        _index_batch(home, conn, batch, import_id, report)
        report.cancelled = discovery_interrupted or (cancel.cancelled and done < report.total)
        outcome = "cancelled" if report.cancelled else "completed"
    finally:
        try:
            if import_id is not None:
                _record_end(home, conn, import_id, outcome, report)
        except Exception:
            if outcome != "failed":
                raise
            # Keep the original failure; this one is about the audit trail, not the data.
            log.error("the end of a failed import could not be recorded in the audit log")
        finally:
            conn.close()
    report.seconds = time.perf_counter() - started
    return report


_COLLISION_REASONS = {
    index.Added.STUDY_OF_ANOTHER_PATIENT:
        "UID collision: its Study Instance UID already belongs to another patient in the "
        "library; not merged",
    index.Added.SERIES_OF_ANOTHER_STUDY:
        "UID collision: its Series Instance UID already belongs to another study in the "
        "library; not merged",
}


def _record_end(home: VeilHome, conn, import_id: int, outcome: str, report: ImportReport) -> None:
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


def _index_batch(home: VeilHome, conn, batch: list[Ingested], import_id: int, report: ImportReport) -> None:
    if not batch:
        return
    # Flush the staged objects, rename them into place, flush the renames, then index. The
    # renames happen under the index's write lock, so `veil check --prune` (which takes the
    # same lock) never sees a renamed object that is about to be indexed as an orphan.
    sync_filesystem(home.objects.root)
    conn.execute("BEGIN IMMEDIATE")
    try:
        for item in batch:
            if item.staged:
                home.objects.commit(Path(item.staged), item.sha256)
        sync_filesystem(home.objects.root)
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
    except BaseException:
        conn.execute("ROLLBACK")
        raise
