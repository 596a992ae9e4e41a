"""DICOM files a person points Veil at (files, folders, zip archives): found as an import finds
them, and read within the input budget (:mod:`desktop.core.dicom.input_budget`).

Both use cases that read such files without importing them use this: ``veil deid`` (its runner
reads them, :mod:`desktop.app.deid.runner`) and ``veil redact``
(:mod:`desktop.app.redaction.redacting_files`).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable

from desktop.app.common.tasks import CancelToken
from desktop.core.dicom.input_budget import DEFAULT_BUDGET, open_regular
from desktop.core.library.sources import DirectoryRead, Rejected, Source, ZipMember, discover


def file_inputs(paths: Iterable[str | os.PathLike[str]], cancel: CancelToken | None = None,
                follow_links_out: bool = False) -> tuple[list[Source], list[Rejected]]:
    """Every DICOM candidate under ``paths`` (as import finds them: links out of a folder only
    with ``follow_links_out``) and what was refused."""
    cancel = cancel or CancelToken()
    inputs: list[Source] = []
    rejected: list[Rejected] = []
    for found in discover(paths, lambda: cancel.cancelled, follow_links_out=follow_links_out):
        if isinstance(found, Rejected):
            rejected.append(found)
        elif not isinstance(found, DirectoryRead):
            inputs.append(found)
    return inputs, rejected


def read_source(item: Source) -> bytes:
    """The bytes of a file or zip member, as they are: a regular file only (never a FIFO), its
    size within the input budget before it is read."""
    if isinstance(item, ZipMember):
        DEFAULT_BUDGET.check_size(item.size)
        with zipfile.ZipFile(item.archive) as archive, archive.open(item.member) as fh:
            return fh.read(DEFAULT_BUDGET.max_file_size + 1)
    with os.fdopen(open_regular(item.path), "rb") as fh:
        DEFAULT_BUDGET.check_size(os.fstat(fh.fileno()).st_size)
        return fh.read(DEFAULT_BUDGET.max_file_size + 1)
