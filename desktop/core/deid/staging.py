"""Staging a de-identified instance for the privacy gate's write step: under a random
temp name in the output folder (never a name derived from identity), in clear or sealed under a
key held in memory (:func:`desktop.core.common.sealed.seal_bytes`), its writeback started at
once. The caller renames it into place after one ``syncfs`` (or removes it). Only the
de-identification runner may import this (an import-linter contract): it runs in worker
processes, which stay light by not importing the gate package.
"""

from __future__ import annotations

import os
import secrets

from desktop.core.common.atomic_files import OUTPUT_TEMP_PREFIX
from desktop.core.common.portable import BINARY
from desktop.core.common.sealed import seal_bytes

#: Every file staged in an output folder starts so: a crash leaves nothing else there.
TEMP_PREFIX = OUTPUT_TEMP_PREFIX


def stage_dicom(folder: str, data: bytes, seal_key: bytes | None) -> str:
    """Write one de-identified instance under a random temp name in ``folder`` (sealed under
    ``seal_key`` when given) and start its writeback; the caller renames it into place."""
    temp = os.path.join(folder, TEMP_PREFIX + secrets.token_hex(8))
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | BINARY, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            if seal_key is None:
                fh.write(data)
            else:
                seal_bytes(fh, seal_key, data)
            fh.flush()
            if hasattr(os, "posix_fadvise"):
                # Start writing it to disk now (Linux begins writeback of dirty pages on
                # DONTNEED), so the one sync before the renames has little left to wait for.
                os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    except BaseException:  # a full disk, a cancelled worker: no partial file stays behind
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    return temp
