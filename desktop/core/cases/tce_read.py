"""A received teaching file read back: the case's text and key images from the report that
:func:`desktop.core.cases.tce.case_report` writes (IHE TCE's Additional Teaching File
Information, a Basic Text SR, PS3.3 A.35.1), so the recipient's library holds the case too."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from desktop.core.cases.case import Difficulty
from desktop.core.cases.tce import (
    ANATOMY,
    AUTHOR,
    CAPTION,
    DIFFICULTY_CODES,
    FIELD_CODES,
    KEY_IMAGE,
    KEYWORD,
    LEVEL_OF_DIFFICULTY,
    MODALITY,
    REPORT_TITLE,
)

BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"


@dataclass
class ReceivedCase:
    """What a teaching-file report says: the case's fields and its key images in order, each
    (SOP Instance UID, frame counted from 0, caption)."""

    fields: dict[str, object] = field(default_factory=dict)
    key_images: list[tuple[str, int, str]] = field(default_factory=list)


def _code(item: Dataset, keyword: str = "ConceptNameCodeSequence") -> tuple[str, str] | None:
    seq = item.get(keyword)
    if not seq:
        return None
    return str(seq[0].get("CodeValue", "")), str(seq[0].get("CodingSchemeDesignator", ""))


def _is(code: tuple[str, str] | None, concept: object) -> bool:
    return code == (str(getattr(concept, "value", "")), str(getattr(concept, "scheme_designator", "")))


def is_teaching_report(ds: Dataset) -> bool:
    """A Basic Text SR titled Additional Teaching File Information."""
    return str(ds.get("SOPClassUID", "")) == BASIC_TEXT_SR and _is(_code(ds), REPORT_TITLE)


def _images(item: Dataset, caption: str) -> Iterator[tuple[str, int, str]]:
    for ref in item.get("ReferencedSOPSequence") or []:
        frames = ref.get("ReferencedFrameNumber")
        if frames is None or frames == "":
            first = 1
        else:
            first = int(frames[0]) if isinstance(frames, list | MultiValue) else int(frames)
        yield str(ref.ReferencedSOPInstanceUID), max(0, first - 1), caption


def read_teaching_report(ds: Dataset) -> ReceivedCase:
    """The case a teaching-file report holds (unknown items are left aside)."""
    found = ReceivedCase()
    keywords: list[str] = []
    for item in ds.get("ContentSequence") or []:
        code, text = _code(item), str(item.get("TextValue", ""))
        for name, concept in FIELD_CODES.items():
            if _is(code, concept):
                found.fields[name] = text
        for name, concept in (("modality", MODALITY), ("anatomy", ANATOMY), ("author", AUTHOR)):
            if _is(code, concept):
                found.fields[name] = text
        if _is(code, KEYWORD):
            keywords.append(text)
        if _is(code, LEVEL_OF_DIFFICULTY):
            value = _code(item, "ConceptCodeSequence")
            for level, concept in DIFFICULTY_CODES.items():
                if _is(value, concept):
                    found.fields["difficulty"] = Difficulty(level)
        if str(item.get("ValueType", "")) == "CONTAINER":
            for child in item.get("ContentSequence") or []:
                child_code = _code(child)
                if _is(child_code, KEY_IMAGE):
                    found.key_images.extend(_images(child, ""))
                elif _is(child_code, CAPTION):
                    caption = str(child.get("TextValue", ""))
                    for image in child.get("ContentSequence") or []:
                        found.key_images.extend(_images(image, caption))
    if keywords:
        found.fields["keywords"] = tuple(keywords)
    return found
