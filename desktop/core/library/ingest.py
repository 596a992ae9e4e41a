"""Bring one source into the object store: read it once, check its budget, hash, parse, seal.

The bytes are read once and used four times (the structure walk of
:func:`desktop.core.dicom.input_budget.check_structure`, SHA-256, header parse, encryption). Files
larger than ``IN_MEMORY_LIMIT`` are memory-mapped instead of read into memory. A file larger
than the budget allows is refused before it is opened; a file whose structure breaks the budget
(lying lengths, a body of zeros, nesting, element count, time) before pydicom parses it.
Nothing is stored for a file that fails. A full disk while sealing is not the file's fault: it
comes back as :class:`NoRoom`, and the import stops.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import zipfile
import zlib
from dataclasses import dataclass

from desktop.core.common.disk_full import DISK_FULL_ERRNOS
from desktop.core.dicom.header import InstanceHeader, InvalidInstance, parse_header
from desktop.core.dicom.input_budget import DEFAULT_BUDGET, InputBudget, check_structure, open_regular
from desktop.core.library.object_store import ObjectStore
from desktop.core.library.sources import Rejected, Source, ZipMember

IN_MEMORY_LIMIT = 256 << 20
#: Local file headers of a .zip (PKWARE APPNOTE 4.3.7), also of an empty one.
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass(frozen=True)
class Ingested:
    """A source now held in the object store, with its parsed header."""

    label: str
    sha256: str
    size: int
    header: InstanceHeader
    #: The sealed temp file awaiting commit, or None when the object was already stored.
    staged: str | None
    crc32: int | None = None  # of the original's bytes (what a share package's ZIP records)


@dataclass(frozen=True)
class NoRoom:
    """A source that parsed but could not be sealed: the disk holding the library is full
    (ENOSPC) or its quota is spent (EDQUOT). Nothing of it was left behind."""

    label: str
    size: int


#: The archive whose members are being read, kept open: its directory is parsed once, not once
#: per member (50,000 entries take half a second to parse).
_ARCHIVE: dict[str, tuple[tuple[int, ...], zipfile.ZipFile]] = {}


def _archive(path: str) -> zipfile.ZipFile:
    fh = os.fdopen(open_regular(path), "rb")
    info = os.fstat(fh.fileno())
    stamp = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    cached = _ARCHIVE.get(path)
    if cached is not None and cached[0] == stamp:
        fh.close()
        return cached[1]
    release_archives()
    try:
        archive = zipfile.ZipFile(fh)
    except BaseException:
        fh.close()
        raise
    _ARCHIVE[path] = (stamp, archive)
    return archive


def release_archives() -> None:
    """Close the archive kept open for reading members (at the end of an import)."""
    for _, archive in _ARCHIVE.values():
        fp = archive.fp
        archive.close()
        if fp is not None:
            fp.close()
    _ARCHIVE.clear()


def _read_member(source: ZipMember, budget: InputBudget) -> bytes:
    with _archive(source.archive).open(source.member) as fh:  # never more than the entry declares
        data = fh.read(budget.max_file_size + 1)
    budget.check_size(len(data))
    return data


def ingest(source: Source, store: ObjectStore, budget: InputBudget = DEFAULT_BUDGET) -> Ingested | Rejected | NoRoom:
    """Parse one source and stage it sealed; a :class:`Rejected` names what is wrong.

    The caller makes the staged file durable and commits it (:meth:`ObjectStore.commit`).
    """
    try:
        budget.check_size(source.size)
        if isinstance(source, ZipMember):
            if source.size > IN_MEMORY_LIMIT:
                return Rejected(source.label, "zip entry larger than 256 MiB: extract the archive first")
            return _ingest_bytes(source, _read_member(source, budget), store, budget)
        with os.fdopen(open_regular(source.path), "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            budget.check_size(size)  # it may have grown since it was found
            if size == 0:
                return Rejected(source.label, "empty file (0 bytes)")
            if size > IN_MEMORY_LIMIT:
                with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                    return _ingest_bytes(source, mm, store, budget, fh.fileno())
            data = fh.read(budget.max_file_size + 1)
        budget.check_size(len(data))
        return _ingest_bytes(source, data, store, budget)
    except InvalidInstance as exc:
        return Rejected(source.label, str(exc))
    except PermissionError:
        return Rejected(source.label, "cannot be read: permission denied")
    except (zipfile.BadZipFile, EOFError):
        return Rejected(source.label, "zip entry is damaged (bad CRC or truncated archive)")
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS:
            return NoRoom(source.label, source.size)
        return Rejected(source.label, f"cannot be read: {exc.strerror or type(exc).__name__}")
    except MemoryError:
        return Rejected(source.label, "too large to read into memory")
    except RecursionError:
        return Rejected(source.label, "its structure is nested too deeply to read")
    except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch; the type says enough
        return Rejected(source.label, f"cannot be read ({type(exc).__name__} while reading it)")


def _ingest_bytes(source: Source, data: bytes | mmap.mmap, store: ObjectStore,
                  budget: InputBudget = DEFAULT_BUDGET, fd: int | None = None) -> Ingested:
    """Check, parse, hash and stage ``data``; InvalidInstance (an :class:`OverBudget` for a
    budget) if it is not fit. ``fd``: the file behind an mmap'ed ``data`` (its holes)."""
    if bytes(data[:4]) in ZIP_MAGIC:
        if isinstance(source, ZipMember):
            raise InvalidInstance("a .zip archive inside a .zip archive: Veil never expands an archive "
                                  "inside another (extract the outer one first)")
        raise InvalidInstance("a .zip archive without the .zip name: rename it to import what it holds")
    check_structure(data, budget, fd=fd)
    header = parse_header(data)
    sha = hashlib.sha256(data).hexdigest()
    staged = store.stage(data, sha)
    return Ingested(source.label, sha, len(data), header, str(staged) if staged else None, zlib.crc32(data))
