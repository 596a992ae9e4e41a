"""A teaching case as the two DICOM objects of an IHE RAD TCE teaching-file export.

IHE RAD "Teaching File and Clinical Trial Export" (TCE) sends a teaching file as the selected
images plus two objects made for it, both built here from a :class:`TeachingCase` and its
key images:

* the **manifest**, a Key Object Selection document (PS3.3 A.35.4, SOP Class
  1.2.840.10008.5.1.4.1.1.88.59; content by PS3.16 TID 2010 "Key Object Selection"): its
  Document Title is (128710, DCM, "For Teaching File Export") from CID 7010 "Key Object
  Selection Document Title" (also CID 7014), the DICOM code for what TCE first coded
  (TCE001, IHERADTF, "For Teaching File Export"). It references each key image (the frame
  too, for a multi-frame image) and holds the case title as its (113012, DCM, "Key Object
  Description"); the Current Requested Procedure Evidence Sequence (PS3.3 C.17.6.2) lists
  every key image under its study and series, one item per study.
* the **Additional Teaching File Information** (ATFI), which TCE defines as a Basic Text SR
  (PS3.3 A.35.1, SOP Class 1.2.840.10008.5.1.4.1.1.88.11; SR Document General and Content
  modules, PS3.3 C.17.2 and C.17.3) titled (128712, DCM, "Additional Teaching File
  Information") from CID 7018 (TCE's own code was TCE006, IHERADTF). It holds the case's
  text as TEXT items under the root CONTAINER, named by the codes TCE's ATFI uses (see
  :data:`FIELD_CODES`), and the key images with their captions. TID 2010 has one
  Key Object Description for the whole selection and no text per image, so the captions
  are here: each captioned key image is a TEXT item (its caption) INFERRED FROM an IMAGE.

Both objects are made only from the **de-identified** key images: every Patient and Study
module attribute (Patient, Clinical Trial Subject, General Study, Patient Study, Clinical
Trial Study; PS3.3 C.7.1, C.7.2) is copied from one of them and from nowhere else, so
neither carries an identifier the images do not. Nothing of the images' equipment is
copied (no institution, device, serial number or operator): the equipment is "Veil". The
objects join a study of the images (see :func:`key_object_selection`) and are returned as
datasets with their file meta (Explicit VR Little Endian); nothing is written here.

highdicom builds them: :class:`highdicom.SOPClass` for the common modules and file meta,
its content items for the SR trees and :func:`highdicom.sr.utils.collect_evidence` for the
evidence. Its ready-made documents are not used: ``KeyObjectSelectionDocument`` references
no frame and keeps only one study's evidence, its SR documents copy the first image's
acquisition equipment (manufacturer, serial number, institution) into Contributing
Equipment, and it has no Basic Text SR.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence

from highdicom import SOPClass
from highdicom.coding_schemes import CodingSchemeIdentificationItem
from highdicom.sr import (
    CodeContentItem,
    ContainerContentItem,
    ContentItem,
    ContentSequence,
    ImageContentItem,
    RelationshipTypeValues,
    TextContentItem,
)
from highdicom.sr.utils import collect_evidence
from pydicom.dataset import Dataset
from pydicom.sr.coding import Code
from pydicom.uid import UID, BasicTextSRStorage, ExplicitVRLittleEndian, KeyObjectSelectionDocumentStorage

from desktop.core.cases.case import CaseError, Difficulty, TeachingCase

#: The equipment of both objects (General Equipment, PS3.3 C.7.5.1): Veil, nothing else.
MANUFACTURER = "Veil"
#: Veil's implementation class UID and version name (the file meta of everything Veil
#: writes; the same values as desktop.core.deid.instance_io, which this layer cannot import).
IMPLEMENTATION_CLASS_UID = "2.25.186146457613937622331906834785384127873"
IMPLEMENTATION_VERSION = "VEIL_1"
UNICODE = "ISO_IR 192"

CONTAINS = RelationshipTypeValues.CONTAINS
INFERRED_FROM = RelationshipTypeValues.INFERRED_FROM


# The codes are pydicom's immutable Code values: highdicom makes a new Code Sequence item of
# each wherever one is used, so no dataset shares an item with another.
def _dcm(value: str, meaning: str) -> Code:
    return Code(value, "DCM", meaning)


def _ihe(value: str, meaning: str) -> Code:
    """A code of IHE RAD TCE's own scheme (IHERADTF), used where DICOM has no equivalent."""
    return Code(value, "IHERADTF", meaning)


# -- the manifest (PS3.16 TID 2010) ---------------------------------------------------------
#: Document Title: CID 7010 (and CID 7014 "Export Additional Information Document Title").
#: Not (113004, DCM, "For Teaching"), the generic Key Image Note title, nor 113013, which
#: PS3.16 defines as "Best In Set".
KOS_TITLE = _dcm("128710", "For Teaching File Export")
#: TID 2010's Key Object Description (TEXT): the case title.
KEY_OBJECT_DESCRIPTION = _dcm("113012", "Key Object Description")
#: The concept name of each IMAGE item of the manifest. TID 2010 requires none; highdicom's
#: KeyObjectSelection gives this generic one (citing PS3.3 C.17.3), and so does Veil.
SELECTED_IMAGE = Code("260753009", "SCT", "Source")

# -- the ATFI (IHE RAD TCE, Additional Teaching File Information) ---------------------------
#: Document Title: CID 7018 "Miscellaneous Document Title" (TCE's TCE006).
REPORT_TITLE = _dcm("128712", "Additional Teaching File Information")
#: Each free-text field of the case and the concept that names its TEXT item. TCE's ATFI
#: codes are History (121060, DCM), Finding (121071, DCM), Differential Diagnosis/Impression
#: (111023, DCM), Radiographic anatomy (112005, DCM) and, in TCE's own scheme IHERADTF,
#: Author TCE101, Abstract TCE104, Keywords TCE105, Discussion TCE106 and Diagnosis TCE107.
#: PS3.16 has DCM codes for TCE's document titles, delay reasons, levels and categories
#: (128710-128738) but none for these IHERADTF items, so they keep TCE's codes.
FIELD_CODES: dict[str, Code] = {
    # TCE defines no title item (the case title is the manifest's Key Object Description);
    # the DCM concept nearest in meaning is "Document Title".
    "title": _dcm("121144", "Document Title"),
    "history": _dcm("121060", "History"),
    "findings": _dcm("121071", "Finding"),
    "diagnosis": _ihe("TCE107", "Diagnosis"),
    "differential": _dcm("111023", "Differential Diagnosis/Impression"),
    # Teaching points are what TCE's "Discussion" holds; no code says "teaching point".
    "teaching_points": _ihe("TCE106", "Discussion"),
}
KEYWORD = _ihe("TCE105", "Keywords")  # one TEXT item per keyword
MODALITY = _dcm("121139", "Modality")  # the case's modality as typed (TEXT, not CID 29)
ANATOMY = _dcm("112005", "Radiographic anatomy")  # TCE's ATFI anatomy item
AUTHOR = _ihe("TCE101", "Author")
#: TCE's level (TCE110; TCE201-203) as DICOM coded it: concept 128724, values CID 7016.
LEVEL_OF_DIFFICULTY = _dcm("128724", "Level of Difficulty")
DIFFICULTY_CODES: dict[Difficulty, Code] = {
    Difficulty.BEGINNER: _dcm("128725", "Primary level"),
    Difficulty.INTERMEDIATE: _dcm("128726", "Intermediate level"),
    Difficulty.ADVANCED: _dcm("128727", "Advanced level"),
}
#: The container of the key images.
KEY_IMAGES = _dcm("121180", "Key Images")
#: The IMAGE item of a key image: CID 7003 purpose of reference "Best illustration of finding".
KEY_IMAGE = _dcm("121080", "Best illustration of finding")
#: A key image's caption. DICOM and TCE have no "caption" concept; the nearest DCM one is
#: the description of a selected (key) object, inferred from the IMAGE item it describes.
CAPTION = KEY_OBJECT_DESCRIPTION


def _ihe_scheme() -> CodingSchemeIdentificationItem:
    """IHERADTF is IHE's scheme, not a DICOM one (dciodvfy does not know the designator),
    so the SR names it in its Coding Scheme Identification Sequence (SOP Common, PS3.3
    C.12.1)."""
    return CodingSchemeIdentificationItem("IHERADTF", name="IHE Radiology Technical Framework",
                                          responsible_organization="IHE")

#: The VRs whose values Specific Character Set governs (PS3.5 6.1.2.3); the others are ASCII.
_CHARSET_VRS = frozenset({"SH", "LO", "ST", "LT", "PN", "UC", "UT"})


# -- the inputs -------------------------------------------------------------------------------
def _header(image: Dataset) -> Dataset:
    """A copy of the image's header below the overlay, curve and pixel groups (its values
    decoded with the image's character set), so nothing built from it shares the image's
    elements."""
    header = Dataset()
    for element in image:
        if element.tag.group < 0x5000:
            header.add(copy.deepcopy(element))
    return header


def _frames(image: Dataset) -> int:
    try:
        return max(1, int(image.get("NumberOfFrames") or 1))
    except (TypeError, ValueError):
        return 1


def _checked(case: TeachingCase, images: Sequence[Dataset]) -> list[Dataset]:
    """The images' headers, once each image is found to be its key image (same SOP Instance
    UID, the frame within it) with the UIDs the objects reference, all of one patient."""
    if not case.key_images:
        raise CaseError("A teaching-file export needs at least one key image.")
    if len(images) != len(case.key_images):
        raise ValueError(f"The case has {len(case.key_images)} key images; {len(images)} images were given.")
    headers = []
    for n, (key, image) in enumerate(zip(case.key_images, images), 1):
        for keyword in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):
            if not UID(str(image.get(keyword) or "")).is_valid:
                raise ValueError(f"Image {n} has no valid {keyword}.")
        if str(image.SOPInstanceUID) != key.sop_uid:
            raise ValueError(f"Image {n} is not key image {n} of the case.")
        if key.frame >= _frames(image):
            raise ValueError(f"Key image {n} is frame {key.frame + 1}; its image has {_frames(image)}.")
        headers.append(_header(image))
    if len({str(h.get("PatientID", "")) for h in headers}) > 1:
        raise ValueError("The key images are not all of one patient (their Patient IDs differ).")
    return headers


def _frame_numbers(image: Dataset, frame: int) -> int | None:
    """Referenced Frame Number (1-based): only for a frame of a multi-frame image (Image SOP
    Instance Reference Macro, PS3.3 Table 10-3); a single-frame image is named without."""
    return frame + 1 if _frames(image) > 1 else None


# -- the objects ------------------------------------------------------------------------------
def _document(sop_class: str, source: Dataset, *, modality: str, description: str, series_uid: str,
              sop_uid: str, series_number: int, instance_number: int) -> SOPClass:
    """The common modules of either object (Patient and Study copied from ``source``, a
    de-identified image; Series; General Equipment "Veil"; SOP Common) and its file meta."""
    document = SOPClass(
        study_instance_uid=str(source.StudyInstanceUID), series_instance_uid=series_uid,
        series_number=series_number, sop_instance_uid=sop_uid, sop_class_uid=sop_class,
        instance_number=instance_number, modality=modality, manufacturer=MANUFACTURER,
        transfer_syntax_uid=ExplicitVRLittleEndian, series_description=description)
    # The attributes of the Patient and Study modules of this object's own IOD, each as the
    # image holds it (highdicom reads the modules of the SOP class the source names).
    view = Dataset()
    for element in source:
        if element.keyword != "SOPClassUID":
            view.add(element)
    view.add_new(0x00080016, "UI", sop_class)
    document.copy_patient_and_study_information(view)
    # Type 2 in the Key Object Document Series and SR Document Series modules (C.17.6.1,
    # C.17.1): no performed procedure step is known.
    document.ReferencedPerformedProcedureStepSequence = []
    document.file_meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    document.file_meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    return document


def _add_content(document: Dataset, root: ContainerContentItem) -> None:
    """The root content item's attributes at the top level (SR Document Content, C.17.3)."""
    for element in root:
        document.add(element)


def _set_character_set(document: Dataset) -> None:
    """ISO_IR 192 (UTF-8) when any text is outside ASCII (the case text, or a value copied
    from an image in another character set); otherwise the default repertoire."""
    for element in document.iterall():
        if element.VR in _CHARSET_VRS:
            values = element.value if element.VM > 1 else [element.value]
            if any(not str(value).isascii() for value in values if value is not None):
                document.SpecificCharacterSet = UNICODE
                return
    if "SpecificCharacterSet" in document:
        del document.SpecificCharacterSet


def key_object_selection(case: TeachingCase, images: Sequence[Dataset], *, series_uid: str, sop_uid: str,
                         study_uid: str | None = None, series_number: int = 990,
                         instance_number: int = 1) -> Dataset:
    """The teaching-file manifest of IHE RAD TCE: a Key Object Selection document (PS3.3
    A.35.4) titled "For Teaching File Export" (CID 7010) whose content (PS3.16 TID 2010) is
    the case title as Key Object Description and one IMAGE item per key image, in the case's
    order (with its 1-based frame number when the image is multi-frame).

    ``images`` are the de-identified key images, one per ``case.key_images`` in that order.
    The document joins the study ``study_uid`` (default: the first image's), which must be
    the study of one of the images: its Patient and Study attributes are copied from the
    first image of that study. The Current Requested Procedure Evidence Sequence lists every
    referenced instance once, by study (that study first) and series; key images of other
    studies of the patient are items of their own (PS3.3 C.17.6.2).
    """
    headers = _checked(case, images)
    study = study_uid or str(headers[0].StudyInstanceUID)
    source = next((h for h in headers if str(h.StudyInstanceUID) == study), None)
    if source is None:
        raise ValueError("The manifest must join the study of one of its key images.")

    root = ContainerContentItem(KOS_TITLE, is_content_continuous=False, template_id="2010")
    items: list[ContentItem] = [TextContentItem(KEY_OBJECT_DESCRIPTION, case.title, CONTAINS)]
    for key, header in zip(case.key_images, headers):
        items.append(ImageContentItem(SELECTED_IMAGE, str(header.SOPClassUID), key.sop_uid,
                                      referenced_frame_numbers=_frame_numbers(header, key.frame),
                                      relationship_type=CONTAINS))
    root.ContentSequence = ContentSequence(items)

    document = _document(KeyObjectSelectionDocumentStorage, source, modality="KO",
                         description="Teaching file key images", series_uid=series_uid, sop_uid=sop_uid,
                         series_number=series_number, instance_number=instance_number)
    _add_content(document, root)
    same_study, other_studies = collect_evidence(headers, root, study_instance_uid=study)
    document.CurrentRequestedProcedureEvidenceSequence = [*same_study, *other_studies]
    _set_character_set(document)
    return document


def _report_items(case: TeachingCase, headers: Sequence[Dataset]) -> list[ContentItem]:
    """The ATFI content: every non-empty field as a TEXT item (keywords one each), the level
    of difficulty as a CODE item, then the key images in a container of their own."""
    items: list[ContentItem] = []
    for name, concept in FIELD_CODES.items():
        text = getattr(case, name)
        if text:
            items.append(TextContentItem(concept, text, CONTAINS))
    items += [TextContentItem(KEYWORD, keyword, CONTAINS) for keyword in case.keywords]
    for concept, text in ((MODALITY, case.modality), (ANATOMY, case.anatomy), (AUTHOR, case.author)):
        if text:
            items.append(TextContentItem(concept, text, CONTAINS))
    items.append(CodeContentItem(LEVEL_OF_DIFFICULTY, DIFFICULTY_CODES[case.difficulty], CONTAINS))

    key_images: list[ContentItem] = []
    for key, header in zip(case.key_images, headers):
        frame = _frame_numbers(header, key.frame)
        if key.caption:
            caption = TextContentItem(CAPTION, key.caption, CONTAINS)
            caption.ContentSequence = ContentSequence([ImageContentItem(
                KEY_IMAGE, str(header.SOPClassUID), key.sop_uid, referenced_frame_numbers=frame,
                relationship_type=INFERRED_FROM)])
            key_images.append(caption)
        else:
            key_images.append(ImageContentItem(KEY_IMAGE, str(header.SOPClassUID), key.sop_uid,
                                               referenced_frame_numbers=frame, relationship_type=CONTAINS))
    container = ContainerContentItem(KEY_IMAGES, is_content_continuous=False, relationship_type=CONTAINS)
    container.ContentSequence = ContentSequence(key_images)
    items.append(container)
    return items


def case_report(case: TeachingCase, images: Sequence[Dataset], *, series_uid: str, sop_uid: str,
                series_number: int = 991, instance_number: int = 1) -> Dataset:
    """The case's Additional Teaching File Information (IHE RAD TCE): a Basic Text SR (PS3.3
    A.35.1) titled (128712, DCM, "Additional Teaching File Information") holding the case's
    title, history, findings, diagnosis, differential, teaching points, keywords, modality,
    anatomy and author as TEXT items (:data:`FIELD_CODES`; empty fields are left out), its
    level of difficulty as a CODE item (CID 7016), and its key images with their captions.

    ``images`` are the de-identified key images, one per ``case.key_images`` in that order.
    The report joins the first image's study and copies that image's Patient and Study
    attributes; key images of that study are its Current Requested Procedure Evidence, those
    of other studies its Pertinent Other Evidence (PS3.3 C.17.2). It is complete (the case
    as exported) and unverified (no verifying observer is named).
    """
    headers = _checked(case, images)
    root = ContainerContentItem(REPORT_TITLE, is_content_continuous=False)
    root.ContentSequence = ContentSequence(_report_items(case, headers))

    document = _document(BasicTextSRStorage, headers[0], modality="SR", description="Teaching file information",
                         series_uid=series_uid, sop_uid=sop_uid, series_number=series_number,
                         instance_number=instance_number)
    _add_content(document, root)
    document.CompletionFlag = "COMPLETE"
    document.VerificationFlag = "UNVERIFIED"
    document.PerformedProcedureCodeSequence = []
    same_study, other_studies = collect_evidence(headers, root, study_instance_uid=str(document.StudyInstanceUID))
    document.CurrentRequestedProcedureEvidenceSequence = same_study
    if other_studies:
        document.PertinentOtherEvidenceSequence = other_studies
    if any(item.CodingSchemeDesignator == "IHERADTF" for item in _concepts(document)):
        document.CodingSchemeIdentificationSequence = [_ihe_scheme()]
    _set_character_set(document)
    return document


def _concepts(document: Dataset) -> Iterable[Dataset]:
    """Every concept name of the content tree."""
    for element in document.iterall():
        if element.keyword == "ConceptNameCodeSequence":
            yield from element.value
