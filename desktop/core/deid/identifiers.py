"""The identifiers of one original instance, and where they turn up again.

Used twice: the Clean options (PS3.15 E.3.5, E.3.7, E.3.8: "replace with values of similar
meaning known not to contain identifying information") scrub them out of kept text, and the leak
check looks for every one of them in the de-identified output. An identifier is a word-sized
piece of text: each part of every person name at any depth, IDs, accession numbers, dates,
addresses, phone numbers, institution and device identity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from desktop.core.library.header import _codec

#: Values that identify nobody: placeholders and the dummies de-identification writes.
PLACEHOLDERS = frozenset({
    "ANONYMIZED", "ANONYMOUS", "ANON", "ANONYMISED", "UNKNOWN", "NONE", "NULL", "NA", "N/A",
    "REMOVED", "DR", "MD", "MR", "MRS", "MS", "MISS", "PHD", "PROF", "JR", "SR", "II", "III",
    "PATIENT", "NAME", "TEST", "YES", "NO", "OTHER",
})
#: Dummy date written for D (PS3.15 E.1-1a); never reported as a leaked date.
DUMMY_DATES = frozenset({"19000101", "00000000", "19700101"})

#: Kinds of identifier and the option (PS3.15 E.3) under which the output may keep them.
KINDS = {
    "name": None, "id": None, "accession": None, "address": None, "phone": None,
    "date": "retain_full_dates", "institution": "retain_institution_identity",
    "device": "retain_device_identity",
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
}
_ID_TAGS = frozenset(pydicom.datadict.tag_for_keyword(k) for k in [*_ID_KEYWORDS, "Manufacturer"]
                     if pydicom.datadict.tag_for_keyword(k) is not None)
_ADDRESS_WORD_MIN = 4
_COLLECTED_VRS = {"PN", "DA", "DT", "SQ", "CS"}
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


def _date_forms(day: str) -> list[str]:
    """A DA value (YYYYMMDD) as written in free text too (ISO, D/M/Y, M/D/Y, D.M.Y)."""
    if len(day) != 8 or not day.isdigit() or day in DUMMY_DATES:
        return []
    y, m, d = day[:4], day[4:6], day[6:]
    return [day, f"{y}-{m}-{d}", f"{d}/{m}/{y}", f"{m}/{d}/{y}", f"{d}.{m}.{y}"]


def _tokens(kind: str, text: str) -> list[str]:
    text = text.strip(" \x00")
    if not text or text.upper() in PLACEHOLDERS:
        return []
    out = [text]
    if kind in ("name", "address", "institution"):
        minimum = 3 if kind == "name" else _ADDRESS_WORD_MIN
        for part in _SPLIT.split(text):
            part = part.strip(".")
            if len(part) >= minimum and part.upper() not in PLACEHOLDERS and part not in out:
                out.append(part)
    return [t for t in out if len(t) >= 2 and not (t.isdigit() and len(t) < 3)]


@dataclass
class Gathered:
    """Identifiers of one or more originals, with the words that make a match a coincidence."""

    found: dict[tuple[str, str], Identifier]
    vocabulary: set[str]
    vendor: set[str]

    def merge(self, other: Gathered) -> None:
        for key, ident in other.found.items():
            self.found.setdefault(key, ident)
        self.vocabulary |= other.vocabulary
        self.vendor |= other.vendor

    def identifiers(self) -> list[Identifier]:
        return [i for i in self.found.values() if not _coincidence(i, self.vocabulary, self.vendor)]


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
            tokens = _date_forms(text) if kind == "date" else _tokens(kind, text)
            for n, token in enumerate(tokens):
                found.setdefault((kind, token.upper()), Identifier(kind, source, token, kind == "date" or n == 0))

    codec = _codec(ds)

    def walk(dataset: Dataset) -> None:
        for tag, raw in list(dataset._dict.items()):
            if (tag >> 16) & 1:
                continue  # private values are judged by where they turn up, not collected
            vr = getattr(raw, "VR", None)
            if not vr or vr == "UN":
                try:
                    vr = pydicom.datadict.dictionary_VR(tag)
                except KeyError:
                    continue
            if vr not in _COLLECTED_VRS and tag not in _ID_TAGS:
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
                except Exception:
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
                add("date", keyword, [s[:8] for s in values])
            elif keyword in _ID_KEYWORDS:
                add(_ID_KEYWORDS[keyword], keyword, values)

    walk(ds)
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        walk(meta)
    return Gathered(found, vocabulary, vendor)


def _coincidence(ident: Identifier, vocabulary: set[str], vendor: set[str]) -> bool:
    """A part of a name that is also a defined term of the same instance (a patient named
    PERFUSION beside Image Type PERFUSION), or an institution word that is the vendor's."""
    word = ident.text.upper()
    if ident.kind == "institution":
        return word in vendor or word in _GENERIC_INSTITUTION_WORDS
    return ident.kind == "name" and word in vocabulary and not ident.is_whole


def reportable(identifiers: list[Identifier], options: frozenset[str] | set[str]) -> list[Identifier]:
    """The identifiers the output must not hold under these options."""
    return [i for i in identifiers if KINDS.get(i.kind) not in options or KINDS.get(i.kind) is None]


def _pattern(text: str) -> str:
    """Match the token as a whole word: no letter or digit right before or after it."""
    return r"(?<![0-9A-Za-z])" + re.escape(text) + r"(?![0-9A-Za-z])"


def scrub_pattern(identifiers: list[Identifier]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for every identifier, longest first."""
    texts = sorted({i.text for i in identifiers}, key=len, reverse=True)
    if not texts:
        return None
    return re.compile("|".join(_pattern(t) for t in texts), re.IGNORECASE)


def keyword_of(tag: int) -> str:
    return pydicom.datadict.keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
