"""Header de-identification of one DICOM instance (PS3.15 E.1.1 de-identifier).

Every element, at any depth, gets the action Table E.1-1 gives it under the profile's options
(:mod:`desktop.core.deid.table`), compound codes resolved by the attribute's Type in the IOD
(:mod:`desktop.core.deid.attribute_types`):

- X remove; Z empty (a sequence: no items); D a dummy valid for the VR (a UID: its keyed
  replacement; a sequence: kept, its items de-identified); K keep (a sequence: its items
  de-identified); U keyed UID replacement; C clean: dates shifted, text with the instance's
  identifiers scrubbed, names replaced, sequences walked.
- Private attributes (PS3.5 7.8) are removed, unless Retain Safe Private keeps those in
  Table E.3.10-1 (and their Private Creators). Public attributes the table does not list are
  kept when the data dictionary knows them and removed when not (PS3.15 E.1.1).
- An overlay plane (60xx) goes whole when its Overlay Data goes; curves (50xx) likewise.
- Patient's Name and ID become the patient's pseudonym.
- The output records what was done (PS3.3 C.7.1.1, C.12.1): Patient Identity Removed, the
  De-identification Method and its CID 7050 codes, Longitudinal Temporal Information Modified.

Pixel Data is never decoded: its bytes are copied from the original as they are.
"""

from __future__ import annotations

import copy

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pydicom
import pydicom.charset
import pydicom.datadict
import pydicom.filereader
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from desktop.core.deid.changes import Change, _meta_changes, _show, _tag_text  # noqa: F401 - Change is public here
from pydicom.filebase import DicomBytesIO
from pydicom.dataelem import RawDataElement
from pydicom.filewriter import write_dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag

from desktop.core.deid.attribute_types import AttributeTypes, load_attribute_types, resolve_compound
from desktop.core.deid.identifiers import Identifier, collect_identifiers, reportable, scrub_pattern
from desktop.core.deid.instance_io import (  # noqa: F401 - pixel_extent is part of this API
    _charset, _check_instance, _deflated, _file_meta, _file_meta_bytes, _parse,
    _record_method, _undefined_length, _without_meta, _write_elements, pixel_extent,
)
from desktop.core.deid.leaks import Leak, find_leaks_in_bytes
from desktop.core.deid.mapping import (  # noqa: F401 - patient_key is part of this API
    map_uid, patient_key, patient_key_of, shift_date, shift_datetime,
)
from desktop.core.deid.profiles import Profile
from desktop.core.deid.safe_private import SafeKey, load_safe_private, normalise_creator
from desktop.core.redaction.burn_in import is_redacted, record_clean_pixel_data
from desktop.core.deid.table import BASIC, ConfidentialityTable, Decision, decide, load_table
from desktop.core.errors import VeilError
from desktop.core.library.header import (
    DEFLATED, UNDEFINED, InvalidInstance,
)


DUMMY_TEXT = "ANONYMIZED"
DUMMY_BY_VR: dict[str, object] = {
    "AE": "ANONYMIZED", "AS": "000D", "CS": "ANONYMIZED", "DA": "19000101", "DT": "19000101000000",
    "TM": "000000", "DS": "0", "IS": "0", "LO": DUMMY_TEXT, "LT": DUMMY_TEXT, "SH": DUMMY_TEXT,
    "ST": DUMMY_TEXT, "UC": DUMMY_TEXT, "UT": DUMMY_TEXT, "PN": DUMMY_TEXT, "UR": "",
    "FL": 0.0, "FD": 0.0, "SL": 0, "SS": 0, "UL": 0, "US": 0, "SV": 0, "UV": 0,
}
_TEXT_VRS = {"LO", "LT", "SH", "ST", "UC", "UT", "AE", "CS"}
#: Free text that a sequence replaced by D (dummy) or C (clean) must not carry as it was.
_FREE_TEXT_VRS = {"LO", "LT", "SH", "ST", "UC", "UT", "PN"}
#: Coded entries (PS3.3 8.8) inside such sequences: controlled vocabulary, kept as they are.
_CODE_KEYWORDS = frozenset({
    "CodeValue", "CodingSchemeDesignator", "CodingSchemeVersion", "CodeMeaning", "LongCodeValue",
    "URNCodeValue", "ContextIdentifier", "ContextGroupVersion", "MappingResource",
    "MappingResourceName", "ContextGroupExtensionCreatorUID", "ContextUID", "TemplateIdentifier",
    "MeasurementUnitsCodeSequence", "ContinuityOfContent", "RelationshipType", "ValueType",
})
_MAX_LENGTH = {"SH": 16, "LO": 64, "AE": 16, "CS": 16, "ST": 1024, "PN": 64}
ACTION_WORDS = {"X": "removed", "Z": "emptied", "D": "replaced", "U": "replaced", "C": "cleaned", "K": "kept"}

PATIENT_NAME, PATIENT_ID = 0x00100010, 0x00100020
OVERLAY_DATA_ELEMENT = 0x3000


@dataclass(frozen=True)
class DeidSettings:
    """What stays the same for every instance of one run."""

    profile: Profile
    table: ConfidentialityTable
    types: AttributeTypes
    safe_private: frozenset[SafeKey]
    uid_key: bytes
    #: Elements written into every output after de-identification (e.g. the consent the export
    #: relies on, PS3.3 C.7.1.3): they are the export's, not the patient's, so never cleaned.
    extra: Dataset | None = None
    #: Per tag: the table's decision under this profile (filled as tags are met).
    decisions: dict = field(default_factory=dict, compare=False, repr=False)

    def decision(self, tag: int) -> Decision | None:
        try:
            return self.decisions[tag]
        except KeyError:
            found = self.decisions[tag] = decide(self.table, tag, self.profile.options)
            return found


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
    return DeidSettings(profile, table, load_attribute_types(compound_keywords(table), cache_dir),
                        load_safe_private(), uid_key, extra)


@dataclass(frozen=True)
class PatientPlan:
    """The patient's pseudonym and date shift (whole days)."""

    pseudonym: str
    shift_days: int


@dataclass
class DeidResult:
    data: bytes
    sop_instance_uid: str
    study_uid: str
    series_uid: str
    pseudonym: str
    changes: list[Change] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)


def _vr_of(ds: Dataset, tag: int) -> str:
    raw = ds._dict[tag]
    vr = getattr(raw, "VR", None)
    if vr and vr != "UN":
        return vr
    try:
        return pydicom.datadict.dictionary_VR(tag).split(" ")[0]
    except KeyError:
        return vr or "UN"


class _Walker:
    """Applies the profile to one dataset and its sequences, recording changes on request."""

    def __init__(self, settings: DeidSettings, plan: PatientPlan, sop_class: str,
                 identifiers: list[Identifier], record: bool,
                 encoding: tuple[bool, bool] | None = None, raw_sequences: dict | None = None) -> None:
        self.s = settings
        #: (implicit, little) when new text values may be written as raw bytes in that encoding.
        self.encoding = encoding
        #: Top-level sequences as first read: written back as bytes when nothing inside changed.
        self.raw_sequences = raw_sequences or {}
        self.edits = 0
        self.options = settings.profile.options
        self.plan = plan
        self.sop_class = sop_class
        self.scrub = scrub_pattern(identifiers)
        #: Inside a sequence whose action is D ("dummy") or C ("clean"): what free text gets.
        self.mode: str | None = None
        self.mode_rule = ""
        self.changes: list[Change] | None = [] if record else None

    # -- recording ---------------------------------------------------------------------
    def _note(self, loc: str, tag: int, vr: str, action: str, rule: str, before: object, after: object) -> None:
        if self.changes is None:
            return
        name = pydicom.datadict.keyword_for_tag(tag)
        try:
            name = pydicom.datadict.dictionary_description(tag) if name else ""
        except KeyError:
            name = ""
        if not name:
            name = "Private attribute" if (tag >> 16) & 1 else "Unknown attribute"
        self.changes.append(Change(loc + _tag_text(tag), name, vr, action, rule, _show(before), _show(after)))

    # -- the walk ----------------------------------------------------------------------
    def dataset(self, ds: Dataset, path: tuple[str, ...], loc: str) -> None:
        tags = list(ds._dict.keys())
        creators = {}
        for tag in tags:
            group, element = tag >> 16, tag & 0xFFFF
            if group & 1 and 0x0010 <= element <= 0x00FF:
                try:
                    raw = ds._dict[tag]
                    value = raw.value.decode("latin_1") if isinstance(raw.value, bytes) else str(ds[tag].value or "")
                    creators[(group, element)] = normalise_creator(value)
                except Exception:
                    creators[(group, element)] = ""
        kept_blocks: set[tuple[int, int]] = set()
        overlay_groups_gone: set[int] = set()
        for tag in tags:
            group, element = tag >> 16, tag & 0xFFFF
            if group & 1:
                if 0x0010 <= element <= 0x00FF:
                    continue  # creators are decided once their blocks are
                if self._private(ds, tag, creators, path, loc):
                    kept_blocks.add((group, element >> 8))
                continue
            if element == 0 and group != 0x0002:
                self._remove(ds, tag, loc, "Group Length is retired (PS3.5 7.2) and would be wrong")
                continue
            self._public(ds, tag, path, loc)
            if 0x6000 <= group <= 0x60FF and element == OVERLAY_DATA_ELEMENT and tag not in ds._dict:
                overlay_groups_gone.add(group)
        for (group, block), creator in creators.items():
            tag = (group << 16) | block
            if (group, block) in kept_blocks:
                self._note(loc, tag, "LO", "kept", "Private Creator of a safe private attribute (PS3.15 E.3.10)",
                           creator, creator)
            else:
                self._remove(ds, tag, loc, "Private Creator with no attribute kept (PS3.15 E.1.1)")
        for tag in [t for t in ds._dict if (t >> 16) in overlay_groups_gone]:
            self._remove(ds, tag, loc, "part of an overlay plane whose Overlay Data is removed (PS3.15 E.1-1)")

    def _private(self, ds: Dataset, tag: int, creators: dict, path: tuple[str, ...], loc: str) -> bool:
        decision = self.s.decision(tag)
        action = decision.action if decision else "X"
        rule = decision.rule if decision else BASIC
        if action == "C":
            group, element = tag >> 16, tag & 0xFFFF
            creator = creators.get((group, element >> 8), "")
            if creator and (creator, group, element & 0xFF) in self.s.safe_private:
                vr = _vr_of(ds, tag)
                self._note(loc, tag, vr, "kept", f"{rule}: in Table E.3.10-1 (safe private)", ds[tag].value, ds[tag].value)
                if vr == "SQ":
                    self._items(ds, tag, path, loc)
                return True
            self._remove(ds, tag, loc, f"{rule}: not a safe private attribute (Table E.3.10-1)")
            return False
        self._remove(ds, tag, loc, f"{rule}: private attributes are removed (Table E.1-1, odd groups)")
        return False

    def _public(self, ds: Dataset, tag: int, path: tuple[str, ...], loc: str) -> None:
        decision = self.s.decision(tag)
        if decision is None:
            if _known_public(tag):
                vr = _vr_of(ds, tag)
                if self.mode and vr in _FREE_TEXT_VRS and pydicom.datadict.keyword_for_tag(tag) not in _CODE_KEYWORDS:
                    self._free_text(ds, tag, vr, loc)
                    return
                if self.changes is not None:
                    value = ds[tag].value
                    self._note(loc, tag, vr, "kept", "not in Table E.1-1: a standard attribute (PS3.15 E.1.1)", value, value)
                if vr == "SQ":
                    self._items(ds, tag, path, loc)
            else:
                self._remove(ds, tag, loc, "unknown public attribute: not known to be safe (PS3.15 E.1.1)")
            return
        action, rule = decision.action, decision.rule
        keyword = pydicom.datadict.keyword_for_tag(tag)
        if "/" in action:
            type_ = self.s.types.type_of(self.sop_class, path, keyword)
            resolved = resolve_compound(action, type_)
            rule = f"{rule}: {action} → {resolved} for a Type {type_} attribute of this IOD"
            action = resolved
        if action == "X":
            self._remove(ds, tag, loc, rule)
            return
        vr = _vr_of(ds, tag)
        if action == "K":
            value = ds[tag].value if (self.changes is not None or vr == "SQ") else None
            self._note(loc, tag, vr, "kept", rule, value, value)
            if vr == "SQ":
                self._items(ds, tag, path, loc)
            return
        if vr == "SQ":
            elem = ds[tag]
            before = elem.value if self.changes is not None else None
            if action == "Z":
                elem.value = Sequence([])
                self.edits += 1
                self._note(loc, tag, vr, "emptied", rule, before, elem.value)
            else:  # D, U, C on a sequence: keep its items, each de-identified
                self._note(loc, tag, vr, ACTION_WORDS[action], rule, before, before)
                mode = {"D": "dummy", "C": "clean"}.get(action, self.mode)
                saved = self.mode, self.mode_rule
                if mode != self.mode:
                    self.mode, self.mode_rule = mode, f"{rule}, on {pydicom.datadict.dictionary_description(tag)}"
                try:
                    self._items(ds, tag, path, loc)
                finally:
                    self.mode, self.mode_rule = saved
            return
        if action == "C":
            self._clean(ds, tag, vr, rule, loc)
            return
        before = ds[tag].value if self.changes is not None else None
        top = not path
        if top and tag in (PATIENT_NAME, PATIENT_ID) and action in ("Z", "D"):
            self._set_text(ds, tag, vr, self.plan.pseudonym)
            self._note(loc, tag, vr, "replaced", f"{rule}; pseudonym", before, self.plan.pseudonym)
            return
        if action == "Z":
            self._set_text(ds, tag, vr, "")
        elif action == "U" or vr == "UI":
            self._set_uids(ds, tag, vr)
        elif vr in DUMMY_BY_VR and isinstance(DUMMY_BY_VR[vr], str):
            self._set_text(ds, tag, vr, DUMMY_BY_VR[vr])
        else:
            _set(ds, tag, vr, DUMMY_BY_VR.get(vr))
        self.edits += 1
        if self.changes is not None:
            self._note(loc, tag, vr, ACTION_WORDS[action], rule, before, ds[tag].value)

    def _set_text(self, ds: Dataset, tag: int, vr: str, text: str) -> None:
        """Set a text value; as raw bytes in the file's encoding when it is plain ASCII."""
        if self.encoding is None or not text.isascii() or vr in ("US", "SS", "UL", "SL", "FL", "FD", "SV", "UV",
                                                                  "OB", "OW", "UN", "SQ", "AT", "OF", "OD", "OL", "OV"):
            _set(ds, tag, vr, text or None)
            return
        value = text.encode("ascii")
        if len(value) % 2:
            value += b"\x00" if vr == "UI" else b" "
        implicit, little = self.encoding
        ds._dict[tag] = RawDataElement(BaseTag(tag), None if implicit else vr, len(value), value, 0,
                                       implicit, little, True)

    def _set_uids(self, ds: Dataset, tag: int, vr: str) -> None:
        raw = ds._dict[tag]
        if isinstance(raw, RawDataElement) and isinstance(raw.value, bytes):
            uids = [u.strip(" \x00") for u in raw.value.decode("ascii", "replace").split("\\")]
        else:
            value = ds[tag].value
            uids = [str(v) for v in value] if isinstance(value, (list, MultiValue)) else ([str(value)] if value else [])
        mapped = [map_uid(self.s.uid_key, u) if u else u for u in uids]
        self._set_text(ds, tag, vr, "\\".join(mapped))

    def _free_text(self, ds: Dataset, tag: int, vr: str, loc: str) -> None:
        """Free text not in Table E.1-1 inside a dummied or cleaned sequence (PS3.15 E.1-1a)."""
        before = ds[tag].value
        if self.mode == "dummy":
            after: object = DUMMY_TEXT if before not in (None, "") else before
            word, why = "replaced", f"{self.mode_rule}: its free text becomes a dummy value"
        else:
            after = DUMMY_TEXT if vr == "PN" and before not in (None, "") else self._scrubbed(before, vr)
            word, why = ("cleaned" if after != before else "kept"), f"{self.mode_rule}: identifiers scrubbed from its text"
        if after is not before:
            _set(ds, tag, vr, after)
            self.edits += 1
        self._note(loc, tag, vr, word, why, before, after)

    def _items(self, ds: Dataset, tag: int, path: tuple[str, ...], loc: str) -> None:
        keyword = pydicom.datadict.keyword_for_tag(tag) or _tag_text(tag)
        edits = self.edits
        for index, item in enumerate(ds[tag].value or []):
            self.dataset(item, path + (keyword,), f"{loc}{_tag_text(tag)}[{index + 1}] › ")
        if not path and self.edits == edits and tag in self.raw_sequences:
            ds._dict[tag] = self.raw_sequences[tag]  # unchanged: copied as read

    def _uids(self, value: object) -> object:
        if value is None or value == "":
            return value
        if isinstance(value, (list, MultiValue)):
            return [map_uid(self.s.uid_key, str(v)) for v in value]
        return map_uid(self.s.uid_key, str(value))

    def _clean(self, ds: Dataset, tag: int, vr: str, rule: str, loc: str) -> None:
        """C (PS3.15 E.1-1a): a value of similar meaning that identifies nobody."""
        if self._clean_fast(ds, tag, vr, rule, loc):
            return
        elem = ds[tag]
        before = elem.value
        if vr == "DA" and "retain_modified_dates" in self.options:
            after = _shifted(before, lambda v: shift_date(v, self.plan.shift_days))
            word, why = "shifted", f"{rule}: dates moved by the patient's offset"
        elif vr == "DT" and "retain_modified_dates" in self.options:
            after = _shifted(before, lambda v: shift_datetime(v, self.plan.shift_days))
            word, why = "shifted", f"{rule}: dates moved by the patient's offset"
        elif vr in ("TM", "DA", "DT") and "retain_full_dates" in self.options:
            after, word, why = before, "kept", rule
        elif vr == "TM" and "retain_modified_dates" in self.options:
            after, word, why = before, "kept", f"{rule}: whole-day shifts leave times of day as they are"
        elif vr in ("DA", "DT", "TM"):
            after, word, why = DUMMY_BY_VR[vr], "replaced", rule
        elif vr == "PN":
            after, word, why = DUMMY_TEXT, "replaced", f"{rule}: a person's name is replaced"
        elif vr in _TEXT_VRS:
            after = self._scrubbed(before, vr)
            word, why = ("cleaned" if after != before else "kept"), f"{rule}: identifiers scrubbed from the text"
        elif vr in ("DS", "IS", "FL", "FD", "SL", "SS", "UL", "US", "SV", "UV", "AS", "AT"):
            after, word, why = before, "kept", f"{rule}: a number identifies nobody"
        else:
            self._remove(ds, tag, loc, f"{rule}: a {vr} value cannot be cleaned, so it is removed")
            return
        if after is not before:
            _set(ds, tag, vr, after)
            self.edits += 1
        self._note(loc, tag, vr, word, why, before, after)

    def _clean_fast(self, ds: Dataset, tag: int, vr: str, rule: str, loc: str) -> bool:
        """Dates and times under the date options, straight from the raw bytes (most C actions
        in a teaching export); False when the general path must run."""
        raw = ds._dict[tag]
        if (self.changes is not None or self.encoding is None or vr not in ("DA", "DT", "TM")
                or not isinstance(raw, RawDataElement) or not isinstance(raw.value, bytes)):
            return False
        if "retain_full_dates" in self.options or (vr == "TM" and "retain_modified_dates" in self.options):
            return True  # kept as it is
        if "retain_modified_dates" not in self.options:
            return False
        text = raw.value.decode("ascii", "replace").strip(" \x00")
        if not text:
            return True
        shift = shift_date if vr == "DA" else shift_datetime
        try:
            after = shift(text, self.plan.shift_days)
        except ValueError:
            after = ""  # a date that cannot be read cannot be shifted: emptied, never guessed
        self._set_text(ds, tag, vr, after)
        self.edits += 1
        return True

    def _scrubbed(self, value: object, vr: str) -> object:
        if value is None or self.scrub is None:
            return value
        if isinstance(value, (list, MultiValue)):
            return [self._scrubbed(v, vr) for v in value]
        text = str(value)
        cleaned = self.scrub.sub("*", text)
        if cleaned == text:
            return value
        limit = _MAX_LENGTH.get(vr)
        return cleaned[:limit] if limit else cleaned

    def _remove(self, ds: Dataset, tag: int, loc: str, rule: str) -> None:
        if tag not in ds._dict:
            return
        if self.changes is not None:
            vr = _vr_of(ds, tag)
            try:
                before = ds[tag].value
            except Exception:
                before = b""
            self._note(loc, tag, vr, "removed", rule, before, None)
        del ds._dict[tag]
        self.edits += 1


def _shifted(value: object, shift: Callable[[str], str]) -> object:
    if value is None or value == "":
        return value
    if isinstance(value, (list, MultiValue)):
        return [_shifted(v, shift) for v in value]
    try:
        return shift(str(value))
    except ValueError:
        return ""  # a date that cannot be read cannot be shifted: emptied, never guessed


def _set(ds: Dataset, tag: int, vr: str, value: object) -> None:
    ds._dict[tag] = DataElement(tag, vr, value)


@lru_cache(maxsize=8192)
def _known_public(tag: int) -> bool:
    try:
        pydicom.datadict.dictionary_VR(tag)
    except KeyError:
        return False
    return True


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
    except Exception as exc:
        raise InvalidInstance(f"DICOM header cannot be parsed ({type(exc).__name__})") from None
    ds = parsed.ds
    original_meta = getattr(ds, "file_meta", None)
    _check_instance(ds, original_meta)
    try:
        fast = parsed.pixel is not None
        raw_sequences = {tag: raw for tag, raw in ds._dict.items()
                         if fast and isinstance(raw, RawDataElement) and _vr_of(ds, tag) == "SQ"
                         and raw.length != UNDEFINED and isinstance(raw.value, bytes)}
        identifiers = collect_identifiers(ds)
        if parsed.trailing is not None:
            identifiers += collect_identifiers(parsed.trailing)
        plan = plan_for(patient_key_of(ds))
        pixels_cleaned = is_redacted(ds)
        walker = _Walker(settings, plan, str(ds.get("SOPClassUID", "") or ""), identifiers, record,
                         (parsed.implicit, parsed.little) if fast else None, raw_sequences)
        walker.dataset(ds, (), "")
        if parsed.trailing is not None:
            walker.dataset(parsed.trailing, (), "")
        _record_method(ds, settings.profile, fast=parsed.pixel is not None and not pixels_cleaned,
                       encoding=(parsed.implicit, parsed.little))
        if pixels_cleaned:  # redacted by Veil: PS3.15 E.3.1, Clean Pixel Data Option
            record_clean_pixel_data(ds)
        if settings.extra is not None:
            for elem in settings.extra:
                ds[elem.tag] = copy.deepcopy(elem)
        meta = _file_meta(ds, parsed.transfer_syntax)
        out = DicomBytesIO()
        out.write(b"\x00" * 128 + b"DICM")
        out.write(_file_meta_bytes(meta))
        if parsed.pixel is None and parsed.trailing is None and parsed.transfer_syntax == DEFLATED:
            body = _deflated(ds)
            pixel_range = (out.tell(), out.tell())
            out.write(body)
        else:
            out.is_implicit_VR, out.is_little_endian = parsed.implicit, parsed.little
            if parsed.pixel is None:  # everything was decoded: pydicom writes it all
                write_dataset(out, _without_meta(ds), _charset(ds))
            else:
                _write_elements(out, _without_meta(ds), parsed.implicit, parsed.little, _charset(ds))
            start = out.tell()
            if parsed.pixel is not None:
                out.write(parsed.pixel)
            pixel_range = (start, out.tell())
            if parsed.trailing is not None:
                write_dataset(out, parsed.trailing, _charset(ds))
    except InvalidInstance:
        raise
    except VeilError:
        raise
    except Exception as exc:
        raise InvalidInstance(f"cannot be de-identified ({type(exc).__name__} while rewriting the header)") from None
    result = DeidResult(out.getvalue(), str(ds.get("SOPInstanceUID", "") or ""),
                        str(ds.get("StudyInstanceUID", "") or ""), str(ds.get("SeriesInstanceUID", "") or ""),
                        plan.pseudonym)
    if record:
        result.changes = _meta_changes(original_meta, meta) + (walker.changes or [])
    if check:
        charset = _charset(ds)
        encapsulated = parsed.pixel is None or _undefined_length(parsed.pixel, parsed.implicit, parsed.little)
        result.leaks = find_leaks_in_bytes(result.data, reportable(identifiers, settings.profile.options),
                                           charset, pixel_range, scan_pixels=encapsulated)
    return result

