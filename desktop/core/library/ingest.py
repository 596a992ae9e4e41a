"""Bring one source into the object store: read it once, hash, parse, seal.

The bytes are read once and used three times (SHA-256, header parse, encryption). Files
larger than ``IN_MEMORY_LIMIT`` are memory-mapped instead of read into memory. Nothing is stored for a file that fails the parse.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import zipfile
import zlib
from dataclasses import dataclass

from desktop.core.library.header import InstanceHeader, InvalidInstance, parse_header
from desktop.core.library.object_store import ObjectStore
from desktop.core.library.sources import Rejected, Source, ZipMember

IN_MEMORY_LIMIT = 256 << 20


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


def _read(source: Source) -> bytes:
    if isinstance(source, ZipMember):
        with zipfile.ZipFile(source.archive) as archive:
            with archive.open(source.member) as fh:
                return fh.read()
    with open(source.path, "rb") as fh:
        return fh.read()


def ingest(source: Source, store: ObjectStore) -> Ingested | Rejected:
    """Parse one source and stage it sealed; a :class:`Rejected` names what is wrong.

    The caller makes the staged file durable and commits it (:meth:`ObjectStore.commit`).
    """
    try:
        if source.size > IN_MEMORY_LIMIT:
            if isinstance(source, ZipMember):
                return Rejected(source.label, "zip entry larger than 256 MiB: extract the archive first")
            with open(source.path, "rb") as fh:
                if os.fstat(fh.fileno()).st_size == 0:
                    return Rejected(source.label, "empty file (0 bytes)")
                with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                    return _ingest_bytes(source, mm, store)
        return _ingest_bytes(source, _read(source), store)
    except InvalidInstance as exc:
        return Rejected(source.label, str(exc))
    except PermissionError:
        return Rejected(source.label, "cannot be read: permission denied")
    except (zipfile.BadZipFile, EOFError):
        return Rejected(source.label, "zip entry is damaged (bad CRC or truncated archive)")
    except OSError as exc:
        return Rejected(source.label, f"cannot be read: {exc.strerror or type(exc).__name__}")
    except MemoryError:
        return Rejected(source.label, "too large to read into memory")
    except Exception as exc:  # one bad file never stops the batch; the type says enough
        return Rejected(source.label, f"cannot be read ({type(exc).__name__} while reading it)")


def _ingest_bytes(source: Source, data: bytes | mmap.mmap, store: ObjectStore) -> Ingested:
    header = parse_header(data)
    sha = hashlib.sha256(data).hexdigest()
    staged = store.stage(data, sha)
    return Ingested(source.label, sha, len(data), header, str(staged) if staged else None, zlib.crc32(data))
