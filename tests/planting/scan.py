"""Finding the planted identity in an output: element text, raw bytes, pixel bits, overlays and icons, OCR.

Part of :mod:`tests.planting`.
"""


from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pydicom
import pydicom.config
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels import iter_pixels, unpack_bits
from pydicom.pixels.utils import get_nr_frames
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
)

from tests.planting.identity import PATIENT, Finding, Identity, find_forms
from tests.planting.pixels import hidden_bitmap

_BINARY_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "UN"}
_PIXEL_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009}


def _texts(value: object) -> Iterator[str]:
    if value is None:
        return
    if isinstance(value, (list, tuple, MultiValue)):
        for v in value:
            yield from _texts(v)
    elif isinstance(value, (bytes, bytearray)):
        yield bytes(value[: 1 << 20]).decode("latin_1")
    else:
        yield str(value)


def scan_elements(ds: Dataset, p: Identity = PATIENT) -> list[Finding]:
    """Every element's text (any depth, File Meta, private, UN) holding an identity form.
    Pixel Data and Overlay Data are judged by the pixel checks."""
    findings: list[Finding] = []

    def walk(dataset: Dataset, loc: str) -> None:
        for tag in list(dataset._dict):
            try:
                elem = dataset[tag]
            except Exception as exc:  # noqa: BLE001 - a value pydicom cannot read: look at its bytes
                raw = dataset._dict[tag]
                elem = DataElement(tag, "UN", getattr(raw, "value", b"") or b"")
                findings.append(Finding("element", f"{loc}{_tagtext(tag)}", f"unreadable ({type(exc).__name__})"))
            where = f"{loc}{_tagtext(tag)} {elem.keyword or ('Private' if tag >> 16 & 1 else '')}".rstrip()
            if elem.VR == "SQ":
                for n, item in enumerate(elem.value or []):
                    walk(item, f"{where}[{n + 1}] > ")
                continue
            if tag in _PIXEL_TAGS or (0x6000 <= tag >> 16 <= 0x60FF and tag & 0xFFFF == 0x3000):
                continue
            for text in _texts(elem.value):
                for form in find_forms(text, p):
                    findings.append(Finding("element", where, f"{form.kind} '{form.text}'"))

    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        walk(meta, "FileMeta ")
    walk(ds, "")
    return findings


def _tagtext(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _pixel_region(body: bytes, implicit: bool, little: bool) -> tuple[int, int, bool] | None:
    """(start, end, encapsulated) of the top-level Pixel Data value in ``body`` (a dataset
    without preamble/meta, as encoded)."""
    from pydicom.filereader import read_dataset

    try:
        ds = read_dataset(io.BytesIO(body), implicit, little, defer_size=None)
    except Exception:  # noqa: BLE001
        return None
    raw = ds._dict.get(0x7FE00010)
    if raw is None or getattr(raw, "value_tell", None) is None:
        return None
    value = raw.value if isinstance(raw.value, (bytes, bytearray)) else b""
    return raw.value_tell, raw.value_tell + len(value), raw.length == 0xFFFFFFFF


def scan_bytes(data: bytes, p: Identity = PATIENT) -> list[Finding]:
    """The raw bytes of the whole file (inflated first for Deflated files), case-insensitive.
    Native pixel samples are skipped (the decoded checks judge them); encapsulated frames are
    searched for forms of six characters or more (shorter ones match compressed bytes by chance)."""
    findings: list[Finding] = []
    try:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)
        meta = getattr(ds, "file_meta", None)
        syntax = str(meta.TransferSyntaxUID) if meta is not None and "TransferSyntaxUID" in meta else ""
    except Exception:  # noqa: BLE001
        syntax = ""
    start = 0
    if data[128:132] == b"DICM":
        group_length = struct.unpack("<I", data[140:144])[0] if data[132:136] == b"\x02\x00\x00\x00" else None
        start = 144 + group_length if group_length is not None else 132
    head, body = data[:start], data[start:]
    regions = [("file meta", head)]
    if syntax == DeflatedExplicitVRLittleEndian:
        try:
            body = zlib.decompress(body, -zlib.MAX_WBITS)
        except zlib.error:
            findings.append(Finding("bytes", "deflated body", "cannot be inflated"))
    implicit = syntax == ImplicitVRLittleEndian
    little = syntax != ExplicitVRBigEndian
    region = _pixel_region(body, implicit, little) if syntax else None
    pixels = b""
    encapsulated = False
    if region is not None:
        s, e, encapsulated = region
        regions += [("dataset before Pixel Data", body[:s]), ("after Pixel Data", body[e:])]
        pixels = body[s:e]
    else:
        regions.append(("dataset", body))
    for label, blob in regions:
        text = blob.decode("latin_1")
        for form in find_forms(text, p):
            findings.append(Finding("bytes", label, f"{form.kind} '{form.text}'"))
    if encapsulated and pixels:
        text = pixels.decode("latin_1")
        for form in find_forms(text, p):
            if len(form.text) >= 6:
                findings.append(Finding("bytes", "encapsulated Pixel Data", f"{form.kind} '{form.text}'"))
    return findings


def hidden_bits(ds: Dataset) -> list[tuple[int, int, int]]:
    """(frame, bit, pixels) for every bit above High Bit that is set and is not the sign
    extension, in the decoded (not corrected) samples."""
    if "PixelData" not in ds:
        return []
    bits_allocated = int(ds.get("BitsAllocated") or 0)
    bits_stored = int(ds.get("BitsStored") or bits_allocated)
    high_bit = int(ds.get("HighBit") if ds.get("HighBit") is not None else bits_stored - 1)
    if bits_allocated <= high_bit + 1 or bits_allocated not in (8, 16, 32):
        return []
    signed = int(ds.get("PixelRepresentation") or 0) == 1
    out = []
    options = dict(raw=True, correct_unused_bits=False, apply_jls_sign_correction=False,
                   apply_j2k_sign_correction=False)
    utype = {8: np.uint8, 16: np.uint16, 32: np.uint32}[bits_allocated]
    for index, arr in enumerate(iter_pixels(ds, **options)):
        arr = arr.astype(arr.dtype.newbyteorder("="), copy=False)
        u = np.ascontiguousarray(arr).view(utype) if arr.dtype.itemsize == np.dtype(utype).itemsize \
            else arr.astype(np.int64).astype(utype)
        sign = (u >> high_bit) & 1 if signed else 0
        for bit in range(high_bit + 1, bits_allocated):
            plane = ((u >> bit) & 1) ^ sign
            n = int(np.count_nonzero(plane))
            if n:
                out.append((index, bit, n))
    return out


def bitmap_planes(ds: Dataset, p: Identity = PATIENT) -> list[tuple[int, int]]:
    """(frame, bit) of every bit plane, any bit, that still draws the bitmap
    :func:`plant_hidden_bits` hides (as it is, or against the sign bit): the hidden text moved
    into the stored bits, or Bits Stored widened over it, is still the patient's name."""
    if "PixelData" not in ds or int(ds.get("SamplesPerPixel") or 1) != 1:
        return []
    bits_allocated = int(ds.get("BitsAllocated") or 0)
    if bits_allocated not in (8, 16, 32):
        return []
    rows, columns = int(ds.Rows), int(ds.Columns)
    ink = hidden_bitmap(rows, columns, p)
    if ink.sum() < 20:
        return []
    utype = {8: np.uint8, 16: np.uint16, 32: np.uint32}[bits_allocated]
    options = dict(raw=True, correct_unused_bits=False, apply_jls_sign_correction=False,
                   apply_j2k_sign_correction=False)
    high_bit = int(ds.get("HighBit") if ds.get("HighBit") is not None else bits_allocated - 1)
    out = []
    for index, arr in enumerate(iter_pixels(ds, **options)):
        arr = arr.astype(arr.dtype.newbyteorder("="), copy=False)
        u = np.ascontiguousarray(arr).view(utype) if arr.dtype.itemsize == np.dtype(utype).itemsize \
            else arr.astype(np.int64).astype(utype)
        if u.shape != ink.shape:
            continue
        sign = (u >> min(high_bit, bits_allocated - 1)) & 1
        for bit in range(bits_allocated):
            plane = (u >> bit) & 1
            for candidate in (plane, plane ^ sign):
                on_ink, off_ink = candidate[ink].mean(), candidate[~ink].mean()
                if on_ink > 0.9 and off_ink < 0.1:
                    out.append((index, bit))
                    break
    return out


def scan_pixels(ds: Dataset, p: Identity = PATIENT) -> list[Finding]:
    """Bits above High Bit, the hidden bitmap in any bit plane, overlay bitmaps and icon pixels
    still in the output."""
    findings = []
    try:
        for frame, bit, n in hidden_bits(ds):
            findings.append(Finding("pixel-bits", f"frame {frame + 1}, bit {bit} (High Bit {ds.HighBit})",
                                    f"{n} samples carry a bit above High Bit that is not the sign extension"))
        for frame, bit in bitmap_planes(ds, p):
            findings.append(Finding("pixel-bits", f"frame {frame + 1}, bit {bit}",
                                    "the hidden name/ID bitmap is still drawn in this bit plane"))
    except Exception as exc:  # noqa: BLE001
        findings.append(Finding("pixel-bits", "Pixel Data", f"cannot be decoded ({type(exc).__name__}: {exc})"))
    for tag in list(ds._dict):
        group = tag >> 16
        if 0x6000 <= group <= 0x60FF and tag & 0xFFFF == 0x3000:
            data = ds[tag].value or b""
            bits = int(np.count_nonzero(unpack_bits(data))) if data else 0
            if bits:
                findings.append(Finding("overlay", f"({group:04X},3000) Overlay Data", f"{bits} set bits"))

    def icons(dataset: Dataset, loc: str) -> None:
        for elem in dataset:
            if elem.VR != "SQ":
                continue
            for n, item in enumerate(elem.value or []):
                where = f"{loc}{elem.keyword or _tagtext(elem.tag)}[{n + 1}]"
                if elem.tag == 0x00880200 and "PixelData" in item:
                    data = item.PixelData or b""
                    if any(data):
                        findings.append(Finding("icon", where, f"Icon Image pixels kept ({len(data)} bytes)"))
                icons(item, where + " > ")

    icons(ds, "")
    return findings


def ocr_frames(ds: Dataset, reader, frames: Iterable[int] | None = None) -> list[tuple[int, str]]:  # noqa: ANN001
    """The OCR text of frames (first, middle and last by default) of ``ds``: one line of text
    per line read."""
    from desktop.core.imaging.frames import decode_frame

    count = get_nr_frames(ds)
    picks = sorted(set(frames if frames is not None else (0, count // 2, count - 1)))
    out = []
    for index in picks:
        lines: dict[int, list[str]] = {}
        for word in reader.read_words(decode_frame(ds, index)):
            lines.setdefault(word.line, []).append(word.text)
        out.append((index, "\n".join(" ".join(words) for words in lines.values())))
    return out


def _within_one_edit(a: str, b: str) -> bool:
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) <= 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def match_ocr_text(text: str, p: Identity = PATIENT) -> list[str]:
    """The identity read in OCR text: exact forms, name words one letter off, and digit runs
    with spaces and punctuation dropped."""
    hits = [f"{f.kind} '{f.text}'" for f in find_forms(text, p)]
    for word in re.findall(r"[A-Za-z]{5,}", text):
        for token in p.ocr_tokens:
            if _within_one_edit(word.lower(), token.lower()):
                hits.append(f"word '{word}' ~ {token}")
    for line in text.splitlines():  # runs are looked for within a line, never across lines
        squeezed = re.sub(r"[\W_]", "", line).lower()
        for run in p.ocr_compact:
            if run in squeezed:
                hits.append(f"run '{run}'")
    return sorted(set(hits))


def scan_ocr(ds: Dataset, reader, p: Identity = PATIENT, frames: Iterable[int] | None = None) -> list[Finding]:  # noqa: ANN001
    findings = []
    for index, text in ocr_frames(ds, reader, frames):
        for hit in match_ocr_text(text, p):
            findings.append(Finding("ocr", f"frame {index + 1}", hit))
    return findings


def scan_file(path: Path | str | bytes, p: Identity = PATIENT, *, parts: Iterable[str] = ("element", "bytes", "pixels"),
              reader=None) -> list[Finding]:  # noqa: ANN001
    """Every place ``p`` is still found in one output file. ``parts``: any of "element",
    "bytes", "pixels", "ocr" (OCR needs ``reader``, a TextReader)."""
    data = path if isinstance(path, bytes) else Path(path).read_bytes()
    parts = set(parts)
    findings: list[Finding] = []
    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    if "element" in parts:
        findings += scan_elements(ds, p)
    if "bytes" in parts:
        findings += scan_bytes(data, p)
    if "pixels" in parts:
        findings += scan_pixels(ds, p)
    if "ocr" in parts and "PixelData" in ds:
        if reader is None:
            raise ValueError("OCR needs a TextReader")
        findings += scan_ocr(ds, reader, p)
    return findings


def describe(findings: Iterable[Finding], limit: int = 60) -> str:
    items = [str(f) for f in findings]
    unique = list(dict.fromkeys(items))
    more = f"\n  ... and {len(unique) - limit} more" if len(unique) > limit else ""
    return "\n  " + "\n  ".join(unique[:limit]) + more
