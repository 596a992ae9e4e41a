"""Attribute Types per IOD (PS3.3), to resolve the compound action codes of PS3.15 E.1-1a.

A compound code (Z/D, X/Z, X/D, X/Z/D, X/Z/U*) picks its action by whether the attribute is
Type 1, 2 or 3 in the IOD of the instance: "X unless Z or D is required to maintain IOD
conformance". The Types come from the standard's module tables as published in machine-readable
form with highdicom (``highdicom/_standard``, generated from the DICOM standard by the
innolitics dicom-standard project). Only the attributes that carry a compound code are kept, so
the index is small enough to hand to worker processes.

A conditional Type (1C, 2C) counts as its unconditional Type: the attribute is present, so its
condition is taken to hold. An attribute of an IOD Veil cannot identify (a private SOP Class)
takes the strongest Type any IOD gives it, so the output stays readable.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from desktop.core.common.atomic_files import atomic_write_bytes
from desktop.core.common.errors import VeilError

#: Strength order: a lower number is the stronger requirement.
_STRENGTH = {"1": 1, "1C": 1, "2": 2, "2C": 2, "3": 3}

SequencePath = tuple[str, ...]


@dataclass(frozen=True)
class AttributeTypes:
    """The Types (1 or 2; anything absent is 3) of the indexed attributes, kept per module and
    shared by the IODs that include it: ``modules[module][(path, keyword)]``,
    ``iod_modules[iod]`` the modules of an IOD, ``iods[sop_class_uid]`` the IOD key."""

    iods: dict[str, str]
    iod_modules: dict[str, tuple[str, ...]]
    modules: dict[str, dict[tuple[SequencePath, str], int]]
    #: The strongest Type any IOD gives each attribute (for a SOP Class Veil cannot identify).
    strongest: dict[tuple[SequencePath, str], int]
    _memo: dict[tuple[str, SequencePath, str], int] = field(default_factory=dict, compare=False, repr=False)

    def type_of(self, sop_class_uid: str, path: SequencePath, keyword: str) -> int:
        """The Type (1, 2 or 3) of ``keyword`` inside the sequences ``path`` for this SOP Class;
        3 when the IOD does not include it."""
        key = (sop_class_uid, path, keyword)
        try:
            return self._memo[key]
        except KeyError:
            pass
        iod = self.iods.get(sop_class_uid)
        modules = self.iod_modules.get(iod) if iod else None
        if modules is None:
            found = self.strongest.get((path, keyword), 3)
        else:
            found = min((self.modules[m].get((path, keyword), 3) for m in modules if m in self.modules), default=3)
        self._memo[key] = found
        return found


def _standard_dir() -> Path:
    """highdicom's data folder, found without importing highdicom (which pulls in much more)."""
    spec = importlib.util.find_spec("highdicom")
    if spec is None or not spec.submodule_search_locations:
        raise VeilError("The standard's module tables are missing: reinstall Veil (highdicom is required).")
    return Path(list(spec.submodule_search_locations)[0]) / "_standard"


def _standard_json(name: str) -> dict[str, Any]:
    """One of highdicom's tables: a JSON object."""
    table: dict[str, Any] = json.loads((_standard_dir() / name).read_bytes())
    return table


def _cache_file(cache_dir: Path, keywords: frozenset[str]) -> Path:
    version = importlib.metadata.version("highdicom")
    digest = hashlib.sha256(("v3\n" + "\n".join(sorted(keywords))).encode()).hexdigest()[:16]
    return cache_dir / f"attribute-types-{version}-{digest}.json"


def load_attribute_types(keywords: frozenset[str], cache_dir: Path | None = None) -> AttributeTypes:
    """The Types of ``keywords`` in every IOD; with ``cache_dir``, the small index is kept there
    so later runs skip reading the standard's 22 MB module table."""
    if cache_dir is None:
        return _index(keywords)
    path = _cache_file(Path(cache_dir), keywords)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        modules = {module: {(tuple(p), k): t for p, k, t in rows} for module, rows in data["modules"].items()}
        return AttributeTypes(data["iods"], {iod: tuple(m) for iod, m in data["iod_modules"].items()}, modules,
                              {(tuple(p), k): t for p, k, t in data["strongest"]})
    except (OSError, ValueError, KeyError, TypeError):
        pass
    types = _index(keywords)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"iods": types.iods, "iod_modules": {iod: list(m) for iod, m in types.iod_modules.items()},
                   "modules": {module: [[list(p), k, t] for (p, k), t in table.items()]
                               for module, table in types.modules.items()},
                   "strongest": [[list(p), k, t] for (p, k), t in types.strongest.items()]}
        atomic_write_bytes(path, json.dumps(payload).encode("utf-8"), mode=0o644)
    except OSError:
        pass  # a cache that cannot be written only costs time
    return types


@lru_cache(maxsize=4)
def _index(keywords: frozenset[str]) -> AttributeTypes:
    """Index the Types of ``keywords`` (at any depth) in every IOD of the standard."""
    modules = _standard_json("module_attribute_map.json")
    per_module: dict[str, dict[tuple[SequencePath, str], int]] = {}
    for module, attributes in modules.items():
        found: dict[tuple[SequencePath, str], int] = {}
        for attribute in attributes:
            if attribute["keyword"] not in keywords:
                continue
            strength = _STRENGTH.get(str(attribute["type"]), 3)
            if strength == 3:
                continue  # absent means 3: only the required ones are kept
            key = (tuple(attribute["path"]), attribute["keyword"])
            found[key] = min(strength, found.get(key, 3))
        if found:
            per_module[module] = found
    iod_modules: dict[str, tuple[str, ...]] = {}
    strongest: dict[tuple[SequencePath, str], int] = {}
    for iod, included in _standard_json("iod_module_map.json").items():
        iod_modules[iod] = tuple(m["key"] for m in included if m["key"] in per_module)
        for module in iod_modules[iod]:
            for key, strength in per_module[module].items():
                strongest[key] = min(strength, strongest.get(key, 3))
    iods = dict(_standard_json("sop_class_iod_map.json"))
    return AttributeTypes(iods, iod_modules, per_module, strongest)


def resolve_compound(action: str, type_: int) -> str:
    """The simple action a compound code (PS3.15 Table E.1-1a) means for an attribute of this
    Type: D where a value is required (Type 1), Z where the attribute must be present (Type 2),
    otherwise X; X/Z/U* keeps a required (Type 1 or 2) sequence with its UIDs replaced."""
    if "/" not in action:
        return action
    choices = action.split("/")
    if type_ == 1:
        for wanted in ("D", "U*", "Z"):
            if wanted in choices:
                return "U" if wanted == "U*" else wanted
    if type_ == 2 and "U*" in choices:
        # Z would satisfy a Type 2 sequence, but would cut a segmentation or an RT object off
        # its source images; its references are kept, every UID in them replaced.
        return "U"
    if type_ <= 2:
        for wanted in ("Z", "D"):
            if wanted in choices:
                return wanted
    return choices[0]
