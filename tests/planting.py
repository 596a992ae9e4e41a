"""Plant one fictional patient's identity everywhere a DICOM file can hold it, and find it again.

Test support, not product code. The acceptance tests of the de-identification (header engine,
``veil deid --redact``) take real files of pydicom's test files and pydicom-data, plant
:data:`PATIENT` in them with :func:`plant_file` (or the finer functions it calls), run the
product, and hand every output to :func:`scan_file`, which reports every place the identity
is still found:

- element text at any depth (File Meta, private attributes, UN values, sequences), in every
  form the identity can take: names in any order and case, the ID with its separators removed,
  the accession, phone, address, e-mail, physicians, institution, personal facts (occupation,
  nickname), and the patient's dates in every written format (two-digit years too);
- the raw bytes of the whole file (Deflated files inflated first), encapsulated frames
  included (JPEG / JPEG 2000 comment segments), native pixel samples excluded (see below);
- decoded pixel data: bits above High Bit that are not the sign extension (retired overlays,
  PS3.5 8.1.2, or anything hidden there), in native and in encapsulated pixel data;
- overlay planes (60xx,3000) and Icon Image Sequence pixels still present anywhere;
- optionally (slow) OCR of the decoded frames with the product's
  :class:`desktop.core.redaction.ocr.TextReader`, matched against the identity's forms.

Planting is deliberately unkind: identity in code meanings at depth 3+, in URLs, in safe-
private-looking private blocks, in file meta, in trailing padding, in UIDs, in overlays,
icons, curves, graphic annotations, SR content, in bits above High Bit of native and
losslessly compressed pixels, in comment segments of JPEG / JPEG-LS / JPEG 2000 codestreams,
and burned into the pixels as a banner with the patient's dates in every usual format.

Nothing in here is the identity of a real person: the name parts are rare on purpose so a match
is never a coincidence.
"""

from __future__ import annotations

import copy
import io
import re
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

import numpy as np
import pydicom
import pydicom.config
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.encaps import encapsulate, generate_frames
from pydicom.pixels import iter_pixels, pack_bits, unpack_bits
from pydicom.pixels.utils import get_nr_frames
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

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
            for text, strict in date_forms(day):
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


# =============================================================================================
# Planting: the header
# =============================================================================================
ORG_ROOT = "1.2.826.0.1.3680043.9.7433"


def _item(**values: object) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def _code(value: str, scheme: str, meaning: str, **more: object) -> Dataset:
    return _item(CodeValue=value, CodingSchemeDesignator=scheme, CodeMeaning=meaning, **more)


def _content_tree(p: Identity) -> Sequence:
    """SR content with the identity at depth 1 to 4: TEXT, PNAME, DATETIME, DATE, CODE items."""
    comment = _code("121106", "DCM", "Comment")
    deepest = Sequence([
        _item(RelationshipType="CONTAINS", ValueType="TEXT", ConceptNameCodeSequence=[copy.deepcopy(comment)],
              TextValue=f"Patient {p.family}, {p.given} ({p.id_digits}) seen {written(p.study, 'dots')}; "
                        f"prior {written(p.prior, 'm/d/yyyy')}"),
        _item(RelationshipType="CONTAINS", ValueType="PNAME",
              ConceptNameCodeSequence=[_code("121008", "DCM", "Person Observer Name")],
              PersonName=p.dicom_name),
        _item(RelationshipType="CONTAINS", ValueType="DATETIME",
              ConceptNameCodeSequence=[_code("111526", "DCM", "DateTime Started")],
              DateTime=f"{p.study_da}142317"),
        _item(RelationshipType="CONTAINS", ValueType="DATE",
              ConceptNameCodeSequence=[_code("121031", "DCM", "Subject Birth Date")], Date=p.dob),
        _item(RelationshipType="CONTAINS", ValueType="CODE",
              ConceptNameCodeSequence=[_code("121071", "DCM", "Finding")],
              ConceptCodeSequence=[_code("F4471", "99PEMB", f"Seen by Dr {p.doctor} for {p.family}")]),
        _item(RelationshipType="CONTAINS", ValueType="TEXT",
              ConceptNameCodeSequence=[_code("Q0093", "99PEMB", f"Note on {p.family.upper()} {p.given.upper()}")],
              TextValue=f"Contact {p.phone_as('paren')}, {p.street}",
              ReferencedDateTime=[f"{p.study_da}142317", p.prior_da]),
    ])
    level3 = _item(RelationshipType="CONTAINS", ValueType="CONTAINER", ContinuityOfContent="SEPARATE",
                   ConceptNameCodeSequence=[_code("121070", "DCM", "Findings")], ContentSequence=deepest)
    level2 = _item(RelationshipType="CONTAINS", ValueType="CONTAINER", ContinuityOfContent="SEPARATE",
                   ConceptNameCodeSequence=[_code("121064", "DCM", "Current Procedure Descriptions")],
                   ContentSequence=[level3])
    level1 = _item(RelationshipType="CONTAINS", ValueType="CONTAINER", ContinuityOfContent="SEPARATE",
                   ConceptNameCodeSequence=[_code("111028", "DCM", "Image Library")], ContentSequence=[level2])
    return Sequence([level1])


def plant_header(ds: Dataset, p: Identity = PATIENT) -> None:
    """The identity in every header place: where it belongs and where it does not."""
    # -- where it belongs --------------------------------------------------------------
    ds.PatientName = p.dicom_name
    ds.PatientID = p.patient_id
    ds.IssuerOfPatientID = p.institution
    ds.OtherPatientIDsSequence = [
        _item(PatientID=p.id_digits, IssuerOfPatientID=p.site.upper(), TypeOfPatientID="TEXT"),
        _item(PatientID=p.id_spaced, IssuerOfPatientID=f"{p.site.upper()} LAB", TypeOfPatientID="TEXT"),
        _item(PatientID=p.other_id, IssuerOfPatientID="QH", TypeOfPatientID="TEXT"),
    ]
    ds.IssuerOfPatientIDQualifiersSequence = [_item(  # not in Table E.1-1
        UniversalEntityID=f"{p.site.lower()}.example", UniversalEntityIDType="DNS", IdentifierTypeCode="MR",
        AssigningFacilitySequence=[_item(LocalNamespaceEntityID=p.institution)])]
    ds.add_new(0x00101000, "LO", [p.id_digits, p.other_id])  # Other Patient IDs (retired)
    ds.OtherPatientNames = [f"{p.given.upper()}^{p.family.upper()}", f"{p.family}^{p.given[0]}",
                            f"{p.family}^{p.nickname}"]
    ds.PatientBirthName = f"{p.family}^{p.given}"
    ds.PatientMotherBirthName = f"{p.family}^{p.middle}"
    ds.PatientBirthDate = p.dob
    ds.PatientBirthTime = "063000"
    ds.PatientAddress = p.address
    ds.PatientTelephoneNumbers = [p.phone, p.phone_as("short")]
    ds.PatientTelecomInformation = f"mailto:{p.email}\r\ntel:{p.phone}"
    ds.CountryOfResidence = "USA"
    ds.RegionOfResidence = p.town
    for keyword, value in (("StudyDate", p.study_da), ("SeriesDate", p.study_da), ("AcquisitionDate", p.prior_da),
                           ("ContentDate", p.study_da), ("InstanceCreationDate", p.study_da),
                           ("PerformedProcedureStepStartDate", p.study_da),
                           ):
        setattr(ds, keyword, value)
    ds.add_new(0x00181012, "DA", written(p.study, "iso").replace("-", "."))  # Date of Secondary Capture, ACR-NEMA style
    ds.DateOfLastCalibration = [p.prior_da, p.study_da]  # multi-valued DA
    ds.TimeOfLastCalibration = ["081500", "142317"]
    ds.AcquisitionDateTime = f"{p.study_da}142317.250000+0100"
    ds.StudyTime = "142317"
    ds.AccessionNumber = p.accession
    ds.StudyID = p.id_digits
    ds.ReferringPhysicianName = p.referring
    ds.ReferringPhysicianAddress = f"22 {p.doctor} Row^^{p.town}^OR^{p.postcode}"
    ds.ReferringPhysicianTelephoneNumbers = p.phone_as("dashed")
    ds.ReferringPhysicianIdentificationSequence = [_item(
        PersonIdentificationCodeSequence=[_code("ET01", "99PEMB", p.doctor_coded)],
        PersonAddress=f"22 {p.doctor} Row, {p.town}", PersonTelephoneNumbers=p.phone_as("spaced"),
        InstitutionName=p.institution)]
    ds.PerformingPhysicianName = [p.performing, p.doctor_pn]
    ds.OperatorsName = p.operator
    ds.NameOfPhysiciansReadingStudy = p.performing
    ds.PhysiciansOfRecord = p.doctor_pn
    ds.RequestingPhysician = p.doctor_pn
    ds.InstitutionName = p.institution
    ds.InstitutionAddress = f"{p.street}, {p.town}"
    ds.InstitutionalDepartmentName = p.department
    # UIDs made the way some sites make them: the MRN and the study date inside.
    ds.StudyInstanceUID = f"{ORG_ROOT}.{p.id_digits}.{p.study_da}.1"
    ds.SeriesInstanceUID = f"{ORG_ROOT}.{p.id_digits}.{p.study_da}.2"

    # -- where it does not belong: free text a clean must not keep ------------------------
    ds.Occupation = p.occupation
    ds.PatientComments = (f"Prefers to be called {p.nickname}. {p.occupation}. Lives alone at "
                          f"{p.street}, {p.town}.")
    ds.AdditionalPatientHistory = (f"Mother {p.middle} {p.family}; previous exam {written(p.prior, 'm/d/yyyy')}; "
                                   f"MRN {p.id_dashed}; Dr {p.doctor}")
    ds.MedicalAlerts = f"Pacemaker - call {p.doctor}"
    ds.Allergies = f"Penicillin (per {p.given})"
    ds.StudyDescription = f"XR CHEST AP PORTABLE for {p.family}"
    ds.SeriesDescription = f"CT HEAD {p.given.lower()} {p.family.lower()} {written(p.study, 'dots')}"
    ds.ImageComments = (f"{p.family.upper()} {p.given.upper()}, DOB {written(p.birth, 'dd-MON-yy')}, {p.id_digits}, "
                        f"seen {written(p.prior, 'm/d/yyyy')} and {written(p.study, 'Mon d, yyyy')} at {p.site}")
    ds.AcquisitionComments = (f"{p.family}, {p.given[0]}. ({p.id_spaced}) {written(p.study, 'dd Mon yyyy')}; "
                              f"call {p.phone_as('dashed')}")
    ds.ProtocolName = f"HEAD for {p.family.upper()}^{p.given.upper()} {written(p.study, 'iso')}"
    ds.PerformedProcedureStepDescription = f"Follow-up of {p.given} {p.middle} {p.family}"
    ds.ReasonForTheRequestedProcedure = f"Fall at {p.street} on {written(p.prior, 'm/d/yyyy')}"
    ds.add_new(0x00321030, "LO", f"{p.nickname} (nickname) follow-up")  # Reason for Study (retired)
    ds.AdmittingDiagnosesDescription = f"Injury, {p.given[0]}. {p.family}"
    ds.DerivationDescription = f"Reformatted for {p.family} {written(p.birth, 'dots')} (user {p.given[0].lower()}{p.family.lower()})"
    ds.FrameComments = f"Frame of {p.email}"
    ds.ImagingServiceRequestComments = f"Accession {p.accession} for {p.family.upper()}"
    ds.RequestedProcedureComments = f"Ask {p.given} about {written(p.birth, 'dd-MON-yy')}"
    ds.ContentDescription = f"Annotations for {p.given} {p.family}"  # not in Table E.1-1
    ds.WindowCenterWidthExplanation = [f"{p.family} preset", written(p.birth, "dd-MON-yy")]
    ds.ViewName = f"AP ({p.given})"
    # Requested Procedure Description as UN: a public attribute whose VR a writer lost.
    _raw_un(ds, 0x00321060, f"Chest for {p.middle} {p.study_da}".encode("ascii"))
    # Retrieve URL / URI with the patient ID in the query (not in Table E.1-1).
    ds.RetrieveURL = (f"https://pacs.pemberthy.example/wado?requestType=WADO&patientID={p.patient_id}"
                      f"&studyUID={ORG_ROOT}.{p.id_digits}.{p.study_da}.1")
    ds.add_new(0x0040E010, "UR", f"https://pacs.pemberthy.example/studies?PatientID={p.id_digits}")

    # -- code sequences: free text in code meanings, at depth -----------------------------
    ds.ProcedureCodeSequence = [_code("CTHD", "99PEMB", f"Head CT {p.family}")]
    ds.SeriesDescriptionCodeSequence = [_code("SD01", "99PEMB", f"Chest series of {p.given} {p.family}")]
    ds.AnatomicRegionSequence = [_code("T-D3000", "SRT", "Chest", AnatomicRegionModifierSequence=[
        _code("G-A101", "SRT", f"Left ({p.family})")])]
    ds.RequestAttributesSequence = [_item(
        RequestedProcedureID=p.id_dashed, ScheduledProcedureStepID=p.id_digits,
        ReasonForTheRequestedProcedure=f"Fall on {written(p.study, 'dots')} ({p.family})",
        RequestedProcedureDescription=f"XR for {p.given.lower()}",
        RequestedProcedureCodeSequence=[_code("RP01", "99PEMB", f"CT head, {p.family}, {p.given[0]}.")],
        ScheduledProtocolCodeSequence=[_code("P1", "99PEMB", f"Protocol for {p.given.lower()} {p.family.lower()}",
                                             ProtocolContextSequence=[
            _item(ValueType="TEXT", ConceptNameCodeSequence=[_code("121106", "DCM", "Comment")],
                  TextValue=f"Consent from {p.middle} {p.family} {written(p.birth, 'dd-MON-yy')}"),
            _item(ValueType="CODE", ConceptNameCodeSequence=[_code("121071", "DCM", "Finding")],
                  ConceptCodeSequence=[_code("PC01", "99PEMB", f"{p.given} {p.family}")]),
            _item(ValueType="PNAME", ConceptNameCodeSequence=[_code("121008", "DCM", "Person Observer Name")],
                  PersonName=p.dicom_name),
            _item(ValueType="DATETIME", ConceptNameCodeSequence=[_code("111526", "DCM", "DateTime Started")],
                  DateTime=f"{p.study_da}142317"),
        ])])]
    ds.ContributingEquipmentSequence = [_item(
        Manufacturer="VEILTEST", InstitutionName=p.institution, InstitutionAddress=f"{p.street}, {p.town}",
        OperatorsName=p.operator, ContributionDateTime=f"{p.study_da}150000",
        ContributionDescription=f"Reformatted for {p.family} {written(p.study, 'iso')}",
        PurposeOfReferenceCodeSequence=[_code("109103", "DCM", f"Modifying Equipment for {p.patient_id}")])]
    ds.ReferencedImageSequence = [_item(
        ReferencedSOPClassUID=str(ds.get("SOPClassUID", "1.2.840.10008.5.1.4.1.1.7")),
        ReferencedSOPInstanceUID=f"{ORG_ROOT}.{p.id_digits}.{p.prior_da}.7",
        RetrieveURL=f"https://pacs.pemberthy.example/wado?patientID={p.id_digits}",
        PurposeOfReferenceCodeSequence=[_code("121311", "DCM", f"Prior of {p.family.upper()} {written(p.prior, 'm/d/yyyy')}")])]
    ds.AcquisitionContextSequence = [
        _item(ValueType="TEXT", ConceptNameCodeSequence=[_code("121106", "DCM", "Comment")],
              TextValue=f"{p.family}, {p.given}"),
        _item(ValueType="PNAME", ConceptNameCodeSequence=[_code("121008", "DCM", "Person Observer Name")],
              PersonName=p.dicom_name),
        _item(ValueType="DATETIME", ConceptNameCodeSequence=[_code("111526", "DCM", "DateTime Started")],
              DateTime=f"{p.study_da}142317"),
    ]
    content = _content_tree(p)
    if "ContentSequence" in ds and ds.ContentSequence is not None:
        ds.ContentSequence.extend(list(content))
    else:
        ds.ContentSequence = content
    ds.VerifyingObserverSequence = [_item(VerifyingObserverName=p.doctor_pn,
                                          VerifyingOrganization=p.institution, VerificationDateTime=f"{p.study_da}160000",
                                          VerifyingObserverIdentificationCodeSequence=[
                                              _code("ET01", "99PEMB", p.doctor_coded)])]
    ds.GraphicAnnotationSequence = [_item(GraphicLayer="ANNOTATION", TextObjectSequence=[_item(
        UnformattedTextValue=f"{p.family}, {p.given[0]}. {written(p.study, 'dots')}",
        BoundingBoxAnnotationUnits="PIXEL", BoundingBoxTopLeftHandCorner=[1.0, 1.0],
        BoundingBoxBottomRightHandCorner=[60.0, 12.0], BoundingBoxTextHorizontalJustification="LEFT")])]

    # Original Attributes Sequence: the values a correction replaced (PS3.3 C.12.1).
    ds.OriginalAttributesSequence = [_item(
        AttributeModificationDateTime=f"{p.study_da}170000", ModifyingSystem=f"{p.site.upper()} RIS",
        ReasonForTheAttributeModification="CORRECT", SourceOfPreviousValues=p.institution,
        ModifiedAttributesSequence=[_item(PatientName=f"{p.family}^{p.given}", PatientID=p.id_digits,
                                          PatientBirthDate=p.dob)])]
    plant_enhanced(ds, p)
    ds.DocumentTitle = f"Report for {p.given} {p.family}"  # not in Table E.1-1
    if "PixelData" not in ds:  # a document: a PDF with her name in its text
        ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
        ds.EncapsulatedDocument = (b"%PDF-1.4\n1 0 obj<<>>stream\nBT (" + f"{p.family}, {p.given} {p.patient_id} "
                                   f"DOB {written(p.birth, 'dots')}".encode("ascii") + b") Tj ET\nendstream\n%%EOF\n")
    if str(getattr(ds.file_meta, "TransferSyntaxUID", "")) in (ExplicitVRLittleEndian,):
        plant_un_sequence(ds, p)

    # -- private attributes ----------------------------------------------------------------
    plant_private(ds, p)
    # -- data set trailing padding (after Pixel Data) ---------------------------------------
    ds.add_new(0xFFFCFFFC, "OB", f"{p.family.upper()}^{p.given.upper()} {p.patient_id} ".encode("ascii"))


def _raw_un(ds: Dataset, tag: int, value: bytes) -> None:
    """Store ``value`` as written by a writer that lost the VR: UN, bytes as they are."""
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import BaseTag

    if len(value) % 2:
        value += b" "
    ds._dict[BaseTag(tag)] = RawDataElement(BaseTag(tag), "UN", len(value), value, 0, False, True)


def plant_enhanced(ds: Dataset, p: Identity = PATIENT) -> None:
    """Per-frame and shared functional groups (enhanced multi-frame): the study date and the
    name in every frame's Frame Content, a code meaning at depth 3."""
    for item in ds.get("PerFrameFunctionalGroupsSequence") or []:
        for content in item.get("FrameContentSequence") or []:
            content.FrameAcquisitionDateTime = f"{p.study_da}142317"
            content.FrameReferenceDateTime = f"{p.study_da}142317"
            content.FrameComments = f"Frame of {p.family}, {p.given[0]}. {written(p.study, 'dots')}"
    for item in ds.get("SharedFunctionalGroupsSequence") or []:
        item.FrameAnatomySequence = [_item(FrameLaterality="U", AnatomicRegionSequence=[
            _code("T-D3000", "SRT", f"Chest ({p.family.upper()})")])]


def plant_un_sequence(ds: Dataset, p: Identity = PATIENT) -> None:
    """A public sequence a writer stored as UN (implicit VR little endian content, undefined
    lengths): its free text must be judged as the sequence's would be."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    item = _item(CodeValue="CH01", CodingSchemeDesignator="99PEMB", CodeMeaning=f"Chest of {p.family} {written(p.study, 'dots')}")
    buf = DicomBytesIO()
    buf.is_little_endian, buf.is_implicit_VR = True, True
    write_dataset(buf, item)
    body = buf.getvalue()
    value = b"\xfe\xff\x00\xe0" + struct.pack("<I", len(body)) + body
    _raw_un(ds, 0x00400260, value)  # Performed Protocol Code Sequence


def plant_private(ds: Dataset, p: Identity = PATIENT) -> None:
    """Private text (LO/LT/UT/SH/UN/SQ) with and without its Private Creator, and in blocks whose
    creators look like Table E.3.10-1's safe ones (kept by Retain Safe Private)."""
    # A site's own block.
    ds.add_new(0x00090010, "LO", f"{p.site.upper()} RIS 1.0")
    ds.add_new(0x00091001, "LO", f"{p.family}^{p.given}")
    ds.add_new(0x00091002, "LT", f"{p.id_digits} seen {written(p.study, 'dots')}")
    ds.add_new(0x00091003, "UT", f"DOB {written(p.birth, 'dd-MON-yy')}; phone {p.phone_as('paren')}")
    ds.add_new(0x00091004, "SH", p.id_spaced)
    ds.add(DataElement(0x00091005, "UN", f"{p.given.lower()} {p.family.lower()}\x00".encode("ascii")))
    inner = Dataset()
    inner.PatientName = f"{p.family}^{p.given}"
    inner.add_new(0x00090010, "LO", f"{p.site.upper()} RIS 1.0")
    inner.add_new(0x00091001, "LO", p.middle)
    ds.add_new(0x00091006, "SQ", Sequence([inner]))
    # Private attributes with no Private Creator at all.
    ds.add_new(0x00111010, "LO", f"{p.family.upper()} {p.given.upper()}")
    ds.add(DataElement(0x00111011, "UN", f"{p.patient_id} ".encode("ascii")))
    # A Private Creator that is itself the patient's name.
    ds.add_new(0x00130010, "LO", f"{p.family.upper()}^{p.given.upper()}")
    ds.add_new(0x00131001, "SH", "x")
    # Safe private attributes (Table E.3.10-1) holding identity: Retain Safe Private keeps the
    # attribute, so its value must be cleaned (its action is C).
    ds.add_new(0x00990010, "LO", "NQHeader")
    ds.add_new(0x00991005, "LT", f"Return message for {p.family} {p.given} {written(p.study, 'dots')}")  # Return Message
    ds.add_new(0x00991020, "SH", p.family)  # Units
    ds.add_new(0x00990011, "LO", "nqheader ")  # the same creator, another case, a trailing space
    ds.add_new(0x00991105, "LT", f"{p.middle} {p.id_digits}")
    ds.add_new(0x20010010, "LO", "Philips Imaging DD 001")
    ds.add_new(0x2001105A, "ST", f"Annotation {p.family.upper()} {p.given.upper()} {written(p.birth, 'dd-MON-yy')}")  # Graphic Annotation Model
    ds.add_new(0x20011064, "SH", p.given)  # Text Type
    ds.add_new(0x00190010, "LO", "GEMS_ACQU_01")
    ds.add_new(0x0019109E, "LO", f"Pulse seq for {p.family}")  # Internal Pulse Sequence Name
    # Safe private binary and short text of an ultrasound vendor (research keeps them).
    ds.add_new(0x01190010, "LO", "SIEMENS Ultrasound SC2000")
    ds.add_new(0x01191010, "SH", p.family[:16])  # Acoustic Stream Type
    ds.add_new(0x7FD10010, "LO", "SIEMENS Ultrasound SC2000")
    ds.add_new(0x7FD11001, "OB", f"\x00\x01footer:{p.dicom_name}|{p.patient_id}|{p.dob}\x00".encode("latin_1"))
    # A safe creator in a group where nothing is safe.
    ds.add_new(0x00210010, "LO", "GEMS_ACQU_01")
    ds.add_new(0x0021109E, "LO", p.doctor)
    # Private attributes inside a public sequence item.
    for item in ds.get("ProcedureCodeSequence") or []:
        item.add_new(0x00090010, "LO", f"{p.site.upper()} RIS 1.0")
        item.add_new(0x00091001, "LO", f"{p.family}, {p.given}")


def plant_file_meta(ds: Dataset, p: Identity = PATIENT) -> None:
    meta = ds.file_meta
    meta.SourceApplicationEntityTitle = p.family.upper()[:16]
    meta.SendingApplicationEntityTitle = p.id_digits
    meta.ReceivingApplicationEntityTitle = p.site.upper()[:16]
    meta.add_new(0x00020026, "UR", f"https://pacs.pemberthy.example/{p.family.lower()}")  # Source Presentation Address
    meta.ImplementationVersionName = ("Q" + "_".join(p.id_groups))[:16]
    meta.PrivateInformationCreatorUID = f"{ORG_ROOT}.1"
    meta.PrivateInformation = f"patient={p.dicom_name};id={p.patient_id};dob={p.dob} ".encode("ascii")


# =============================================================================================
# Planting: overlays, curves, icons (bitmaps of text)
# =============================================================================================
def text_alpha(lines: Iterable[str], rows: int, columns: int, size: int = 14, top: int = 2,
               left: int = 2, line_height: int | None = None, font: Path = FONT) -> np.ndarray:
    """``lines`` drawn anti-aliased into a (rows, columns) coverage array in [0, 1]."""
    face = ImageFont.truetype(str(font), size) if font.exists() else ImageFont.load_default(size=size)
    layer = Image.new("L", (columns, rows), 0)
    draw = ImageDraw.Draw(layer)
    step = line_height or size + 4
    for n, line in enumerate(lines):
        draw.text((left, top + step * n), line, font=face, fill=255)
    return np.asarray(layer, np.float32) / 255.0


def text_bitmap(lines: Iterable[str], rows: int, columns: int, size: int = 14, top: int = 2,
                left: int = 2, line_height: int | None = None) -> np.ndarray:
    """``lines`` drawn in white on black into a (rows, columns) bool array."""
    return text_alpha(lines, rows, columns, size, top, left, line_height) >= 0.5


def _free_groups(ds: Dataset, base: int, count: int) -> list[int]:
    used = {tag >> 16 for tag in ds._dict}
    free = [g for g in range(base, base + 0x20, 2) if g not in used]
    return free[:count]


def plant_overlays(ds: Dataset, p: Identity = PATIENT) -> None:
    """A graphics overlay whose bitmap is the patient's name and ID, an ROI overlay, and overlay
    descriptions / labels / comments with the identity."""
    rows, columns = int(ds.get("Rows") or 64), int(ds.get("Columns") or 64)
    graphics, roi = _free_groups(ds, 0x6000, 2)
    size = max(8, min(16, columns // 24))
    bitmap = text_bitmap([f"{p.family.upper()} {p.given.upper()}", p.patient_id, written(p.birth, "dd-MON-yy")], rows, columns,
                         size=size)
    for group, kind, bits in ((graphics, "G", bitmap), (roi, "R", bitmap[::-1])):
        g = group << 16
        ds.add_new(g | 0x0010, "US", rows)
        ds.add_new(g | 0x0011, "US", columns)
        ds.add_new(g | 0x0022, "LO", f"Overlay of {p.given} {p.family}")
        ds.add_new(g | 0x0040, "CS", kind)
        ds.add_new(g | 0x0050, "SS", [1, 1])
        ds.add_new(g | 0x0100, "US", 1)
        ds.add_new(g | 0x0102, "US", 0)
        ds.add_new(g | 0x1500, "LO", p.family.upper())
        ds.add_new(g | 0x3000, "OW" if ds.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian else "OB",
                   pack_bits(bits.astype(np.uint8).ravel()))
        ds.add_new(g | 0x4000, "LT", f"Drawn for {p.patient_id} on {written(p.study, 'dots')}")


def plant_pixel_overlay_header(ds: Dataset, bit: int, p: Identity = PATIENT) -> None:
    """A retired overlay in the pixel data (PS3.5 8.1.2): its header only (no Overlay Data);
    the bitmap itself is in bit ``bit`` of the pixels (see :func:`plant_hidden_bits`)."""
    (group,) = _free_groups(ds, 0x6000, 1)
    g = group << 16
    ds.add_new(g | 0x0010, "US", int(ds.Rows))
    ds.add_new(g | 0x0011, "US", int(ds.Columns))
    ds.add_new(g | 0x0022, "LO", f"Burned overlay, {p.family}")
    ds.add_new(g | 0x0040, "CS", "G")
    ds.add_new(g | 0x0050, "SS", [1, 1])
    ds.add_new(g | 0x0100, "US", int(ds.BitsAllocated))
    ds.add_new(g | 0x0102, "US", bit)
    ds.add_new(g | 0x1500, "LO", f"{p.given} {p.family}")


def plant_curve(ds: Dataset, p: Identity = PATIENT) -> None:
    """A retired curve (50xx) whose data is the patient's name and ID as text."""
    data = f"{p.dicom_name} {p.patient_id} {p.study_da} ".encode("ascii")
    if len(data) % 2:
        data += b" "
    ds.add_new(0x50000005, "US", 1)
    ds.add_new(0x50000010, "US", len(data))
    ds.add_new(0x50000020, "CS", "ECG")
    ds.add_new(0x50000022, "LO", f"ECG of {p.family} {p.given}")
    ds.add_new(0x50000103, "US", 0)
    ds.add_new(0x50002500, "LO", p.family.upper())
    ds.add_new(0x50003000, "OB", data)


def icon_item(p: Identity = PATIENT) -> Dataset:
    rows, columns = 32, 160
    bitmap = text_bitmap([f"{p.family.upper()}", p.patient_id], rows, columns, size=12, line_height=14)
    icon = Dataset()
    icon.SamplesPerPixel = 1
    icon.PhotometricInterpretation = "MONOCHROME2"
    icon.Rows, icon.Columns = rows, columns
    icon.BitsAllocated, icon.BitsStored, icon.HighBit, icon.PixelRepresentation = 8, 8, 7, 0
    icon.PixelData = (bitmap.astype(np.uint8) * 255).tobytes()
    icon["PixelData"].VR = "OB"
    return icon


def plant_icons(ds: Dataset, p: Identity = PATIENT) -> None:
    """An Icon Image Sequence at the top and one nested in a kept sequence."""
    ds.IconImageSequence = [icon_item(p)]
    for item in ds.get("ContributingEquipmentSequence") or []:
        item.IconImageSequence = [icon_item(p)]


# =============================================================================================
# Planting: pixels
# =============================================================================================
#: Syntaxes pydicom can encode losslessly: a planted file stays in its own syntax.
LOSSLESS_ENCODABLE = {RLELossless, JPEGLSLossless, JPEG2000Lossless}
_NATIVE = {ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian}
_JPEG_FAMILY = {JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLossless, JPEGLosslessSV1, JPEGLSLossless,
                JPEGLSNearLossless}
_J2K_FAMILY = {JPEG2000, JPEG2000Lossless}


def _syntax(ds: Dataset) -> UID:
    return UID(str(ds.file_meta.TransferSyntaxUID))


def decoded_frames(ds: Dataset) -> np.ndarray:
    """Every frame as stored values (colour as RGB), shape (frames, rows, cols[, 3])."""
    arr = pydicom.pixels.pixel_array(ds)
    frames = get_nr_frames(ds)
    if frames == 1:
        arr = arr[np.newaxis]
    return arr


def _write_pixels(ds: Dataset, arr: np.ndarray, photometric: str | None = None,
                  bits_stored: int | None = None, encode_bits: int | None = None) -> None:
    """Write ``arr`` (frames, rows, cols[, 3]) back: losslessly re-encoded in the file's own
    syntax when pydicom can, else native (Explicit VR Little Endian for a compressed source, the
    source's own syntax for a native one). ``encode_bits``: encode with this Bits Stored (room for
    planted high bits), then write ``bits_stored`` in the header."""
    syntax = _syntax(ds)
    frames = arr.shape[0]
    if photometric:
        ds.PhotometricInterpretation = photometric
    if arr.ndim == 4:
        ds.SamplesPerPixel = 3
        ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = int(arr.shape[1]), int(arr.shape[2])
    if frames > 1 or "NumberOfFrames" in ds:
        ds.NumberOfFrames = frames
    final_bits = bits_stored if bits_stored is not None else int(ds.BitsStored)
    single = arr[0] if frames == 1 else arr
    if syntax in LOSSLESS_ENCODABLE and not (syntax == JPEG2000Lossless and arr.ndim == 4):
        ds.BitsStored = encode_bits or final_bits
        ds.HighBit = ds.BitsStored - 1
        ds.compress(syntax, single, generate_instance_uid=False)
    elif syntax in _NATIVE:
        big = syntax == ExplicitVRBigEndian
        data = single.astype(single.dtype.newbyteorder(">")).tobytes() if big else single.tobytes()
        if len(data) % 2:
            data += b"\x00"
        ds.PixelData = data
        ds["PixelData"].VR = "OW" if int(ds.BitsAllocated) > 8 else "OB"
        ds["PixelData"].is_undefined_length = False
    else:  # no lossless encoder for this syntax (JPEG baseline/extended/process 14, lossy J2K)
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.PixelData = single.tobytes() + (b"\x00" if single.nbytes % 2 else b"")
        ds["PixelData"].VR = "OW" if int(ds.BitsAllocated) > 8 else "OB"
        ds["PixelData"].is_undefined_length = False
        for kw in ("ExtendedOffsetTable", "ExtendedOffsetTableLengths"):
            if kw in ds:
                del ds[kw]
        if syntax in (JPEGBaseline8Bit, JPEGExtended12Bit, JPEG2000, JPEGLSNearLossless):
            ds.LossyImageCompression = "01"
    ds.BitsStored = final_bits
    ds.HighBit = final_bits - 1


def _luma_palette_extremes(ds: Dataset) -> tuple[int, int]:
    """The palette indices that show darkest and brightest."""
    from pydicom.pixels import apply_color_lut

    first = int(ds.RedPaletteColorLookupTableDescriptor[1])
    entries = int(ds.RedPaletteColorLookupTableDescriptor[0]) or 65536
    indices = np.arange(first, first + entries, dtype=np.uint16 if int(ds.BitsAllocated) > 8 else np.uint8)
    rgb = apply_color_lut(indices.astype(np.uint16 if int(ds.BitsAllocated) > 8 else np.uint8), ds).astype(float)
    luma = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    return int(indices[int(np.argmin(luma))]), int(indices[int(np.argmax(luma))])


BANNER_FONT_SIZE = 14
BANNER_LINE = 19


def burn_banner(ds: Dataset, lines: Iterable[str] | None = None, p: Identity = PATIENT,
                min_columns: int = 420, max_frames: int | None = None) -> None:
    """Burn ``lines`` (by default the identity's banner) into every frame, on a plain band at the
    top, the way consoles do: bright anti-aliased text on the darkest value. Images too small to
    hold the banner get a band added above them (the picture below is kept as it was).
    ``max_frames``: keep only the first frames of a long cine (a faster test, the same kind)."""
    lines = tuple(lines or p.banner_lines())
    band = 8 + BANNER_LINE * len(lines)
    frames = decoded_frames(ds)
    if max_frames is not None and frames.shape[0] > max_frames:
        frames = frames[:max_frames]
        for kw in ("FrameTimeVector", "FrameReferenceTimeVector"):  # would no longer match the frames
            if kw in ds:
                del ds[kw]
    photometric = str(ds.PhotometricInterpretation)
    colour = frames.ndim == 4
    if colour and photometric != "RGB":
        photometric = "RGB"  # pydicom decodes YBR to RGB
    count, rows, columns = frames.shape[:3]
    dark = _dark_value(ds, frames)
    if rows < band + 32 or columns < min_columns:
        new_cols = max(columns, min_columns)
        shape = (count, band + rows, new_cols) + frames.shape[3:]
        canvas = np.empty(shape, frames.dtype)
        canvas[...] = dark
        canvas[:, band:, :columns] = frames
        frames = canvas
    else:
        frames = frames.copy()
        frames[:, :band] = dark
    rows, columns = frames.shape[1:3]
    alpha = text_alpha(lines, rows, columns, size=BANNER_FONT_SIZE, top=4, left=6, line_height=BANNER_LINE,
                       font=FONT_MONO)
    bright = _bright_value(ds, frames)
    if photometric == "PALETTE COLOR":  # indices cannot be blended
        frames[:, alpha >= 0.5] = bright
    else:
        a = alpha[np.newaxis, ..., np.newaxis] if colour else alpha[np.newaxis]
        blended = frames.astype(np.float64) * (1 - a) + np.asarray(bright, np.float64) * a
        frames = np.rint(blended).astype(frames.dtype)
    _write_pixels(ds, frames, photometric=photometric)
    ds.BurnedInAnnotation = "NO"  # as many consoles write it: only the pixels tell


def _dark_value(ds: Dataset, frames: np.ndarray) -> object:
    photometric = str(ds.PhotometricInterpretation)
    if photometric == "PALETTE COLOR":
        return _luma_palette_extremes(ds)[0]
    if frames.ndim == 4:
        return np.zeros(3, frames.dtype)
    return frames.max() if photometric == "MONOCHROME1" else frames.min()


def _bright_value(ds: Dataset, frames: np.ndarray) -> object:
    photometric = str(ds.PhotometricInterpretation)
    if photometric == "PALETTE COLOR":
        return _luma_palette_extremes(ds)[1]
    if frames.ndim == 4:
        return np.full(3, np.iinfo(frames.dtype).max >> (8 * frames.dtype.itemsize - int(ds.BitsStored)),
                       frames.dtype)
    return frames.min() if photometric == "MONOCHROME1" else frames.max()


HIDDEN_BIT = 13
HIDDEN_BITS_STORED = 12


def can_hide_bits(ds: Dataset) -> bool:
    """Grey 16-bit pixels, native or in a syntax pydicom re-encodes losslessly."""
    return (int(ds.get("BitsAllocated") or 0) == 16 and int(ds.get("SamplesPerPixel") or 1) == 1
            and str(ds.get("PhotometricInterpretation", "")).startswith("MONOCHROME")
            and (_syntax(ds) in _NATIVE or _syntax(ds) in LOSSLESS_ENCODABLE))


def hidden_bitmap(rows: int, columns: int, p: Identity = PATIENT) -> np.ndarray:
    size = max(6, min(18, columns // 22))
    return text_bitmap([f"{p.family.upper()} {p.given.upper()}", p.patient_id, f"DOB {written(p.birth, 'dd-MON-yy')}"], rows, columns,
                       size=size, line_height=size + 3)


def plant_hidden_bits(ds: Dataset, p: Identity = PATIENT, bit: int = HIDDEN_BIT,
                      bits_stored: int = HIDDEN_BITS_STORED) -> None:
    """A bitmap of the patient's name and ID in bit ``bit`` of every 16-bit sample, Bits Stored
    ``bits_stored`` (values clipped into it), written natively or losslessly re-encoded (the
    codestream keeps all 16 bits). A retired overlay header points at the bit plane."""
    if not can_hide_bits(ds):
        raise ValueError("hidden bits are planted in grey 16-bit native or losslessly encodable images")
    frames = decoded_frames(ds).astype(np.int32)
    signed = int(ds.PixelRepresentation) == 1
    lo, hi = (-(1 << (bits_stored - 1)), (1 << (bits_stored - 1)) - 1) if signed else (0, (1 << bits_stored) - 1)
    # Keep the picture: scale the stored range into the new one when it does not fit.
    fmin, fmax = int(frames.min()), int(frames.max())
    if fmin < lo or fmax > hi:
        span = max(1, fmax - fmin)
        frames = lo + (frames - fmin) * (hi - lo) // span
    count, rows, columns = frames.shape
    mark = hidden_bitmap(rows, columns, p).astype(np.int32) << bit
    words = (frames & 0xFFFF) ^ mark[np.newaxis]  # sign-extension bits flipped, or zero bits set
    dtype = np.int16 if signed else np.uint16
    out = words.astype(np.uint16).view(dtype)
    _write_pixels(ds, out, bits_stored=bits_stored, encode_bits=16)
    if "SmallestImagePixelValue" in ds:
        del ds.SmallestImagePixelValue
    if "LargestImagePixelValue" in ds:
        del ds.LargestImagePixelValue
    plant_pixel_overlay_header(ds, bit, p)


def _jpeg_comment(text: bytes) -> bytes:
    return b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text


def _j2k_comment(text: bytes) -> bytes:
    return b"\xff\x64" + struct.pack(">HH", len(text) + 4, 1) + text


def plant_codestream_comments(ds: Dataset, p: Identity = PATIENT) -> bool:
    """A comment segment with the identity in every frame's codestream (JPEG / JPEG-LS COM
    after SOI, JPEG 2000 COM before the first tile); False for other syntaxes."""
    syntax = _syntax(ds)
    if syntax not in _JPEG_FAMILY and syntax not in _J2K_FAMILY:
        return False
    text = f"Patient {p.dicom_name} ID {p.patient_id} DOB {p.dob}".encode("ascii")
    frames = []
    for frame in generate_frames(ds.PixelData, number_of_frames=get_nr_frames(ds)):
        if syntax in _JPEG_FAMILY:
            if not frame.startswith(b"\xff\xd8"):
                raise ValueError("not a JPEG codestream")
            frame = frame[:2] + _jpeg_comment(text) + frame[2:]
        else:
            start = frame.find(b"\xff\x4f\xff\x51")  # SOC SIZ (a JP2 file: the codestream box)
            sot = frame.find(b"\xff\x90", start)
            if start < 0 or sot < 0:
                raise ValueError("not a JPEG 2000 codestream")
            frame = frame[:sot] + _j2k_comment(text) + frame[sot:]
        frames.append(frame)
    ds.PixelData = encapsulate(frames)
    ds["PixelData"].is_undefined_length = True
    for kw in ("ExtendedOffsetTable", "ExtendedOffsetTableLengths"):
        if kw in ds:
            del ds[kw]
    return True


# =============================================================================================
# A whole planted file
# =============================================================================================
@dataclass
class Planted:
    path: Path
    source: Path
    planted: list[str]  # what was planted, for the reports


def plant_file(source: Path, out_dir: Path, p: Identity = PATIENT, *, header: bool = True,
               overlays: bool = True, icons: bool = True, curves: bool = True, hidden_bits: bool = True,
               comments: bool = True, banner: bool = False, name: str | None = None,
               max_frames: int | None = None) -> Planted:
    """Read ``source``, plant what is asked (what the file can take), write it to ``out_dir``."""
    ds = pydicom.dcmread(source)
    done = []
    has_pixels = "PixelData" in ds
    if banner and has_pixels:
        burn_banner(ds, p=p, max_frames=max_frames)
        done.append("banner")
    if hidden_bits and has_pixels and can_hide_bits(ds):
        plant_hidden_bits(ds, p)
        done.append("hidden-bits")
    if comments and has_pixels and _syntax(ds).is_encapsulated and plant_codestream_comments(ds, p):
        done.append("codestream-comment")
    if header:
        plant_header(ds, p)
        plant_file_meta(ds, p)
        done.append("header")
    if overlays and has_pixels:
        plant_overlays(ds, p)
        done.append("overlays")
    if curves:
        plant_curve(ds, p)
        done.append("curve")
    if icons:
        plant_icons(ds, p)
        done.append("icons")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / (name or f"{source.stem}.planted.dcm")
    if header:
        ds.preamble = f"{p.dicom_name} {p.patient_id} {p.dob}".encode("ascii").ljust(128, b" ")
    ds.save_as(path, enforce_file_format=True)
    return Planted(path, source, done)


# =============================================================================================
# The scanner
# =============================================================================================
_BINARY_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "UN"}
_PIXEL_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009}


def _texts(value: object) -> Iterator[str]:
    if value is None:
        return
    if isinstance(value, (list, tuple, MultiValue)):
        for v in value:
            yield from _texts(v)
    elif isinstance(value, (bytes, bytearray)):
        yield bytes(value[: 1 << 20]).decode("latin_1")
    else:
        yield str(value)


def scan_elements(ds: Dataset, p: Identity = PATIENT) -> list[Finding]:
    """Every element's text (any depth, File Meta, private, UN) holding an identity form.
    Pixel Data and Overlay Data are judged by the pixel checks."""
    findings: list[Finding] = []

    def walk(dataset: Dataset, loc: str) -> None:
        for tag in list(dataset._dict):
            try:
                elem = dataset[tag]
            except Exception as exc:  # noqa: BLE001 - a value pydicom cannot read: look at its bytes
                raw = dataset._dict[tag]
                elem = DataElement(tag, "UN", getattr(raw, "value", b"") or b"")
                findings.append(Finding("element", f"{loc}{_tagtext(tag)}", f"unreadable ({type(exc).__name__})"))
            where = f"{loc}{_tagtext(tag)} {elem.keyword or ('Private' if tag >> 16 & 1 else '')}".rstrip()
            if elem.VR == "SQ":
                for n, item in enumerate(elem.value or []):
                    walk(item, f"{where}[{n + 1}] > ")
                continue
            if tag in _PIXEL_TAGS or (0x6000 <= tag >> 16 <= 0x60FF and tag & 0xFFFF == 0x3000):
                continue
            for text in _texts(elem.value):
                for form in find_forms(text, p):
                    findings.append(Finding("element", where, f"{form.kind} '{form.text}'"))

    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        walk(meta, "FileMeta ")
    walk(ds, "")
    return findings


def _tagtext(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _pixel_region(body: bytes, implicit: bool, little: bool) -> tuple[int, int, bool] | None:
    """(start, end, encapsulated) of the top-level Pixel Data value in ``body`` (a dataset
    without preamble/meta, as encoded)."""
    from pydicom.filereader import read_dataset

    try:
        ds = read_dataset(io.BytesIO(body), implicit, little, defer_size=None)
    except Exception:  # noqa: BLE001
        return None
    raw = ds._dict.get(0x7FE00010)
    if raw is None or getattr(raw, "value_tell", None) is None:
        return None
    value = raw.value if isinstance(raw.value, (bytes, bytearray)) else b""
    return raw.value_tell, raw.value_tell + len(value), raw.length == 0xFFFFFFFF


def scan_bytes(data: bytes, p: Identity = PATIENT) -> list[Finding]:
    """The raw bytes of the whole file (inflated first for Deflated files), case-insensitive.
    Native pixel samples are skipped (the decoded checks judge them); encapsulated frames are
    searched for forms of six characters or more (shorter ones match compressed bytes by chance)."""
    findings: list[Finding] = []
    try:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)
        meta = getattr(ds, "file_meta", None)
        syntax = str(meta.TransferSyntaxUID) if meta is not None and "TransferSyntaxUID" in meta else ""
    except Exception:  # noqa: BLE001
        syntax = ""
    start = 0
    if data[128:132] == b"DICM":
        group_length = struct.unpack("<I", data[140:144])[0] if data[132:136] == b"\x02\x00\x00\x00" else None
        start = 144 + group_length if group_length is not None else 132
    head, body = data[:start], data[start:]
    regions = [("file meta", head)]
    if syntax == DeflatedExplicitVRLittleEndian:
        try:
            body = zlib.decompress(body, -zlib.MAX_WBITS)
        except zlib.error:
            findings.append(Finding("bytes", "deflated body", "cannot be inflated"))
    implicit = syntax == ImplicitVRLittleEndian
    little = syntax != ExplicitVRBigEndian
    region = _pixel_region(body, implicit, little) if syntax else None
    pixels = b""
    encapsulated = False
    if region is not None:
        s, e, encapsulated = region
        regions += [("dataset before Pixel Data", body[:s]), ("after Pixel Data", body[e:])]
        pixels = body[s:e]
    else:
        regions.append(("dataset", body))
    for label, blob in regions:
        text = blob.decode("latin_1")
        for form in find_forms(text, p):
            findings.append(Finding("bytes", label, f"{form.kind} '{form.text}'"))
    if encapsulated and pixels:
        text = pixels.decode("latin_1")
        for form in find_forms(text, p):
            if len(form.text) >= 6:
                findings.append(Finding("bytes", "encapsulated Pixel Data", f"{form.kind} '{form.text}'"))
    return findings


def hidden_bits(ds: Dataset) -> list[tuple[int, int, int]]:
    """(frame, bit, pixels) for every bit above High Bit that is set and is not the sign
    extension, in the decoded (not corrected) samples."""
    if "PixelData" not in ds:
        return []
    bits_allocated = int(ds.get("BitsAllocated") or 0)
    bits_stored = int(ds.get("BitsStored") or bits_allocated)
    high_bit = int(ds.get("HighBit") if ds.get("HighBit") is not None else bits_stored - 1)
    if bits_allocated <= high_bit + 1 or bits_allocated not in (8, 16, 32):
        return []
    signed = int(ds.get("PixelRepresentation") or 0) == 1
    out = []
    options = dict(raw=True, correct_unused_bits=False, apply_jls_sign_correction=False,
                   apply_j2k_sign_correction=False)
    utype = {8: np.uint8, 16: np.uint16, 32: np.uint32}[bits_allocated]
    for index, arr in enumerate(iter_pixels(ds, **options)):
        arr = arr.astype(arr.dtype.newbyteorder("="), copy=False)
        u = np.ascontiguousarray(arr).view(utype) if arr.dtype.itemsize == np.dtype(utype).itemsize \
            else arr.astype(np.int64).astype(utype)
        sign = (u >> high_bit) & 1 if signed else 0
        for bit in range(high_bit + 1, bits_allocated):
            plane = ((u >> bit) & 1) ^ sign
            n = int(np.count_nonzero(plane))
            if n:
                out.append((index, bit, n))
    return out


def bitmap_planes(ds: Dataset, p: Identity = PATIENT) -> list[tuple[int, int]]:
    """(frame, bit) of every bit plane, any bit, that still draws the bitmap
    :func:`plant_hidden_bits` hides (as it is, or against the sign bit): the hidden text moved
    into the stored bits, or Bits Stored widened over it, is still the patient's name."""
    if "PixelData" not in ds or int(ds.get("SamplesPerPixel") or 1) != 1:
        return []
    bits_allocated = int(ds.get("BitsAllocated") or 0)
    if bits_allocated not in (8, 16, 32):
        return []
    rows, columns = int(ds.Rows), int(ds.Columns)
    ink = hidden_bitmap(rows, columns, p)
    if ink.sum() < 20:
        return []
    utype = {8: np.uint8, 16: np.uint16, 32: np.uint32}[bits_allocated]
    options = dict(raw=True, correct_unused_bits=False, apply_jls_sign_correction=False,
                   apply_j2k_sign_correction=False)
    high_bit = int(ds.get("HighBit") if ds.get("HighBit") is not None else bits_allocated - 1)
    out = []
    for index, arr in enumerate(iter_pixels(ds, **options)):
        arr = arr.astype(arr.dtype.newbyteorder("="), copy=False)
        u = np.ascontiguousarray(arr).view(utype) if arr.dtype.itemsize == np.dtype(utype).itemsize \
            else arr.astype(np.int64).astype(utype)
        if u.shape != ink.shape:
            continue
        sign = (u >> min(high_bit, bits_allocated - 1)) & 1
        for bit in range(bits_allocated):
            plane = (u >> bit) & 1
            for candidate in (plane, plane ^ sign):
                on_ink, off_ink = candidate[ink].mean(), candidate[~ink].mean()
                if on_ink > 0.9 and off_ink < 0.1:
                    out.append((index, bit))
                    break
    return out


def scan_pixels(ds: Dataset, p: Identity = PATIENT) -> list[Finding]:
    """Bits above High Bit, the hidden bitmap in any bit plane, overlay bitmaps and icon pixels
    still in the output."""
    findings = []
    try:
        for frame, bit, n in hidden_bits(ds):
            findings.append(Finding("pixel-bits", f"frame {frame + 1}, bit {bit} (High Bit {ds.HighBit})",
                                    f"{n} samples carry a bit above High Bit that is not the sign extension"))
        for frame, bit in bitmap_planes(ds, p):
            findings.append(Finding("pixel-bits", f"frame {frame + 1}, bit {bit}",
                                    "the hidden name/ID bitmap is still drawn in this bit plane"))
    except Exception as exc:  # noqa: BLE001
        findings.append(Finding("pixel-bits", "Pixel Data", f"cannot be decoded ({type(exc).__name__}: {exc})"))
    for tag in list(ds._dict):
        group = tag >> 16
        if 0x6000 <= group <= 0x60FF and tag & 0xFFFF == 0x3000:
            data = ds[tag].value or b""
            bits = int(np.count_nonzero(unpack_bits(data))) if data else 0
            if bits:
                findings.append(Finding("overlay", f"({group:04X},3000) Overlay Data", f"{bits} set bits"))

    def icons(dataset: Dataset, loc: str) -> None:
        for elem in dataset:
            if elem.VR != "SQ":
                continue
            for n, item in enumerate(elem.value or []):
                where = f"{loc}{elem.keyword or _tagtext(elem.tag)}[{n + 1}]"
                if elem.tag == 0x00880200 and "PixelData" in item:
                    data = item.PixelData or b""
                    if any(data):
                        findings.append(Finding("icon", where, f"Icon Image pixels kept ({len(data)} bytes)"))
                icons(item, where + " > ")

    icons(ds, "")
    return findings


def ocr_frames(ds: Dataset, reader, frames: Iterable[int] | None = None) -> list[tuple[int, str]]:  # noqa: ANN001
    """The OCR text of frames (first, middle and last by default) of ``ds``: one line of text
    per line read."""
    from desktop.core.imaging.frames import decode_frame

    count = get_nr_frames(ds)
    picks = sorted(set(frames if frames is not None else (0, count // 2, count - 1)))
    out = []
    for index in picks:
        lines: dict[int, list[str]] = {}
        for word in reader.read_words(decode_frame(ds, index)):
            lines.setdefault(word.line, []).append(word.text)
        out.append((index, "\n".join(" ".join(words) for words in lines.values())))
    return out


def _within_one_edit(a: str, b: str) -> bool:
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) <= 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def match_ocr_text(text: str, p: Identity = PATIENT) -> list[str]:
    """The identity read in OCR text: exact forms, name words one letter off, and digit runs
    with spaces and punctuation dropped."""
    hits = [f"{f.kind} '{f.text}'" for f in find_forms(text, p)]
    for word in re.findall(r"[A-Za-z]{5,}", text):
        for token in p.ocr_tokens:
            if _within_one_edit(word.lower(), token.lower()):
                hits.append(f"word '{word}' ~ {token}")
    for line in text.splitlines():  # runs are looked for within a line, never across lines
        squeezed = re.sub(r"[\W_]", "", line).lower()
        for run in p.ocr_compact:
            if run in squeezed:
                hits.append(f"run '{run}'")
    return sorted(set(hits))


def scan_ocr(ds: Dataset, reader, p: Identity = PATIENT, frames: Iterable[int] | None = None) -> list[Finding]:  # noqa: ANN001
    findings = []
    for index, text in ocr_frames(ds, reader, frames):
        for hit in match_ocr_text(text, p):
            findings.append(Finding("ocr", f"frame {index + 1}", hit))
    return findings


def scan_file(path: Path | str | bytes, p: Identity = PATIENT, *, parts: Iterable[str] = ("element", "bytes", "pixels"),
              reader=None) -> list[Finding]:  # noqa: ANN001
    """Every place ``p`` is still found in one output file. ``parts``: any of "element",
    "bytes", "pixels", "ocr" (OCR needs ``reader``, a TextReader)."""
    data = path if isinstance(path, bytes) else Path(path).read_bytes()
    parts = set(parts)
    findings: list[Finding] = []
    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    if "element" in parts:
        findings += scan_elements(ds, p)
    if "bytes" in parts:
        findings += scan_bytes(data, p)
    if "pixels" in parts:
        findings += scan_pixels(ds, p)
    if "ocr" in parts and "PixelData" in ds:
        if reader is None:
            raise ValueError("OCR needs a TextReader")
        findings += scan_ocr(ds, reader, p)
    return findings


def describe(findings: Iterable[Finding], limit: int = 60) -> str:
    items = [str(f) for f in findings]
    unique = list(dict.fromkeys(items))
    more = f"\n  ... and {len(unique) - limit} more" if len(unique) > limit else ""
    return "\n  " + "\n  ".join(unique[:limit]) + more
