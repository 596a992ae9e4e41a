"""Values de-identification writes: dummies by VR (PS3.15 E.1-1a "D"), text with identifiers
scrubbed out, dates shifted; and the names attributes are reported by."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import pydicom.datadict
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from desktop.core.dicom.encoding import put_element

DUMMY_TEXT = "ANONYMIZED"
DUMMY_BY_VR: dict[str, object] = {
    "AE": "ANONYMIZED", "AS": "000D", "CS": "ANONYMIZED", "DA": "19000101", "DT": "19000101000000",
    "TM": "000000", "DS": "0", "IS": "0", "LO": DUMMY_TEXT, "LT": DUMMY_TEXT, "SH": DUMMY_TEXT,
    "ST": DUMMY_TEXT, "UC": DUMMY_TEXT, "UT": DUMMY_TEXT, "PN": DUMMY_TEXT, "UR": "",
    "FL": 0.0, "FD": 0.0, "SL": 0, "SS": 0, "UL": 0, "US": 0, "SV": 0, "UV": 0,
}
_MAX_LENGTH = {"SH": 16, "LO": 64, "AE": 16, "CS": 16, "ST": 1024, "PN": 64}


def _scrubbed(value: object, vr: str, pattern: re.Pattern[str]) -> object:
    """``value`` with each identifier replaced by "*" (cut to the VR's length, PS3.5 6.2)."""
    if value is None:
        return value
    if isinstance(value, (list, MultiValue)):
        return [_scrubbed(v, vr, pattern) for v in value]
    text = str(value)
    cleaned = pattern.sub("*", text)
    if cleaned == text:
        return value
    limit = _MAX_LENGTH.get(vr)
    return cleaned[:limit] if limit else cleaned


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
    put_element(ds, DataElement(tag, vr, value))


@lru_cache(maxsize=8192)
def _known_public(tag: int) -> bool:
    try:
        pydicom.datadict.dictionary_VR(tag)
    except KeyError:
        return False
    return True


@lru_cache(maxsize=8192)
def _name_of(tag: int) -> str:
    name = ""
    if pydicom.datadict.keyword_for_tag(tag):
        try:
            name = pydicom.datadict.dictionary_description(tag)
        except KeyError:
            name = ""
    if not name:
        name = "Private attribute" if (tag >> 16) & 1 else "Unknown attribute"
    return name
