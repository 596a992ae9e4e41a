"""The leak check: is any identifier of the original still in the de-identified output?

Two searches, both case-insensitive and for whole words (no letter or digit right before or
after): every element at any depth, private attributes and File Meta included, as decoded
text; and the raw bytes of the whole file, in the file's character set and in ASCII. Inside
Pixel Data only identifiers of six characters or more count: shorter ones turn up by chance in
image bytes. A leak names the kind of identifier, the attribute it came from and where it was
found, never the value itself (reports and logs must not carry identity).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from desktop.core.dicom.identifiers import Identifier, is_glued_name, scrub_pattern

#: Inside Pixel Data, shorter identifiers match image bytes by chance.
MIN_PIXEL_TOKEN = 6


@dataclass(frozen=True)
class Leak:
    kind: str
    source: str
    where: str

    def describe(self) -> str:
        return f"{self.kind} from {self.source} found in {self.where}"


def _alnum(byte: int) -> bool:
    return 48 <= byte <= 57 or 65 <= byte <= 90 or 97 <= byte <= 122


#: Identifiers this long are also looked for in UTF-16 (text in binary elements: ICC profiles,
#: private blobs, documents).
MIN_UTF16_TOKEN = 4


#: Kinds looked for in UTF-16 too: what a person types (dates are digits, seldom in UTF-16).
_WIDE_KINDS = frozenset({"name", "id", "accession", "address", "phone", "email"})


def _encodings(text: str, charset: str | list[str], wide: bool = False) -> frozenset[bytes]:
    """``text`` as bytes in every encoding it may have been written in, ASCII letters lowered
    (the searched bytes are too); accented capitals are not bytes.lower()'s, so a non-ASCII
    text's own upper and lower case are encoded as well ("QUISENBÉRRY" in Latin-1 or UTF-8).
    ``wide``: in UTF-16 too, when long enough."""
    return _encoded(text, tuple(charset) if isinstance(charset, list) else (charset,),
                    wide and len(text) >= MIN_UTF16_TOKEN)


@lru_cache(maxsize=4096)
def _encoded(text: str, codecs: tuple[str, ...], wide: bool) -> frozenset[bytes]:
    forms = set()
    extra = ("utf-16-le", "utf-16-be") if wide else ()
    for cased in ({text} if text.isascii() else {text, text.lower(), text.upper()}):
        for codec in (*codecs, "ascii", "utf-8", *extra):
            try:
                forms.add(cased.encode(codec).lower())
            except (UnicodeError, LookupError):
                continue
    return frozenset(f for f in forms if f)


def _whole_word_at(blob: bytes, needle: bytes, lowered: bool, anywhere: bool = False) -> int | None:
    """The first offset where ``needle`` stands as a whole word in ``blob`` (with
    ``anywhere``, also inside a longer word)."""
    at = blob.find(needle)
    if anywhere:
        return at if at >= 0 else None
    while at >= 0:
        before = blob[at - 1] if at > 0 else 0
        end = at + len(needle)
        after = blob[end] if end < len(blob) else 0
        if not _alnum(before) and not _alnum(after):
            return at
        at = blob.find(needle, at + 1)
    return None


def find_leaks_in_bytes(data: bytes, identifiers: list[Identifier], charset: str | list[str] = "iso8859",
                        pixel_range: tuple[int, int] = (0, 0), scan_pixels: bool = True) -> list[Leak]:
    """Where each identifier first turns up in the raw bytes (one leak per identifier).

    The search ignores case; inside Pixel Data (often megabytes) only identifiers long enough
    not to turn up by chance count.
    ``scan_pixels=False`` skips native (uncompressed) Pixel Data: sample values, which hold no
    text; encapsulated frames (JPEG comments, JPEG 2000 boxes) can, so they are searched.
    """
    start, end = pixel_range
    view = memoryview(data)
    regions = [(0, bytes(view[:start]).lower()), (end, bytes(view[end:]).lower())]
    pixels = bytes(view[start:end]).lower() if end > start and scan_pixels else b""
    leaks = []
    for ident in identifiers:
        hit = None
        glued = is_glued_name(ident)
        for needle in _encodings(ident.text, charset, ident.kind in _WIDE_KINDS):
            for offset, blob in regions:
                at = _whole_word_at(blob, needle, True, glued)
                if at is not None:
                    hit = (offset + at, False)
                    break
            if hit is None and pixels and len(needle) >= MIN_PIXEL_TOKEN:
                at = _whole_word_at(pixels, needle, False)
                if at is not None:
                    hit = (start + at, True)
            if hit is not None:
                break
        if hit is not None:
            where = f"the file's bytes at offset {hit[0]}" + (" (inside Pixel Data)" if hit[1] else "")
            leaks.append(Leak(ident.kind, ident.source, where))
    return leaks


def _texts(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, MultiValue)):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, PersonName):
        return [str(value)]
    if isinstance(value, (bytes, bytearray)):
        return [bytes(value[:1 << 16]).decode("latin_1", "replace")]
    return [str(value)]


_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")


def _reported_texts(ident: Identifier) -> list[str]:
    """The forms of an identifier whose presence is a leak. An ID's shortened forms (without
    its leading parts: "4471 0093" of "MRN-4471-0093") are scrubbed from text but are not proof
    on their own (an ID ending in a time of day); its whole forms, separators aside, are."""
    forms = [ident.text, *ident.variants]
    if ident.kind not in ("id", "phone"):
        return forms
    whole = _NOT_ALNUM.sub("", ident.text).upper()
    return [t for t in forms if _NOT_ALNUM.sub("", t).upper() == whole]


def find_leaks_in_dataset(ds: Dataset, identifiers: list[Identifier]) -> list[Leak]:
    """Every element (any depth, private, File Meta) whose text holds an identifier."""
    pattern = scrub_pattern(identifiers)
    if pattern is None:
        return []
    by_text = {t.upper(): i for i in identifiers for t in _reported_texts(i)}
    leaks: list[Leak] = []
    seen: set[tuple[str, str]] = set()

    def walk(dataset: Dataset, loc: str) -> None:
        for elem in dataset:
            where = f"{loc}({elem.tag.group:04X},{elem.tag.element:04X}) {elem.name}"
            if elem.VR == "SQ":
                for index, item in enumerate(elem.value or []):
                    walk(item, f"{where}[{index + 1}] › ")
                continue
            if elem.tag == 0x7FE00010 or elem.VR in ("OB", "OW", "OF", "OD", "OL", "OV") and elem.tag.group != 0x0002 \
                    and not elem.tag.is_private:
                continue  # binary data: judged by the raw-byte search
            for text in _texts(elem.value):
                for match in pattern.finditer(text):
                    ident = by_text.get(match.group(0).upper())
                    if ident is None:
                        continue
                    key = (ident.text.upper(), where)
                    if key not in seen:
                        seen.add(key)
                        leaks.append(Leak(ident.kind, ident.source, where))

    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        walk(meta, "File Meta ")
    walk(ds, "")
    return leaks

