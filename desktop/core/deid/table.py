"""PS3.15 Table E.1-1 (DICOM 2024e) as data: which action applies to which attribute.

The table is read at run time from ``resources/deid/ps3.15-annex-e-table-e.1-1.json``; nothing
of it is written in code. Each row names an attribute (or a group pattern such as
``(60XX,3000)``), its Basic Application Level Confidentiality Profile action, and the action of
each option that changes it (PS3.15 E.3). :func:`decide` says which action applies to a tag for
a profile made of the basic profile plus options, and which rule decided it.

Action codes (PS3.15 Table E.1-1a): D dummy, Z zero length, X remove, K keep, C clean,
U replace UID; compound codes (Z/D, X/Z, X/D, X/Z/D, X/Z/U*) are resolved later by the
attribute's Type in the IOD.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from desktop.core.common.errors import VeilError
from desktop.core.common.resources import resource_path

TABLE_FILE = ("deid", "ps3.15-annex-e-table-e.1-1.json")
#: Where each table in ``resources/deid`` comes from: the standard's edition and the file's SHA-256.
SOURCES_FILE = ("deid", "sources.json")
ACTIONS = {"D", "Z", "X", "K", "C", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"}

#: Option name -> (column of the table, title as PS3.15 E.3 and CID 7050 name it).
#: Listed in the order they are applied: a later option overrides an earlier one for the same
#: attribute, so the clean options (safer) win over the retain options.
OPTIONS: dict[str, tuple[str, str]] = {
    "retain_safe_private": ("rtnSafePrivOpt", "Retain Safe Private Option"),
    "retain_uids": ("rtnUIDsOpt", "Retain UIDs Option"),
    "retain_device_identity": ("rtnDevIdOpt", "Retain Device Identity Option"),
    "retain_institution_identity": ("rtnInstIdOpt", "Retain Institution Identity Option"),
    "retain_patient_characteristics": ("rtnPatCharsOpt", "Retain Patient Characteristics Option"),
    "retain_full_dates": ("rtnLongFullDatesOpt", "Retain Longitudinal Temporal Information with Full Dates Option"),
    "retain_modified_dates": ("rtnLongModifDatesOpt",
                              "Retain Longitudinal Temporal Information with Modified Dates Option"),
    "clean_descriptors": ("cleanDescOpt", "Clean Descriptors Option"),
    "clean_structured_content": ("cleanStructContOpt", "Clean Structured Content Option"),
    "clean_graphics": ("cleanGraphOpt", "Clean Graphics Option"),
}
BASIC = "Basic Application Level Confidentiality Profile"


@dataclass(frozen=True)
class TableRow:
    """One row of Table E.1-1."""

    name: str
    tag: str  # as printed, e.g. "(0010,0010)" or "(60XX,3000)"
    value: int  # the tag with wildcard nibbles as 0
    mask: int  # 1-bits where the tag is fixed
    basic: str
    options: dict[str, str] = field(default_factory=dict)  # option name -> action
    in_standard_iod: bool = True

    def matches(self, tag: int) -> bool:
        return (tag & self.mask) == self.value


@dataclass(frozen=True)
class Decision:
    """The action for one attribute and the rule that chose it (shown in the preview)."""

    action: str
    rule: str
    row: TableRow


#: The one row that names its attributes in words: every private attribute (PS3.5 7.8.1).
PRIVATE_ROW_TAG = "(GGGG,EEEE) WHERE GGGG IS ODD"


def _parse_tag(text: str) -> tuple[int, int]:
    if text.strip().upper() == PRIVATE_ROW_TAG:
        return 0x00010000, 0x00010000  # the group's lowest bit set: an odd group
    digits = text.strip().strip("()").replace(",", "").upper()
    if len(digits) != 8:
        raise ValueError(text)
    value = mask = 0
    for ch in digits:
        value <<= 4
        mask <<= 4
        if ch != "X":
            value |= int(ch, 16)
            mask |= 0xF
    return value, mask


class ConfidentialityTable:
    """Table E.1-1 with exact lookup by tag and the few group patterns checked after."""

    def __init__(self, rows: list[TableRow]) -> None:
        self.rows = rows
        self._exact = {r.value: r for r in rows if r.mask == 0xFFFFFFFF}
        # Group patterns first, the catch-all private row last.
        self._patterns = sorted((r for r in rows if r.mask != 0xFFFFFFFF), key=lambda r: r.mask == 0x00010000)

    def row_for(self, tag: int) -> TableRow | None:
        row = self._exact.get(tag)
        if row is not None:
            return row
        return next((r for r in self._patterns if r.matches(tag)), None)


def _row(entry: dict[str, Any]) -> TableRow:
    value, mask = _parse_tag(entry["tag"])
    basic = entry["basicProfile"].strip()
    if basic not in ACTIONS:
        raise ValueError(f"unknown action {basic!r}")
    options = {}
    for option, (column, _title) in OPTIONS.items():
        action = str(entry.get(column, "")).strip()
        if action:
            if action not in ACTIONS:
                raise ValueError(f"unknown action {action!r}")
            options[option] = action
    return TableRow(entry["name"], entry["tag"], value, mask, basic, options,
                    str(entry.get("stdCompIOD", "Y")).upper() == "Y")


@lru_cache(maxsize=2)
def load_table(path: Path | None = None) -> ConfidentialityTable:
    """Read Table E.1-1 from ``resources/`` (or ``path``)."""
    source = path or resource_path(*TABLE_FILE)
    try:
        rows = [_row(entry) for entry in json.loads(Path(source).read_text(encoding="utf-8"))]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VeilError(f"The de-identification table cannot be read ({type(exc).__name__}: {exc}).") from None
    return ConfidentialityTable(rows)


def table_edition() -> str:
    """The DICOM edition Table E.1-1 was taken from (e.g. ``2024e``), as ``resources/deid/sources.json``
    records it for the table's exact bytes; ``unknown`` when the record is missing or names other bytes."""
    try:
        record = json.loads(resource_path(*SOURCES_FILE).read_text(encoding="utf-8"))[TABLE_FILE[-1]]
        digest = hashlib.sha256(resource_path(*TABLE_FILE).read_bytes()).hexdigest()
        edition = str(record["edition"])
        return edition if digest == record["sha256"] else f"unknown (the table is not the {edition} one)"
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown"


def decide(table: ConfidentialityTable, tag: int, options: frozenset[str] | set[str] = frozenset()) -> Decision | None:
    """The action for ``tag`` under the basic profile plus ``options``; None when the table
    does not list it (private and unlisted public attributes are decided elsewhere)."""
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise VeilError(f"Unknown de-identification option(s): {', '.join(sorted(unknown))}.")
    row = table.row_for(tag)
    if row is None:
        return None
    decision = Decision(row.basic, BASIC, row)
    for option, (_column, title) in OPTIONS.items():
        if option in options and option in row.options:
            decision = Decision(row.options[option], title, row)
    return decision
