"""Read what the index needs from a DICOM file's header, stopping before the pixel data.

pydicom is lenient: it reads a truncated file or an element whose declared length runs past
the end of the file without complaint. Veil must not index such a file as if it were whole,
so after the header parse it checks the framing itself: every header element holds as many
bytes as it declares, and the Pixel Data element (native, or encapsulated fragments per
PS3.5 A.4) fits in the file.
"""

from __future__ import annotations

import io
import mmap
import struct
import warnings
import zlib
from dataclasses import dataclass
from typing import BinaryIO, cast

import pydicom
import pydicom.datadict
import pydicom.dataelem
import pydicom.filereader
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.tag import BaseTag, Tag

from desktop.core.common.errors import VeilError
from desktop.core.dicom.encoding import implied_transfer_syntax, raw_element

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
DEFLATED = "1.2.840.10008.1.2.1.99"
#: A deflated dataset (PS3.5 A.5) larger than this once inflated is refused: a few MB of
#: zeros can otherwise claim gigabytes of memory.
MAX_INFLATED = 512 << 20
UNDEFINED = 0xFFFFFFFF
PIXEL_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009}
ITEM, SEQ_DELIMITER = 0xFFFEE000, 0xFFFEE0DD
#: VRs whose explicit-VR header has 2 reserved bytes and a 4-byte length (PS3.5 7.1.2).
LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}


#: A whole file: bytes in memory, or a read-only memory map of a large file.
Buffer = bytes | memoryview | mmap.mmap


class InvalidInstance(VeilError):
    """The file is not a DICOM instance Veil can index; the message says why, in one line."""


@dataclass(frozen=True)
class InstanceHeader:
    """The attributes the library indexes, as plain strings and ints."""

    # Patient (PS3.3 C.7.1.1)
    patient_id: str
    issuer_of_patient_id: str
    patient_name: str
    birth_date: str
    sex: str
    # Study (C.7.2.1)
    study_uid: str
    study_date: str
    study_time: str
    study_id: str
    accession_number: str
    study_description: str
    referring_physician: str
    institution_name: str
    # Series and equipment (C.7.3.1, C.7.5.1)
    series_uid: str
    modality: str
    series_number: int | None
    series_description: str
    body_part: str
    series_date: str
    manufacturer: str
    model_name: str
    station_name: str
    frame_of_reference_uid: str
    # Instance and image pixel (C.12.1, C.7.6.3)
    sop_instance_uid: str
    sop_class_uid: str
    instance_number: int | None
    transfer_syntax_uid: str
    rows: int | None
    columns: int | None
    number_of_frames: int | None
    samples_per_pixel: int | None
    bits_allocated: int | None
    bits_stored: int | None
    pixel_representation: int | None
    photometric: str
    burned_in_annotation: str
    image_type: str
    has_pixel_data: bool
    content_date: str


#: Character sets (0008,0005) whose text decodes with one Python codec (PS3.5 6.1.2.3);
#: anything else (ISO 2022 code extensions) goes through pydicom's own decoding.
_SIMPLE_CODECS = {
    "": "latin_1", "ISO_IR 6": "latin_1", "ISO_IR 100": "latin_1", "ISO_IR 101": "iso8859_2",
    "ISO_IR 109": "iso8859_3", "ISO_IR 110": "iso8859_4", "ISO_IR 144": "iso8859_5",
    "ISO_IR 127": "iso8859_6", "ISO_IR 126": "iso8859_7", "ISO_IR 138": "iso8859_8",
    "ISO_IR 148": "iso8859_9", "ISO_IR 203": "iso8859_15", "ISO_IR 192": "utf_8",
    "GB18030": "gb18030", "GBK": "gbk",
}


def _codec(ds: Dataset) -> str | None:
    raw = raw_element(ds, 0x00080005)
    if raw is None:
        return "latin_1"
    value = raw.value
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("ascii", "replace")
    elif not isinstance(value, str):
        return None  # already converted to a list: several character sets
    return _SIMPLE_CODECS.get(value.strip(" \x00"))


def _text(ds: Dataset, keyword: str, codec: str | None = None) -> str:
    """A text attribute as one string (values joined by backslash), "" when absent.

    Decodes raw bytes directly where the character set allows (much faster than pydicom's
    per-element conversion); otherwise asks pydicom.
    """
    tag = pydicom.datadict.tag_for_keyword(keyword)
    elem = raw_element(ds, tag) if tag is not None else None
    if tag is None or elem is None:
        return ""
    if codec and isinstance(elem, pydicom.dataelem.RawDataElement) and isinstance(elem.value, (bytes, bytearray)):
        return elem.value.decode(codec, "replace").strip(" \x00")
    try:
        value = ds[tag].value
    except Exception:  # noqa: BLE001 - pydicom converts a hostile raw value lazily, raising any kind
        return ""
    if value is None:
        return ""
    if isinstance(value, pydicom.multival.MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value).strip().strip("\x00").strip()


def _int(ds: Dataset, keyword: str) -> int | None:
    """An IS or US attribute's first value as int, None when absent or unreadable."""
    tag = pydicom.datadict.tag_for_keyword(keyword)
    elem = raw_element(ds, tag) if tag is not None else None
    if tag is None or elem is None:
        return None
    try:
        value = ds[tag].value
        if value is None or value == "":
            return None
        if isinstance(value, pydicom.multival.MultiValue):
            value = value[0]
        return int(value)
    except Exception:  # noqa: BLE001 - lazy conversion of a hostile value raises any kind; int() too
        return None


def _uid(ds: Dataset, keyword: str, tag: str, required: bool = True) -> str:
    value = _text(ds, keyword, "latin_1")
    if required and not value:
        raise InvalidInstance(f"no {_spaced(keyword)} {tag}, which every DICOM instance must have")
    if len(value) > 64:
        raise InvalidInstance(f"{_spaced(keyword)} {tag} is longer than 64 characters")
    return value


def _spaced(keyword: str) -> str:
    out = "".join(" " + c if c.isupper() else c for c in keyword).strip()
    return out.replace("U I D", "UID").replace("S O P", "SOP")


def _as_file(data: Buffer) -> BinaryIO:
    if isinstance(data, mmap.mmap):
        data.seek(0)
        return cast(BinaryIO, data)  # an mmap reads as a file: read, seek and tell
    return io.BytesIO(data)


def _read_dataset(data: Buffer) -> tuple[Dataset, int]:
    """Parse up to the Pixel Data; return the dataset and the offset where parsing stopped."""
    fh = _as_file(data)
    try:
        ds = pydicom.dcmread(fh, stop_before_pixels=True)
    except InvalidDicomError:
        fh = _as_file(data)
        try:
            ds = pydicom.dcmread(fh, stop_before_pixels=True, force=True)
        except Exception as exc:  # noqa: BLE001 - a forced read of non-DICOM data raises any kind
            raise InvalidInstance(f"not a DICOM file ({type(exc).__name__} while reading)") from None
        if "SOPInstanceUID" not in ds and not _looks_like_dicom(ds):
            raise InvalidInstance(
                "not a DICOM file: no 'DICM' prefix and the data does not parse as a DICOM dataset"
            ) from None
    except Exception as exc:  # noqa: BLE001 - pydicom on a hostile file raises many kinds: refuse it
        raise InvalidInstance(f"DICOM header cannot be parsed ({type(exc).__name__})") from None
    return ds, fh.tell()


def _looks_like_dicom(ds: Dataset) -> bool:
    """A forced parse found at least a few elements of the standard's dictionary."""
    known = 0
    for elem in list(ds.values())[:20]:
        tag = Tag(elem.tag)
        if tag.group in (0x0008, 0x0010, 0x0018, 0x0020, 0x0028) and pydicom.datadict.dictionary_has_tag(tag):
            known += 1
    return known >= 3


def _inflated_body(data: Buffer) -> tuple[bytes, int]:
    """Deflated Explicit VR Little Endian (PS3.5 A.5): the inflated dataset and where the
    header parse stops in it."""
    fh = io.BytesIO(data)
    try:
        pydicom.filereader.read_preamble(fh, False)
        _skip_file_meta(fh)
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        body = inflater.decompress(bytes(data[fh.tell() :]), MAX_INFLATED + 1)
        if len(body) > MAX_INFLATED:
            raise InvalidInstance(
                f"the deflated dataset inflates past {MAX_INFLATED >> 20} MiB (a deflate bomb?)"
            )
    except InvalidInstance:
        raise
    except zlib.error:
        raise InvalidInstance("corrupt: the deflated dataset cannot be inflated") from None
    except Exception as exc:  # noqa: BLE001 - pydicom reading the hostile File Meta raises many kinds
        raise InvalidInstance(f"malformed deflated file ({type(exc).__name__})") from None
    inner = io.BytesIO(body)
    pydicom.filereader.read_dataset(inner, False, True, stop_when=_at_pixel_data)
    return body, inner.tell()


def _at_pixel_data(tag: BaseTag, vr: str | None, length: int) -> bool:
    """Where a header parse stops: (Float, Double Float) Pixel Data (PS3.3 C.7.6.3)."""
    return tag in PIXEL_TAGS


def _not_file_meta(tag: BaseTag, vr: str | None, length: int) -> bool:
    return tag >> 16 != 0x0002


def _skip_file_meta(fh: io.BytesIO) -> None:
    """Read past the File Meta Information (PS3.10 7.1: group 0002, Explicit VR Little
    Endian) as ``dcmread`` does: a group whose first element does not decode as explicit VR
    is read again as implicit."""
    start = fh.tell()
    meta = pydicom.filereader.read_dataset(fh, False, True, stop_when=_not_file_meta)
    if not len(meta):
        return
    try:
        meta[min(meta.keys())]
    except NotImplementedError:
        fh.seek(start)
        pydicom.filereader.read_dataset(fh, True, True, stop_when=_not_file_meta)


def _check_element_lengths(ds: Dataset) -> None:
    """Every top-level element must hold the bytes its header declares."""
    for raw in list(ds.values()):
        length = getattr(raw, "length", None)
        value = getattr(raw, "value", None)
        if length is None or length == UNDEFINED or not isinstance(value, (bytes, bytearray)):
            continue
        if len(value) < length:
            tag = Tag(raw.tag)
            raise InvalidInstance(
                f"truncated: element ({tag.group:04X},{tag.element:04X}) declares {length} bytes "
                f"but only {len(value)} remain in the file"
            )


#: Sequences nest a few levels in real files; thousands is an attack on the walker.
MAX_NESTING = 64


def _element_end(data: Buffer, pos: int, explicit: bool, e: str, depth: int = 0) -> int:
    """Check the framing of the element at ``pos`` (PS3.5 7.1, 7.5) and return where it ends.

    Defined lengths must fit in the file; undefined lengths (sequences, encapsulated Pixel
    Data per PS3.5 A.4) must reach their delimiter, through items of either kind.
    """
    end = len(data)
    if depth > MAX_NESTING:
        raise InvalidInstance(f"malformed: sequences nested more than {MAX_NESTING} levels deep")
    if pos + 8 > end:
        raise InvalidInstance(f"truncated: an element header at byte {pos} is cut off")
    group, element = struct.unpack_from(e + "HH", data, pos)
    tag = (group << 16) | element
    vr = bytes(data[pos + 4 : pos + 6])
    # Some writers put an implicit-VR element in an explicit-VR file; pydicom reads it, so
    # detect the VR per element as pydicom does (two upper-case letters, or none).
    length: int
    if explicit and group != 0xFFFE and vr.isalpha() and vr.isupper():
        if vr in LONG_VRS:
            if pos + 12 > end:
                raise InvalidInstance(f"truncated: an element header at byte {pos} is cut off")
            (length,) = struct.unpack_from(e + "I", data, pos + 8)
            start = pos + 12
        else:
            (length,) = struct.unpack_from(e + "H", data, pos + 6)
            start = pos + 8
    else:
        (length,) = struct.unpack_from(e + "I", data, pos + 4)
        start = pos + 8
    name = ("Pixel Data " if tag in PIXEL_TAGS else "element ") + f"({group:04X},{element:04X})"
    if length != UNDEFINED:
        if start + length > end:
            raise InvalidInstance(
                f"truncated: {name} declares {length} bytes but only {end - start} remain in the file"
            )
        return start + length
    at = start
    while True:  # items until the sequence delimiter
        if at + 8 > end:
            raise InvalidInstance(f"truncated: {name} ends without its delimiter")
        item_group, item_element, item_length = struct.unpack_from(e + "HHI", data, at)
        item_tag = (item_group << 16) | item_element
        at += 8
        if item_tag == SEQ_DELIMITER:
            return at
        if item_tag != ITEM:
            raise InvalidInstance(f"malformed: {name} holds something other than items")
        if item_length != UNDEFINED:
            if at + item_length > end:
                raise InvalidInstance(
                    f"truncated: an item of {name} declares {item_length} bytes but only "
                    f"{end - at} remain in the file"
                )
            at += item_length
            continue
        while True:  # an item of undefined length: elements until the item delimiter
            if at + 8 > end:
                raise InvalidInstance(f"truncated: an item of {name} ends without its delimiter")
            if struct.unpack_from(e + "HH", data, at) == (0xFFFE, 0xE00D):
                at += 8
                break
            at = _element_end(data, at, explicit, e, depth + 1)


def _check_from_pixel_data(data: Buffer, pos: int, explicit: bool, little: bool) -> None:
    """Walk the Pixel Data element and every element after it to the end of the file."""
    e = "<" if little else ">"
    end = len(data)
    while pos < end:
        if end - pos < 8 and not any(bytes(data[pos:end])):
            return  # a few bytes of zero padding after the last element
        pos = _element_end(data, pos, explicit, e)


def parse_header(data: Buffer) -> InstanceHeader:
    """Parse and check one DICOM file held in memory; raise :class:`InvalidInstance` if unfit."""
    if len(data) == 0:
        raise InvalidInstance("empty file (0 bytes)")
    if bytes(data[:2]) == b"\x1f\x8b":
        raise InvalidInstance("gzip-compressed file, not DICOM (Veil reads .zip archives)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Bound the inflation before pydicom inflates the whole dataset itself.
        inflated = _inflated_body(data) if DEFLATED.encode() in bytes(data[:4096]) else None
        ds, stop = _read_dataset(data)
        has_dicm = len(data) >= 132 and bytes(data[128:132]) == b"DICM"
        meta = getattr(ds, "file_meta", None)
        if has_dicm and (meta is None or "TransferSyntaxUID" not in meta):
            raise InvalidInstance(
                "malformed: 'DICM' prefix present but the File Meta Information (group 0002) "
                "has no Transfer Syntax UID"
            )
        _check_element_lengths(ds)
        return _header_from(ds, data, stop, inflated)


def _header_from(ds: Dataset, data: Buffer, stop: int, inflated: tuple[bytes, int] | None) -> InstanceHeader:
    sop_class = _uid(ds, "SOPClassUID", "(0008,0016)", required=False)
    if sop_class == MEDIA_STORAGE_DIRECTORY or "DirectoryRecordSequence" in ds:
        raise InvalidInstance("a media directory (DICOMDIR), not an image: nothing to index in it")
    sop_instance = _uid(ds, "SOPInstanceUID", "(0008,0018)")
    study_uid = _uid(ds, "StudyInstanceUID", "(0020,000D)")
    series_uid = _uid(ds, "SeriesInstanceUID", "(0020,000E)")
    meta = getattr(ds, "file_meta", None)
    ts = _text(meta, "TransferSyntaxUID") if meta is not None else ""
    if not ts:
        ts = str(implied_transfer_syntax(ds))
    body = data
    if ts == DEFLATED:
        body, stop = inflated or _inflated_body(data)
    has_pixels = stop < len(body)
    if has_pixels:
        explicit = not ds.is_implicit_VR if ds.is_implicit_VR is not None else True
        little = ds.is_little_endian if ds.is_little_endian is not None else True
        _check_from_pixel_data(body, stop, explicit, little)
    elif "Rows" in ds and "Columns" in ds and "PixelData" not in ds:
        if _int(ds, "Rows") and _int(ds, "Columns") and sop_class.startswith("1.2.840.10008.5.1.4.1.1."):
            if not _is_pixelless_image_class(sop_class):
                raise InvalidInstance(
                    "incomplete image: Rows and Columns are present but there is no Pixel Data "
                    "(truncated or stripped file)"
                )
    c = _codec(ds)
    return InstanceHeader(
        patient_id=_text(ds, "PatientID", c),
        issuer_of_patient_id=_text(ds, "IssuerOfPatientID", c),
        patient_name=_text(ds, "PatientName", c),
        birth_date=_text(ds, "PatientBirthDate", c),
        sex=_text(ds, "PatientSex", c),
        study_uid=study_uid,
        study_date=_text(ds, "StudyDate", c),
        study_time=_text(ds, "StudyTime", c),
        study_id=_text(ds, "StudyID", c),
        accession_number=_text(ds, "AccessionNumber", c),
        study_description=_text(ds, "StudyDescription", c),
        referring_physician=_text(ds, "ReferringPhysicianName", c),
        institution_name=_text(ds, "InstitutionName", c),
        series_uid=series_uid,
        modality=_text(ds, "Modality", c),
        series_number=_int(ds, "SeriesNumber"),
        series_description=_text(ds, "SeriesDescription", c),
        body_part=_text(ds, "BodyPartExamined", c),
        series_date=_text(ds, "SeriesDate", c),
        manufacturer=_text(ds, "Manufacturer", c),
        model_name=_text(ds, "ManufacturerModelName", c),
        station_name=_text(ds, "StationName", c),
        frame_of_reference_uid=_text(ds, "FrameOfReferenceUID", c),
        sop_instance_uid=sop_instance,
        sop_class_uid=sop_class,
        instance_number=_int(ds, "InstanceNumber"),
        transfer_syntax_uid=ts,
        rows=_int(ds, "Rows"),
        columns=_int(ds, "Columns"),
        number_of_frames=_int(ds, "NumberOfFrames") or (1 if has_pixels else None),
        samples_per_pixel=_int(ds, "SamplesPerPixel"),
        bits_allocated=_int(ds, "BitsAllocated"),
        bits_stored=_int(ds, "BitsStored"),
        pixel_representation=_int(ds, "PixelRepresentation"),
        photometric=_text(ds, "PhotometricInterpretation", c),
        burned_in_annotation=_text(ds, "BurnedInAnnotation", c),
        image_type=_text(ds, "ImageType", c),
        has_pixel_data=has_pixels,
        content_date=_text(ds, "ContentDate", c),
    )


def _is_pixelless_image_class(sop_class: str) -> bool:
    # RT Dose may carry Rows/Columns with no grid (PS3.3 C.8.8.3); waveforms and SR none.
    return sop_class in {"1.2.840.10008.5.1.4.1.1.481.2"}
