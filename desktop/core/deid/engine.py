"""Header de-identification of one DICOM instance (PS3.15 E.1.1 de-identifier).

Every element, at any depth, gets the action Table E.1-1 gives it under the profile's options
(:mod:`desktop.core.deid.table`), compound codes resolved by the attribute's Type in the IOD
(:mod:`desktop.core.deid.attribute_types`); the walk is :mod:`desktop.core.deid.walker`
(X, Z, D, K, U and C, text no row governs, private attributes). Besides:

- An overlay plane (60xx) goes whole when its Overlay Data goes; curves (50xx) likewise.
- Patient's Name and ID become the patient's pseudonym.
- Pixel Data (:mod:`desktop.core.deid.pixel_cleaning`): bits outside the stored bits (above
  High Bit: the retired embedded overlays, PS3.5 8.1.2) are zeroed, and text inside compressed
  codestreams (JPEG COM and APPn, JPEG 2000 COM, JP2 boxes) is dropped; otherwise its bytes are
  copied from the original as they are.
- The output records what was done (PS3.3 C.7.1.1, C.12.1): Patient Identity Removed, the
  De-identification Method and its CID 7050 codes, Longitudinal Temporal Information Modified.
"""

from __future__ import annotations

import copy
import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
import pydicom.datadict
import pydicom.filereader
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset

from desktop.core.common.errors import VeilError
from desktop.core.deid.attribute_types import load_attribute_types
from desktop.core.deid.changes import Change, _meta_changes
from desktop.core.deid.instance_io import (  # noqa: F401 - pixel_extent is part of this API
    _charset,
    _check_instance,
    _deflated,
    _file_meta,
    _file_meta_bytes,
    _parse,
    _record_method,
    _without_meta,
    _write_elements,
    pixel_extent,
)
from desktop.core.deid.leaks import Leak, find_leaks_in_bytes, find_leaks_in_dataset
from desktop.core.deid.mapping import patient_key, patient_key_of
from desktop.core.deid.pixel_cleaning import HIDDEN_BITS_METHOD, clean_pixel_data, record_pixel_cleaning
from desktop.core.deid.profiles import Profile
from desktop.core.deid.safe_private import load_safe_private
from desktop.core.deid.settings import DeidSettings, PatientPlan
from desktop.core.deid.table import ConfidentialityTable, load_table
from desktop.core.deid.text_policy import load_text_policy, unruled_text_keywords
from desktop.core.deid.walker import CODE_KEYWORDS, Walker, vr_of_element
from desktop.core.dicom.header import DEFLATED, UNDEFINED, InvalidInstance, _codec
from desktop.core.dicom.identifiers import Identifier, gather, reportable
from desktop.core.redaction.burn_in import is_redacted, record_clean_pixel_data

__all__ = ["HIDDEN_BITS_METHOD", "Change", "DeidResult", "DeidSettings", "PatientPlan", "compound_keywords",
           "deidentify", "make_settings", "patient_key", "patient_key_of", "pixel_extent"]


def compound_keywords(table: ConfidentialityTable) -> frozenset[str]:
    """Keywords of the attributes whose action depends on their Type in the IOD."""
    out = set()
    for row in table.rows:
        if row.mask == 0xFFFFFFFF and any("/" in a for a in (row.basic, *row.options.values())):
            keyword = pydicom.datadict.keyword_for_tag(row.value)
            if keyword:
                out.add(keyword)
    return frozenset(out)


def make_settings(profile: Profile, uid_key: bytes, cache_dir: Path | None = None,
                  extra: Dataset | None = None) -> DeidSettings:
    """Everything a run needs, read from ``resources/`` and the standard's module tables
    (indexed once into ``cache_dir`` when given); ``extra`` elements go into every output."""
    table = load_table()
    policy = load_text_policy()
    unruled = unruled_text_keywords(governed_tags(table)) - policy.kept_text - CODE_KEYWORDS
    keywords = compound_keywords(table) | unruled
    return DeidSettings(profile, table, load_attribute_types(keywords, cache_dir),
                        load_safe_private(), uid_key, extra, policy)


def governed_tags(table: ConfidentialityTable) -> set[int]:
    """The tags Table E.1-1 names one by one."""
    return {row.value for row in table.rows if row.mask == 0xFFFFFFFF}


@dataclass
class DeidResult:
    data: bytes
    sop_instance_uid: str
    study_uid: str
    series_uid: str
    pseudonym: str
    changes: list[Change] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)
    #: (attribute name, action, rule) -> how often: what was done, without any value.
    tally: dict[tuple[str, str, str], int] = field(default_factory=dict)


def deidentify(data: bytes | memoryview, settings: DeidSettings, plan_for: Callable[[str], PatientPlan],
               record: bool = False, check: bool = True) -> DeidResult:
    """De-identify one instance held in memory and return the new file's bytes.

    ``plan_for(patient_key)`` gives the patient's pseudonym and date shift. With ``check``,
    the output is searched for every identifier of the original (see :mod:`leaks`); the
    caller must refuse to write a result with leaks. Raises :class:`InvalidInstance` for a file
    that is not a readable DICOM instance.
    """
    try:
        parsed = _parse(data)
    except InvalidInstance:
        raise
    except Exception as exc:  # noqa: BLE001 - pydicom on a hostile file raises many kinds: refuse it
        raise InvalidInstance(f"DICOM header cannot be parsed ({type(exc).__name__})") from None
    ds = parsed.ds
    original_meta = getattr(ds, "file_meta", None)
    _check_instance(ds, original_meta)
    try:
        fast = parsed.pixel is not None
        raw_sequences: dict[int, RawDataElement] = {tag: raw for tag, raw in ds.items()
                         if fast and isinstance(raw, RawDataElement) and vr_of_element(raw, tag) == "SQ"
                         and raw.length != UNDEFINED and isinstance(raw.value, bytes)}
        gathered = gather(ds)
        if parsed.trailing is not None:
            gathered.merge(gather(parsed.trailing))
        identifiers = gathered.identifiers()
        plan = plan_for(patient_key_of(ds))
        pixels_cleaned = is_redacted(ds)
        cleaned = clean_pixel_data(parsed)
        pixel, syntax = cleaned.element, cleaned.transfer_syntax
        walker = Walker(settings, plan, str(ds.get("SOPClassUID", "") or ""), gathered.to_scrub(), record,
                        (parsed.implicit, parsed.little) if fast else None, raw_sequences, _codec(ds))
        walker.dataset(ds, (), "")
        if parsed.trailing is not None:
            walker.dataset(parsed.trailing, (), "")
        _record_method(ds, settings.profile, fast=parsed.pixel is not None and not pixels_cleaned,
                       encoding=(parsed.implicit, parsed.little))
        if pixels_cleaned:  # redacted by Veil: PS3.15 E.3.1, Clean Pixel Data Option
            record_clean_pixel_data(ds)
        record_pixel_cleaning(ds, cleaned, walker)
        if settings.extra is not None:
            for elem in settings.extra:
                ds[elem.tag] = copy.deepcopy(elem)
        meta = _file_meta(ds, syntax)
        deflated: int | None = None
        out = DicomBytesIO()
        out.write(b"\x00" * 128 + b"DICM")
        out.write(_file_meta_bytes(meta))
        if parsed.pixel is None and parsed.trailing is None and parsed.transfer_syntax == DEFLATED:
            body = _deflated(ds)
            pixel_range = (out.tell(), out.tell())
            deflated = out.tell()
            out.write(body)
        else:
            out.is_implicit_VR, out.is_little_endian = parsed.implicit, parsed.little
            if parsed.pixel is None:  # everything was decoded: pydicom writes it all
                write_dataset(out, _without_meta(ds), _charset(ds))
            else:
                _write_elements(out, _without_meta(ds), parsed.implicit, parsed.little, _charset(ds))
            start = out.tell()
            if pixel is not None:
                out.write(pixel)
            pixel_range = (start, out.tell())
            if parsed.trailing is not None:
                write_dataset(out, parsed.trailing, _charset(ds))
    except InvalidInstance:
        raise
    except VeilError:
        raise
    except Exception as exc:  # noqa: BLE001 - a hostile value can make pydicom's writer raise anything
        raise InvalidInstance(f"cannot be de-identified ({type(exc).__name__} while rewriting the header)") from None
    result = DeidResult(out.getvalue(), str(ds.get("SOPInstanceUID", "") or ""),
                        str(ds.get("StudyInstanceUID", "") or ""), str(ds.get("SeriesInstanceUID", "") or ""),
                        plan.pseudonym)
    result.tally = walker.tally
    if record:
        result.changes = _meta_changes(original_meta, meta) + (walker.changes or [])
    if check:
        charset = _charset(ds)
        wanted = reportable(identifiers, settings.profile.options)
        searched = result.data
        if deflated is not None:  # the leak check reads what a reader would inflate
            searched = searched[:deflated] + zlib.decompress(searched[deflated:], -zlib.MAX_WBITS)
            pixel_range = (0, 0)
        result.leaks = find_leaks_in_bytes(searched, wanted, charset, pixel_range, scan_pixels=not cleaned.exact)
        if result.leaks:
            result.leaks = _located(result.data, result.leaks, wanted)
    return result


def _located(data: bytes, leaks: list[Leak], wanted: list[Identifier]) -> list[Leak]:
    """The byte search's leaks, named by the element that holds them where the header does
    (so the report can say which attribute to look at); those in Pixel Data as one line per
    kind and source, with the offsets in the file."""
    pixels: dict[tuple[str, str], list[str]] = {}
    for leak in leaks:
        if "Pixel Data" in leak.where:
            pixels.setdefault((leak.kind, leak.source), []).append(leak.where.split("offset ")[-1].split(" ")[0])
    in_pixels = [Leak(kind, source, "Pixel Data (inside its frames, not the header), at file offset "
                      + ", ".join(offsets)) for (kind, source), offsets in pixels.items()]
    try:
        out = pydicom.dcmread(io.BytesIO(data), force=True)
        in_elements = find_leaks_in_dataset(out, wanted)
    except Exception:  # noqa: BLE001 - the byte offsets still say where
        in_elements = []
    header = in_elements or [leak for leak in leaks if "Pixel Data" not in leak.where]
    return header + in_pixels

