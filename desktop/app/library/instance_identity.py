"""Whose an instance is and where it sits: patient key, Study and Series Instance UIDs, read
from the first few KB of a file (the patient group 0010, the relationship group 0020 and the
few image attributes the burned-in review needs), before anything is written.
De-identification needs the patient (pseudonym, date shift), the consent check the study and
series, the privacy gate's review the modality, Burned In Annotation (PS3.3 C.7.6.1.1.3),
whether Veil redacted it (Derivation Description) and the Instance Number."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from typing import BinaryIO, cast

import pydicom
import pydicom.filereader

from desktop.core.deid.mapping import patient_key, patient_key_of
from desktop.core.dicom.header import InvalidInstance, _element_end
from desktop.core.library.index import patient_key_from
from desktop.core.library.sources import FileSource, ZipMember
from desktop.core.redaction.record import REDACTION_MARK, is_redacted

HEAD_BYTES = 16384
STUDY_UID, SERIES_UID = 0x0020000D, 0x0020000E
MODALITY, DERIVATION, INSTANCE_NUMBER, BURNED_IN = 0x00080060, 0x00082111, 0x00200013, 0x00280301
_PATIENT_TAGS = {0x00100010: 2, 0x00100020: 0, 0x00100021: 1, 0x00100030: 3}
_UID_TAGS = {STUDY_UID: 4, SERIES_UID: 5, MODALITY: 6, DERIVATION: 7, INSTANCE_NUMBER: 8, BURNED_IN: 9}
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}


@dataclass(frozen=True)
class Identity:
    """``patient_key`` as de-identification keys patients (:func:`desktop.core.deid.mapping.patient_key`)."""

    patient_key: str
    study_uid: str = ""
    series_uid: str = ""
    modality: str = ""
    burned_in: str = ""
    redacted: bool = False  # Veil redacted its pixels (and it says BurnedInAnnotation NO)
    instance_number: int | None = None

    @property
    def library_key(self) -> str:
        """The same patient as the library (and its consent records) keys them."""
        return library_key(self.patient_key)


def library_key(deid_key: str) -> str:
    """The library's patient key for a de-identification patient key (same parts, other form)."""
    kind, a, b = (deid_key.split("\x00") + ["", "", ""])[:3]
    return patient_key_from(b, a, "", "") if kind == "id" else patient_key_from("", "", a, b)


def _stop_after_relationship(tag, vr, length) -> bool:  # noqa: ANN001 - pydicom's callback
    return tag > BURNED_IN


def _identity(values: list[str]) -> Identity:
    number = values[8].strip()
    burned = values[9].strip().upper()
    return Identity(patient_key(*values[:4]), values[4], values[5], values[6].strip().upper(), burned,
                    values[7].strip() == REDACTION_MARK and burned == "NO",
                    int(number) if number.lstrip("-").isdigit() else None)


def quick_identity(head: bytes) -> Identity | None:
    """The identity from the first bytes of a plain Explicit or Implicit VR Little Endian file
    (PS3.5 7.1), without pydicom; None whenever anything is unusual (then pydicom reads it): no
    preamble, another transfer syntax, an undefined length it cannot skip, text that is not
    ASCII, or group 0020 not within ``head``."""
    if len(head) < 144 or head[128:132] != b"DICM":
        return None
    pos, syntax = 132, None
    while pos + 8 <= len(head) and head[pos:pos + 2] == b"\x02\x00":
        element = int.from_bytes(head[pos + 2:pos + 4], "little")
        vr = head[pos + 4:pos + 6]
        if vr in _LONG_VRS:
            length, start = int.from_bytes(head[pos + 8:pos + 12], "little"), pos + 12
        else:
            length, start = int.from_bytes(head[pos + 6:pos + 8], "little"), pos + 8
        if element == 0x0010:
            syntax = head[start:start + length].rstrip(b"\x00 ")
        pos = start + length
    if syntax not in (b"1.2.840.10008.1.2", b"1.2.840.10008.1.2.1"):
        return None
    implicit = syntax == b"1.2.840.10008.1.2"
    values = [""] * 10
    while True:
        if pos + 8 > len(head):
            return None
        group = int.from_bytes(head[pos:pos + 2], "little")
        tag = (group << 16) | int.from_bytes(head[pos + 2:pos + 4], "little")
        if tag > BURNED_IN:
            break
        try:
            end = _element_end(head, pos, not implicit, "<")  # sequences too (PS3.5 7.5)
        except InvalidInstance:
            return None  # runs past what was read
        where = _PATIENT_TAGS.get(tag, _UID_TAGS.get(tag))
        if where is not None:
            long_vr = not implicit and head[pos + 4:pos + 6] in _LONG_VRS
            value = head[pos + (12 if long_vr else 8):end]
            if not value.isascii():
                return None
            values[where] = value.decode("ascii").strip(" \x00")
        pos = end
    return _identity(values)


def _of_dataset(ds: pydicom.Dataset) -> Identity:
    number = ds.get("InstanceNumber")
    try:
        number = int(number) if number not in (None, "") else None
    except (TypeError, ValueError):
        number = None
    return Identity(patient_key_of(ds), str(ds.get("StudyInstanceUID", "") or "").strip(),
                    str(ds.get("SeriesInstanceUID", "") or "").strip(),
                    str(ds.get("Modality", "") or "").strip().upper(),
                    str(ds.get("BurnedInAnnotation", "") or "").strip().upper(), is_redacted(ds), number)


def identity_of(item: FileSource | ZipMember) -> Identity:
    """The identity of a file or zip member (a few KB read)."""
    if isinstance(item, FileSource):
        with open(item.path, "rb") as fh:
            quick = quick_identity(fh.read(HEAD_BYTES))
        if quick is not None:
            return quick
        with open(item.path, "rb") as fh:
            return _of_dataset(pydicom.filereader.read_partial(fh, stop_when=_stop_after_relationship, force=True))
    with zipfile.ZipFile(item.archive) as archive, archive.open(item.member) as member:
        # a zip member is a readable binary stream, what read_partial reads (typeshed calls it IO[bytes])
        stream = cast(BinaryIO, member)
        return _of_dataset(pydicom.filereader.read_partial(stream, stop_when=_stop_after_relationship, force=True))
