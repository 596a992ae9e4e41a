"""Reading and writing one DICOM instance for de-identification: parse up to the Pixel Data
(whose bytes are copied, never decoded), write kept elements as the bytes they were read as,
and the record of what was done (PS3.3 C.7.1.1, PS3.10 7.1 File Meta Information)."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache

import pydicom
import pydicom.charset
import pydicom.datadict
import pydicom.filereader
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID

from desktop.core.deid.profiles import Profile
from desktop.core.dicom.encoding import implied_transfer_syntax
from desktop.core.dicom.header import (
    DEFLATED,
    LONG_VRS,
    MEDIA_STORAGE_DIRECTORY,
    UNDEFINED,
    InvalidInstance,
    _check_element_lengths,
    _element_end,
    _read_dataset,
)
from desktop.core.dicom.input_budget import check_structure

#: This implementation's Implementation Class UID (PS3.7 D.3.3.2): 2.25 + a fixed UUID.
IMPLEMENTATION_CLASS_UID = "2.25.186146457613937622331906834785384127873"
IMPLEMENTATION_VERSION = "VEIL_1"
IMPLICIT_LE, EXPLICIT_BE = "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"

# -- whole files ----------------------------------------------------------------------------

@dataclass
class _Parsed:
    ds: Dataset
    pixel: memoryview | None  # the Pixel Data element's raw bytes (header, value, delimiters)
    pixel_start: int
    trailing: Dataset | None  # elements after the Pixel Data
    implicit: bool
    little: bool
    transfer_syntax: str


def _parse(data: bytes | memoryview) -> _Parsed:
    check_structure(data)  # the input budget (size, lengths, nesting, elements, time) before pydicom
    view = memoryview(data)
    ds, stop = _read_dataset(data)
    _check_element_lengths(ds)  # a value cut short by the end of the file is refused
    meta = getattr(ds, "file_meta", None)
    syntax = str(getattr(meta, "TransferSyntaxUID", "") or "") if meta is not None else ""
    if not syntax:
        syntax = implied_transfer_syntax(ds)
    implicit, little = syntax == IMPLICIT_LE, syntax != EXPLICIT_BE
    mixed = any(getattr(raw, "is_implicit_VR", implicit) != implicit for raw in ds.values())
    if syntax == DEFLATED or mixed or ds.original_encoding not in ((implicit, little), (None, None)):
        # Deflated, or elements not encoded as the transfer syntax says (some writers mix
        # them): read everything and let pydicom re-encode the whole dataset.
        full = pydicom.dcmread(io.BytesIO(bytes(view)), force=True)
        full.walk(lambda _ds, _elem: None)  # decode every element, so each is re-encoded
        return _Parsed(full, None, 0, None, implicit, little, syntax)
    pixel = trailing = None
    if stop < len(view):
        end = _element_end(view, stop, not implicit, "<" if little else ">")
        pixel = view[stop:end]
        rest = bytes(view[end:])
        if rest.strip(b"\x00"):
            trailing = pydicom.filereader.read_dataset(io.BytesIO(rest), implicit, little)
    return _Parsed(ds, pixel, stop, trailing, bool(implicit), bool(little), syntax)


def pixel_extent(data: bytes | memoryview) -> tuple[int, int, bool]:
    """Where the Pixel Data element lies in a file: (start, end, encapsulated); (0, 0, False)
    when it has none or the file cannot be framed."""
    try:
        parsed = _parse(data)
    except Exception:  # noqa: BLE001 - pydicom on a hostile file raises many kinds: no extent
        return 0, 0, False
    if parsed.pixel is None:
        return 0, 0, False
    return (parsed.pixel_start, parsed.pixel_start + len(parsed.pixel),
            _undefined_length(parsed.pixel, parsed.implicit, parsed.little))


def _undefined_length(element: memoryview, implicit: bool, little: bool) -> bool:
    """Encapsulated Pixel Data has an undefined length (PS3.5 A.4)."""
    offset = 4 if implicit else 8
    return element[offset:offset + 4].tobytes() == b"\xff\xff\xff\xff"


def _check_instance(ds: Dataset, meta: Dataset | None) -> None:
    sop_class = str(ds.get("SOPClassUID", "") or (meta.get("MediaStorageSOPClassUID", "") if meta else "") or "")
    if sop_class == MEDIA_STORAGE_DIRECTORY or "DirectoryRecordSequence" in ds:
        raise InvalidInstance("a media directory (DICOMDIR), not an instance: de-identify the files it lists")
    for keyword, name in (("SOPInstanceUID", "SOP Instance UID (0008,0018)"),
                          ("SOPClassUID", "SOP Class UID (0008,0016)")):
        if not str(ds.get(keyword, "") or "").strip():
            raise InvalidInstance(f"no {name}, which every DICOM instance must have")


_RECORD_TAGS = (0x00120062, 0x00120063, 0x00120064, 0x00280303)


@lru_cache(maxsize=64)
def _encoded_record(profile: Profile, implicit: bool, little: bool) -> tuple[RawDataElement, ...]:
    """The record of :func:`_record_method` for a file without one, encoded once per run."""
    ds = Dataset()
    _record_method(ds, profile, fast=False)
    out = []
    for tag in _RECORD_TAGS:
        buf = DicomBytesIO()
        buf.is_implicit_VR, buf.is_little_endian = implicit, little
        elem = ds[tag]
        write_data_element(buf, elem, "iso8859")
        data = buf.getvalue()
        header = 8 if implicit or elem.VR != "SQ" else 12
        (length,) = struct.unpack_from("<I" if little else ">I", data, header - 4)
        # pydicom may write a sequence with a defined length or an undefined one (then the
        # value ends with a Sequence Delimitation Item, PS3.5 7.5.2, which is not kept).
        value = data[header:-8] if length == UNDEFINED else data[header:]
        out.append(RawDataElement(BaseTag(tag), None if implicit else elem.VR, len(value), value, 0,
                                  implicit, little, True))
    return tuple(out)


def _record_method(ds: Dataset, profile: Profile, fast: bool = False,
                   encoding: tuple[bool, bool] = (False, True)) -> None:
    """PS3.3 C.7.1.1 Patient Identity Removed and the De-identification Method attributes;
    C.7.1.1 / PS3.15 E.3 Longitudinal Temporal Information Modified."""
    if fast and not any(tag in ds for tag in _RECORD_TAGS):
        for elem in _encoded_record(profile, *encoding):
            ds[elem.tag] = elem
        return
    ds.PatientIdentityRemoved = "YES"
    previous = [str(v) for v in (ds.get("DeidentificationMethod") or []) if str(v)] \
        if isinstance(ds.get("DeidentificationMethod"), (list, MultiValue)) \
        else ([str(ds.DeidentificationMethod)] if ds.get("DeidentificationMethod") else [])
    ds.DeidentificationMethod = previous + [t for t in profile.method_text if t not in previous]
    items = list(ds.get("DeidentificationMethodCodeSequence") or [])
    present = {(str(i.get("CodingSchemeDesignator", "")), str(i.get("CodeValue", ""))) for i in items}
    for value, meaning in profile.codes:
        if ("DCM", value) not in present:
            item = Dataset()
            item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
            items.append(item)
    ds.DeidentificationMethodCodeSequence = Sequence(items)
    ds.LongitudinalTemporalInformationModified = profile.temporal_information


def _file_meta(ds: Dataset, syntax: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = UID(str(ds.get("SOPClassUID", "") or ""))
    meta.MediaStorageSOPInstanceUID = UID(str(ds.get("SOPInstanceUID", "") or ""))
    meta.TransferSyntaxUID = UID(syntax)
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    return meta


def _file_meta_bytes(meta: FileMetaDataset) -> bytes:
    """File Meta Information (PS3.10 7.1): explicit VR little endian, with its group length."""
    body = bytearray()
    for keyword, vr in (("FileMetaInformationVersion", b"OB"), ("MediaStorageSOPClassUID", b"UI"),
                        ("MediaStorageSOPInstanceUID", b"UI"), ("TransferSyntaxUID", b"UI"),
                        ("ImplementationClassUID", b"UI"), ("ImplementationVersionName", b"SH")):
        tag = Tag(keyword)
        value = meta[keyword].value
        if not isinstance(value, bytes):
            value = str(value).encode("ascii")
            if len(value) % 2:
                value += b"\x00" if vr == b"UI" else b" "
        body += struct.pack("<HH", tag >> 16, tag & 0xFFFF)
        if vr == b"OB":  # PS3.5 7.1.2: OB has 2 reserved bytes and a 4-byte length
            body += vr + b"\x00\x00" + struct.pack("<I", len(value))
        else:
            body += vr + struct.pack("<H", len(value))
        body += value
    return struct.pack("<HH2sHI", 0x0002, 0x0000, b"UL", 4, len(body)) + bytes(body)



def _write_elements(out: DicomBytesIO, ds: Dataset, implicit: bool, little: bool,
                    charset: str | list[str]) -> None:
    """Write ``ds``'s top-level elements in tag order (PS3.5 7.1): an element still raw from
    the original, in the same encoding, is copied as bytes; others go through pydicom."""
    e = "<" if little else ">"
    pack_tag = struct.Struct(e + "HH").pack
    pack_long = struct.Struct(e + "I").pack
    pack_short = struct.Struct(e + "H").pack
    for tag, elem in sorted(ds.items(), key=_by_tag):
        value = elem.value
        if (isinstance(elem, RawDataElement) and elem.is_implicit_VR == implicit
                and elem.is_little_endian == little and isinstance(value, bytes)
                and elem.length != UNDEFINED and len(value) == elem.length):
            out.write(pack_tag(tag >> 16, tag & 0xFFFF))
            if implicit:
                out.write(pack_long(len(value)))
            else:
                vr = (elem.VR or "UN").encode("ascii")
                if vr in LONG_VRS:
                    out.write(vr + b"\x00\x00" + pack_long(len(value)))
                elif len(value) > 0xFFFF:
                    out.write(b"UN\x00\x00" + pack_long(len(value)))
                else:
                    out.write(vr + pack_short(len(value)))
            out.write(value)
        else:
            write_data_element(out, ds[tag], charset)


def _by_tag(item: tuple[BaseTag, DataElement | RawDataElement]) -> int:
    return item[0]


def _charset(ds: Dataset) -> str | list[str]:
    value = ds.get("SpecificCharacterSet")
    if not value:
        return "iso8859"
    return pydicom.charset.convert_encodings(value if isinstance(value, (list, MultiValue)) else [value])


def _without_meta(ds: Dataset) -> Dataset:
    if 0x00020000 <= min(ds.keys() or [0x00080000]) < 0x00030000:
        for tag in [t for t in ds.keys() if t >> 16 == 0x0002]:
            del ds[tag]
    return ds


def _deflated(ds: Dataset) -> bytes:
    plain = DicomBytesIO()
    plain.is_implicit_VR, plain.is_little_endian = False, True
    write_dataset(plain, _without_meta(ds), _charset(ds))
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(plain.getvalue()) + compressor.flush()
