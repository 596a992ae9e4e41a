"""What happens to text PS3.15 Table E.1-1 does not settle, read from
``resources/deid/text-policy.json``.

PS3.15 E.1.1 asks the de-identifier to remove or replace every attribute that may carry
identifying information, whether or not the table lists it. Veil does not trust text it has
no rule for:

- **Default deny.** A public attribute no table row governs whose VR can carry free text
  (:data:`FREE_TEXT_VRS`) is removed, unless it is a *kept text* attribute (equipment,
  technique, coded concepts: kept once cleaned of the patient's identifiers) or the IOD
  requires it (Type 1 or 2, PS3.3), when it is kept cleaned so the output stays conformant.
- **Personal by nature.** Where an option's action is C (clean, PS3.15 E.3.5: "replace with
  values of similar meaning known not to contain identifying information"), an attribute whose
  content is about the person (Occupation, Patient Comments, Additional Patient History...)
  has no part known to be free of identity, so it is emptied rather than scrubbed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pydicom.datadict

from desktop.core.common.errors import VeilError
from desktop.core.common.resources import resource_path

TEXT_POLICY_FILE = ("deid", "text-policy.json")
#: VRs whose values can hold free text, names or addresses (PS3.5 6.2).
FREE_TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UC", "UT", "PN", "UR", "AE"})


@dataclass(frozen=True)
class TextPolicy:
    """Attributes emptied under C, and public text attributes kept (cleaned) without a row."""

    personal: frozenset[int]
    kept_text: frozenset[str]

    def is_personal(self, tag: int) -> bool:
        return tag in self.personal


def _tags(keywords: list[str], source: str) -> frozenset[int]:
    tags = set()
    for keyword in keywords:
        tag = pydicom.datadict.tag_for_keyword(keyword)
        if tag is None:
            raise VeilError(f"The text policy names an unknown attribute {keyword!r} ({source}).")
        tags.add(int(tag))
    return frozenset(tags)


@lru_cache(maxsize=2)
def load_text_policy(path: Path | None = None) -> TextPolicy:
    """The policy from ``resources/`` (or ``path``)."""
    source = path or resource_path(*TEXT_POLICY_FILE)
    try:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
        personal, kept = list(data["personal"]), list(data["kept_text"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VeilError(f"The text policy cannot be read ({type(exc).__name__}).") from None
    _tags(kept, "kept_text")
    return TextPolicy(_tags(personal, "personal"), frozenset(kept))


def unruled_text_keywords(governed: set[int]) -> frozenset[str]:
    """Keywords of the public free-text attributes of the data dictionary no row governs
    (``governed``: the tags the table lists): the ones whose Type in the IOD decides between
    removal and cleaning."""
    out = set()
    for tag, entry in pydicom.datadict.DicomDictionary.items():
        vr, keyword = entry[0], entry[4]
        if vr in FREE_TEXT_VRS and keyword and tag not in governed:
            out.add(keyword)
    return frozenset(out)
