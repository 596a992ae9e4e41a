"""De-identification profiles: the Basic Profile plus options (PS3.15 E.2, E.3), named presets
read from ``resources/deid/profiles/*.json``, and the CID 7050 codes that record them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from desktop.core.common.errors import VeilError
from desktop.core.common.resources import resource_path
from desktop.core.deid.table import OPTIONS

#: PS3.16 CID 7050 "De-identification Method": code value and meaning, scheme DCM.
BASIC_CODE = ("113100", "Basic Application Confidentiality Profile")
OPTION_CODES: dict[str, tuple[str, str]] = {
    "clean_graphics": ("113103", "Clean Graphics Option"),
    "clean_structured_content": ("113104", "Clean Structured Content Option"),
    "clean_descriptors": ("113105", "Clean Descriptors Option"),
    "retain_full_dates": ("113106", "Retain Longitudinal Temporal Information Full Dates Option"),
    "retain_modified_dates": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    "retain_patient_characteristics": ("113108", "Retain Patient Characteristics Option"),
    "retain_device_identity": ("113109", "Retain Device Identity Option"),
    "retain_uids": ("113110", "Retain UIDs Option"),
    "retain_safe_private": ("113111", "Retain Safe Private Option"),
    "retain_institution_identity": ("113112", "Retain Institution Identity Option"),
}
#: The pixel options are recorded by the redaction step, not by header de-identification.
CLEAN_PIXEL_DATA_CODE = ("113101", "Clean Pixel Data Option")

PROFILE_DIR = ("deid", "profiles")
_PREFIX = re.compile(r"^[A-Z0-9]{1,10}$")


@dataclass(frozen=True)
class Profile:
    """What to do to every header: the basic profile, ``options``, and the pseudonym prefix
    patients get (``TEACH`` gives ``TEACH-0007``)."""

    key: str
    title: str
    options: frozenset[str]
    pseudonym_prefix: str
    description: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.options) - set(OPTIONS)
        if unknown:
            raise VeilError(f"Unknown de-identification option(s): {', '.join(sorted(unknown))}.")
        if {"retain_full_dates", "retain_modified_dates"} <= self.options:
            raise VeilError("Choose full dates or modified dates, not both.")
        if not _PREFIX.match(self.pseudonym_prefix):
            raise VeilError("A pseudonym prefix is 1 to 10 capital letters or digits (for example TEACH).")

    def with_options(self, options: set[str] | frozenset[str], prefix: str | None = None) -> Profile:
        return Profile("custom", "Custom", frozenset(options), prefix or self.pseudonym_prefix,
                       "The Basic Profile with the options chosen.")

    @property
    def codes(self) -> list[tuple[str, str]]:
        """CID 7050 codes for the profile and each option applied, in the standard's order."""
        return [BASIC_CODE] + [code for option, code in sorted(OPTION_CODES.items(), key=lambda i: i[1][0])
                               if option in self.options]

    @property
    def method_text(self) -> list[str]:
        """De-identification Method (0012,0063) values: one LO (64 chars) per item."""
        return ["Veil: PS3.15 Basic Profile"] + [OPTIONS[o][1].removesuffix(" Option")[:64]
                                                 for o in OPTIONS if o in self.options]

    @property
    def temporal_information(self) -> str:
        """Longitudinal Temporal Information Modified (0028,0303), PS3.3 C.7.1.1."""
        if "retain_full_dates" in self.options:
            return "UNMODIFIED"
        if "retain_modified_dates" in self.options:
            return "MODIFIED"
        return "REMOVED"


def _profile(path: Path) -> Profile:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Profile(str(data["key"]), str(data["title"]), frozenset(data.get("options", [])),
                       str(data.get("pseudonym_prefix", "ANON")), str(data.get("description", "")))
    except VeilError as exc:
        raise VeilError(f"The profile {path.name} is invalid: {exc}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VeilError(f"The profile {path.name} cannot be read ({type(exc).__name__}).") from None


@lru_cache(maxsize=2)
def load_presets(folder: Path | None = None) -> dict[str, Profile]:
    """The named presets, by key (``teaching``, ``research``, ``publication``)."""
    where = folder or resource_path(*PROFILE_DIR)
    presets = {p.key: p for p in (_profile(f) for f in sorted(Path(where).glob("*.json")))}
    if not presets:
        raise VeilError("No de-identification profiles are installed.")
    return presets


def preset(key: str) -> Profile:
    presets = load_presets()
    try:
        return presets[key]
    except KeyError:
        raise VeilError(f"No profile named '{key}'. Profiles: {', '.join(sorted(presets))}.") from None
