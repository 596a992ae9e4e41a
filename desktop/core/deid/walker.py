"""The walk that applies a profile to one dataset and its sequences, at any depth (PS3.15 E.1.1).

Every element gets the action Table E.1-1 gives it under the profile's options, compound codes
resolved by the attribute's Type in the IOD:

- X remove; Z empty (a sequence: no items); D a dummy valid for the VR (a UID: its keyed
  replacement; a sequence: kept, its items de-identified); U keyed UID replacement.
- K keep (a sequence: its items de-identified). Kept text is still cleaned of the patient's
  identifiers (a Station Name kept under Retain Device Identity that holds the patient's
  name loses the name, not the rest).
- C clean (PS3.15 E.3.5: "replace with values of similar meaning known not to contain
  identifying information"): dates shifted by the patient's offset (or kept, or dummied, as
  the date options say); a person's name replaced; an attribute personal by nature emptied
  (:mod:`desktop.core.deid.text_policy`); other text with every identifier of the instance
  removed (name parts in any order and case, IDs with or without separators, dates in any
  written form, accession, institution, addresses, phone numbers, e-mail).
- Text no row governs (code meanings, URLs, text at any depth, SR content items) is removed
  by default, or kept cleaned where the text policy or the IOD's Type keeps it.
- Private attributes (PS3.5 7.8) are removed, unless Retain Safe Private keeps those in
  Table E.3.10-1 (and their Private Creators); kept private text is cleaned too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pydicom.datadict
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag

from desktop.core.deid.attribute_types import resolve_compound
from desktop.core.deid.changes import Change, _show, _tag_text
from desktop.core.deid.leaks import _texts
from desktop.core.deid.mapping import map_uid, shift_date, shift_datetime
from desktop.core.deid.safe_private import normalise_creator
from desktop.core.deid.table import BASIC
from desktop.core.deid.text_policy import FREE_TEXT_VRS
from desktop.core.deid.values import (
    DUMMY_BY_VR,
    DUMMY_TEXT,
    _known_public,
    _name_of,
    _scrubbed,
    _set,
    _shifted,
)
from desktop.core.dicom.encoding import put_element, raw_element
from desktop.core.dicom.identifiers import Identifier, is_dicom_word, reportable, scrub_pattern

if TYPE_CHECKING:
    import re

    from desktop.core.deid.settings import DeidSettings, PatientPlan

_TEXT_VRS = {"LO", "LT", "SH", "ST", "UC", "UT", "AE", "CS", "UR"}
#: Text a kept value is searched for identifiers in (CS is controlled vocabulary: see identifiers).
_SCRUBBED_VRS = FREE_TEXT_VRS
#: Coded entries (PS3.3 8.8): controlled vocabulary, cleaned but never dummied.
CODE_KEYWORDS = frozenset({
    "CodeValue", "CodingSchemeDesignator", "CodingSchemeVersion", "CodeMeaning", "LongCodeValue",
    "URNCodeValue", "ContextIdentifier", "ContextGroupVersion", "MappingResource",
    "MappingResourceName", "ContextGroupExtensionCreatorUID", "ContextUID", "TemplateIdentifier",
    "MeasurementUnitsCodeSequence", "ContinuityOfContent", "RelationshipType", "ValueType",
})
_BINARY_VRS = ("US", "SS", "UL", "SL", "FL", "FD", "SV", "UV", "OB", "OW", "UN", "SQ", "AT", "OF", "OD", "OL", "OV")
ACTION_WORDS = {"X": "removed", "Z": "emptied", "D": "replaced", "U": "replaced", "C": "cleaned", "K": "kept"}
DEFAULT_DENY = "not in Table E.1-1 and may carry free text: removed by default (PS3.15 E.1.1)"
CLEANED = "cleaned of the patient's identifiers"

PATIENT_NAME, PATIENT_ID = 0x00100010, 0x00100020
OVERLAY_DATA_ELEMENT = 0x3000


def _vr_of(ds: Dataset, tag: int) -> str:
    return vr_of_element(ds.get_item(tag, keep_deferred=True), tag)


def vr_of_element(raw: DataElement | RawDataElement | None, tag: int) -> str:
    """The VR of the element at ``tag`` as read; the dictionary's where it was read as UN
    (PS3.5 6.2.2) or without one (implicit VR, PS3.5 7.1.3)."""
    vr = raw.VR if raw is not None else None
    if vr and vr != "UN":
        return vr
    try:
        return pydicom.datadict.dictionary_VR(tag).split(" ")[0]
    except KeyError:
        return vr or "UN"


class Walker:
    """Applies the profile to one dataset and its sequences, recording changes on request."""

    def __init__(self, settings: DeidSettings, plan: PatientPlan, sop_class: str,
                 identifiers: list[Identifier], record: bool,
                 encoding: tuple[bool, bool] | None = None,
                 raw_sequences: dict[int, RawDataElement] | None = None,
                 codec: str | None = None) -> None:
        self.s = settings
        #: (implicit, little) when new text values may be written as raw bytes in that encoding.
        self.encoding = encoding
        #: A single-byte character set raw text can be decoded with ("" for several).
        self.codec = codec
        #: Top-level sequences as first read: written back as bytes when nothing inside changed.
        self.raw_sequences = raw_sequences or {}
        self.edits = 0
        self.options = settings.profile.options
        self.policy = settings.text_policy
        self.plan = plan
        self.sop_class = sop_class
        #: C (clean): every identifier of the instance goes.
        self.scrub = scrub_pattern(identifiers)
        #: K (keep): what an option keeps stays (a kept institution's name), the patient does not.
        self.keep_scrub = scrub_pattern(reportable(identifiers, self.options))
        #: Inside a sequence whose action is D ("dummy") or C ("clean"): what free text gets.
        self.mode: str | None = None
        self.mode_rule = ""
        self.changes: list[Change] | None = [] if record else None
        #: (location-free attribute, action, rule) -> count: the report's summary, always kept.
        self.tally: dict[tuple[str, str, str], int] = {}

    # -- recording ---------------------------------------------------------------------
    def _note(self, loc: str, tag: int, vr: str, action: str, rule: str, before: object, after: object) -> None:
        name = _name_of(tag)
        key = (name, action, rule)
        self.tally[key] = self.tally.get(key, 0) + 1
        if self.changes is None:
            return
        self.changes.append(Change(loc + _tag_text(tag), name, vr, action, rule, _show(before), _show(after)))

    # -- the walk ----------------------------------------------------------------------
    def dataset(self, ds: Dataset, path: tuple[str, ...], loc: str) -> None:
        tags: list[int] = list(ds.keys())
        creators: dict[tuple[int, int], str] = {}
        for tag in tags:
            group, element = tag >> 16, tag & 0xFFFF
            if group & 1 and 0x0010 <= element <= 0x00FF:
                try:
                    raw = ds.get_item(tag, keep_deferred=True)
                    value = raw.value.decode("latin_1") if isinstance(raw.value, bytes) else str(ds[tag].value or "")
                    creators[(group, element)] = normalise_creator(value)
                except Exception:  # noqa: BLE001 - a hostile creator value may raise any kind on conversion
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
            if 0x6000 <= group <= 0x60FF and element == OVERLAY_DATA_ELEMENT and tag not in ds:
                overlay_groups_gone.add(group)
        for (group, block), creator in creators.items():
            tag = (group << 16) | block
            if (group, block) in kept_blocks:
                self._note(loc, tag, "LO", "kept", "Private Creator of a safe private attribute (PS3.15 E.3.10)",
                           creator, creator)
            else:
                self._remove(ds, tag, loc, "Private Creator with no attribute kept (PS3.15 E.1.1)")
        for tag in [t for t in ds.keys() if (t >> 16) in overlay_groups_gone]:
            self._remove(ds, tag, loc, "part of an overlay plane whose Overlay Data is removed (PS3.15 E.1-1)")

    def _private(self, ds: Dataset, tag: int, creators: dict[tuple[int, int], str], path: tuple[str, ...],
                 loc: str) -> bool:
        decision = self.s.decision(tag)
        action = decision.action if decision else "X"
        rule = decision.rule if decision else BASIC
        if action == "C":
            group, element = tag >> 16, tag & 0xFFFF
            creator = creators.get((group, element >> 8), "")
            if creator and (creator, group, element & 0xFF) in self.s.safe_private:
                vr = _vr_of(ds, tag)
                why = f"{rule}: in Table E.3.10-1 (safe private)"
                if vr == "SQ":
                    self._note(loc, tag, vr, "kept", why, ds[tag].value, ds[tag].value)
                    self._items(ds, tag, path, loc)
                elif not self._scrub_private(ds, tag, vr, f"{why}; {CLEANED}", loc):
                    value = ds[tag].value if self.changes is not None else None
                    self._note(loc, tag, vr, "kept", why, value, value)
                return True
            self._remove(ds, tag, loc, f"{rule}: not a safe private attribute (Table E.3.10-1)")
            return False
        self._remove(ds, tag, loc, f"{rule}: private attributes are removed (Table E.1-1, odd groups)")
        return False

    def _scrub_private(self, ds: Dataset, tag: int, vr: str, why: str, loc: str) -> bool:
        """A kept private value with an identifier in it: text cleaned; bytes (UN, OB) have each
        identifier overwritten with asterisks, so the value keeps its length."""
        if self.keep_scrub is None:
            return False
        raw = ds.get_item(tag, keep_deferred=True)
        value = raw.value
        if isinstance(value, (bytes, bytearray)) and (vr in ("UN", "OB") or isinstance(raw, RawDataElement)):
            text = bytes(value).decode("latin_1")
            cleaned = self.keep_scrub.sub(lambda m: "*" * len(m.group(0)), text)
            if cleaned == text:
                return False
            put_element(ds, DataElement(tag, vr if vr in ("UN", "OB") else "UN", cleaned.encode("latin_1")))
            self.edits += 1
            self._note(loc, tag, vr, "cleaned", why, "<bytes>", "<bytes>")
            return True
        if vr in _SCRUBBED_VRS:
            return self._clean_text(ds, tag, vr, why, loc, self.keep_scrub)
        return False

    def _public(self, ds: Dataset, tag: int, path: tuple[str, ...], loc: str) -> None:
        decision = self.s.decision(tag)
        if decision is None:
            self._unruled(ds, tag, path, loc)
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
            if vr in _SCRUBBED_VRS and self._clean_text(ds, tag, vr, f"{rule}; {CLEANED}", loc, self.keep_scrub):
                return
            if vr == "CS" and self._clean_code_string(ds, tag, loc, self.keep_scrub):
                return
            value = ds[tag].value if (self.changes is not None or vr == "SQ") else None
            self._note(loc, tag, vr, "kept", rule, value, value)
            if vr == "SQ":
                self._items(ds, tag, path, loc)
            return
        if vr == "SQ":
            self._sequence(ds, tag, path, loc, action, rule)
            return
        if action == "C":
            self._clean(ds, tag, vr, rule, loc)
            return
        before = ds[tag].value if self.changes is not None else None
        if not path and tag in (PATIENT_NAME, PATIENT_ID) and action in ("Z", "D"):
            self._set_text(ds, tag, vr, self.plan.pseudonym)
            self._note(loc, tag, vr, "replaced", f"{rule}; pseudonym", before, self.plan.pseudonym)
            return
        if action == "Z":
            self._set_text(ds, tag, vr, "")
        elif action == "U" or vr == "UI":
            self._set_uids(ds, tag, vr)
        elif isinstance(dummy := DUMMY_BY_VR.get(vr), str):
            self._set_text(ds, tag, vr, dummy)
        else:
            _set(ds, tag, vr, dummy)
        self.edits += 1
        if self.changes is not None:
            self._note(loc, tag, vr, ACTION_WORDS[action], rule, before, ds[tag].value)
        else:
            self._note(loc, tag, vr, ACTION_WORDS[action], rule, None, None)

    def _sequence(self, ds: Dataset, tag: int, path: tuple[str, ...], loc: str, action: str, rule: str) -> None:
        elem = ds[tag]
        before = elem.value if self.changes is not None else None
        if action == "Z":
            elem.value = Sequence([])
            self.edits += 1
            self._note(loc, tag, "SQ", "emptied", rule, before, elem.value)
            return
        # D, U, C on a sequence: keep its items, each de-identified
        self._note(loc, tag, "SQ", ACTION_WORDS[action], rule, before, before)
        mode = {"D": "dummy", "C": "clean"}.get(action, self.mode)
        saved = self.mode, self.mode_rule
        if mode != self.mode:
            self.mode, self.mode_rule = mode, f"{rule}, on {pydicom.datadict.dictionary_description(tag)}"
        try:
            self._items(ds, tag, path, loc)
        finally:
            self.mode, self.mode_rule = saved

    def _unruled(self, ds: Dataset, tag: int, path: tuple[str, ...], loc: str) -> None:
        """A public attribute no row of Table E.1-1 governs (PS3.15 E.1.1)."""
        if not _known_public(tag):
            self._remove(ds, tag, loc, "unknown public attribute: not known to be safe (PS3.15 E.1.1)")
            return
        vr = _vr_of(ds, tag)
        if vr == "SQ":
            self._note(loc, tag, vr, "kept", "not in Table E.1-1: its items are de-identified", None, None)
            self._items(ds, tag, path, loc)
            return
        if vr == "CS" and self._clean_code_string(ds, tag, loc, self.scrub):
            return
        if vr not in FREE_TEXT_VRS:
            if self.changes is not None:  # routine: left out of the report's summary, so not tallied
                value = ds[tag].value
                self._note(loc, tag, vr, "kept", "not in Table E.1-1: a standard attribute (PS3.15 E.1.1)",
                           value, value)
            return
        keyword = pydicom.datadict.keyword_for_tag(tag)
        coded = keyword in CODE_KEYWORDS
        if self.mode == "dummy" and not coded:
            self._dummy_text(ds, tag, vr, loc)
            return
        if coded or keyword in self.s.text_policy.kept_text:
            why = f"not in Table E.1-1: names equipment, technique or a coded concept; {CLEANED}"
        else:
            type_ = self.s.types.type_of(self.sop_class, path, keyword)
            if type_ > 2:
                self._remove(ds, tag, loc, DEFAULT_DENY)
                return
            why = f"not in Table E.1-1 but required by the IOD (Type {type_}, PS3.3); {CLEANED}"
        if vr == "PN":
            self._replace_name(ds, tag, loc, why.replace(CLEANED, "a person's name is replaced"))
            return
        if not self._clean_text(ds, tag, vr, why, loc, self.scrub):
            value = ds[tag].value if self.changes is not None else None
            self._note(loc, tag, vr, "kept", why.replace(CLEANED, "no identifier in it"), value, value)

    def _replace_name(self, ds: Dataset, tag: int, loc: str, why: str) -> None:
        before = ds[tag].value
        after = DUMMY_TEXT if before not in (None, "") else before
        if after is not before:
            self._set_text(ds, tag, "PN", DUMMY_TEXT)
            self.edits += 1
        self._note(loc, tag, "PN", "replaced", why, before, after)

    def _dummy_text(self, ds: Dataset, tag: int, vr: str, loc: str) -> None:
        """Free text inside a sequence replaced by D (dummy, PS3.15 E.1-1a)."""
        before = ds[tag].value
        after: object = DUMMY_BY_VR.get(vr, DUMMY_TEXT) if before not in (None, "") else before
        if after is not before:
            _set(ds, tag, vr, after)
            self.edits += 1
        self._note(loc, tag, vr, "replaced", f"{self.mode_rule}: its free text becomes a dummy value", before, after)

    def _set_text(self, ds: Dataset, tag: int, vr: str, text: str) -> None:
        """Set a text value; as raw bytes in the file's encoding when it is plain ASCII."""
        if self.encoding is None or not text.isascii() or vr in _BINARY_VRS:
            _set(ds, tag, vr, text or None)
            return
        value = text.encode("ascii")
        if len(value) % 2:
            value += b"\x00" if vr == "UI" else b" "
        implicit, little = self.encoding
        put_element(ds, RawDataElement(BaseTag(tag), None if implicit else vr, len(value), value, 0,
                                       implicit, little, True))

    def _set_uids(self, ds: Dataset, tag: int, vr: str) -> None:
        raw = raw_element(ds, tag)
        if isinstance(raw, RawDataElement) and isinstance(raw.value, bytes):
            uids = [u.strip(" \x00") for u in raw.value.decode("ascii", "replace").split("\\")]
        else:
            value = ds[tag].value
            uids = [str(v) for v in value] if isinstance(value, (list, MultiValue)) else ([str(value)] if value else [])
        mapped = [map_uid(self.s.uid_key, u) if u else u for u in uids]
        self._set_text(ds, tag, vr, "\\".join(mapped))

    def _items(self, ds: Dataset, tag: int, path: tuple[str, ...], loc: str) -> None:
        keyword = pydicom.datadict.keyword_for_tag(tag) or _tag_text(tag)
        edits = self.edits
        for index, item in enumerate(ds[tag].value or []):
            self.dataset(item, path + (keyword,), f"{loc}{_tag_text(tag)}[{index + 1}] › ")
        if not path and self.edits == edits and tag in self.raw_sequences:
            put_element(ds, self.raw_sequences[tag])  # unchanged: copied as read

    def _clean(self, ds: Dataset, tag: int, vr: str, rule: str, loc: str) -> None:
        """C (PS3.15 E.1-1a, E.3.5): a value of similar meaning that identifies nobody."""
        if self._clean_fast(ds, tag, vr, rule, loc):
            return
        personal = self.policy.is_personal(tag) and vr not in ("DA", "DT", "TM")
        if vr in _TEXT_VRS and not personal:
            if not self._clean_text(ds, tag, vr, f"{rule}: {CLEANED}", loc, self.scrub):
                value = ds[tag].value if self.changes is not None else None
                self._note(loc, tag, vr, "kept", f"{rule}: no identifier in it", value, value)
            return
        elem = ds[tag]
        before = elem.value
        if personal:
            after, word, why = None, "emptied", f"{rule}: personal by nature, no part known to be free of identity"
            if before not in (None, "", b""):
                _set(ds, tag, vr, None)
                self.edits += 1
            self._note(loc, tag, vr, word, why, before, after)
            return
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
        raw = raw_element(ds, tag)
        if (self.changes is not None or self.encoding is None or vr not in ("DA", "DT", "TM")
                or not isinstance(raw, RawDataElement) or not isinstance(raw.value, bytes)):
            return False
        if "retain_full_dates" in self.options:
            self._note(loc, tag, vr, "kept", rule, None, None)
            return True  # kept as it is
        if vr == "TM" and "retain_modified_dates" in self.options:
            self._note(loc, tag, vr, "kept", f"{rule}: whole-day shifts leave times of day as they are", None, None)
            return True
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
        self._note(loc, tag, vr, "shifted", f"{rule}: dates moved by the patient's offset", None, None)
        return True

    def _clean_text(self, ds: Dataset, tag: int, vr: str, why: str, loc: str,
                    pattern: re.Pattern[str] | None) -> bool:
        """Remove every match of ``pattern`` from a text value; False (untouched) when none."""
        if pattern is None:
            return False
        raw = raw_element(ds, tag)
        if self.codec and isinstance(raw, RawDataElement) and isinstance(raw.value, bytes):
            if pattern.search(raw.value.decode(self.codec, "replace")) is None:
                return False  # the common case: nothing decoded, the bytes copied as read
        before = ds[tag].value
        if vr == "PN":
            if not any(pattern.search(t) for t in _texts(before)):
                return False
            self._replace_name(ds, tag, loc, why.replace(CLEANED, "a person's name with an identifier is replaced"))
            return True
        after = _scrubbed(before, vr, pattern)
        if after == before:
            return False
        _set(ds, tag, vr, after)
        self.edits += 1
        self._note(loc, tag, vr, "cleaned", why, before, after)
        return True

    def _clean_code_string(self, ds: Dataset, tag: int, loc: str, pattern: re.Pattern[str] | None) -> bool:
        """A Code String with one of the patient's identifiers in a value: that value becomes a
        dummy (CS allows no "*", PS3.5 6.2), the others stay. False (untouched) when none."""
        if pattern is None:
            return False
        raw = raw_element(ds, tag)
        if self.codec and isinstance(raw, RawDataElement) and isinstance(raw.value, bytes):
            if pattern.search(raw.value.decode(self.codec, "replace")) is None:
                return False
        before = ds[tag].value
        values = [str(v) for v in before] if isinstance(before, MultiValue) else [str(before or "")]
        after = [DUMMY_TEXT if pattern.search(v) and not is_dicom_word(v.strip()) else v for v in values]
        if after == values:
            return False
        _set(ds, tag, "CS", after if len(after) > 1 else after[0])
        self.edits += 1
        self._note(loc, tag, "CS", "cleaned", f"a code string that held the patient's identifier: "
                   f"that value replaced (PS3.15 E.1.1); {CLEANED}", before, after)
        return True

    def _remove(self, ds: Dataset, tag: int, loc: str, rule: str) -> None:
        raw = raw_element(ds, tag)
        if raw is None:
            return
        vr = vr_of_element(raw, tag)
        before: object = None
        if self.changes is not None:
            try:
                before = ds[tag].value
            except Exception:  # noqa: BLE001 - a hostile value may raise any kind on conversion
                before = b""
        self._note(loc, tag, vr, "removed", rule, before, None)
        del ds[tag]
        self.edits += 1
