"""Detection: regions of burned-in text proposed for redaction. No Qt.

Every word OCR finds in a frame (with a letter or digit in it) becomes a :class:`Proposal`.
Words that match one of the header's identifiers
(:func:`desktop.core.dicom.identifiers.collect_identifiers`: name parts and whole names in any
order, IDs and phone numbers with or without separators, accession, dates and times of day in
the forms scanners print, "01.09.2012", "24-MAY-02", "5/25/2011", "May 25, 2011", "14:23:17"
(:mod:`desktop.core.dicom.identity_forms`), institution) are *high* risk; the rest *low*.
Proposals are for a person to accept or reject (PS3.15 E.3.1: burned-in text is for the user to
judge); nothing is applied here.

Matching is forgiving of OCR: case-insensitive, O/0, I/1/l and rn/nn/m folded, separators
ignored (a name "DOE^JOHN" read as ``DOE*JOHN``, a date spread over words, "05/03/ 2024", an
ID "123-45-678" printed "12345678" or the other way round), and one edit allowed for tokens of
five characters or more. Dates and times are matched more strictly, since they differ from other
dates in one digit: an edit only for eight characters or more, and forms of five digits or
fewer ("1.9.12") only with their own separators. A single letter next to a matched name is taken
with it when it is the initial of that name ("Smith, J."); a letter alone is never a match.

A proposal carries the text OCR read (``text``) so a person can judge it; its ``reason`` names
the kind and the attribute that matched, never the text, so reasons can be logged and reported.
Neither the text nor the identifiers are logged here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence, Sized
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pydicom

from desktop.core.common.errors import Cancelled
from desktop.core.dicom.identifiers import Identifier, collect_identifiers
from desktop.core.redaction.mask import Mask, Scope
from desktop.core.redaction.ocr import Word
from desktop.core.redaction.shapes import Rect

Box = tuple[int, int, int, int]
#: Tokens this long or longer match with one edit (OCR misreads a glyph now and then), and
#: also inside a longer word (OCR glued a label to the value: "ID12345678").
FUZZY_MIN = 5
_SPLIT = re.compile(r"[^0-9A-Za-z]+")
_FOLD = str.maketrans({"O": "0", "I": "1", "L": "1"})


@dataclass(frozen=True)
class Proposal:
    """A region proposed for redaction. ``box`` is (x0, y0, x1, y1) in image pixels, x1/y1
    exclusive, padded around the text; ``text_kind`` is the identifier kind that matched
    ("name", "id", "date", ... joined with "+" when several) or "text"; ``risk`` is "high" for
    a header identifier, "low" for other text; ``reason`` never holds the text itself.
    ``text`` is what OCR read in the box, for the person deciding: it may be the patient's
    identity, so it is shown, never logged or written to an audit record."""

    frame: int
    box: Box
    text_kind: str
    risk: str
    reason: str
    text: str = field(default="", repr=False)  # out of reprs: tracebacks and log lines


def fold(text: str) -> str:
    """Upper case with the glyphs OCR confuses made equal: O->0, I and l->1, and "rn" or "nn"
    read as "m" in small fonts (so "Anna" read as "Ama" still matches)."""
    return text.upper().replace("RN", "M").replace("NN", "M").translate(_FOLD)


def _parts(text: str) -> list[str]:
    return [fold(p) for p in _SPLIT.split(text) if p]


def _within_one_edit(a: str, b: str) -> bool:
    """Levenshtein distance of a and b is at most 1."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    if la == lb:
        return a[i + 1:] == b[i + 1:]  # one substitution
    return a[i:] == b[i + 1:]  # one insertion into a


#: Kinds matched strictly: a date or time differs from another in one digit.
_TEMPORAL = frozenset({"date", "time"})
#: Temporal forms this long or longer allow one edit (and a label glued on).
TEMPORAL_FUZZY_MIN = 8
#: Temporal forms of this many digits or fewer match only with their own separators.
_SHORT_DIGITS = 5
#: Kinds whose separators OCR may show differently from the header ("123-45-678", "12345678").
_NUMBERS = frozenset({"id", "accession", "phone"})


@dataclass(frozen=True)
class _Target:
    """An identifier as OCR would show it: its alphanumeric parts, folded, and their join."""

    kind: str
    source: str
    joined: str
    nparts: int
    #: The parts themselves when only they match (a short date such as "1.9.12").
    parts: tuple[str, ...] = ()
    fuzzy: bool = True
    #: How many consecutive OCR parts may make it up.
    longest: int = 0


def _target(kind: str, source: str, parts: list[str]) -> _Target:
    joined = "".join(parts)
    temporal = kind in _TEMPORAL
    exact = temporal and joined.isdigit() and len(joined) <= _SHORT_DIGITS
    longest = len(parts) + 1  # OCR may split a part in two
    if kind in _NUMBERS and len(joined) >= FUZZY_MIN:
        longest = max(longest, 4)  # separators the header does not have: "123-45-678"
    return _Target(kind, source, joined, len(parts), tuple(parts) if exact else (),
                   len(joined) >= (TEMPORAL_FUZZY_MIN if temporal else FUZZY_MIN), longest)


def _targets(identifiers: Iterable[Identifier]) -> list[_Target]:
    out: dict[tuple[str, str, str, tuple[str, ...]], _Target] = {}
    for ident in identifiers:
        for text in (ident.text, *ident.variants):
            parts = _parts(text)
            joined = "".join(parts)
            if len(joined) < 2 or (joined.isdigit() and len(joined) < 3):
                continue  # too short to mean anything on its own
            target = _target(ident.kind, ident.source, parts)
            key = (ident.kind, ident.source, joined, target.parts)
            known = out.get(key)  # "19700102" and "1970-01-02" are one target, of up to 3 parts
            if known is None or known.nparts < target.nparts:
                out[key] = target
    return list(out.values())


def _matches(target: _Target, candidate: str, single_part: bool) -> bool:
    """The rule, one target at a time (:class:`_Index` finds the same targets faster)."""
    if candidate == target.joined:
        return True
    if target.fuzzy:
        if _within_one_edit(candidate, target.joined):
            return True
        if single_part and len(candidate) > len(target.joined) and target.joined in candidate:
            return True  # a label glued to the value: "ID12345678"
    return False


def match_words(words: Sequence[Word], targets: Sequence[_Target]) -> list[list[_Target]]:
    """For each word of one line (in reading order), the identifiers it is part of.

    The line's words are cut into alphanumeric parts; an identifier matches a run of
    consecutive parts whose join equals its own (or is one edit away), so "2024-03-05",
    "2024 03 05" and "05/03/ 2024" all match their dates, whichever way OCR split them. A word
    of one letter next to a matched name is the initial of the name when it is one of its parts'
    first letter."""
    parts: list[tuple[str, int]] = [(p, i) for i, w in enumerate(words) for p in _parts(w.text)]
    hits: list[list[_Target]] = [[] for _ in words]
    if not targets or not parts:
        return hits
    index = _Index(targets)
    for start in range(len(parts)):
        for n in index.shapes:  # short dates: exactly these parts
            for t in index.shaped.get(tuple(p for p, _ in parts[start:start + n]), ()):
                _hit(hits, t, parts, start, start + n - 1)
        done: set[int] = set()  # each target matches its shortest run from here
        joined = ""
        for end in range(start, min(start + index.longest, len(parts))):
            joined += parts[end][0]
            if len(joined) > index.widest + 1 and end > start:
                break
            for t in index.candidates(joined, end == start):
                if id(t) not in done and end - start < t.longest:
                    done.add(id(t))
                    _hit(hits, t, parts, start, end)
    _initials(words, hits, targets)
    return hits


class _Index:
    """The targets by what a run of parts must be to match them: its join (exact), its length
    (one edit), its parts (short dates)."""

    def __init__(self, targets: Sequence[_Target]) -> None:
        self.exact: dict[str, list[_Target]] = {}
        #: Fuzzy targets by (length, first character) and (length, -1 - last character's code):
        #: a string one edit away shares the first or the last character.
        self.by_end: dict[tuple[int, object], list[_Target]] = {}
        self.shaped: dict[tuple[str, ...], list[_Target]] = {}
        self.fuzzy: list[_Target] = []
        joined = [t for t in targets if not t.parts]
        for t in targets:
            if t.parts:
                self.shaped.setdefault(t.parts, []).append(t)
                continue
            self.exact.setdefault(t.joined, []).append(t)
            if t.fuzzy:
                size = len(t.joined)
                self.by_end.setdefault((size, t.joined[0]), []).append(t)
                self.by_end.setdefault((size, ~ord(t.joined[-1])), []).append(t)
                self.fuzzy.append(t)
        self.shapes = sorted({len(p) for p in self.shaped})
        self.longest = max((t.longest for t in joined), default=0)
        self.widest = max((len(t.joined) for t in joined), default=0)

    def candidates(self, candidate: str, single_part: bool) -> list[_Target]:
        """The targets ``candidate`` (a join of consecutive parts) matches (see :func:`_matches`)."""
        out = list(self.exact.get(candidate, ()))
        n, first, last = len(candidate), candidate[0], ~ord(candidate[-1])
        for size in (n - 1, n, n + 1):
            near = self.by_end.get((size, first), []) + self.by_end.get((size, last), [])
            out += [t for t in {id(t): t for t in near}.values()
                    if t.joined != candidate and _within_one_edit(candidate, t.joined)]
        if single_part:  # a label glued to the value: "ID12345678"
            out += [t for t in self.fuzzy if len(t.joined) < n and t.joined in candidate]
        return out


def _hit(hits: list[list[_Target]], t: _Target, parts: list[tuple[str, int]], start: int, end: int) -> None:
    for k in {parts[j][1] for j in range(start, end + 1)}:
        if t not in hits[k]:
            hits[k].append(t)


def _initials(words: Sequence[Word], hits: list[list[_Target]], targets: Sequence[_Target]) -> None:
    """A one-letter word ("J", "J.") beside a matched name part, when some part of a name of the
    same attribute starts with that letter, joins the match ("Smith, J.")."""
    names = [t for t in targets if t.kind == "name" and t.nparts == 1]
    for i, w in enumerate(words):
        letters = [c for c in w.text if c.isalnum()]
        if hits[i] or len(letters) != 1 or not letters[0].isalpha():
            continue
        letter = fold(letters[0])
        beside = [t for k in (i - 1, i + 1) if 0 <= k < len(words) for t in hits[k] if t.kind == "name"]
        sources = {t.source for t in beside}
        initial = [t for t in names if t.source in sources and t.joined[0] == letter]
        if initial:
            hits[i].append(initial[0])


def _pad(box: Box, rows: int, columns: int) -> Box:
    """Grow a text box so anti-aliased glyph edges and OCR's tight boxes are covered."""
    x0, y0, x1, y1 = box
    p = max(2, (y1 - y0) // 4)
    return max(x0 - p, 0), max(y0 - p, 0), min(x1 + p, columns), min(y1 + p, rows)


def _union(boxes: Iterable[Box]) -> Box:
    bs = list(boxes)
    return min(b[0] for b in bs), min(b[1] for b in bs), max(b[2] for b in bs), max(b[3] for b in bs)


def _ordered(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def propose_frame(frame: int, words: Sequence[Word], targets: Sequence[_Target],
                  rows: int, columns: int) -> list[Proposal]:
    """The proposals of one frame's words: one per low-risk word, one per run of adjacent
    high-risk words on a line (a name and its ID read as separate words make one box). Words
    without a letter or digit (rules, ticks, OCR's reading of speckle as "---") are left out."""
    out: list[Proposal] = []
    lines: dict[int, list[Word]] = {}
    for w in words:
        if any(c.isalnum() for c in w.text):  # "|", "---": rules and ticks identify no one
            lines.setdefault(w.line, []).append(w)
    for line_words in lines.values():
        hits = match_words(line_words, targets)
        i = 0
        while i < len(line_words):
            if not hits[i]:
                out.append(Proposal(frame, _pad(line_words[i].box, rows, columns), "text", "low",
                                    "text found by OCR", line_words[i].text))
                i += 1
                continue
            j = i
            while j + 1 < len(line_words) and hits[j + 1]:
                j += 1
            found = [t for k in range(i, j + 1) for t in hits[k]]
            kinds = _ordered(t.kind for t in found)
            sources = _ordered(t.source for t in found)
            out.append(Proposal(frame, _pad(_union(w.box for w in line_words[i:j + 1]), rows, columns),
                                "+".join(kinds), "high", "matches " + ", ".join(sources),
                                " ".join(w.text for w in line_words[i:j + 1])))
            i = j + 1
    return out


class WordReader(Protocol):
    """What reads the words of a frame: :class:`desktop.core.redaction.ocr.TextReader`."""

    def read_words(self, frame: np.ndarray) -> list[Word]: ...


def propose(ds: pydicom.Dataset, frames: Iterable[tuple[int, np.ndarray]], reader: WordReader,
            progress: Callable[[int, int], None] | None = None,
            cancel: Callable[[], bool] | None = None) -> list[Proposal]:
    """Proposals for every ``(frame number, pixels)`` of one image, read with ``reader`` (a
    :class:`desktop.core.redaction.ocr.TextReader`, used in this thread only).

    ``progress(done, total)`` is called after each frame (``total`` is 0 when ``frames`` has no
    length); ``cancel()`` is checked before each frame and raises :class:`Cancelled`."""
    targets = _targets(collect_identifiers(ds))
    total = len(frames) if isinstance(frames, Sized) else 0
    out: list[Proposal] = []
    done = 0
    for number, pixels in frames:
        if cancel is not None and cancel():
            raise Cancelled("Text detection was cancelled.")
        rows, columns = pixels.shape[:2]
        out.extend(propose_frame(number, reader.read_words(pixels), targets, rows, columns))
        done += 1
        if progress is not None:
            progress(done, total)
    return out


def proposals_to_mask(proposals: Iterable[Proposal], rows: int, columns: int,
                      scope: Scope = Scope.FRAME) -> Mask:
    """A mask of one rectangle per (accepted) proposal. With ``Scope.FRAME`` the proposals
    must all come from one frame; with ``IMAGE``/``SERIES`` the rectangles apply everywhere."""
    proposals = list(proposals)
    frames = sorted({p.frame for p in proposals})
    if scope is Scope.FRAME and len(frames) > 1:
        raise ValueError("proposals from several frames cannot make one frame's mask; "
                         "choose a wider scope or one frame's proposals")
    mask = Mask(rows, columns, scope=scope, frame=frames[0] if frames else 0)
    for p in proposals:
        x0, y0, x1, y1 = p.box
        mask = mask.with_shape(Rect(0, float(x0), float(y0), float(x1), float(y1)))
    return mask
