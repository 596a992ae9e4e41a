"""The full header of an instance as a tree of plain nodes, for the tag browser.

Sequences become nodes with item children; private elements (PS3.5 7.8) are named with their
Private Creator; bulk values (pixel data, OB/OW/UN) are summarised, never dumped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pydicom.datadict
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

MAX_VALUE_CHARS = 200
BULK_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "UN"}


@dataclass(frozen=True)
class TagNode:
    """One row of the tag browser."""

    tag: str  # "(0010,0010)", or "Item 1" for a sequence item
    name: str  # keyword, or the private dictionary's name, or "Private tag"
    vr: str
    value: str
    private_creator: str = ""
    children: tuple[TagNode, ...] = field(default_factory=tuple)

    def matches(self, needle: str) -> bool:
        text = needle.strip().lower()
        compact = text.replace("(", "").replace(")", "").replace(",", "").replace(" ", "")
        return bool(text) and (
            text in self.name.lower()
            or text in self.value.lower()
            or text in self.private_creator.lower()
            or (bool(compact) and compact in self.tag.lower().replace("(", "").replace(")", "").replace(",", ""))
        )


def _creator(ds: Dataset, elem: DataElement) -> str:
    group, element = elem.tag.group, elem.tag.element
    if group % 2 == 0 or element < 0x1000:
        return ""
    block = ds.get((group, element >> 8))
    return str(block.value).strip() if block is not None else "(no creator)"


def _name(elem: DataElement, creator: str) -> str:
    if elem.tag.is_private:
        if elem.tag.element < 0x0100:
            return "Private Creator"
        try:
            return pydicom.datadict.private_dictionary_description(elem.tag, creator)
        except (KeyError, ValueError):
            return "Private tag"
    return elem.keyword or elem.name


def _value(elem: DataElement) -> str:
    if elem.VR == "SQ":
        count = len(elem.value)
        return f"<{count} item{'s' if count != 1 else ''}>"
    if elem.tag in (0x7FE00010, 0x7FE00008, 0x7FE00009):
        return f"<pixel data, {len(elem.value or b''):,} bytes>" if elem.value is not None else "<pixel data>"
    if elem.VR in BULK_VRS and isinstance(elem.value, (bytes, bytearray)):
        return f"<{len(elem.value):,} bytes>"
    try:
        text = "\\".join(str(v) for v in elem.value) if elem.VM > 1 else str(elem.value)
    except Exception:  # noqa: BLE001 - a hostile value may raise any kind on conversion
        return "<unreadable value>"
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def _nodes(ds: Dataset) -> tuple[TagNode, ...]:
    out = []
    for elem in ds:
        try:
            creator = _creator(ds, elem)
            children: tuple[TagNode, ...] = ()
            if elem.VR == "SQ":
                children = tuple(
                    TagNode(f"Item {i}", "Item", "", f"<{len(item)} elements>", children=_nodes(item))
                    for i, item in enumerate(elem.value, start=1)
                )
            out.append(TagNode(f"({elem.tag.group:04X},{elem.tag.element:04X})", _name(elem, creator),
                               str(elem.VR), _value(elem), creator, children))
        except Exception:  # noqa: BLE001 - one unreadable element is shown as such
            out.append(TagNode(f"({elem.tag.group:04X},{elem.tag.element:04X})", "Unreadable element",
                               "", "<cannot be read>"))
    return tuple(out)


def header_tree(ds: Dataset) -> tuple[TagNode, ...]:
    """File Meta Information (group 0002) first, then the dataset, sequences nested."""
    meta = getattr(ds, "file_meta", None)
    return (_nodes(meta) if meta is not None else ()) + _nodes(ds)


def search(nodes: tuple[TagNode, ...], needle: str) -> tuple[TagNode, ...]:
    """The nodes that match (keyword, tag, value or creator), with their ancestors kept so a
    match inside a sequence stays in context."""
    kept = []
    for node in nodes:
        children = search(node.children, needle)
        if node.matches(needle) or children:
            kept.append(TagNode(node.tag, node.name, node.vr, node.value, node.private_creator,
                                children if children else node.children if node.matches(needle) else ()))
    return tuple(kept)
