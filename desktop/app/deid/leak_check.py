"""Use case: ``veil verify ORIGINAL OUTPUT`` — is any identifier of the originals left in the
de-identified output?

Identifiers are gathered from every original (names and their parts, IDs, dates, accession,
addresses, institution, physicians, device serials, at any depth). Each output file is then read
back and searched: every element at any depth (private attributes and File Meta included) and
the file's raw bytes. What an output may keep follows the options it records in its
De-identification Method Code Sequence (a file kept with Retain Device Identity may keep the
device serial number). Reports name the kind of identifier, the attribute it came from and
where it was found, never the value.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pydicom

from desktop.app.common.formatting import plural
from desktop.app.common.tasks import CancelToken, Progress, no_progress
from desktop.app.deid.deidentifying import file_inputs
from desktop.app.deid.runner import Input
from desktop.app.deid.runner import read_input as _read
from desktop.core.deid.engine import pixel_extent
from desktop.core.deid.leaks import Leak, find_leaks_in_bytes, find_leaks_in_dataset
from desktop.core.deid.mapping import map_uid
from desktop.core.deid.profiles import OPTION_CODES
from desktop.core.dicom.header import InvalidInstance
from desktop.core.dicom.identifiers import Gathered, gather, reportable
from desktop.core.dicom.input_budget import check_structure
from desktop.core.library.sources import Rejected

_OPTION_BY_CODE = {code: option for option, (code, _meaning) in OPTION_CODES.items()}


@dataclass
class VerifyReport:
    originals: int = 0
    outputs: int = 0
    identifiers: int = 0
    leaks: dict[str, list[Leak]] = field(default_factory=dict)  # output label -> leaks
    unreadable: list[Rejected] = field(default_factory=list)
    not_deidentified: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.leaks and not self.not_deidentified and self.outputs > 0

    def headline(self) -> str:
        if self.outputs == 0:
            return "No de-identified file was found to check."
        if self.clean:
            return (f"No identifier found: {plural(self.outputs, 'output file')} checked against "
                    f"{plural(self.identifiers, 'identifier')} of {plural(self.originals, 'original')}.")
        parts = []
        if self.leaks:
            n = len(self.leaks)
            parts.append(f"{plural(n, 'output file')} still {'holds' if n == 1 else 'hold'} "
                         "identifiers of the originals")
        if self.not_deidentified:
            n = len(self.not_deidentified)
            parts.append(f"{plural(n, 'output file')} {'does' if n == 1 else 'do'} not say "
                         f"{'it was' if n == 1 else 'they were'} de-identified")
        return "LEAK: " + "; ".join(parts) + "."


def options_recorded(ds: pydicom.Dataset) -> frozenset[str]:
    """The PS3.15 options an output says it was made with (CID 7050 codes)."""
    codes = {str(item.get("CodeValue", "")) for item in ds.get("DeidentificationMethodCodeSequence") or []}
    return frozenset(_OPTION_BY_CODE[c] for c in codes if c in _OPTION_BY_CODE)


def identifiers_of(inputs: Sequence[Input], report: VerifyReport, cancel: CancelToken,
                   uid_key: bytes | None) -> tuple[Gathered, dict[str, Gathered]]:
    """Identifiers of all originals together, and of each original by the SOP Instance UID
    its output carries (the mapped UID under ``uid_key``, and the UID itself)."""
    union = Gathered({}, set(), set())
    by_uid: dict[str, Gathered] = {}
    for item in inputs:
        if cancel.cancelled:
            break
        try:
            data = _read(item, None)
            check_structure(data)  # the input budget before pydicom parses it
            ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)
            gathered = gather(ds)
        except Exception as exc:  # noqa: BLE001 - an original pydicom cannot parse is listed unreadable; the rest is checked
            why = str(exc) if isinstance(exc, InvalidInstance) else type(exc).__name__
            report.unreadable.append(Rejected(item.label, f"original cannot be read ({why})"))
            continue
        union.merge(gathered)
        report.originals += 1
        uid = str(ds.get("SOPInstanceUID", "") or "").strip()
        if uid:
            by_uid[uid] = gathered
            if uid_key:
                by_uid[map_uid(uid_key, uid)] = gathered
    return union, by_uid


def check_output(data: bytes, union: Gathered, by_uid: dict[str, Gathered] | None = None) -> tuple[list[Leak], bool]:
    """Leaks in one output file, and whether it says it was de-identified. The output is held
    against its own original when it can be found (by SOP Instance UID), else against every
    original."""
    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    own = (by_uid or {}).get(str(ds.get("SOPInstanceUID", "") or "").strip())
    identifiers = (own or union).identifiers()
    allowed = reportable(identifiers, options_recorded(ds))
    leaks = find_leaks_in_dataset(ds, allowed)
    start, end, encapsulated = pixel_extent(data)
    seen = {(leak.kind, leak.source) for leak in leaks}
    charset = "iso8859"
    for leak in find_leaks_in_bytes(data, allowed, charset, (start, end), scan_pixels=encapsulated):
        if (leak.kind, leak.source) not in seen:
            leaks.append(leak)
    return leaks, str(ds.get("PatientIdentityRemoved", "")).upper() == "YES"


def verify_paths(originals: Iterable[str | os.PathLike[str]], outputs: Iterable[str | os.PathLike[str]],
                 progress: Progress = no_progress, cancel: CancelToken | None = None,
                 uid_key: bytes | None = None) -> VerifyReport:
    """Check every output under ``outputs`` against the originals under ``originals``.
    ``uid_key`` (the library's de-identification key) pairs each output with its original."""
    cancel = cancel or CancelToken()
    report = VerifyReport()
    original_inputs, rejected = file_inputs(originals, cancel)
    report.unreadable.extend(rejected)
    union, by_uid = identifiers_of(original_inputs, report, cancel, uid_key)
    report.identifiers = len(union.identifiers())
    output_inputs, rejected = file_inputs(outputs, cancel)
    report.unreadable.extend(rejected)
    for n, item in enumerate(output_inputs, 1):
        if cancel.cancelled:
            break
        try:
            leaks, marked = check_output(_read(item, None), union, by_uid)
        except Exception as exc:  # noqa: BLE001 - an output pydicom cannot parse is listed unreadable; the rest is checked
            report.unreadable.append(Rejected(item.label, f"output cannot be read ({type(exc).__name__})"))
            continue
        report.outputs += 1
        if leaks:
            report.leaks[item.label] = leaks
        if not marked:
            report.not_deidentified.append(item.label)
        progress(n, len(output_inputs))
    return report
