"""Steps 3 and 5 of the privacy gate: the burned-in review and the residual pixel check.

**Review (step 3).** An image is listed for a person to redact or confirm when

- its header says it carries burned-in text (Burned In Annotation YES, PS3.3 C.7.6.1.1.3), or
  it is of a modality whose images usually do (ultrasound, secondary capture, photographs,
  scanned documents: :data:`TEXT_PRONE_MODALITIES`) and does not declare NO;
- OCR reads text in its pixels (:func:`text_words`);
- its pixels cannot be decoded (nobody, not even the OCR, has looked at it).

A redacted version Veil made (:func:`desktop.core.redaction.record.is_redacted`) is not flagged
for text: its regions were chosen (by a person, a scanner template or detection), and the text
left in it (labels such as "DOB" or "ID" beside what was covered) is judged by the residual
check below, which refuses it if any of that text is still one of the patient's identifiers.

What OCR reads (:func:`positions_to_read`): every image of text-prone modalities and every
redacted version; in other series the first, middle and last image; and every image of a
series once one of its images holds text (the caller reads the rest: :func:`escalate`).

**Residual check (step 5).** On every image that was redacted or in which the review found
text, the words OCR reads in the pixels that leave are matched against the original's
identifiers (names and their parts, IDs, dates in their written forms: the same matching as
:mod:`desktop.core.redaction.detect`). A match is a leak, whatever was confirmed: the image is
left out of a folder export, and a package is refused. The words themselves never leave this
module; only counts and kinds do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from desktop.app.common.formatting import plural
from desktop.app.common.tasks import Progress, no_progress
from desktop.core.common.errors import Cancelled
from desktop.core.dicom.identifiers import Identifier, collect_identifiers
from desktop.core.imaging.frames import DecodeError, decode_frame, read_image
from desktop.core.redaction.detect import _targets, match_words
from desktop.core.redaction.ocr import OcrUnavailable, TextReader, Word

log = logging.getLogger("veil.gate")

#: Modalities whose images usually carry burned-in text (banners, annotations, captured
#: screens, photographs): flagged unless they declare BurnedInAnnotation NO, and read in full.
TEXT_PRONE_MODALITIES = ("US", "IVUS", "SC", "OT", "XC", "ES", "GM", "SM", "DOC", "OP", "OPT")
#: What the residual check looks for in the pixels: the patient's names, IDs and dates, and the
#: like (institution and device names on a banner are for the review and a person to judge).
RESIDUAL_KINDS = frozenset({"name", "id", "accession", "date", "address", "phone"})
#: Frames larger than this are not decoded for OCR (time and memory budget): they are flagged
#: for a person to look at. Whole-slide and scanned-document frames can be bigger.
MAX_OCR_PIXELS = 25_000_000
#: A word counts as text when it has this many letters or digits …
MIN_CHARS = 2
#: … and Tesseract reads it with at least this confidence (0..1).
MIN_CONFIDENCE = 0.7


@dataclass(frozen=True)
class Flagged:
    """An image listed for review: it may carry burned-in identity. ``label`` names it without
    identity ("CT 2004-01-19 'e+1', series 2, image 14: declares burned-in text")."""

    label: str
    series_uid: str
    instance_ref: int  # the library's instance, or the input's position for files


class Refusal(NamedTuple):
    """An image the residual check refuses: it would still show the patient in its pixels."""

    label: str
    why: str
    key: int  # the library's instance ref, or the input's position (as :class:`Candidate`)


@dataclass(frozen=True)
class TextRead:
    """What OCR found in one image: how many words count as text, and the kinds of the
    original's identifiers some of them match (empty: none)."""

    words: int
    matched: tuple[str, ...] = ()
    #: Where the matching words are in frame 1: (x0, y0, x1, y1) in pixels, x1/y1 exclusive.
    region: tuple[int, int, int, int] | None = None


def header_reason(modality: str, burned_in: str, redacted: bool) -> str | None:
    """Why the header alone flags an image (see the module), or None."""
    if redacted:
        return None
    declared = burned_in.strip().upper()
    if declared == "YES":
        return "declares burned-in text"
    if declared != "NO" and modality.strip().upper() in TEXT_PRONE_MODALITIES:
        return f"{modality.strip().upper()} image without BurnedInAnnotation NO: may carry burned-in text"
    return None


def reads_all(modality: str, redacted: bool = False) -> bool:
    """Whether every image of this kind is read (text-prone modalities, redacted versions)."""
    return redacted or modality.strip().upper() in TEXT_PRONE_MODALITIES


def positions_to_read(count: int, read_all: bool) -> list[int]:
    """Which of a series' ``count`` images (in order) OCR reads first: all of them for
    text-prone series, else the first, the middle and the last."""
    if read_all or count <= 3:
        return list(range(count))
    return sorted({0, (count - 1) // 2, count - 1})


def text_words(words: Sequence[Word]) -> int:
    """How many of ``words`` count as text (see :data:`MIN_CHARS`, :data:`MIN_CONFIDENCE`)."""
    return sum(1 for w in words if w.confidence >= MIN_CONFIDENCE and sum(c.isalnum() for c in w.text) >= MIN_CHARS)


def matched_kinds(words: Sequence[Word], identifiers: Sequence[Identifier]) -> tuple[str, ...]:
    """The kinds of the identifiers ("name", "id", "date", …) that words on one of the lines
    read match, in order; empty when none does. Every word counts here, whatever its
    confidence: a name read at 0.4 is still the patient's name."""
    return matched(words, identifiers)[0]


def matched(words: Sequence[Word], identifiers: Sequence[Identifier]
            ) -> tuple[tuple[str, ...], tuple[int, int, int, int] | None]:
    """:func:`matched_kinds`, and the box around every word that matched (None: none)."""
    targets = _targets(i for i in identifiers if i.kind in RESIDUAL_KINDS)
    if not targets:
        return (), None
    lines: dict[int, list[Word]] = {}
    for w in words:
        if any(c.isalnum() for c in w.text):
            lines.setdefault(w.line, []).append(w)
    kinds: list[str] = []
    boxes: list[tuple[int, int, int, int]] = []
    for line in lines.values():
        for word, hits in zip(line, match_words(line, targets), strict=True):  # one list of hits per word
            kinds.extend(t.kind for t in hits if t.kind not in kinds)
            if hits:
                boxes.append(word.box)
    if not boxes:
        return tuple(kinds), None
    return tuple(kinds), (min(b[0] for b in boxes), min(b[1] for b in boxes),
                          max(b[2] for b in boxes), max(b[3] for b in boxes))


def read_text(frame: np.ndarray, identifiers: Sequence[Identifier], reader: TextReader) -> TextRead:
    """Read one frame: text words, and the identifiers of the original they match."""
    words = reader.read_words(frame)
    kinds, region = matched(words, identifiers)
    return TextRead(text_words(words), kinds, region)


def text_reason(read: TextRead) -> str | None:
    """Why the review flags an image OCR read, or None."""
    return f"text found in the pixels ({plural(read.words, 'word')})" if read.words else None


def residual_reason(read: TextRead) -> str | None:
    """Why the residual check refuses an image, or None."""
    if not read.matched:
        return None
    where = ""
    if read.region is not None:
        x0, y0, x1, y1 = read.region
        where = f" in frame 1, pixels x {x0}-{x1}, y {y0}-{y1}"
    return ("the pixels that would leave still show the patient's " + ", ".join(read.matched)
            + f" (read by OCR{where}): redact it, or leave it out")


def escalate(series_with_text: set[str], read: set[int], series_of: dict[int, str]) -> list[int]:
    """The images still to read: every unread image of a series where one image held text."""
    return sorted(k for k, s in series_of.items() if s in series_with_text and k not in read)


# -- running the review ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    """One image for the review: where it sits, what its header says, how to read it."""

    key: int  # the library's instance ref, or the input's position
    series: str  # the series it belongs to (images are read series by series)
    label: str  # names it without identity
    modality: str
    burned_in: str
    redacted: bool
    read: Callable[[], bytes]
    digest: str = ""  # what was read (the SHA-256 of a library object), when known


@dataclass
class Review:
    """What the review found: images to confirm, images that must not leave, images read."""

    flagged: list[Flagged] = field(default_factory=list)
    leaks: list[Refusal] = field(default_factory=list)  # refuse the export, confirmed or not
    read: int = 0
    candidates: int = 0
    ocr: bool = True  # False: the pixels were not read (only the headers were reviewed)
    unavailable: bool = False  # True: they could not be, no OCR engine here
    #: The digests of the images reviewed, in order (empty when unknown): an export reuses a
    #: review shown to a person only for exactly these bytes (:meth:`covers`).
    basis: tuple[str, ...] = ()

    def covers(self, digests: Sequence[str]) -> bool:
        """Whether this review read exactly these images (same bytes, same order)."""
        return bool(self.basis) and all(self.basis) and self.basis == tuple(digests)

    @property
    def needs_confirmation(self) -> bool:
        """A person must confirm before anything leaves: images were flagged, or none was read."""
        return bool(self.flagged) or (self.unavailable and self.candidates > 0)

    def note(self) -> str:
        """How much was read, for the report ("OCR read 14 of 480 images")."""
        if self.unavailable:
            return "The pixels were not read for text (no OCR engine): only the headers were reviewed."
        if not self.ocr:
            return ("Only the headers were reviewed so far: the pixels are read for text once the images "
                    "they flag are confirmed.")
        return f"OCR read {self.read:,} of {plural(self.candidates, 'image')} for burned-in text."


class Reviewed:
    """For the report of an export that carries the gate's ``review`` (a dataclass field of the
    subclass): the images it flagged, and those the residual check refuses."""

    review: Review | None

    @property
    def flagged(self) -> list[Flagged]:
        return self.review.flagged if self.review is not None else []

    @property
    def residual(self) -> list[Refusal]:
        return self.review.leaks if self.review is not None else []


def _read_one(candidate: Candidate, reader: TextReader) -> tuple[TextRead | None, str | None]:
    """OCR of frame 0 of one image, or why it could not be read."""
    try:
        ds = read_image(candidate.read())
        if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
            return TextRead(0), None  # nothing to burn text into
        rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
        if rows * columns > MAX_OCR_PIXELS:  # a budget: a hostile or huge frame is for a person to look at
            return None, (f"too large to be read for text ({columns} x {rows} pixels, over "
                          f"{MAX_OCR_PIXELS // 1_000_000} megapixels); look at it yourself")
        frame = decode_frame(ds, 0)
        identifiers = collect_identifiers(ds)
    except DecodeError as exc:  # its message names the problem, never the patient
        return None, f"could not be read for text ({exc}); look at it yourself"
    except Exception as exc:  # noqa: BLE001 - one image; the others are still read
        log.warning("Review: image %d could not be read (%s)", candidate.key, type(exc).__name__)
        return None, f"could not be read for text ({type(exc).__name__}); look at it yourself"
    try:
        return read_text(frame, identifiers, reader), None
    except (OcrUnavailable, Cancelled):
        raise
    except Exception as exc:  # noqa: BLE001 - an odd frame the OCR refuses
        log.warning("Review: image %d could not be read by OCR (%s)", candidate.key, type(exc).__name__)
        return None, f"could not be read for text ({type(exc).__name__}); look at it yourself"


def run_review(candidates: Sequence[Candidate], *, reader: TextReader | None = None, ocr: bool = True,
               progress: Progress = no_progress, cancelled: Callable[[], bool] = lambda: False) -> Review:
    """The review (step 3) and the residual check (step 5) of these images (see the module).
    ``ocr=False`` reviews the headers only (the report says so). Raises :class:`Cancelled`."""
    review = Review(candidates=len(candidates), ocr=ocr, basis=tuple(c.digest for c in candidates))
    flagged: dict[int, Flagged] = {}
    for c in candidates:
        why = header_reason(c.modality, c.burned_in, c.redacted)
        if why is not None:
            flagged[c.key] = Flagged(f"{c.label}: {why}", c.series, c.key)
    if not ocr:
        review.flagged = list(flagged.values())
        return review
    by_series: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_series.setdefault(c.series, []).append(c)
    first: list[Candidate] = []
    for series in by_series.values():
        everything = any(reads_all(c.modality, c.redacted) for c in series)
        first.extend(series[n] for n in positions_to_read(len(series), everything))
    own = reader is None
    reader = reader if reader is not None else TextReader()
    done: set[int] = set()
    with_text: set[str] = set()

    def read_all(batch: list[Candidate], total: int) -> None:
        for c in batch:
            if cancelled():
                raise Cancelled("The check for burned-in text was cancelled.")
            found, problem = _read_one(c, reader)
            done.add(c.key)
            review.read += 1
            if problem is not None:
                flagged.setdefault(c.key, Flagged(f"{c.label}: {problem}", c.series, c.key))
            elif found is not None:
                if (why := text_reason(found)) is not None:
                    with_text.add(c.series)
                    if not c.redacted:  # redacted: the text left matched none of its identifiers (below)
                        flagged.setdefault(c.key, Flagged(f"{c.label}: {why}", c.series, c.key))
                if (leak := residual_reason(found)) is not None:
                    review.leaks.append(Refusal(c.label, leak, c.key))
            progress(review.read, total)

    try:
        total = len(first)
        progress(0, total)
        read_all(first, total)
        rest = [c for c in candidates if c.series in with_text and c.key not in done]
        read_all(rest, total + len(rest))
    except OcrUnavailable:
        log.warning("Review: no OCR engine; only the headers were reviewed")
        review.ocr, review.unavailable = False, True
    finally:
        if own:
            reader.close()
    review.flagged = [flagged[c.key] for c in candidates if c.key in flagged]
    return review
