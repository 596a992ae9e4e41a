"""The corpus of pydicom's test files and pydicom-data, sorted by pydicom (never by Veil's
engine) into files the engine must de-identify and files it must refuse, each refusal with the
problem found and the words that name it. The engine tests assert both sides: a file with no
problem is written, a file with one is refused for a reason that names it.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.uid import UID


@dataclass(frozen=True)
class Refusal:
    """A problem that makes a file impossible to de-identify: what was found, and the words
    (any one) the engine's reason must contain to name it."""

    words: tuple[str, ...]
    found: str


MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"  # PS3.4 Annex F, PS3.10 7.1
UNDEFINED_LENGTH = 0xFFFFFFFF

#: Damage pydicom reads past without a word, found by reading the bytes: each with what it is.
KNOWN_DAMAGE: dict[str, Refusal] = {
    "DICOMDIR-nooffset": Refusal(("truncated",), "an item of the Directory Record Sequence declares "
                                                 "248 bytes where 224 remain in its sequence"),
}


#: Compressed pixel data with bits above High Bit, which the engine must decode to check
#: (PS3.5 8.1.1) and no decoder installed with pydicom can decode: each with why.
#: tests/app/test_deid_validation.py checks that pydicom decodes every other such file.
UNDECODABLE: dict[str, str] = {
    "JPEG-lossy.dcm": "12-bit JPEG Extended (Process 4), which neither Pillow nor pylibjpeg decodes here",
}


@cache
def problems(path: Path) -> tuple[Refusal, ...]:
    """What pydicom (not the engine) finds in the header that makes ``path`` impossible to
    de-identify, and the damage and undecodable pixel data listed above; empty when the output
    must be written."""
    found = [KNOWN_DAMAGE[path.name]] if path.name in KNOWN_DAMAGE else []
    if path.name in UNDECODABLE:
        found.append(Refusal(("cannot be decoded",), UNDECODABLE[path.name]))
    data = path.read_bytes()
    with warnings.catch_warnings(record=True) as caught:  # pydicom's warnings on odd values are no finding
        warnings.simplefilter("always")
        try:
            ds = pydicom.dcmread(io.BytesIO(data), force=True)
        except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
            return (*found, Refusal(("not a DICOM file",), f"pydicom cannot read it ({type(exc).__name__})"))
        if data[128:132] != b"DICM" and "SOPClassUID" not in ds and "SOPInstanceUID" not in ds:
            # PS3.10 7.1: no preamble and prefix; read as a bare dataset, it holds no SOP Common.
            return (*found, Refusal(("not a DICOM file",), "no DICM prefix, and no SOP UID when read as a dataset"))
        meta = getattr(ds, "file_meta", None) or {}
        if meta.get("MediaStorageSOPClassUID") == MEDIA_STORAGE_DIRECTORY or "DirectoryRecordSequence" in ds:
            found.append(Refusal(("media directory",), "a DICOMDIR (PS3.10 7.2)"))
        for keyword, name in (("SOPInstanceUID", "SOP Instance UID"), ("SOPClassUID", "SOP Class UID")):
            if not str(ds.get(keyword, "") or "").strip():  # Type 1 in the SOP Common Module (PS3.3 C.12.1)
                found.append(Refusal((name,), f"no {name}"))
        for tag in ds.keys():
            raw = ds.get_item(tag)  # as read: a RawDataElement keeps the length its header declares
            if (isinstance(raw, RawDataElement) and raw.length != UNDEFINED_LENGTH and raw.value is not None
                    and len(raw.value) < raw.length):
                found.append(Refusal(("truncated",), f"{tag} declares {raw.length} bytes, {len(raw.value)} remain"))
    if any("End of file reached before delimiter" in str(w.message) for w in caught):
        found.append(Refusal(("truncated",), "an undefined length ends without its delimiter (PS3.5 7.5)"))
    return tuple(found)


def must_decode_to_check(path: Path) -> bool:
    """Compressed pixel data whose cells may hold bits outside Bits Stored (PS3.5 8.1.1): the
    engine must decode it to check them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:  # noqa: BLE001 - not an image
            return False
        syntax = UID(str(ds.file_meta.get("TransferSyntaxUID", "") or ""))
        if not syntax or not syntax.is_compressed or "BitsAllocated" not in ds:
            return False
        allocated = int(ds.BitsAllocated or 0)
        stored = int(ds.get("BitsStored", allocated) or allocated)
        high_bit = ds.get("HighBit")
        high = stored - 1 if high_bit is None else int(high_bit)
    return allocated in (8, 16, 32) and (stored, high) != (allocated, allocated - 1)
