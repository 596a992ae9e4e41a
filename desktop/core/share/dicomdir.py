"""A DICOMDIR (PS3.10 file-set directory, PS3.3 Annex F) built in memory from headers.

pydicom's ``FileSet`` writes a DICOMDIR only to disk and stages every added instance as a file
in a temporary folder, in clear. A DICOMDIR holds patient-level records too, so neither may
touch disk outside the encrypted package. This module builds the same four-level tree
(PATIENT > STUDY > SERIES > leaf) from headers read without pixel data and encodes it to
bytes: each record is encoded once by pydicom, the Directory Record Sequence is assembled
around them with defined lengths, and the record offsets are filled in place.

De-identification may have emptied attributes that PS3.3 F.5 makes Type 1 in a record
(Study ID, Study Date...); they are written empty rather than invented.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

import pydicom.fileset
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import ExplicitVRLittleEndian, MediaStorageDirectoryStorage, generate_uid

# Explicit VR little endian: a record starts with (0004,1400) UL, (0004,1410) US, (0004,1420) UL
_NEXT_TAG, _NEXT_VALUE = b"\x04\x00\x00\x14UL", 8
_LOWER_TAG, _LOWER_VALUE = b"\x04\x00\x20\x14UL", 30
_SEQUENCE_TAG = b"\x04\x00\x20\x12SQ\x00\x00"  # (0004,1220), explicit length follows
_ITEM_TAG = b"\xfe\xff\x00\xe0"
_LEVEL_ATTRIBUTES = {
    "PATIENT": ("PatientName", "PatientID"),
    "STUDY": ("StudyDate", "StudyTime", "StudyDescription", "StudyInstanceUID", "StudyID",
              "AccessionNumber"),
    "SERIES": ("Modality", "SeriesInstanceUID", "SeriesNumber"),
}
# Leaf keys written (empty if need be) when pydicom's recorder refuses an instance that lacks
# one: Instance Number is Type 1 in nearly every leaf record (PS3.3 F.5).
_LEAF_FALLBACK = {"RT DOSE": ("InstanceNumber", "DoseSummationType"),
                  "RT STRUCTURE SET": ("InstanceNumber", "StructureSetLabel"),
                  "RT PLAN": ("InstanceNumber", "RTPlanLabel")}


@dataclass
class _Node:
    record: Dataset
    children: dict[str, _Node] = field(default_factory=dict)
    leaves: list[Dataset] = field(default_factory=list)


def _record(kind: str, header: Dataset, attributes: Sequence[str]) -> Dataset:
    record = Dataset()
    record.OffsetOfTheNextDirectoryRecord = 0
    record.RecordInUseFlag = 0xFFFF
    record.OffsetOfReferencedLowerLevelDirectoryEntity = 0
    record.DirectoryRecordType = kind
    if "SpecificCharacterSet" in header:
        record.SpecificCharacterSet = header.SpecificCharacterSet
    for keyword in attributes:
        if keyword in header:
            record[keyword] = header[keyword]
        elif keyword != "StudyInstanceUID":  # Type 1C: only when the instance has it
            setattr(record, keyword, None)
    return record


def _leaf(file_id: str, header: Dataset) -> Dataset:
    """The leaf record (IMAGE, SR DOCUMENT, ...) referencing the file ``file_id``."""
    classify = getattr(pydicom.fileset, "_four_level_record_type", None)
    kind = classify(header) if classify else "IMAGE"
    record = None
    if kind != "IMAGE":  # pydicom knows each record type's keys (PS3.3 F.5)
        try:
            extra = pydicom.fileset.DIRECTORY_RECORDERS[kind](header)
            record = _record(kind, header, ())
            for element in extra:
                record[element.tag] = element
        except (KeyError, ValueError, AttributeError):  # a Type 1 key is empty or missing
            record = None
    if record is None:
        record = _record(kind, header, _LEAF_FALLBACK.get(kind, ("InstanceNumber",)))
    record.ReferencedFileID = file_id.split("/")
    record.ReferencedSOPClassUIDInFile = header.SOPClassUID
    record.ReferencedSOPInstanceUIDInFile = header.SOPInstanceUID
    record.ReferencedTransferSyntaxUIDInFile = header.file_meta.TransferSyntaxUID
    return record


class DicomdirBuilder:
    """Collects directory records one instance at a time (the header can be dropped after
    :meth:`add`, so memory grows with the small records, not with the headers)."""

    def __init__(self) -> None:
        self._patients: dict[str, _Node] = {}

    def add(self, file_id: str, header: Dataset) -> None:
        """Add the instance stored at ``file_id`` whose header (with File Meta) is ``header``."""
        keys = (f"{header.get('PatientID', '')}\x00{header.get('PatientName', '')}",
                str(header.get("StudyInstanceUID", "")), str(header.get("SeriesInstanceUID", "")))
        level = self._patients
        node = None
        for kind, key in zip(("PATIENT", "STUDY", "SERIES"), keys):
            node = level.get(key)
            if node is None:
                node = level[key] = _Node(_record(kind, header, _LEVEL_ATTRIBUTES[kind]))
            level = node.children
        assert node is not None
        node.leaves.append(_leaf(file_id, header))

    def encode(self, fileset_id: str = "VEIL") -> bytes:
        """The bytes of the DICOMDIR."""
        return _encode(self._patients, fileset_id)


_Link = tuple[Dataset, "Dataset | None", "Dataset | None"]  # record, next sibling, first child


def _flatten(level: dict[str, _Node], out: list[_Link]) -> list[Dataset]:
    """Append the records of ``level`` and below to ``out`` in pre-order, with their links."""
    nodes = list(level.values())
    for i, node in enumerate(nodes):
        following = nodes[i + 1].record if i + 1 < len(nodes) else None
        children = [child.record for child in node.children.values()] or node.leaves
        out.append((node.record, following, children[0] if children else None))
        if node.children:
            _flatten(node.children, out)
            continue
        for j, leaf in enumerate(node.leaves):
            out.append((leaf, node.leaves[j + 1] if j + 1 < len(node.leaves) else None, None))
    return [node.record for node in nodes]


def _explicit_le() -> DicomBytesIO:
    out = DicomBytesIO()
    out.is_little_endian, out.is_implicit_VR = True, False
    return out


def _encode_record(record: Dataset) -> bytearray:
    out = _explicit_le()
    write_dataset(out, record)
    data = bytearray(out.getvalue())
    if data[:6] != _NEXT_TAG or data[_LOWER_VALUE - 8:_LOWER_VALUE - 2] != _LOWER_TAG:
        raise RuntimeError("a directory record does not start with its offsets")
    return data


def _encode_head(fileset_id: str, uid: str, first: int, last: int) -> bytes:
    """Preamble, File Meta and the File-set Identification elements before the records."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MediaStorageDirectoryStorage
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    head = Dataset()
    head.FileSetID = fileset_id
    head.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity = first
    head.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity = last
    head.FileSetConsistencyFlag = 0
    out = _explicit_le()
    out.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(out, meta, enforce_standard=True)
    write_dataset(out, head)
    return out.getvalue()


def build_dicomdir(instances: Sequence[tuple[str, Dataset]], fileset_id: str = "VEIL") -> bytes:
    """The bytes of a DICOMDIR for ``instances``: (File ID, header with File Meta) pairs."""
    builder = DicomdirBuilder()
    for file_id, header in instances:
        builder.add(file_id, header)
    return builder.encode(fileset_id)


def _encode(patients: dict[str, _Node], fileset_id: str) -> bytes:
    links: list[_Link] = []
    roots = _flatten(patients, links)
    encoded = [_encode_record(record) for record, _, _ in links]
    uid = generate_uid()  # the file-set's UID; the head's length depends on it
    offset, position = {}, len(_encode_head(fileset_id, uid, 0, 0)) + len(_SEQUENCE_TAG) + 4
    for (record, _, _), data in zip(links, encoded):
        offset[id(record)] = position  # where the record's Item tag starts (PS3.3 F.3.2.1)
        position += len(_ITEM_TAG) + 4 + len(data)
    items = bytearray()
    for (_, following, child), data in zip(links, encoded):
        struct.pack_into("<I", data, _NEXT_VALUE, offset[id(following)] if following else 0)
        struct.pack_into("<I", data, _LOWER_VALUE, offset[id(child)] if child else 0)
        items += _ITEM_TAG + struct.pack("<I", len(data)) + data
    first, last = (offset[id(roots[0])], offset[id(roots[-1])]) if roots else (0, 0)
    return (_encode_head(fileset_id, uid, first, last) + _SEQUENCE_TAG
            + struct.pack("<I", len(items)) + bytes(items))
