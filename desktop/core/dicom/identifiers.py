"""The identifiers of one original instance, and where they turn up again.

Used three times: the Clean options (PS3.15 E.3.5, E.3.7, E.3.8: "replace with values of similar
meaning known not to contain identifying information") scrub them out of kept text, the leak
check looks for them in the de-identified output (PS3.15 E.1.1), and detection matches them in
text burned into the pixels (PS3.15 E.3.1). An identifier is a word-sized piece of text: each
part of every person name at any depth (patient, physicians, operators) and the whole name in
the orders people write it, IDs, accession and phone numbers with and without their separators,
dates and times of day (to the second) in their written forms (:mod:`desktop.core.dicom.identity_forms`),
addresses, e-mail addresses found in any text, institution and device identity.

An :class:`Identifier` is one form the leak check searches the output's bytes for (the value
as stored and the common written forms); the other forms of the value ride along as its
``variants``: scrubbed from kept text and matched by OCR (:func:`scrub_pattern`,
:func:`texts_of`), not searched byte by byte, since each form searched is one more pass over an
encapsulated Pixel Data of megabytes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import UID_dictionary
from pydicom.valuerep import PersonName

from desktop.core.dicom.header import _codec
from desktop.core.dicom.identity_forms import (
    Form,
    date_forms,
    hour_of,
    name_forms,
    number_forms,
    time_forms,
    time_regex,
)

#: Values that identify nobody: placeholders and the dummies de-identification writes.
PLACEHOLDERS = frozenset({
    "ANONYMIZED", "ANONYMOUS", "ANON", "ANONYMISED", "UNKNOWN", "NONE", "NULL", "NA", "N/A",
    "REMOVED", "DR", "MD", "MR", "MRS", "MS", "MISS", "PHD", "PROF", "JR", "SR", "II", "III",
    "PATIENT", "NAME", "TEST", "YES", "NO", "OTHER",
})
#: Dummy date written for D (PS3.15 E.1-1a); never reported as a leaked date.
DUMMY_DATES = frozenset({"19000101", "00000000", "19700101"})

#: Kinds of identifier and the options (PS3.15 E.3) under any of which the output may keep
#: them. Times of day stay under both date options: Retain Modified Dates shifts whole days
#: (E.3.6), so the time of day is kept as it was.
KINDS: dict[str, tuple[str, ...]] = {
    "name": (), "id": (), "accession": (), "address": (), "phone": (), "email": (),
    "date": ("retain_full_dates",), "time": ("retain_full_dates", "retain_modified_dates"),
    "institution": ("retain_institution_identity",), "device": ("retain_device_identity",),
}

_ID_KEYWORDS = {
    "PatientID": "id", "OtherPatientIDs": "id", "MedicalRecordLocator": "id",
    "IssuerOfPatientID": "institution", "AccessionNumber": "accession", "StudyID": "id",
    "PatientAddress": "address", "PatientTelephoneNumbers": "phone", "MilitaryRank": "name",
    "InstitutionName": "institution", "InstitutionAddress": "address",
    "InstitutionalDepartmentName": "institution", "ReferringPhysicianAddress": "address",
    "ReferringPhysicianTelephoneNumbers": "phone", "PersonAddress": "address",
    "PersonTelephoneNumbers": "phone", "ResponsibleOrganization": "institution",
    "DeviceSerialNumber": "device", "StationName": "device", "DetectorID": "device",
    "SourceSerialNumber": "device", "GantryID": "device", "DeviceUID": "device",
    "PlateID": "device", "CassetteID": "device", "GeneratorID": "device",
    "ModifyingSystem": "device", "RequestedProcedureID": "id", "PerformedProcedureStepID": "id",
    "ScheduledProcedureStepID": "id", "AdmissionID": "id", "ServiceEpisodeID": "id",
    "PatientInsurancePlanCodeSequence": "id", "FillerOrderNumberImagingServiceRequest": "id",
    "PlacerOrderNumberImagingServiceRequest": "id", "OrderCallbackPhoneNumber": "phone",
    "PatientTelecomInformation": "phone", "PersonTelecomInformation": "phone",
    "OrderCallbackTelecomInformation": "phone",
}
_ID_TAGS = frozenset(pydicom.datadict.tag_for_keyword(k) for k in [*_ID_KEYWORDS, "Manufacturer"]
                     if pydicom.datadict.tag_for_keyword(k) is not None)
_ADDRESS_WORD_MIN = 4
_COLLECTED_VRS = {"PN", "DA", "DT", "TM", "SQ", "CS"}
#: Text an e-mail address may be written in, wherever it is.
_TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UC", "UT", "UR"})
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_DOTTED_DA = re.compile(r"\d{4}\.\d{2}\.\d{2}")  # ACR-NEMA dates (PS3.5 6.2, DA note)
_DT_TIME = re.compile(r"\d{6}(?:\.\d{1,6})?")
_TELECOM = re.compile(r"[\r\n;]+|(?<=\S)\s+(?=(?:tel|fax|mailto):)", re.IGNORECASE)
_TEL_PREFIX = re.compile(r"^(?:tel|fax|phone|mobile)\s*:\s*", re.IGNORECASE)
_WORDS = re.compile(r"[\\_\s]+")
#: Words in many institutions' names: alone they identify no one.
_GENERIC_INSTITUTION_WORDS = frozenset({
    "HOSPITAL", "HOSPITALS", "MEDICAL", "CENTER", "CENTRE", "CLINIC", "CLINICS", "IMAGING",
    "RADIOLOGY", "UNIVERSITY", "INSTITUTE", "DEPARTMENT", "HEALTH", "HEALTHCARE", "GENERAL",
    "SYSTEMS", "SCHOOL", "COLLEGE", "SAINT", "NATIONAL", "REGIONAL", "CHILDREN", "CHILDRENS",
    "FOUNDATION", "SERVICES", "DIAGNOSTIC", "DIAGNOSTICS", "THE", "AND",
})
_SPLIT = re.compile(r"[\^=\s,;/\\]+")


@dataclass(frozen=True)
class Identifier:
    """One identifying token, its kind, and the attribute (keyword) it came from."""

    kind: str
    source: str
    text: str
    #: The whole value (not one word of it).
    is_whole: bool = True
    #: The same value written otherwise ("24-MAY-02", "4471 0093", "John Doe"): scrubbed from
    #: text and matched by OCR with ``text``; the leak check's byte search looks for ``text``.
    variants: tuple[str, ...] = ()


def _strings(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, MultiValue)):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, PersonName):
        return [str(value)]
    if isinstance(value, bytes):
        return [value.decode("latin_1", "replace")]
    return [str(value)]


Token = tuple[str, bool, tuple[str, ...]]  # (text, is_whole, variants)


def _split(forms: tuple[Form, ...]) -> list[Token]:
    """Searched forms as tokens, the others as the first one's variants."""
    mains = [f.text for f in forms if f.searched and not _short(f.text)]
    variants = tuple(f.text for f in forms if not f.searched and not _short(f.text))
    if not mains:
        return []
    return [(mains[0], True, variants)] + [(t, True, ()) for t in mains[1:]]


def _dated(value: str) -> list[Token]:
    """A DA value (YYYYMMDD, or ACR-NEMA YYYY.MM.DD) in every written form; a DT value as stored."""
    if len(value) >= 14 and value[:14].isdigit():  # a DT to the second at least: unique as it is
        return [] if value[:8] in DUMMY_DATES else [(value, True, ())]
    day = value.replace(".", "") if _DOTTED_DA.fullmatch(value) else value
    if day in DUMMY_DATES:
        return []
    forms = date_forms(day)
    return _split(forms + (Form(value, True),) if forms and value != day else forms)


def _short(token: str) -> bool:
    return len(token) < 2 or (token.isdigit() and len(token) < 3)


@lru_cache(maxsize=8192)
def _forms(kind: str, text: str) -> tuple[Token, ...]:
    """The tokens of one value (the same value recurs in every instance of a series)."""
    if kind == "date":
        return tuple(_dated(text))
    if kind == "time":
        return tuple(_split(time_forms(text)))
    if kind == "phone" and _TELECOM.search(text):  # Telecom Information: one entry a line
        return tuple(t for entry in _TELECOM.split(text) if entry.strip() and "@" not in entry
                     for t in _forms(kind, _TEL_PREFIX.sub("", entry.strip())))
    tokens = _tokens(kind, text)
    if not tokens:
        return ()
    extra: tuple[Form, ...] = ()
    if kind in ("id", "accession", "phone"):
        extra = number_forms(tokens[0], kind == "phone")
    elif kind == "name":
        extra = name_forms(tokens[0])
    variants = tuple(f.text for f in extra if not f.searched and not _short(f.text))
    return ((tokens[0], True, variants), *((t, False, ()) for t in tokens[1:]),
            *((f.text, True, ()) for f in extra if f.searched and not _short(f.text)))


def _tokens(kind: str, text: str) -> list[str]:
    text = text.strip(" \x00")
    if not text or text.upper() in PLACEHOLDERS:
        return []
    out = [text]
    if kind in ("name", "address", "institution"):
        minimum = 3 if kind == "name" else _ADDRESS_WORD_MIN
        for part in _SPLIT.split(text):
            part = part.strip(".")
            # Two characters of a CJK name (山田) say as much as a Latin surname.
            wide = kind == "name" and len(part) >= 2 and not part.isascii() and part.isalpha()
            if (len(part) >= minimum or wide) and part.upper() not in PLACEHOLDERS and part not in out:
                out.append(part)
                out.extend(f for f in _folded(part) if f not in out)
    return [t for t in out if not _short(t) or (not t.isascii() and len(t) >= 2)]


#: German umlauts as written without them (Müller: Mueller); other accents are dropped (NFKD).
_TRANSLITERATED = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "ss"})


def _folded(part: str) -> list[str]:
    """A name part with accents as keyboards without them write it: "Müllerström" also as
    "Muellerstroem" and "Mullerstrom", "Quisenbérry" as "Quisenberry" (empty when ASCII)."""
    if part.isascii():
        return []
    out = []
    for text in (part.translate(_TRANSLITERATED), part):
        plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        if plain.isascii() and plain != part and plain not in out and len(plain) >= 3:
            out.append(plain)
    return out


@dataclass
class Gathered:
    """Identifiers of one or more originals, with the words that make a match a coincidence."""

    found: dict[tuple[str, str], Identifier]
    vocabulary: set[str]
    vendor: set[str]

    def merge(self, other: Gathered) -> None:
        for key, ident in other.found.items():
            known = self.found.get(key)
            if known is None:
                self.found[key] = ident
            elif ident.variants and ident.variants != known.variants:
                self.found[key] = _with_variants(known, ident.variants)
        self.vocabulary |= other.vocabulary
        self.vendor |= other.vendor

    def identifiers(self) -> list[Identifier]:
        return [i for i in self.found.values() if not _coincidence(i, self.vocabulary, self.vendor)]

    def to_scrub(self) -> list[Identifier]:
        """What cleaning removes from text: every identifier, and the parts of names that are
        also a defined term here. A word a Code String holds is no reason to leave the patient's
        surname in a description (writing it into Body Part Examined must not switch cleaning
        off); the leak check still sets those aside (:meth:`identifiers`)."""
        return [i for i in self.found.values()
                if i.kind == "name" or not _coincidence(i, self.vocabulary, self.vendor)]


def collect_identifiers(ds: Dataset) -> list[Identifier]:
    """Every identifier in ``ds`` (file meta included), at any depth, without duplicates."""
    return gather(ds).identifiers()


def gather(ds: Dataset) -> Gathered:
    """The identifiers of ``ds`` before coincidences are set aside (see :class:`Gathered`)."""
    found: dict[tuple[str, str], Identifier] = {}

    vocabulary: set[str] = set()  # words of Code String values: defined terms, not identity
    vendor: set[str] = set()  # words of the Manufacturer: a vendor is not an institution

    def add(kind: str, source: str, texts: list[str]) -> None:
        for text in texts:
            for token, whole, variants in _forms(kind, text):
                key = (kind, token.upper())
                known = found.get(key)
                if known is None:
                    found[key] = Identifier(kind, source, token, whole, variants)
                elif variants and variants != known.variants:
                    found[key] = _with_variants(known, variants)
            if "@" in text:
                add_emails(source, text)

    def add_emails(source: str, text: str) -> None:
        for address in _EMAIL.findall(text):
            found.setdefault(("email", address.upper()), Identifier("email", source, address))

    codec = _codec(ds)

    def walk(dataset: Dataset) -> None:
        for tag, raw in list(dataset.items()):
            if (tag >> 16) & 1:
                continue  # private values are judged by where they turn up, not collected
            vr = getattr(raw, "VR", None)
            if not vr or vr == "UN":
                try:
                    vr = pydicom.datadict.dictionary_VR(tag)
                except KeyError:
                    continue
            if vr not in _COLLECTED_VRS and tag not in _ID_TAGS:
                if vr in _TEXT_VRS:
                    _emails_of(tag, raw, codec, add_emails)
                continue
            keyword = pydicom.datadict.keyword_for_tag(tag)
            if vr != "SQ" and codec and isinstance(raw, RawDataElement) and isinstance(raw.value, bytes):
                # Fast path: decode the raw bytes directly (simple character sets only).
                values = [v.strip(" \x00") for v in raw.value.decode(codec, "replace").split("\\")]
                elem_vr = vr
            else:
                try:
                    elem = dataset[tag]
                    value = elem.value
                except Exception:  # noqa: BLE001 - a hostile value may raise any kind on conversion
                    continue
                elem_vr = elem.VR
                if elem_vr == "SQ":
                    for item in value or []:
                        walk(item)
                    continue
                values = _strings(value)
            if elem_vr == "CS":
                vocabulary.update(w.upper() for v in values for w in _WORDS.split(v) if w)
                continue
            if keyword == "Manufacturer":
                vendor.update(w.upper() for v in values for w in re.split(r"[\W_]+", v) if w)
                vendor.update(v.strip().upper() for v in values)
                continue
            if elem_vr == "PN":
                add("name", keyword, values)
            elif elem_vr == "DA":
                add("date", keyword, [v for s in values for v in s.replace("-", "\\").split("\\")])
            elif elem_vr == "DT":
                add("date", keyword, [s[:8] for s in values] + values)
                add("time", keyword, [m.group(0) for s in values if (m := _DT_TIME.match(s, 8))])
            elif elem_vr == "TM":
                add("time", keyword, [v for s in values for v in s.split("-")])
            elif keyword in _ID_KEYWORDS:
                add(_ID_KEYWORDS[keyword], keyword, values)

    walk(ds)
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        walk(meta)
    return Gathered(found, vocabulary, vendor)


def _emails_of(tag: int, raw: object, codec: str | None, add: Callable[[str, str], None]) -> None:
    """E-mail addresses in a text element the walk does not otherwise read."""
    value = getattr(raw, "value", None)
    if isinstance(value, bytes):
        if b"@" not in value:
            return
        text = value.decode(codec or "latin_1", "replace")
    elif isinstance(raw, RawDataElement):
        return
    else:
        text = "\\".join(_strings(value))
        if "@" not in text:
            return
    add(pydicom.datadict.keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})", text)


def _coincidence(ident: Identifier, vocabulary: set[str], vendor: set[str]) -> bool:
    """An institution word that is the vendor's, or one many institutions' names share; or a
    name part that is a defined term.

    A part of the patient's name is set aside only when a Code String of the same instance
    holds it and it is a word of the standard's vocabulary (a patient whose name has a part
    "Text" beside Value Type TEXT): Code Strings are cleaned of every other name part
    (:mod:`desktop.core.deid.walker`), so a surname written into Body Part Examined neither stays
    there nor switches the leak check off for it."""
    word = ident.text.upper()
    if ident.kind == "institution":
        return word in vendor or word in _GENERIC_INSTITUTION_WORDS
    return ident.kind == "name" and not ident.is_whole and word in vocabulary and is_dicom_word(word)


@lru_cache(maxsize=1)
def _dicom_words() -> frozenset[str]:
    words: set[str] = set()
    for entry in pydicom.datadict.DicomDictionary.values():
        words.update(w.upper() for w in re.findall(r"[A-Za-z]{3,}", entry[2]))
    for entry in UID_dictionary.values():
        words.update(w.upper() for w in re.findall(r"[A-Za-z]{3,}", entry[0]))
    return frozenset(words)


def is_dicom_word(word: str) -> bool:
    """A word of the standard's own vocabulary (attribute and UID names, PS3.6): a Code String
    holding it is a defined term ("TEXT" for a patient whose name has a part "Text")."""
    return word.upper() in _dicom_words()


def _with_variants(ident: Identifier, variants: tuple[str, ...]) -> Identifier:
    return replace(ident, variants=tuple(dict.fromkeys(ident.variants + variants)))


def reportable(identifiers: list[Identifier], options: frozenset[str] | set[str]) -> list[Identifier]:
    """The identifiers the output must not hold under these options: those of a kind no option
    keeps (:data:`KINDS`)."""
    return [i for i in identifiers if not any(o in options for o in KINDS.get(i.kind, ()))]


def texts_of(identifiers: Iterable[Identifier]) -> set[str]:
    """Every text the identifiers stand for: each one and its variants."""
    return {t for i in identifiers for t in (i.text, *i.variants)}


#: A letter or digit, in either case (the class is exempt from IGNORECASE: cheaper to compile).
_EDGE = r"(?-i:[0-9A-Za-z])"


def scrub_pattern(identifiers: list[Identifier]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for every identifier and its variants as a whole word,
    longest first. Times of day are matched by their hour (:func:`forms.time_regex`: any time to
    the second, with separators, in an hour the identifiers have a time in), so that the
    instances of a series, whose times differ in minutes and seconds, share one pattern:
    compiled once per set of texts and hours."""
    texts: set[str] = set()
    hours: set[int] = set()
    for ident in identifiers:
        hour = hour_of(ident.text) if ident.kind == "time" else None
        if hour is None:
            texts.update((ident.text, *ident.variants))
        else:
            hours.add(hour)
    if not texts and not hours:
        return None
    glued = frozenset(i.text for i in identifiers if is_glued_name(i))
    return _compiled(tuple(sorted(texts, key=lambda t: (-len(t), t))), frozenset(hours), glued)


#: A name part this long is found inside a longer word too ("mquisenberry", "QuisenberryM").
GLUED_NAME_MIN = 6


def is_glued_name(ident: Identifier) -> bool:
    """A part of a person's name long enough to be looked for inside words: a login or an
    e-mail user name built from it ("mquisenberry") still names the patient."""
    return ident.kind == "name" and len(ident.text) >= GLUED_NAME_MIN and ident.text.isalpha()


@lru_cache(maxsize=64)
def _compiled(texts: tuple[str, ...], hours: frozenset[int] = frozenset(),
              glued: frozenset[str] = frozenset()) -> re.Pattern[str]:
    # Whole words: no letter or digit right before or after. The edges are written once around
    # the alternation, not per token: the same matches (an alternative whose edge fails gives
    # way to the next), a fraction of the compile time. Long name parts also match inside words.
    branches = [re.escape(t) for t in texts] + ([time_regex(hours)] if hours else [])
    whole = rf"(?<!{_EDGE})(?:{'|'.join(branches)})(?!{_EDGE})"
    if glued:
        whole += "|" + "|".join(re.escape(t) for t in sorted(glued, key=lambda t: (-len(t), t)))
    return re.compile(whole, re.IGNORECASE)


def keyword_of(tag: int) -> str:
    return pydicom.datadict.keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
