"""A DICOMDIR (PS3.10 file-set directory, PS3.3 Annex F) built in memory from headers.

pydicom's ``FileSet`` writes a DICOMDIR only to disk and stages every added instance as a file
in a temporary folder, in clear. A DICOMDIR holds patient-level records too, so neither may
touch disk outside the encrypted package. This module builds the same four-level tree
(PATIENT > STUDY > SERIES > leaf) from headers read without pixel data and encodes it to
bytes: each record is encoded once, the Directory Record Sequence is assembled around them
with defined lengths, and the record offsets are filled in place.

The writer prepares each instance's :class:`DirectoryEntry` on the thread that read its header:
the IMAGE leaf record, by far the most common, is encoded directly (ten short elements, copied
from the header as stored; pydicom's encoder took longer than reading the header); other leaf
types and the PATIENT, STUDY and SERIES records are encoded by pydicom.

De-identification may have emptied attributes that PS3.3 F.5 makes Type 1 in a record
(Study ID, Study Date...); they are written empty rather than invented.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

import pydicom.datadict
import pydicom.fileset
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.tag import BaseTag
from pydicom.uid import UID, ExplicitVRLittleEndian, MediaStorageDirectoryStorage, generate_uid

from desktop.core.share.header_scan import RawHeader, read_raw_header

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
_LEVEL_TAGS = tuple(BaseTag(pydicom.datadict.tag_for_keyword(keyword) or 0) for keyword in (
    "SpecificCharacterSet", *(k for keys in _LEVEL_ATTRIBUTES.values() for k in keys)))
_CHARSET, _INSTANCE_NUMBER = 0x00080005, 0x00200013
_SOP_CLASS, _SOP_INSTANCE, _MODALITY = 0x00080016, 0x00080018, 0x00080060
_PATIENT_ID, _PATIENT_NAME, _STUDY_UID, _SERIES_UID = 0x00100020, 0x00100010, 0x0020000D, 0x0020000E
# Present in the header, they make the leaf something other than IMAGE (see _record_type).
_NOT_IMAGE_TAGS = (0x00420011, 0x300A0002)  # Encapsulated Document, RT Plan Label
_NOT_IMAGE_MODALITIES = frozenset({"RTINTENT", "RTSEGANN", "RTRAD", "PLAN"})
_RAW_TAGS = frozenset({*_LEVEL_TAGS, _INSTANCE_NUMBER, _SOP_CLASS, _SOP_INSTANCE, _MODALITY,
                       _PATIENT_ID, _PATIENT_NAME, _STUDY_UID, _SERIES_UID})
# Leaf keys written (empty if need be) when pydicom's recorder refuses an instance that lacks
# one: Instance Number is Type 1 in nearly every leaf record (PS3.3 F.5).
_LEAF_FALLBACK = {"RT DOSE": ("InstanceNumber", "DoseSummationType"),
                  "RT STRUCTURE SET": ("InstanceNumber", "StructureSetLabel"),
                  "RT PLAN": ("InstanceNumber", "RTPlanLabel")}


@dataclass
class _Node:
    record: Dataset
    children: dict[str, _Node] = field(default_factory=dict)
    leaves: list[bytes] = field(default_factory=list)  # encoded leaf records


@dataclass(frozen=True)
class DirectoryEntry:
    """What one instance adds to the DICOMDIR: its patient, study and series keys, the header
    elements their records are made of, and its encoded leaf record."""

    keys: tuple[str, str, str]
    levels: Dataset
    leaf: bytes
    sop_instance_uid: str


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
    kind = _record_type(header)
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


def _record_type(header: Dataset) -> str:
    classify = getattr(pydicom.fileset, "_four_level_record_type", None)
    return classify(header) if classify else "IMAGE"


def _stored(header: Dataset, tag: int) -> bytes | str | None:
    """An element's value as stored (bytes) or as converted (text); None if absent."""
    element = header.get_item(tag, keep_deferred=True)
    if element is None:
        return None
    value = element.value
    if isinstance(element, RawDataElement) or isinstance(value, bytes):
        return bytes(value or b"")
    if not isinstance(element, DataElement) or value is None:
        return ""
    return value if isinstance(value, str) else "\\".join(map(str, value))


def _text(header: Dataset, tag: int) -> bytes | None:
    """A short ASCII value (CS, IS) as stored; UnicodeError if it is not ASCII."""
    value = _stored(header, tag)
    return value.encode("ascii") if isinstance(value, str) else value


def _key(value: bytes | str | None) -> str:
    """A grouping key from a value, whichever way it was read."""
    text = value.decode("latin-1") if isinstance(value, bytes) else (value or "")
    return text.strip(" \0")


def _element(tag: int, vr: bytes, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\0" if vr == b"UI" else b" "
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def _image_leaf(file_id: str, charset: bytes | None, number: bytes | None,
                uids: tuple[str, str, str]) -> bytes:
    """An IMAGE record encoded in explicit VR little endian as pydicom would (the elements of
    :func:`_leaf` in tag order): SOP Class, SOP Instance and Transfer Syntax UIDs in ``uids``,
    Specific Character Set and Instance Number as stored."""
    path = file_id.replace("/", "\\").encode("ascii")
    sop_class, sop_instance, syntax = (uid.encode("ascii") for uid in uids)
    parts = [_element(0x00041400, b"UL", bytes(4)), _element(0x00041410, b"US", b"\xff\xff"),
             _element(0x00041420, b"UL", bytes(4)), _element(0x00041430, b"CS", b"IMAGE"),
             _element(0x00041500, b"CS", path), _element(0x00041510, b"UI", sop_class),
             _element(0x00041511, b"UI", sop_instance), _element(0x00041512, b"UI", syntax)]
    if charset is not None:
        parts.append(_element(_CHARSET, b"CS", charset))
    parts.append(_element(_INSTANCE_NUMBER, b"IS", number or b""))
    return b"".join(parts)


def directory_entry(file_id: str, header: Dataset) -> DirectoryEntry:
    """The entry of the instance stored at ``file_id`` whose header (with File Meta) is
    ``header``; the header can be dropped afterwards."""
    keys = (f"{_key(_stored(header, _PATIENT_ID))}\x00{_key(_stored(header, _PATIENT_NAME))}",
            _key(_stored(header, _STUDY_UID)), _key(_stored(header, _SERIES_UID)))
    levels = Dataset({tag: element for tag in _LEVEL_TAGS
                      if (element := header.get_item(tag, keep_deferred=True)) is not None})
    uids = (str(header.SOPClassUID), str(header.SOPInstanceUID),
            str(header.file_meta.TransferSyntaxUID))
    leaf = None
    if _record_type(header) == "IMAGE":
        try:
            leaf = _image_leaf(file_id, _text(header, _CHARSET), _text(header, _INSTANCE_NUMBER),
                               uids)
        except UnicodeError:
            leaf = None
    if leaf is None:
        leaf = bytes(_encode_record(_leaf(file_id, header)))
    return DirectoryEntry(keys, levels, leaf, uids[1])


def quick_directory_entry(file_id: str, block: bytes, whole: bool) -> DirectoryEntry | None:
    """The entry of the instance whose file starts with ``block`` (``whole``: is all of it),
    read by :mod:`header_scan` without pydicom; None when pydicom must read the header."""
    header = read_raw_header(block, whole, _RAW_TAGS, _NOT_IMAGE_TAGS)
    return raw_directory_entry(file_id, header) if header is not None else None


def raw_directory_entry(file_id: str, header: RawHeader) -> DirectoryEntry | None:
    """The entry of an instance from its raw header; None when its leaf is not an IMAGE
    record or it lacks its SOP UIDs."""
    sop_classes = getattr(pydicom.fileset, "_FOUR_LEVEL_SOP_CLASSES", None)
    sop_class, sop_instance = header.text(_SOP_CLASS), header.text(_SOP_INSTANCE)
    if (sop_classes is None or not sop_class or not sop_instance or sop_class in sop_classes
            or header.text(_MODALITY) in _NOT_IMAGE_MODALITIES
            or any(tag in header.elements for tag in _NOT_IMAGE_TAGS)):
        return None
    found = header.elements
    keys = (f"{header.text(_PATIENT_ID) or ''}\x00{header.text(_PATIENT_NAME) or ''}",
            header.text(_STUDY_UID) or "", header.text(_SERIES_UID) or "")
    levels = Dataset({BaseTag(tag): RawDataElement(BaseTag(tag), found[tag][0], len(found[tag][1]),
                                                   found[tag][1], 0, header.implicit, True)
                      for tag in _LEVEL_TAGS if tag in found})
    try:
        leaf = _image_leaf(file_id, found[_CHARSET][1] if _CHARSET in found else None,
                           found[_INSTANCE_NUMBER][1] if _INSTANCE_NUMBER in found else None,
                           (sop_class, sop_instance, header.transfer_syntax))
    except UnicodeError:
        return None
    return DirectoryEntry(keys, levels, leaf, sop_instance)


class DicomdirBuilder:
    """Collects directory records one instance at a time (memory grows with the small records,
    not with the headers)."""

    def __init__(self) -> None:
        self._patients: dict[str, _Node] = {}

    def add(self, file_id: str, header: Dataset) -> None:
        """Add the instance stored at ``file_id`` whose header (with File Meta) is ``header``."""
        self.add_entry(directory_entry(file_id, header))

    def add_entry(self, entry: DirectoryEntry) -> None:
        """Add an instance's entry (see :func:`directory_entry`)."""
        level = self._patients
        node = None
        for kind, key in zip(("PATIENT", "STUDY", "SERIES"), entry.keys):
            node = level.get(key)
            if node is None:
                node = level[key] = _Node(_record(kind, entry.levels, _LEVEL_ATTRIBUTES[kind]))
            level = node.children
        assert node is not None
        node.leaves.append(entry.leaf)

    def encode(self, fileset_id: str = "VEIL") -> bytes:
        """The bytes of the DICOMDIR."""
        return _encode(self._patients, fileset_id)


@dataclass
class _Link:
    """An encoded record, and the indices of its next sibling and first child in the list."""

    data: bytearray
    following: int | None = None
    child: int | None = None


def _flatten(level: dict[str, _Node], out: list[_Link]) -> list[int]:
    """Append the records of ``level`` and below to ``out`` in pre-order, with their links;
    return the indices of ``level``'s own records."""
    indices = []
    for node in level.values():
        indices.append(len(out))
        link = _Link(_encode_record(node.record))
        out.append(link)
        if node.children:
            below = _flatten(node.children, out)
        else:
            below = list(range(len(out), len(out) + len(node.leaves)))
            out.extend(_Link(bytearray(leaf)) for leaf in node.leaves)
        for index, following in zip(below, below[1:]):
            out[index].following = following
        link.child = below[0] if below else None
    for index, following in zip(indices, indices[1:]):
        out[index].following = following
    return indices


def _explicit_le() -> DicomBytesIO:
    out = DicomBytesIO()
    out.is_little_endian, out.is_implicit_VR = True, False
    return out


def _encode_record(record: Dataset) -> bytearray:
    out = _explicit_le()
    write_dataset(out, record)
    return bytearray(out.getvalue())


def _encode_head(fileset_id: str, uid: str, first: int, last: int) -> bytes:
    """Preamble, File Meta and the File-set Identification elements before the records."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MediaStorageDirectoryStorage
    meta.MediaStorageSOPInstanceUID = UID(uid)
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
    for link in links:
        data = link.data
        if data[:6] != _NEXT_TAG or data[_LOWER_VALUE - 8:_LOWER_VALUE - 2] != _LOWER_TAG:
            raise RuntimeError("a directory record does not start with its offsets")
    uid = generate_uid()  # the file-set's UID; the head's length depends on it
    offsets, position = [], len(_encode_head(fileset_id, uid, 0, 0)) + len(_SEQUENCE_TAG) + 4
    for link in links:
        offsets.append(position)  # where the record's Item tag starts (PS3.3 F.3.2.1)
        position += len(_ITEM_TAG) + 4 + len(link.data)
    items = bytearray()
    for link in links:
        following = offsets[link.following] if link.following is not None else 0
        child = offsets[link.child] if link.child is not None else 0
        struct.pack_into("<I", link.data, _NEXT_VALUE, following)
        struct.pack_into("<I", link.data, _LOWER_VALUE, child)
        items += _ITEM_TAG + struct.pack("<I", len(link.data)) + link.data
    first, last = (offsets[roots[0]], offsets[roots[-1]]) if roots else (0, 0)
    return (_encode_head(fileset_id, uid, first, last) + _SEQUENCE_TAG
            + struct.pack("<I", len(items)) + bytes(items))
