"""The planted patient (:data:`PATIENT`), the written forms of her identity, and finding them in text.

Part of :mod:`tests.planting`.
"""


from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_MONO = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")


# =============================================================================================
# The identity
# =============================================================================================
@dataclass(frozen=True)
class Identity:
    """One fictional patient and the people and places around her."""

    family: str = "Quisenberry"
    given: str = "Marguerite"
    middle: str = "Odalys"
    nickname: str = "Daisy"
    occupation: str = "Lawyer"
    patient_id: str = "MRN-4471-0093"
    other_id: str = "QH-88213-7"
    accession: str = "A7Q93815"
    birth: date = date(2002, 5, 24)  # "24-MAY-02"
    study: date = date(2012, 9, 1)  # "01.09.2012"
    prior: date = date(2011, 5, 25)  # "5/25/2011"
    street: str = "1187 Wexcombe Lane"
    town: str = "Tillamook Falls"
    postcode: str = "97141"
    phone: str = "+1 503-555-0199"
    email: str = "m.quisenberry@wexcombe-mail.example"
    referring: str = "Thornquist^Evander^J"
    performing: str = "Oyelaran^Ines"
    operator: str = "Brackwater^Tomas"
    institution: str = "Pemberthy Memorial Hospital"
    department: str = "Pemberthy Radiology"

    # -- how it is written ---------------------------------------------------------------
    @property
    def dicom_name(self) -> str:
        return f"{self.family}^{self.given}^{self.middle}"

    @property
    def id_digits(self) -> str:
        return "".join(c for c in self.patient_id if c.isdigit())  # 44710093

    @property
    def address(self) -> str:
        return f"{self.street}^^{self.town}^OR^{self.postcode}^USA"

    @property
    def dates(self) -> tuple[date, ...]:
        return (self.birth, self.study, self.prior)

    @property
    def id_groups(self) -> list[str]:
        return re.findall(r"\d+", self.patient_id)  # ["4471", "0093"]

    @property
    def id_spaced(self) -> str:
        return " ".join(self.id_groups)  # 4471 0093

    @property
    def id_dashed(self) -> str:
        return "-".join(self.id_groups)  # 4471-0093

    @property
    def phone_groups(self) -> list[str]:
        return re.findall(r"\d+", self.phone)[-3:]  # ["503", "555", "0199"]

    def phone_as(self, style: str) -> str:
        area, exchange, line = self.phone_groups
        return {"dashed": f"{area}-{exchange}-{line}", "paren": f"({area}) {exchange}-{line}",
                "spaced": f"{area} {exchange} {line}", "short": f"{exchange}{line}"}[style]

    @property
    def doctor(self) -> str:
        return self.referring.split("^")[0]  # Thornquist

    @property
    def doctor_pn(self) -> str:
        return "^".join(self.referring.split("^")[:2])  # Thornquist^Evander

    @property
    def doctor_coded(self) -> str:
        family, given = self.referring.split("^")[:2]
        return f"{family}, {given}"

    @property
    def site(self) -> str:
        return self.institution.split()[0]  # Pemberthy

    @property
    def dob(self) -> str:
        return da(self.birth)

    @property
    def study_da(self) -> str:
        return da(self.study)

    @property
    def prior_da(self) -> str:
        return da(self.prior)

    def banner_lines(self) -> tuple[str, ...]:
        """What a console burns into an image: the name in several orders and cases, the ID with
        and without separators, and the dates in the formats scanners and reports use."""
        return (
            f"{self.family.upper()} {self.given.upper()}   {self.patient_id}",
            f"{self.given.lower()} {self.family.lower()}   DOB {written(self.birth, 'dd-MON-yy')}",
            f"{self.family}, {self.given[0]}.   ID {self.id_digits}   {self.id_spaced}",
            f"Exam {written(self.study, 'dots')}   Prior {written(self.prior, 'm/d/yyyy')}",
            f"{written(self.study, 'iso')}   {written(self.study, 'dd Mon yyyy')}   "
            f"{written(self.study, 'Mon d, yyyy')}   {self.study_da}",
            f"{self.institution}   Acc {self.accession}",
        )

    # -- how it is found -----------------------------------------------------------------
    @cached_property
    def forms(self) -> tuple[Form, ...]:
        """Every pattern that means this identity, each with a label for the reports."""
        out: list[Form] = []
        words = {
            "name": (self.family, self.given, self.middle),
            "nickname": (self.nickname,),
            "occupation": (self.occupation,),
            "physician": tuple(part for pn in (self.referring, self.performing, self.operator)
                               for part in pn.split("^")[:2]),
            "institution": (self.site,),
            "address": (self.street.split()[1], self.town.split()[0], self.postcode),
        }
        for kind, items in words.items():
            for word in items:
                if kind in ("name", "physician", "institution", "address") and word.isalpha() and len(word) >= 6:
                    # Rare, long words: found inside others too ("mquisenberry", "QUISENBERRYM").
                    out.append(Form(kind, word, re.compile(re.escape(word), re.IGNORECASE)))
                else:
                    out.append(Form(kind, word, _word(re.escape(word))))
        sep = r"[\W_]{0,3}"
        out += [
            # IDs and numbers with any separators, or none, between their groups.
            Form("id", self.patient_id, _word(sep.join(map(re.escape, _runs(self.patient_id)))), self.id_groups[0]),
            Form("id", self.id_spaced, _word(sep.join(self.id_groups)), self.id_groups[0]),
            Form("id", self.other_id, _word(sep.join(map(re.escape, _runs(self.other_id)[:2]))),
                 max(_runs(self.other_id)[:2], key=len).lower()),
            Form("id", "-".join(_runs(self.other_id)[1:]), _word(sep.join(_runs(self.other_id)[1:])),
                 _runs(self.other_id)[1]),
            Form("accession", self.accession, _word(sep.join(map(re.escape, _runs(self.accession)))),
                 max(_runs(self.accession), key=len).lower()),
            Form("phone", self.phone_as("dashed"), _word(sep.join(self.phone_groups)), self.phone_groups[-1]),
            Form("phone", "-".join(self.phone_groups[1:]), _word(sep.join(self.phone_groups[1:])),
                 self.phone_groups[-1]),
        ]
        seen = set()
        for day in self.dates:
            for text, strict in date_forms(day):
                if text.lower() not in seen:
                    seen.add(text.lower())
                    out.append(Form("date", text, _date_word(text, strict)))
        return tuple(out)

    @cached_property
    def ocr_tokens(self) -> tuple[str, ...]:
        """Words OCR may read one letter wrong and still mean the patient."""
        return (self.family, self.given, self.middle, self.doctor, self.site, self.street.split()[1])

    @cached_property
    def ocr_compact(self) -> tuple[str, ...]:
        """Digit/letter runs that mean the patient once spaces and punctuation are dropped."""
        out = {self.id_digits, re.sub(r"[\W_]", "", self.accession).lower(), self.phone_as("short")}
        for day in self.dates:
            for text, _strict in date_forms(day):
                squeezed = re.sub(r"[\W_]", "", text).lower()
                if len(squeezed) >= 7:
                    out.add(squeezed)
        return tuple(sorted(out))


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")


def da(day: date) -> str:
    """DA (PS3.5 6.2): 20120901."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def written(day: date, style: str) -> str:
    """``day`` as a person or a console writes it (a few of :func:`date_forms`)."""
    mon = _MONTHS[day.month - 1]
    return {
        "dots": f"{day.day:02d}.{day.month:02d}.{day.year:04d}",  # 01.09.2012
        "dd-MON-yy": f"{day.day:02d}-{mon}-{day.year % 100:02d}",  # 24-MAY-02
        "m/d/yyyy": f"{day.month}/{day.day}/{day.year:04d}",  # 5/25/2011
        "iso": f"{day.year:04d}-{day.month:02d}-{day.day:02d}",  # 2012-09-01
        "dd Mon yyyy": f"{day.day:02d} {mon.title()} {day.year:04d}",  # 01 Sep 2012
        "Mon d, yyyy": f"{mon.title()} {day.day}, {day.year:04d}",  # Sep 1, 2012
    }[style]


def date_forms(day: date) -> list[tuple[str, bool]]:
    """``day`` as people, consoles and reports write it; each with ``strict`` when the form is
    short enough that it must not touch a dot or digit (a version number, a decimal)."""
    y4, y2 = f"{day.year:04d}", f"{day.year % 100:02d}"
    m2, d2, m1, d1 = f"{day.month:02d}", f"{day.day:02d}", str(day.month), str(day.day)
    mon, month = _MONTHS[day.month - 1], _MONTH_NAMES[day.month - 1]
    long_forms = {
        f"{y4}{m2}{d2}", f"{y4}-{m2}-{d2}", f"{y4}/{m2}/{d2}", f"{y4}.{m2}.{d2}",
        f"{d2}.{m2}.{y4}", f"{d2}/{m2}/{y4}", f"{d2}-{m2}-{y4}", f"{m2}/{d2}/{y4}", f"{m2}-{d2}-{y4}",
        f"{d1}.{m1}.{y4}", f"{d1}/{m1}/{y4}", f"{m1}/{d1}/{y4}", f"{m1}-{d1}-{y4}",
        f"{d2}-{mon}-{y4}", f"{d2} {mon} {y4}", f"{d1} {mon} {y4}", f"{d2}{mon}{y4}",
        f"{mon} {d1}, {y4}", f"{mon} {d2}, {y4}", f"{mon} {d1} {y4}", f"{month} {d1}, {y4}",
        f"{d1} {month} {y4}", f"{d2}-{mon}-{y2}", f"{d2}{mon}{y2}",
    }
    short_forms = {
        f"{d2}.{m2}.{y2}", f"{d2}/{m2}/{y2}", f"{m2}/{d2}/{y2}", f"{m1}/{d1}/{y2}", f"{d1}.{m1}.{y2}",
        f"{d1}/{m1}/{y2}", f"{d2}-{m2}-{y2}",
    }
    return [(f, False) for f in sorted(long_forms)] + [(f, True) for f in sorted(short_forms - long_forms)]


def _runs(text: str) -> list[str]:
    """Letter and digit runs: "QH-88213-7" -> ["QH", "88213", "7"], "A7Q93815" -> ["A", "7", "Q", "93815"]."""
    return re.findall(r"[A-Za-z]+|\d+", text)


def _word(pattern: str) -> re.Pattern[str]:
    return re.compile(r"(?<![0-9A-Za-z])(?:" + pattern + r")(?![0-9A-Za-z])", re.IGNORECASE)


def _date_word(text: str, strict: bool) -> re.Pattern[str]:
    # Separators as written, but any run of spaces; a comma may be left out.
    pattern = ""
    for n, ch in enumerate(text):
        if ch == " ":
            pattern += r"\s*" if n and text[n - 1] == "," else r"\s+"
        elif ch == ",":
            pattern += r",?"
        else:
            pattern += re.escape(ch)
    if strict:
        return re.compile(r"(?<![0-9A-Za-z.])" + pattern + r"(?![0-9A-Za-z]|\.\d)", re.IGNORECASE)
    return _word(pattern)


@dataclass(frozen=True)
class Form:
    kind: str
    text: str
    pattern: re.Pattern[str] = field(compare=False, repr=False)
    #: A literal every match contains (lower case): a cheap test before the pattern.
    needle: str = ""

    def __post_init__(self) -> None:
        if not self.needle:
            object.__setattr__(self, "needle", max(re.findall(r"[0-9A-Za-z]+", self.text), key=len).lower())


#: The one patient the tests plant.
PATIENT = Identity()


# =============================================================================================
# Findings
# =============================================================================================
@dataclass(frozen=True)
class Finding:
    """One place the identity is still found: what (kind and form) and where."""

    part: str  # "element", "bytes", "pixel-bits", "overlay", "icon", "ocr"
    where: str
    what: str

    def __str__(self) -> str:
        return f"[{self.part}] {self.what} @ {self.where}"


def find_forms(text: str, identity: Identity = PATIENT) -> list[Form]:
    """The identity's forms found in ``text``."""
    lowered = text.lower()
    return [f for f in identity.forms if f.needle in lowered and f.pattern.search(text)]


def assert_no_identity(data: bytes, identity: Identity = PATIENT) -> None:
    """What left Veil (a stored file's bytes) holds no form of ``identity``: no name or ID in any
    written form, not the family name in any case, not the ID's digits."""
    text = data.decode("latin-1")
    assert not find_forms(text, identity), find_forms(text, identity)
    assert identity.family.lower() not in text.lower() and identity.patient_id not in text
    assert identity.id_digits not in text


# =============================================================================================
# Planting: the header
# =============================================================================================
