"""The preview's lines: what de-identification does to each attribute, and the rule that
decided it (shown before an export; PS3.15 E.1.1 asks that the effect be known)."""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence


@dataclass(frozen=True)
class Change:
    """One line of the preview: what happens to one attribute, and the rule that decided it."""

    location: str
    name: str
    vr: str
    action: str
    rule: str
    before: str
    after: str


def _show(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Sequence):
        return f"<{len(value)} item{'s' if len(value) != 1 else ''}>"
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, (list, MultiValue)):
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _meta_changes(original: Dataset | None, meta: FileMetaDataset) -> list[Change]:
    out = []
    for elem in original or []:
        new = meta.get(elem.tag)
        after = new.value if new is not None else None
        action = "kept" if after == elem.value else ("removed" if new is None else "replaced")
        rule = "File Meta Information rewritten for the new instance (PS3.10 7.1)"
        if elem.keyword == "MediaStorageSOPInstanceUID":
            rule = "copy of the SOP Instance UID (PS3.10 7.1)"
        elif elem.tag == 0x00020000:
            action, rule, after = "replaced", "recomputed for the new File Meta Information (PS3.10 7.1)", "recomputed"
        out.append(Change(_tag_text(elem.tag), elem.name, elem.VR, action, rule, _show(elem.value), _show(after)))
    return out
