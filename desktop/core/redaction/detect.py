"""Detection: regions of burned-in text proposed for redaction (issue 5). No Qt.

Every word OCR finds in a frame (with a letter or digit in it) becomes a :class:`Proposal`.
Words that match one of the header's identifiers
(:func:`desktop.core.deid.identifiers.collect_identifiers`: name parts, IDs, accession, dates
in several written forms, institution) are *high* risk; the rest *low*.
Proposals are for a person to accept or reject; nothing is applied here.

Matching is forgiving of OCR: case-insensitive, O/0, I/1/l and rn/nn/m folded, separators
ignored (a name "DOE^JOHN" read as ``DOE*JOHN``, a date spread over words, "05/03/ 2024"), and
one edit allowed for tokens of five characters or more. A proposal's ``reason`` names the kind and the
attribute that matched, never the identifier itself, so proposals can be logged and reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pydicom

from desktop.core.deid.identifiers import Identifier, collect_identifiers
from desktop.core.errors import Cancelled
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
    a header identifier, "low" for other text; ``reason`` never holds the text itself."""

    frame: int
    box: Box
    text_kind: str
    risk: str
    reason: str


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


@dataclass(frozen=True)
class _Target:
    """An identifier as OCR would show it: its alphanumeric parts, folded, and their join."""

    kind: str
    source: str
    joined: str
    nparts: int


def _targets(identifiers: Iterable[Identifier]) -> list[_Target]:
    out: dict[tuple[str, str, str], _Target] = {}
    for ident in identifiers:
        parts = _parts(ident.text)
        joined = "".join(parts)
        if len(joined) < 2 or (joined.isdigit() and len(joined) < 3):
            continue  # too short to mean anything on its own
        key = (ident.kind, ident.source, joined)
        known = out.get(key)  # "19700102" and "1970-01-02" are one target, of up to 3 parts
        if known is None or known.nparts < len(parts):
            out[key] = _Target(ident.kind, ident.source, joined, len(parts))
    return list(out.values())


def _matches(target: _Target, candidate: str, single_part: bool) -> bool:
    if candidate == target.joined:
        return True
    if len(target.joined) >= FUZZY_MIN:
        if _within_one_edit(candidate, target.joined):
            return True
        if single_part and len(candidate) > len(target.joined) and target.joined in candidate:
            return True  # a label glued to the value: "ID12345678"
    return False


def match_words(words: Sequence[Word], targets: Sequence[_Target]) -> list[list[_Target]]:
    """For each word of one line (in reading order), the identifiers it is part of.

    The line's words are cut into alphanumeric parts; an identifier matches a run of
    consecutive parts whose join equals its own (or is one edit away), so "2024-03-05",
    "2024 03 05" and "05/03/ 2024" all match their dates, whichever way OCR split them."""
    parts: list[tuple[str, int]] = [(p, i) for i, w in enumerate(words) for p in _parts(w.text)]
    hits: list[list[_Target]] = [[] for _ in words]
    if not targets or not parts:
        return hits
    for t in targets:
        longest = t.nparts + 1  # OCR may split a part in two
        for start in range(len(parts)):
            joined = ""
            for end in range(start, min(start + longest, len(parts))):
                joined += parts[end][0]
                if len(joined) > len(t.joined) + 1 and end > start:
                    break
                if _matches(t, joined, end == start):
                    for k in {parts[j][1] for j in range(start, end + 1)}:
                        if t not in hits[k]:
                            hits[k].append(t)
                    break
    return hits


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
                                    "text found by OCR"))
                i += 1
                continue
            j = i
            while j + 1 < len(line_words) and hits[j + 1]:
                j += 1
            found = [t for k in range(i, j + 1) for t in hits[k]]
            kinds = _ordered(t.kind for t in found)
            sources = _ordered(t.source for t in found)
            out.append(Proposal(frame, _pad(_union(w.box for w in line_words[i:j + 1]), rows, columns),
                                "+".join(kinds), "high", "matches " + ", ".join(sources)))
            i = j + 1
    return out


def propose(ds: pydicom.Dataset, frames: Iterable[tuple[int, np.ndarray]], reader,
            progress: Callable[[int, int], None] | None = None,
            cancel: Callable[[], bool] | None = None) -> list[Proposal]:
    """Proposals for every ``(frame number, pixels)`` of one image, read with ``reader`` (a
    :class:`desktop.core.redaction.ocr.TextReader`, used in this thread only).

    ``progress(done, total)`` is called after each frame (``total`` is 0 when ``frames`` has no
    length); ``cancel()`` is checked before each frame and raises :class:`Cancelled`."""
    targets = _targets(collect_identifiers(ds))
    try:
        total = len(frames)  # type: ignore[arg-type]
    except TypeError:
        total = 0
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
