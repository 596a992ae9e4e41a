"""A teaching case: its text, the studies it comes from, and its key images in order, each
with the view it was marked at, a caption and its annotations.

The case is one immutable value, so every edit (a field typed, a key image marked, moved or
captioned, an arrow drawn) is a new value and :class:`desktop.core.common.undo.History` undoes
it. Its fields follow what a teaching file holds (IHE RAD TCE, the MIRC teaching-file
document: history, findings, diagnosis, differential, discussion points, keywords, modality,
anatomy, difficulty, author); :meth:`TeachingCase.typed_texts` names every piece of typed text
so it is checked for the patient's identifiers before anything leaves.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from pydicom.uid import UID

from desktop.core.cases.annotations import AnnotationError, Annotations, clean_text

CASE_FORMAT = 1
MAX_TITLE = 200
MAX_FIELD = 20_000
MAX_KEYWORDS = 30
MAX_KEYWORD = 64
MAX_KEY_IMAGES = 200
MAX_CAPTION = 500
MAX_CASE_JSON = 8 * 1024 * 1024


class CaseError(AnnotationError):
    """A case that cannot be kept as it is: the message says what to change."""


class Difficulty(StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


def _field_text(text: str, name: str, limit: int = MAX_FIELD) -> str:
    """Free text as kept: line breaks kept, other control characters dropped, trimmed."""
    kept = "".join(c for c in str(text) if c in "\n\t" or c.isprintable()).strip()
    if len(kept) > limit:
        raise CaseError(f"The {name} holds at most {limit} characters; it has {len(kept)}.")
    return kept


@dataclass(frozen=True)
class KeyView:
    """How a key image is shown: the window (None: the image's default), zoom and pan as in
    the viewer, a crop box (x0, y0, x1, y1 in image pixels; None: the whole image), quarter
    turns clockwise, flips and inversion."""

    window_center: float | None = None
    window_width: float | None = None
    zoom: float = 1.0
    pan: tuple[float, float] = (0.0, 0.0)
    crop: tuple[int, int, int, int] | None = None
    rotation_quarters: int = 0
    flip_h: bool = False
    flip_v: bool = False
    invert: bool = False

    def __post_init__(self) -> None:
        if (self.window_center is None) != (self.window_width is None):
            raise CaseError("A key image's window needs both its centre and its width.")
        if self.window_width is not None and not (math.isfinite(self.window_width) and self.window_width > 0):
            raise CaseError("A key image's window width must be a positive number.")
        if self.window_center is not None and not math.isfinite(self.window_center):
            raise CaseError("A key image's window centre must be a number.")
        if not (math.isfinite(self.zoom) and 0.01 <= self.zoom <= 100):
            raise CaseError("A key image's zoom must be between 1% and 10000%.")
        if not all(math.isfinite(v) for v in self.pan):
            raise CaseError("A key image's pan must be numbers.")
        object.__setattr__(self, "pan", (float(self.pan[0]), float(self.pan[1])))
        object.__setattr__(self, "rotation_quarters", int(self.rotation_quarters) % 4)
        if self.crop is not None:
            x0, y0, x1, y1 = (int(v) for v in self.crop)
            if not (0 <= x0 < x1 and 0 <= y0 < y1):
                raise CaseError("A key image's crop must be a box with its left-top corner first.")
            object.__setattr__(self, "crop", (x0, y0, x1, y1))

    def to_data(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> KeyView:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "pan" in values:
            values["pan"] = tuple(values["pan"])
        if values.get("crop") is not None:
            values["crop"] = tuple(values["crop"])
        return cls(**values)


@dataclass(frozen=True)
class KeyImage:
    """One key image: the image (and frame of a multi-frame image), its view, its caption and
    its annotations (the annotations' size is the image's)."""

    sop_uid: str
    frame: int
    view: KeyView
    annotations: Annotations
    caption: str = ""

    def __post_init__(self) -> None:
        if not UID(self.sop_uid).is_valid:
            raise CaseError("A key image must name its image by a valid SOP Instance UID.")
        if self.frame < 0:
            raise CaseError("A key image's frame is counted from 0.")
        object.__setattr__(self, "caption", clean_text(self.caption, MAX_CAPTION))
        crop = self.view.crop
        if crop is not None and (crop[2] > self.annotations.columns or crop[3] > self.annotations.rows):
            raise CaseError("A key image's crop reaches outside the image.")

    @property
    def key(self) -> tuple[str, int]:
        return self.sop_uid, self.frame

    def to_data(self) -> dict[str, Any]:
        return {"sop_uid": self.sop_uid, "frame": self.frame, "view": self.view.to_data(),
                "caption": self.caption, "annotations": json.loads(self.annotations.to_json())}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> KeyImage:
        return cls(str(data["sop_uid"]), int(data["frame"]), KeyView.from_data(data["view"]),
                   Annotations.from_json(json.dumps(data["annotations"])), str(data.get("caption", "")))


#: The case's free-text fields, in the order an editor and a slide deck show them.
TEXT_FIELDS = ("title", "history", "findings", "diagnosis", "differential", "teaching_points")


@dataclass(frozen=True)
class TeachingCase:
    """A teaching case (see the module). ``study_uids`` are the studies it is made from (one
    patient's); ``key_images`` are in the order they are shown."""

    title: str
    study_uids: tuple[str, ...]
    history: str = ""
    findings: str = ""
    diagnosis: str = ""
    differential: str = ""
    teaching_points: str = ""
    keywords: tuple[str, ...] = ()
    modality: str = ""
    anatomy: str = ""
    difficulty: Difficulty = Difficulty.INTERMEDIATE
    author: str = ""
    key_images: tuple[KeyImage, ...] = field(default=())

    def __post_init__(self) -> None:
        title = clean_text(self.title, MAX_TITLE)
        if not title:
            raise CaseError("A case needs a title.")
        object.__setattr__(self, "title", title)
        for name in TEXT_FIELDS[1:]:
            object.__setattr__(self, name, _field_text(getattr(self, name), name.replace("_", " ")))
        for name in ("modality", "anatomy", "author"):
            object.__setattr__(self, name, clean_text(getattr(self, name), MAX_KEYWORD * 4))
        keywords = tuple(dict.fromkeys(k for k in (clean_text(k, MAX_KEYWORD) for k in self.keywords) if k))
        if len(keywords) > MAX_KEYWORDS:
            raise CaseError(f"A case holds at most {MAX_KEYWORDS} keywords.")
        object.__setattr__(self, "keywords", keywords)
        object.__setattr__(self, "difficulty", Difficulty(self.difficulty))
        studies = tuple(dict.fromkeys(self.study_uids))
        if not studies or not all(UID(u).is_valid for u in studies):
            raise CaseError("A case is made from at least one study, named by its valid Study Instance UID.")
        object.__setattr__(self, "study_uids", studies)
        if len(self.key_images) > MAX_KEY_IMAGES:
            raise CaseError(f"A case holds at most {MAX_KEY_IMAGES} key images.")
        if len({k.key for k in self.key_images}) != len(self.key_images):
            raise CaseError("The same image (and frame) is a key image of this case once only.")

    # -- edits: each returns the case as it is after the edit --------------------------------
    def with_fields(self, **changes: Any) -> TeachingCase:
        """With text fields, keywords, modality, anatomy, difficulty or author changed."""
        allowed = set(TEXT_FIELDS) | {"keywords", "modality", "anatomy", "difficulty", "author"}
        unknown = set(changes) - allowed
        if unknown:
            raise CaseError(f"A case has no field {sorted(unknown)[0]!r}.")
        return replace(self, **changes)

    def index_of(self, sop_uid: str, frame: int = 0) -> int | None:
        for i, key in enumerate(self.key_images):
            if key.key == (sop_uid, frame):
                return i
        return None

    def with_key_image(self, key: KeyImage) -> TeachingCase:
        """With ``key`` marked: added at the end, or, when that image and frame is already a key
        image, its view updated (its caption and annotations kept)."""
        index = self.index_of(*key.key)
        if index is None:
            return replace(self, key_images=self.key_images + (key,))
        return self.with_key_image_at(index, replace(self.key_images[index], view=key.view))

    def with_key_image_at(self, index: int, key: KeyImage) -> TeachingCase:
        images = list(self.key_images)
        images[index] = key
        return replace(self, key_images=tuple(images))

    def without_key_image(self, index: int) -> TeachingCase:
        return replace(self, key_images=self.key_images[:index] + self.key_images[index + 1:])

    def moved_key_image(self, source: int, target: int) -> TeachingCase:
        """With the key image at ``source`` moved to position ``target`` (drag to reorder)."""
        images = list(self.key_images)
        moving = images.pop(source)
        images.insert(max(0, min(target, len(images))), moving)
        return replace(self, key_images=tuple(images))

    def with_caption(self, index: int, caption: str) -> TeachingCase:
        return self.with_key_image_at(index, replace(self.key_images[index], caption=caption))

    def with_annotations(self, index: int, annotations: Annotations) -> TeachingCase:
        return self.with_key_image_at(index, replace(self.key_images[index], annotations=annotations))

    # -- what leaves ----------------------------------------------------------------------------
    def typed_texts(self) -> list[tuple[str, str]]:
        """Every piece of text a person typed, with where it is: checked for the patient's
        identifiers before the case leaves, like the headers."""
        out = [(name.replace("_", " ").capitalize(), getattr(self, name)) for name in TEXT_FIELDS]
        out += [("Keyword", k) for k in self.keywords]
        out += [(name.capitalize(), getattr(self, name)) for name in ("modality", "anatomy", "author")]
        for n, key in enumerate(self.key_images, 1):
            out.append((f"Key image {n} caption", key.caption))
            out += [(f"Key image {n} label", text) for text in key.annotations.texts()]
        return [(where, text) for where, text in out if text]

    def to_json(self) -> str:
        data: dict[str, Any] = {"format": CASE_FORMAT}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "key_images":
                value = [k.to_data() for k in value]
            elif isinstance(value, tuple):
                value = list(value)
            data[f.name] = value
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> TeachingCase:
        if len(text.encode()) > MAX_CASE_JSON:
            raise CaseError("The stored case is too large to be read.")
        try:
            data = json.loads(text)
            if data.get("format") != CASE_FORMAT:
                raise CaseError("The stored case is in an unknown format.")
            values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
            values["study_uids"] = tuple(values.get("study_uids", ()))
            values["keywords"] = tuple(values.get("keywords", ()))
            values["key_images"] = tuple(KeyImage.from_data(k) for k in values.get("key_images", ()))
            return cls(**values)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise CaseError(f"The stored case cannot be read ({type(exc).__name__}).") from None
