"""The ways one header value is written outside its element: a date as "24-MAY-02", a time as
"14:23:17", an ID without its separators, a name given name first.

Three uses need them: the Clean options remove identity from the text they keep (PS3.15 E.3.5,
E.3.7, E.3.8), the leak check looks for the original's values in the output (PS3.15 E.1.1), and
detection matches text burned into the pixels (PS3.15 E.3.1, Clean Pixel Data). The formats are
data (``resources/deid/identity-formats.json``), read once.

Each :class:`Form` says whether the leak check also searches it in the output's bytes
(``searched``): the value as DICOM stores it (PS3.5 6.2: DA is YYYYMMDD, TM HHMMSS.FFFFFF) and a
few common written forms; the others are only scrubbed from text and matched by OCR, because
every form searched is one more pass over an encapsulated Pixel Data of megabytes. Forms equal
once letter case is ignored are one form (every matcher ignores case).

Times count only with their seconds: HH:MM alone coincides with durations, ratios and readings
that are not the patient's (see the data file). For scrubbing text, :func:`time_regex` matches a
time by its hour (any minute and second of an hour the instance has a time in): the times of
the instances of one series differ in their minutes and seconds, their hours seldom, so one
compiled pattern serves the whole series instead of one per instance.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from desktop.core.common.resources import resource_path

FORMATS_FILE = ("deid", "identity-formats.json")

_TIME = re.compile(r"(\d{2}):?(\d{2}):?(\d{2})(?:\.(\d{1,6}))?")
_RUNS = re.compile(r"[^\W_]+")
_HOUR = re.compile(r"(\d{1,2})[:.]?\d{2}[:.]?\d{2}(?:\.\d{1,6})?")
#: The fields of a time left free in :func:`time_regex`.
_FREE = {"MM": "[0-5][0-9]", "SS": "[0-5][0-9]", "F": "[0-9]{1,6}"}
_DATE_FIELDS = frozenset({"YYYY", "YY", "MM", "M", "DD", "D", "DTH", "MON", "MONTH"})
_TIME_FIELDS = frozenset({"HH", "H", "hh", "h", "MM", "SS", "AMPM", "F"})
_NAME_FIELDS = frozenset({"FAMILY", "GIVEN", "MIDDLE"})
_RUN_FIELDS = frozenset({"A", "B", "C"})


class Form(NamedTuple):
    """One written form of a value; ``searched``: the leak check looks for it in the bytes."""

    text: str
    searched: bool


@dataclass(frozen=True)
class Language:
    """Month abbreviations and names of one language (each month: its spellings), and the
    formats that language writes a date with a month name in."""

    code: str
    abbreviations: tuple[tuple[str, ...], ...]
    names: tuple[tuple[str, ...], ...]
    formats: tuple[str, ...]


@dataclass(frozen=True)
class Formats:
    """The contents of the formats file."""

    date_searched: tuple[str, ...]
    date_written: tuple[str, ...]
    #: Formats with {MON}, rendered with every language's abbreviations.
    abbreviated: tuple[str, ...]
    languages: tuple[Language, ...]
    time_searched: tuple[str, ...]
    time_written: tuple[str, ...]
    names: tuple[str, ...]
    joiners: tuple[str, ...]
    min_tail: int
    phone_min_tail: int
    phone_three_runs: tuple[str, ...]


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _checked(templates: Iterable[str], allowed: frozenset[str], what: str) -> tuple[str, ...]:
    out = tuple(templates)
    for t in out:
        unknown = _fields(t) - allowed if isinstance(t, str) else {"?"}
        if unknown:
            raise ValueError(f"identity formats: {what} format {t!r} has unknown fields {sorted(unknown)}")
    return out


def _spellings(months: list[str | list[str]], code: str, what: str) -> tuple[tuple[str, ...], ...]:
    if len(months) != 12:
        raise ValueError(f"identity formats: language {code!r} needs 12 month {what}")
    return tuple((m,) if isinstance(m, str) else tuple(m) for m in months)


@lru_cache(maxsize=4)
def load_formats(path: Path | None = None) -> Formats:
    """Read the formats file (``resources/deid/identity-formats.json`` unless ``path``)."""
    data = json.loads((path or resource_path(*FORMATS_FILE)).read_text(encoding="utf-8"))
    dates, times, numbers = data["dates"], data["times"], data["numbers"]
    languages = tuple(
        Language(code, _spellings(lang["abbreviations"], code, "abbreviations"),
                 _spellings(lang["names"], code, "names"),
                 _checked(lang.get("formats", []), _DATE_FIELDS, "date"))
        for code, lang in data["languages"].items())
    return Formats(
        date_searched=_checked(dates["searched"], _DATE_FIELDS - {"MON", "MONTH"}, "date"),
        date_written=_checked(dates["written"], _DATE_FIELDS - {"MON", "MONTH"}, "date"),
        abbreviated=_checked(dates["with_month_abbreviations"], _DATE_FIELDS - {"MONTH"}, "date"),
        languages=languages,
        time_searched=_checked(times["searched"], _TIME_FIELDS, "time"),
        time_written=_checked(times["written"], _TIME_FIELDS, "time"),
        names=_checked(data["names"]["written"], _NAME_FIELDS, "name"),
        joiners=tuple(numbers["joiners"]),
        min_tail=int(numbers["min_tail"]),
        phone_min_tail=int(numbers["phone_min_tail"]),
        phone_three_runs=_checked(numbers.get("phone_three_runs", []), _RUN_FIELDS, "phone"),
    )


def _unique(forms: Iterable[Form], besides: str = "") -> tuple[Form, ...]:
    """One form per text ignoring case (searched if any of its kind is), without ``besides``."""
    out: dict[str, Form] = {}
    skip = besides.casefold()
    for form in forms:
        key = form.text.casefold()
        if not form.text or (besides and key == skip):
            continue
        known = out.get(key)
        if known is None:
            out[key] = form
        elif form.searched and not known.searched:
            out[key] = Form(known.text, True)
    return tuple(out.values())


def _ordinal(day: int) -> str:
    """The day as English writes it in "May 24th, 2002": 1st, 2nd, 3rd, 4th... 11th, 21st."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _render(templates: Iterable[str], fields: dict[str, str], searched: bool) -> Iterator[Form]:
    for template in templates:
        if "{F}" in template and not fields.get("F"):
            continue
        yield Form(template.format_map(fields), searched)


@lru_cache(maxsize=4096)
def date_forms(day: str, formats: Formats | None = None) -> tuple[Form, ...]:
    """A DA value (YYYYMMDD, PS3.5 6.2) in every written form, the value itself first; empty
    for a value that is not eight digits. Month names only for a real month and day."""
    f = formats or load_formats()
    if len(day) != 8 or not day.isdigit():
        return ()
    y, m, d = day[:4], day[4:6], day[6:]
    fields = {"YYYY": y, "YY": y[2:], "MM": m, "M": str(int(m)), "DD": d, "D": str(int(d)), "DTH": _ordinal(int(d))}
    forms = [*_render(f.date_searched, fields, True), *_render(f.date_written, fields, False)]
    month = int(m)
    if 1 <= month <= 12 and 1 <= int(d) <= 31:
        for lang in f.languages:
            for abbreviation in lang.abbreviations[month - 1]:
                forms += _render(f.abbreviated, {**fields, "MON": abbreviation}, False)
            for template in lang.formats:
                spellings = lang.names[month - 1] if "{MONTH}" in template else lang.abbreviations[month - 1]
                for spelling in spellings:
                    forms += _render([template], {**fields, "MONTH": spelling, "MON": spelling}, False)
    return _unique(forms)


@lru_cache(maxsize=8192)
def time_forms(value: str, formats: Formats | None = None) -> tuple[Form, ...]:
    """A TM value (HHMMSS.FFFFFF, PS3.5 6.2; the retired HH:MM:SS too) in its written forms;
    empty without seconds, when not a time of day, or at midnight exactly (the dummy time)."""
    f = formats or load_formats()
    match = _TIME.fullmatch(value.strip())
    if match is None:
        return ()
    hh, mm, ss, fraction = match.group(1), match.group(2), match.group(3), match.group(4) or ""
    hour = int(hh)
    if hour > 23 or int(mm) > 59 or int(ss) > 60 or (hh + mm + ss + fraction).strip("0") == "":
        return ()
    twelve = hour % 12 or 12
    fields = {"HH": hh, "H": str(hour), "hh": f"{twelve:02d}", "h": str(twelve), "MM": mm, "SS": ss,
              "AMPM": "AM" if hour < 12 else "PM", "F": fraction}
    return _unique([*_render(f.time_searched, fields, True), *_render(f.time_written, fields, False)])


def hour_of(text: str) -> int | None:
    """The hour of a time written HH:MM:SS or HHMMSS(.F) (a time identifier's text)."""
    match = _HOUR.fullmatch(text)
    return int(match.group(1)) if match and int(match.group(1)) < 24 else None


@lru_cache(maxsize=256)
def time_regex(hours: frozenset[int], formats: Formats | None = None) -> str:
    """Regular expression source for any time to the second in one of ``hours`` (0-23), in each
    format whose fields are apart (a time without separators would match plain numbers)."""
    f = formats or load_formats()
    branches: list[str] = []
    for hour in sorted(hours):
        twelve = hour % 12 or 12
        fixed = {"HH": f"{hour:02d}", "H": str(hour), "hh": f"{twelve:02d}", "h": str(twelve),
                 "AMPM": "AM" if hour < 12 else "PM"}
        for template in (*f.time_searched, *f.time_written):
            if "}{" in template:
                continue
            out = ""
            for literal, name, _, _ in string.Formatter().parse(template):
                out += re.escape(literal)
                if name is not None:
                    out += re.escape(fixed[name]) if name in fixed else _FREE[name]
            branches.append(out)
    # Longest first, as the literal forms: "2:23:17 PM" before "2:23:17".
    return "|".join(sorted(dict.fromkeys(branches), key=len, reverse=True))


@lru_cache(maxsize=4096)
def number_forms(text: str, phone: bool = False, formats: Formats | None = None) -> tuple[Form, ...]:
    """An ID, accession or phone number with its separators removed or normalised ("123-45-678":
    "12345678", "123 45 678"), and without its leading runs while enough is left ("MRN-4471-0093":
    "4471 0093"; "+1 503-555-0199": "(503) 555-0199", "555-0199"). The value itself is not
    repeated; only the whole value without separators is searched by the leak check."""
    f = formats or load_formats()
    runs = _RUNS.findall(text)
    if not runs:
        return ()
    minimum = f.phone_min_tail if phone else f.min_tail
    forms: list[Form] = []
    for k in range(min(len(runs), 4)):
        tail = runs[k:]
        if k and len("".join(tail)) < minimum:
            break
        forms += [Form(joiner.join(tail), k == 0 and joiner == "") for joiner in f.joiners]
        if phone and len(tail) == 3:
            forms += _render(f.phone_three_runs, dict(zip("ABC", tail)), False)
    return _unique(forms, besides=text.strip())


@lru_cache(maxsize=4096)
def name_forms(name: str, formats: Formats | None = None) -> tuple[Form, ...]:
    """A Person Name (family^given^middle^prefix^suffix, each group of "=", PS3.5 6.2.1.1) in
    the orders people write it: "Marguerite Quisenberry", "Quisenberry, Marguerite". None is
    searched by the leak check: the name and each of its parts are already."""
    f = formats or load_formats()
    forms: list[Form] = []
    for group in name.split("="):
        family, given, middle = ([c.strip() for c in group.split("^")] + ["", "", ""])[:3]
        if not family or not given:
            continue
        fields = {"FAMILY": family, "GIVEN": given, "MIDDLE": middle}
        forms += (Form(t.format_map(fields), False) for t in f.names if middle or "{MIDDLE}" not in t)
    return _unique(forms, besides=name.strip())
