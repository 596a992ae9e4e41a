"""Planting the identity in headers: public attributes where it belongs and where it does not,
enhanced and UN sequences, private blocks, file meta.

Part of :mod:`tests.planting`.
"""


from __future__ import annotations

import copy
import struct

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    ExplicitVRLittleEndian,
)

from tests.planting.identity import PATIENT, Identity, written

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
    user = f"{p.given[0].lower()}{p.family.lower()}"
    ds.DerivationDescription = f"Reformatted for {p.family} {written(p.birth, 'dots')} (user {user})"
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
        PurposeOfReferenceCodeSequence=[
            _code("121311", "DCM", f"Prior of {p.family.upper()} {written(p.prior, 'm/d/yyyy')}")])]
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
                                          VerifyingOrganization=p.institution,
                                          VerificationDateTime=f"{p.study_da}160000",
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

    item = _item(CodeValue="CH01", CodingSchemeDesignator="99PEMB",
                 CodeMeaning=f"Chest of {p.family} {written(p.study, 'dots')}")
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
    # Return Message
    ds.add_new(0x00991005, "LT", f"Return message for {p.family} {p.given} {written(p.study, 'dots')}")
    ds.add_new(0x00991020, "SH", p.family)  # Units
    ds.add_new(0x00990011, "LO", "nqheader ")  # the same creator, another case, a trailing space
    ds.add_new(0x00991105, "LT", f"{p.middle} {p.id_digits}")
    ds.add_new(0x20010010, "LO", "Philips Imaging DD 001")
    # Graphic Annotation Model
    ds.add_new(0x2001105A, "ST", f"Annotation {p.family.upper()} {p.given.upper()} {written(p.birth, 'dd-MON-yy')}")
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
