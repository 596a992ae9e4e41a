"""Step 5 of the privacy gate for text a person typed: a teaching case's history, findings,
diagnosis, keywords, captions and annotation labels leave beside the images, so each is
searched for every identifier of the patients whose images leave, as the residual check
searches the pixels OCR read (:func:`desktop.app.gate.review.matched`: names in their forms,
IDs, accession numbers, addresses, phones, and every date in every format of PS3.5 and common
writing). Any hit refuses the export and names where it is; nothing is rewritten silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from desktop.app.gate.review import matched
from desktop.app.gate.selection import Image
from desktop.app.library.home import VeilHome
from desktop.core.dicom.identifiers import Identifier, collect_identifiers
from desktop.core.imaging.frames import read_image
from desktop.core.redaction.ocr import Word


@dataclass(frozen=True)
class TypedLeak:
    """Where typed text names the patient, and what of theirs it holds ("name", "date", …)."""

    where: str
    kinds: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.where} holds the patient's {', '.join(self.kinds)}"


def patient_identifiers(home: VeilHome, images: Sequence[Image]) -> list[Identifier]:
    """Every identifier in the header of one image of each study that leaves (a study's images
    share its patient and visit; a redacted version keeps its original's header)."""
    out: list[Identifier] = []
    seen: set[str] = set()
    for image in images:
        if image.study_uid in seen:
            continue
        seen.add(image.study_uid)
        out.extend(collect_identifiers(read_image(home.objects.read(image.sha256))))
    return out


def _words(text: str) -> list[Word]:
    return [Word(token, 1.0, (0, 0, 0, 0), line)
            for line, row in enumerate(text.splitlines()) for token in row.split()]


def find_typed_leaks(texts: Sequence[tuple[str, str]], identifiers: Sequence[Identifier]) -> list[TypedLeak]:
    """The typed ``texts`` ((where, text) pairs) that hold one of ``identifiers``."""
    leaks = []
    for where, text in texts:
        kinds, _box = matched(_words(text), identifiers)
        if kinds:
            leaks.append(TypedLeak(where, kinds))
    return leaks
