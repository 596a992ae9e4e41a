"""Turn what the user picked (folders, files, .zip archives, DICOMDIRs) into files to import.

Discovery never opens a file for reading beyond a DICOMDIR or a zip directory, never follows
a DICOMDIR entry out of its folder, stops at symlink loops, and skips anything that is not a
regular file (a FIFO would block a reader forever). Each problem becomes a :class:`Rejected`
with a one-line reason; the walk goes on.

The :class:`~desktop.core.dicom.input_budget.InputBudget` applies here first: a file larger than it
allows is refused without being opened; a .zip archive is bounded by its entry count (read from
its End of Central Directory record before the directory itself is parsed, PKWARE APPNOTE 4.3.16),
by the total its entries inflate to, and by each entry's compression ratio; an archive inside
an archive is never expanded; a DICOMDIR passes the same structure walk as any file.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import pydicom

from desktop.core.dicom.header import InvalidInstance
from desktop.core.dicom.input_budget import DEFAULT_BUDGET, InputBudget, check_structure, human_size, open_regular

#: A DICOMDIR larger than this is refused (it is read into memory; real ones are a few MB).
MAX_DICOMDIR = 256 << 20
#: A zip's central directory larger than this is refused before it is read.
MAX_ZIP_DIRECTORY = 64 << 20
SUPPORTED_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
#: Files or folders already met, by (st_dev, st_ino): each is read once, links or not.
Seen = set[tuple[int, int]]


@dataclass(frozen=True)
class FileSource:
    """A regular file on disk to import."""

    path: str
    size: int

    @property
    def label(self) -> str:
        return self.path


@dataclass(frozen=True)
class ZipMember:
    """A file inside a .zip archive, read in place (never extracted to disk)."""

    archive: str
    member: str
    size: int

    @property
    def label(self) -> str:
        return f"{self.archive}::{self.member}"


@dataclass(frozen=True)
class Rejected:
    """Something that cannot be imported, and why (one line)."""

    label: str
    reason: str


@dataclass(frozen=True)
class DirectoryRead:
    """A DICOMDIR that was read; its entries come as sources of their own."""

    label: str
    entries: int


Source = FileSource | ZipMember
Found = FileSource | ZipMember | Rejected | DirectoryRead


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop: the link points back to itself"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "cannot be read: permission denied"
    if exc.errno == errno.ENOENT:
        return "does not exist (or is a broken symlink)"
    return f"cannot be read: {exc.strerror or type(exc).__name__}"


def is_dicomdir_name(path: str) -> bool:
    return os.path.basename(path).upper() == "DICOMDIR"


def discover(paths: Iterable[str | os.PathLike[str]], cancelled: Callable[[], bool] = lambda: False,
             *, follow_links_out: bool = False, budget: InputBudget = DEFAULT_BUDGET) -> Iterator[Found]:
    """Yield every source under ``paths`` and every rejection, each path once. A symlink in a
    folder that leads out of the folder chosen is not followed (a rejection says so) unless
    ``follow_links_out``: what leaves is what the person picked, not what a link points at.
    ``budget`` bounds each file's size and each archive (see the module docstring)."""
    seen_files: Seen = set()
    seen_dirs: Seen = set()
    for raw in paths:
        if cancelled():
            return
        yield from _discover_one(os.path.abspath(os.fspath(raw)), seen_files, seen_dirs, cancelled,
                                 follow_links_out, budget)


def _discover_one(path: str, seen_files: Seen, seen_dirs: Seen, cancelled: Callable[[], bool],
                  follow_links_out: bool = False, budget: InputBudget = DEFAULT_BUDGET) -> Iterator[Found]:
    try:
        st = os.stat(path)
    except OSError as exc:
        yield Rejected(path, _os_reason(exc))
        return
    if stat.S_ISDIR(st.st_mode):
        yield from _walk(path, seen_files, seen_dirs, cancelled, follow_links_out, budget)
    else:
        yield from _file(path, st, seen_files, budget)


def _inside(target: str, root: str) -> bool:
    return target == root or target.startswith(root.rstrip(os.sep) + os.sep)


def _file(path: str, st: os.stat_result, seen_files: Seen, budget: InputBudget = DEFAULT_BUDGET) -> Iterator[Found]:
    if not stat.S_ISREG(st.st_mode):
        yield Rejected(path, "not a regular file (device, FIFO or socket)")
        return
    key = (st.st_dev, st.st_ino)
    if key in seen_files:
        return
    seen_files.add(key)
    if path.lower().endswith(".zip"):
        yield from _zip(path, budget)
    elif is_dicomdir_name(path):
        yield from _dicomdir(path, seen_files, budget)
    elif too_large := budget.size_reason(st.st_size):
        yield Rejected(path, too_large)
    else:
        yield FileSource(path, st.st_size)


def _walk(root: str, seen_files: Seen, seen_dirs: Seen, cancelled: Callable[[], bool],
          follow_links_out: bool = False, budget: InputBudget = DEFAULT_BUDGET) -> Iterator[Found]:
    """Depth-first walk that follows symlinks inside ``root`` (out of it only with
    ``follow_links_out``) but never enters a folder twice."""
    real_root = os.path.realpath(root)
    stack = [root]
    while stack:
        if cancelled():
            return
        folder = stack.pop()
        try:
            st = os.stat(folder)
        except OSError as exc:
            yield Rejected(folder, _os_reason(exc))
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            if os.path.islink(folder):
                yield Rejected(folder, "symlink loop: this folder was already visited")
            continue
        seen_dirs.add(key)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Rejected(folder, _os_reason(exc))
            continue
        subdirs = []
        # A DICOMDIR in this folder is read as an index; the walk covers its files anyway.
        for entry in entries:
            full = entry.path
            try:
                est = os.stat(full)
            except OSError as exc:
                yield Rejected(full, _os_reason(exc))
                continue
            if not follow_links_out and entry.is_symlink() and not _inside(os.path.realpath(full), real_root):
                yield Rejected(full, "a link to a place outside the folder chosen: not followed "
                                     "(choose what it points at to import it)")
                continue
            if stat.S_ISDIR(est.st_mode):
                subdirs.append(full)
            else:
                yield from _file(full, est, seen_files, budget)
        stack.extend(reversed(subdirs))


#: zipfile's reader of the End of Central Directory record (ZIP64 included) and the fields of
#: what it returns: private to the standard library, so typeshed has no types for them.
_end_record: Callable[[BinaryIO], list[Any] | None] = zipfile._EndRecData  # type: ignore[attr-defined]
_ECD_ENTRIES_TOTAL: int = zipfile._ECD_ENTRIES_TOTAL  # type: ignore[attr-defined]
_ECD_SIZE: int = zipfile._ECD_SIZE  # type: ignore[attr-defined]


def _zip_refusal(fh: BinaryIO, budget: InputBudget) -> str | None:
    """Why an archive is refused from its End of Central Directory record alone (entry count,
    directory size; PKWARE APPNOTE 4.3.16), before its directory is read; None if it is not."""
    end = _end_record(fh)  # the standard library's own reader of that record
    if end is None:
        return None  # ZipFile says what is wrong
    entries, directory = end[_ECD_ENTRIES_TOTAL], end[_ECD_SIZE]
    if entries > budget.max_zip_entries:
        return (f"the .zip archive holds {entries:,} entries (limit {budget.max_zip_entries:,}): "
                "extract it and import the folder")
    if directory > MAX_ZIP_DIRECTORY:
        return f"the .zip archive's directory is {human_size(directory)} (limit {human_size(MAX_ZIP_DIRECTORY)})"
    return None


def _zip(path: str, budget: InputBudget = DEFAULT_BUDGET) -> Iterator[Found]:
    try:
        with os.fdopen(open_regular(path), "rb") as fh:
            refusal = _zip_refusal(fh, budget)
            if refusal:
                yield Rejected(path, refusal)
                return
            archive = zipfile.ZipFile(fh)
            infos = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, InvalidInstance) as exc:
        reason = (_os_reason(exc) if isinstance(exc, OSError) else str(exc) if isinstance(exc, InvalidInstance)
                  else "not a readable .zip archive")
        yield Rejected(path, reason)
        return
    total = sum(info.file_size for info in infos)
    if total > budget.max_zip_total:
        yield Rejected(path, f"the .zip archive would inflate to {human_size(total)} (limit "
                             f"{human_size(budget.max_zip_total)}): extract it and import the folder")
        return
    for info in infos:
        label = f"{path}::{info.filename}"
        name = PurePosixPath(info.filename).name
        if info.flag_bits & 0x1:
            yield Rejected(label, "encrypted zip entry: Veil cannot read it without the password")
        elif too_large := budget.size_reason(info.file_size):
            yield Rejected(label, too_large)
        elif info.file_size > budget.zip_ratio_floor and info.file_size > budget.max_zip_ratio * info.compress_size:
            ratio = info.file_size // max(info.compress_size, 1)
            yield Rejected(label, f"zip entry inflates {ratio:,}x, to {human_size(info.file_size)} (limit "
                                  f"{budget.max_zip_ratio}x above {human_size(budget.zip_ratio_floor)}): a zip bomb?")
        elif info.compress_type not in SUPPORTED_ZIP_METHODS:
            yield Rejected(label, f"zip entry uses compression method {info.compress_type}, "
                                  "which Veil cannot read (e.g. Deflate64): re-zip it")
        elif name.lower().endswith(".zip"):
            yield Rejected(label, "a zip inside a zip: Veil never expands an archive inside another "
                                  "(extract the outer archive first)")
        elif name.upper() == "DICOMDIR":
            yield DirectoryRead(label, 0)
        else:
            yield ZipMember(path, info.filename, info.file_size)


def _resolve_case_insensitive(folder: Path, parts: list[str]) -> Path | None:
    """Find ``parts`` under ``folder``; CD file systems often change the case of names."""
    current = folder
    for part in parts:
        candidate = current / part
        if candidate.exists():
            current = candidate
            continue
        try:
            match = next((c for c in current.iterdir() if c.name.upper() == part.upper()), None)
        except OSError:
            return None
        if match is None:
            return None
        current = match
    return current


def _dicomdir(path: str, seen_files: Seen, budget: InputBudget = DEFAULT_BUDGET) -> Iterator[Found]:
    """Read a DICOMDIR (PS3.10 media directory) and yield the files it references."""
    try:
        folder = Path(path).parent.resolve(strict=True)
    except (OSError, RuntimeError):
        yield Rejected(path, "the DICOMDIR's folder cannot be resolved (symlink loop?)")
        return
    try:
        with os.fdopen(open_regular(path), "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_DICOMDIR:
                yield Rejected(path, f"the DICOMDIR is {human_size(size)} (limit {human_size(MAX_DICOMDIR)})")
                return
            data = fh.read(MAX_DICOMDIR + 1)
        check_structure(data, budget)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data), force=True)
        records = list(ds.get("DirectoryRecordSequence", []))
    except InvalidInstance as exc:
        yield Rejected(path, f"DICOMDIR refused ({exc}): import its folder instead")
        return
    except OSError as exc:
        yield Rejected(path, _os_reason(exc))
        return
    except Exception as exc:  # noqa: BLE001 - pydicom on a hostile DICOMDIR raises many kinds
        yield Rejected(path, f"DICOMDIR cannot be read ({type(exc).__name__})")
        return
    if not records and "DirectoryRecordSequence" not in ds:
        yield Rejected(path, "named DICOMDIR but holds no Directory Record Sequence")
        return
    count = 0
    for record in records:
        file_id = record.get("ReferencedFileID")
        if not file_id:
            continue
        parts = [file_id] if isinstance(file_id, str) else [str(p) for p in file_id]
        label = f"{path} -> {'/'.join(parts)}"
        if any(p in ("", ".", "..") or "/" in p or "\\" in p or os.path.isabs(p) for p in parts):
            yield Rejected(label, "DICOMDIR entry points outside its folder; not followed")
            continue
        target = _resolve_case_insensitive(folder, parts)
        if target is None:
            yield Rejected(label, "DICOMDIR entry refers to a file that is not on the media")
            continue
        try:
            real = target.resolve(strict=True)
        except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
            yield Rejected(label, "symlink loop or broken link: not followed")
            continue
        if not real.is_relative_to(folder):
            yield Rejected(label, "DICOMDIR entry points outside its folder (through a symlink); not followed")
            continue
        try:
            st = os.stat(real)
        except OSError as exc:
            yield Rejected(label, _os_reason(exc))
            continue
        count += 1
        yield from _file(str(real), st, seen_files, budget)
    yield DirectoryRead(path, count)
