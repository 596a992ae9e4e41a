"""Step 5 of the privacy gate for text a person typed: a teaching case's history, findings,
diagnosis, keywords, captions and annotation labels leave beside the images, so each is
searched for every identifier of the patients whose images leave, as the residual check
searches the pixels OCR read (:func:`desktop.app.gate.review.matched`: names in their forms,
IDs, accession numbers, addresses, phones, and every date in every format of PS3.5 and common
writing). Any hit refuses the export and names where it is; nothing is rewritten silently.

Typed text is not OCR: a given or middle name that is also a word ("Will", "May", "Rose",
"Grace") counts only when written as a name, with a capital; in lower case it is the word
("the effusion will resolve"). A family name, an ID, a date counts however it is written, and
so does a whole name ("will smith").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from desktop.app.gate.review import RESIDUAL_KINDS
from desktop.app.gate.selection import Image
from desktop.app.library.home import VeilHome
from desktop.core.dicom.identifiers import Identifier, collect_identifiers
from desktop.core.imaging.frames import read_image
from desktop.core.redaction.detect import _parts, _targets, match_words
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


def _given_names(identifiers: Sequence[Identifier]) -> set[str]:
    """The given and middle names of the patients (PS3.5 6.2.1: family^given^middle^...), as
    the matcher folds them; never one that is also a family name."""
    given: set[str] = set()
    family: set[str] = set()
    for ident in identifiers:
        if ident.kind == "name" and ident.is_whole and "^" in ident.text:
            components = ident.text.split("=", 1)[0].split("^")
            family.add("".join(_parts(components[0])))
            given.update("".join(_parts(c)) for c in components[1:3])
    return given - family - {""}


def _kinds(text: str, targets: Sequence, given: set[str]) -> list[str]:  # type: ignore[type-arg]
    kinds: list[str] = []
    for row in text.splitlines():
        words = [Word(token, 1.0, (0, 0, 0, 0), 0) for token in row.split() if any(c.isalnum() for c in token)]
        for word, hits in zip(words, match_words(words, targets), strict=True):
            for target in hits:
                if (target.kind == "name" and target.nparts == 1 and target.joined in given
                        and not any(c.isupper() for c in word.text)):
                    continue  # the word, not the name: "will", "may", "rose"
                if target.kind not in kinds:
                    kinds.append(target.kind)
    return kinds


def find_typed_leaks(texts: Sequence[tuple[str, str]], identifiers: Sequence[Identifier]) -> list[TypedLeak]:
    """The typed ``texts`` ((where, text) pairs) that hold one of ``identifiers``."""
    targets = _targets(i for i in identifiers if i.kind in RESIDUAL_KINDS)
    if not targets:
        return []
    given = _given_names(identifiers)
    leaks = []
    for where, text in texts:
        kinds = _kinds(text, targets, given)
        if kinds:
            leaks.append(TypedLeak(where, tuple(kinds)))
    return leaks
