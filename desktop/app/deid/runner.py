"""The worker side of de-identification: inputs, worker processes (both cores), staging.

:func:`desktop.app.deid.deidentifying.deidentify_inputs` (the privacy gate's step 4, see
:mod:`desktop.app.gate`) hands inputs to a :class:`Runner`: a pool of worker processes started
once (in this process below a few files), each de-identifying a task of instances
(:func:`desktop.core.deid.engine.deidentify`, leak check included) and staging the bytes under
random names through :func:`desktop.core.deid.staging.stage_dicom`, in clear or sealed for a
package. :func:`commit` makes the staged files durable and renames them into place;
:func:`discard` removes them.

``veil deid --redact`` redacts files in memory on the way (:class:`RedactedInput`): the regions
of each image are planned once (:func:`plan_redactions`: scanner templates, and with ``detect``
the boxes OCR finds around text matching the header's identifiers), then burned into its pixels
(:func:`burn_regions`, :mod:`desktop.core.redaction.burn_in`) whenever its bytes are read, by
the privacy gate's review as by the worker, so the engine sees only the redacted instance and
records the Clean Pixel Data Option (PS3.15 E.3.1). No redacted, still identifiable,
intermediate is ever written to disk.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import io
import logging
import multiprocessing
import os
import threading
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import pydicom

from desktop.app.common.log_policy import quiet_libraries
from desktop.app.common.tasks import CancelToken
from desktop.app.common.worker_pool import die_with_parent, forkserver_usable, pooled_results
from desktop.app.library.instance_identity import Identity, identity_of
from desktop.app.library.source_files import read_source
from desktop.app.redaction.region_plan import Box, Detector, RegionPlan, burn_regions, plan_regions
from desktop.core.common.atomic_files import fsync_dir, sync_filesystem
from desktop.core.common.errors import Cancelled, VeilError
from desktop.core.common.faults import fault_point
from desktop.core.deid.engine import DeidSettings, PatientPlan, deidentify
from desktop.core.deid.leaks import Leak
from desktop.core.deid.staging import stage_dicom
from desktop.core.dicom.header import InvalidInstance
from desktop.core.dicom.input_budget import check_structure
from desktop.core.library.object_store import ObjectStore
from desktop.core.library.sources import FileSource, Rejected, ZipMember
from desktop.core.redaction.ocr import OcrUnavailable, TextReader
from desktop.core.redaction.templates import Template

log = logging.getLogger("desktop.app.deid.deidentifying")
IN_PROCESS_BELOW = 24
TASK_SIZE = 8
IN_FLIGHT_PER_WORKER = 8

@dataclass(frozen=True)
class LibraryInstance:
    """An instance held in the library (sealed), to be de-identified."""

    sha256: str
    label: str
    patient_key: str
    series_uid: str = ""
    instance_number: int | None = None
    study_uid: str = ""
    sop_uid: str = ""
    modality: str = ""
    burned_in: str = ""
    redacted: bool = False  # a version Veil redacted
    instance_ref: int = 0


@dataclass(frozen=True)
class Redaction:
    """What ``veil deid --redact`` burns into the pixels of each file before de-identifying it:
    the regions of these scanner templates and, with ``detect``, text OCR finds that matches
    the header's identifiers."""

    templates: tuple[Template, ...] = ()
    detect: bool = False

    def describe(self) -> str:
        """For the audit log: what was applied, never where or to whom."""
        return f"templates {len(self.templates)}" + (", detect" if self.detect else "")


@dataclass(frozen=True)
class RedactedInput:
    """A file whose pixels are redacted in memory whenever it is read (:func:`read_input`):
    what the review reads and the engine de-identifies is the redacted instance, never written
    to disk. ``burns``: some pixel lies under a region (else its bytes are read unchanged)."""

    source: FileSource | ZipMember
    plan: RegionPlan
    burns: bool

    @property
    def label(self) -> str:
        return self.source.label

    def identity(self, source: Identity) -> Identity:
        """Its identity, from its source's: redacted (for the review's header rule, PS3.3
        C.7.6.1.1.3) only when regions are burned into it."""
        if not self.burns or source.redacted:
            return source
        return dataclasses.replace(source, burned_in="NO", redacted=True)


Input = FileSource | ZipMember | LibraryInstance | RedactedInput


@dataclass(frozen=True)
class Done:
    """One input's outcome: staged (``temp``, to be renamed to ``final`` under the output
    folder), or refused (``error``, ``leaks``, ``disk_full``); "" where it was not staged."""

    label: str
    temp: str = ""
    final: str = ""
    leaks: tuple[Leak, ...] = ()
    error: str | None = None
    size: int = 0  # of the de-identified file (before sealing)
    sha256: str = ""
    crc32: int = 0
    #: ((attribute, action, rule), count) pairs: what was done to this file, without values.
    tally: tuple[tuple[tuple[str, str, str], int], ...] = ()
    #: The output folder's disk was full: the bytes this output needed (the export stops).
    disk_full: int = 0


@dataclass(frozen=True)
class Output:
    """Where outputs go: ``folder``, in clear, or sealed under ``seal_key`` (AES-256-GCM, see
    :mod:`desktop.core.common.sealed`) when they are staged for a package."""

    folder: str
    seal_key: bytes | None = None



def read_input(item: Input, store: ObjectStore | None) -> bytes:
    """The bytes of an input: for a :class:`RedactedInput` that burns, the redacted instance
    (made in memory, PS3.15 E.3.1), else the file as it is."""
    if isinstance(item, RedactedInput):
        data = read_input(item.source, None)
        if not item.burns:
            return data
        result = burn_regions(pydicom.dcmread(io.BytesIO(data)), item.plan)
        buffer = io.BytesIO()
        result.dataset.save_as(buffer, enforce_file_format=True)
        return buffer.getvalue()
    if isinstance(item, LibraryInstance):
        assert store is not None
        return store.read(item.sha256)
    return read_source(item)  # a regular file or zip member, within the input budget


def identity_of_input(item: Input) -> Identity:
    """Patient, study and series of an input (a few KB read per file)."""
    if isinstance(item, LibraryInstance):
        return Identity(item.patient_key, item.study_uid, item.series_uid, item.modality, item.burned_in,
                        item.redacted, item.instance_number)
    if isinstance(item, RedactedInput):
        return item.identity(identity_of(item.source))
    return identity_of(item)


def plan_redactions(items: list[Input], redaction: Redaction, cancel: CancelToken
                    ) -> tuple[list[RedactedInput], list[Rejected]]:
    """Each file of ``items`` as a :class:`RedactedInput` with its regions planned (OCR runs
    here, once per frame, with ``redaction.detect``); the files that cannot be read or decoded,
    refused. Raises :class:`Cancelled`."""
    reader = TextReader() if redaction.detect else None
    detector: Detector | None = None
    if reader is not None:
        from desktop.app.redaction.detecting import detect_proposals

        def detector(ds: pydicom.Dataset, frames: Iterable[int]) -> list[tuple[int, Box, str]]:
            return [(p.frame, p.box, p.reason) for p in detect_proposals(ds, frames, reader) if p.risk == "high"]

    planned: list[RedactedInput] = []
    refused: list[Rejected] = []
    try:
        for item in items:
            if cancel.cancelled:
                raise Cancelled("The redaction was cancelled.")
            if not isinstance(item, (FileSource, ZipMember)):
                raise VeilError("Only files are redacted on the way: library images are redacted in Redact mode.")
            try:
                data = read_input(item, None)
                check_structure(data)  # the input budget before pydicom parses it
                ds = pydicom.dcmread(io.BytesIO(data))
                plan = plan_regions(ds, redaction.templates, detector)
                burns = bool(plan) and plan.burns(int(ds.Rows), int(ds.Columns),
                                                  int(ds.get("NumberOfFrames", 1) or 1))
            except (Cancelled, OcrUnavailable):
                raise
            except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch; its reason is listed
                refused.append(Rejected(item.label, _unredactable(exc)))
                continue
            planned.append(RedactedInput(item, plan, burns))
    finally:
        if reader is not None:
            reader.close()
    return planned, refused


def _unredactable(exc: Exception) -> str:
    if isinstance(exc, VeilError):
        return str(exc)
    if isinstance(exc, pydicom.errors.InvalidDicomError):
        return "not a DICOM file"
    if isinstance(exc, OSError):
        return unreadable(exc)
    return f"cannot be redacted ({type(exc).__name__})"


# -- worker side -------------------------------------------------------------------------------
_W: dict = {}


def _worker_init(settings: DeidSettings, output: Output, store_args: tuple | None, main_pid: int = 0) -> None:
    if main_pid:
        die_with_parent(main_pid)
    quiet_libraries()  # pydicom's warnings quote values: never on a worker's stderr
    _W.clear()
    _W.update(settings=settings, output=output, store=ObjectStore(*store_args) if store_args else None)


def _plan_for(plans: dict[str, PatientPlan]):  # noqa: ANN202
    def plan(key: str) -> PatientPlan:
        try:
            return plans[key]
        except KeyError:
            raise InvalidInstance("its patient attributes changed while it was being read") from None
    return plan


def _identity_or_reason(item: Input) -> tuple[Identity | None, str | None]:
    try:
        return identity_of_input(item), None
    except Exception as exc:  # noqa: BLE001 - any malformed header is a file refused with its reason, not a failed run
        return None, unreadable(exc)


def _one(item: Input, settings: DeidSettings, plans: dict[str, PatientPlan], output: Output,
         store: ObjectStore | None) -> Done:
    try:
        result = deidentify(read_input(item, store), settings, _plan_for(plans))
    except InvalidInstance as exc:
        return Done(item.label, error=str(exc))
    except PermissionError:
        return Done(item.label, error="cannot be read: permission denied")
    except (zipfile.BadZipFile, EOFError):
        return Done(item.label, error="zip entry is damaged (bad CRC or truncated archive)")
    except OSError as exc:
        return Done(item.label, error=f"cannot be read: {exc.strerror or type(exc).__name__}")
    except MemoryError:
        return Done(item.label, error="too large to read into memory")
    except VeilError as exc:
        return Done(item.label, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch; a worker reports, never dies
        return Done(item.label, error=f"cannot be de-identified ({type(exc).__name__})")
    tally = tuple(result.tally.items())
    if result.leaks:
        return Done(item.label, leaks=tuple(result.leaks), tally=tally)
    final = f"{result.pseudonym}/{result.study_uid}/{result.series_uid}/{result.sop_instance_uid}.dcm"
    try:
        temp = stage_dicom(output.folder, result.data, output.seal_key)
    except OSError as exc:
        if exc.errno in DISK_FULL:
            return Done(item.label, error="not written: the output disk is full", disk_full=len(result.data))
        return Done(item.label, error=f"cannot be written to the output folder ({exc.strerror or type(exc).__name__})")
    if output.seal_key is None:
        return Done(item.label, temp=temp, final=final, size=len(result.data), tally=tally)
    # For a package: its writer then need not decrypt the staged copy to hash it (PS3.10 ZIP CRC).
    return Done(item.label, temp=temp, final=final, size=len(result.data),
                 sha256=hashlib.sha256(result.data).hexdigest(), crc32=zlib.crc32(result.data), tally=tally)


#: The errors of a disk with no room left (ENOSPC) or a quota spent (EDQUOT).
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def _warm() -> None:
    """Nothing: submitted once per worker so the pool starts before it is needed."""


def _worker_run(items: list[Input], plans: dict[str, PatientPlan]) -> list[Done]:
    done = [_one(i, _W["settings"], plans, _W["output"], _W["store"]) for i in items]
    return _batch_tally(done)


def _batch_tally(done: list[Done]) -> list[Done]:
    """One tally for a batch, on its first result, of the files that were staged: the same
    keys repeat in every file, and sent per file they cost more than the de-identification."""
    total: dict[tuple[str, str, str], int] = {}
    for item in done:
        if item.temp:
            for key, count in item.tally:
                total[key] = total.get(key, 0) + count
    out = [replace(item, tally=()) for item in done]
    if out:
        out[0] = replace(out[0], tally=tuple(total.items()))
    return out


class Runner:
    """Runs both passes (patients, then de-identification) in one pool of worker processes,
    started once; below a few files, or with one worker, everything runs in this process."""

    def __init__(self, settings: DeidSettings, output: Output, store_args: tuple | None,
                 workers: int, count: int) -> None:
        self.settings, self.output, self.store_args = settings, output, store_args
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        if count >= IN_PROCESS_BELOW and workers > 1 and not forkserver_usable():
            log.warning("the temp folder's path is too long for the worker pool's socket; "
                        "de-identifying in this process")
            self.workers = 1
        elif count >= IN_PROCESS_BELOW and workers > 1:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["desktop.app.deid.runner"])  # what the workers run
            self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                                            initargs=(settings, output, store_args, os.getpid()))
            # Start the workers now, from a thread (starting them blocks): they come up while
            # this process reads the patients.
            self._warming = threading.Thread(target=self._warm, daemon=True)
            self._warming.start()

    def _warm(self) -> None:
        assert self.pool is not None
        for _ in range(self.workers):
            self.pool.submit(_warm)

    def close(self) -> None:
        if self.pool is not None:
            self._warming.join()
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def _local_store(self) -> ObjectStore | None:
        return ObjectStore(*self.store_args) if self.store_args else None

    def identities(self, items: Sequence[Input], cancel: CancelToken) -> list[tuple[Identity | None, str | None]]:
        """Each item's patient, study and series, or why it cannot be read (a few KB read per
        file, here, while the workers start)."""
        out = []
        for item in items:
            if cancel.cancelled:
                break
            out.append(_identity_or_reason(item))
        return out

    def results(self, items: list[Input], keys: dict[int, str], plans: dict[str, PatientPlan],
                cancel: CancelToken) -> Iterator[Done]:
        if self.pool is not None:
            self._warming.join()
        leftovers: list[Input] = list(items) if self.pool is None else []
        if self.pool is not None:
            pool = self.pool

            def submit(task: list[Input]) -> Future:
                return pool.submit(_worker_run, task, {keys[id(i)]: plans[keys[id(i)]] for i in task})

            yield from pooled_results(items, TASK_SIZE, self.workers * IN_FLIGHT_PER_WORKER, submit,
                                      lambda: cancel.cancelled, leftovers)
            if leftovers:
                log.warning("a de-identification worker died; finishing in this process")
                self.close()
        store = self._local_store()
        for item in leftovers:
            if cancel.cancelled:
                return
            yield from _batch_tally([_one(item, self.settings, plans, self.output, store)])


def unreadable(exc: Exception) -> str:
    if isinstance(exc, PermissionError):
        return "cannot be read: permission denied"
    if isinstance(exc, OSError):
        return f"cannot be read: {exc.strerror or type(exc).__name__}"
    return f"not a readable DICOM file ({type(exc).__name__} in its patient attributes)"


def discard(staged: list[Done]) -> None:
    for item in staged:
        try:
            os.unlink(item.temp)
        except FileNotFoundError:
            pass


def commit(out: Path, staged: list[Done]) -> None:
    """Flush the staged files once, rename each into place, then flush the folders."""
    if not staged:
        return
    sync_filesystem(out)
    folders: set[Path] = {out}
    for item in staged:
        final = out / item.final
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(item.temp, final)
        fault_point("deid.renaming")
        folders.update(p for p in final.parents if out in p.parents)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        fsync_dir(folder)
