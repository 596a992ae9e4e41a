"""Facts about how a DICOM file is encoded that more than one domain needs, and access to a
dataset's elements as they were read (still encoded), through pydicom's public API."""

from __future__ import annotations

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian


def implied_transfer_syntax(ds: Dataset) -> UID:
    """The transfer syntax of a file without File Meta Information (ACR-NEMA style), from
    how pydicom read it (PS3.5 A.1, A.2, A.3)."""
    if ds.is_little_endian is False:
        return ExplicitVRBigEndian
    return ImplicitVRLittleEndian if ds.is_implicit_VR else ExplicitVRLittleEndian


def raw_element(ds: Dataset, tag: int) -> DataElement | RawDataElement | None:
    """The element at ``tag`` as ``ds`` holds it, ``None`` when absent: a
    :class:`RawDataElement` (value still encoded) until something decodes it. Nothing is
    decoded or read here, not even a deferred value."""
    return ds.get_item(tag, keep_deferred=True)


def put_element(ds: Dataset, elem: DataElement | RawDataElement) -> None:
    """Store ``elem`` under its tag as it is: a raw element stays raw, to be copied as read.

    ``Dataset.__setitem__`` decodes a raw private element, and the Private Creator of its
    block (PS3.5 7.8.1), to tag the element with its creator; the creator steps out of the
    dataset meanwhile, so neither is decoded."""
    tag = BaseTag(elem.tag)
    if not tag.is_private or tag.is_private_creator:
        ds[tag] = elem
        return
    creator_tag = BaseTag((tag & 0xFFFF0000) | (tag & 0xFF00) >> 8)
    creator = ds.pop(creator_tag, None)
    try:
        ds[tag] = elem
    finally:
        if creator is not None:
            ds[creator_tag] = creator
