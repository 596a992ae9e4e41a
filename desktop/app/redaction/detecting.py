"""Use case glue for text detection: the frames of an image, read by OCR, matched against its
header's identifiers (:mod:`desktop.core.redaction.detect`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pydicom

from desktop.core.imaging.frames import decode_frame
from desktop.core.redaction.detect import Proposal, propose
from desktop.core.redaction.ocr import TextReader

Detection = tuple[int, tuple[int, int, int, int], str]


def detect_proposals(ds: pydicom.Dataset, frames: Iterable[int], reader: TextReader,
                     progress: Callable[[int, int], None] | None = None,
                     cancel: Callable[[], bool] | None = None) -> list[Proposal]:
    """Every text proposal on the given frames (decoded one at a time)."""
    numbers = list(frames)
    pixels = ((n, decode_frame(ds, n)) for n in numbers)
    return propose(ds, _Sized(pixels, len(numbers)), reader, progress, cancel)


def high_risk_detector() -> Callable[[pydicom.Dataset, Iterable[int]], list[Detection]]:
    """For ``veil redact --detect``: the high-risk boxes of an image (text that matches its
    header's identifiers), as (frame, box, reason). One OCR reader, used in this thread."""
    reader = TextReader()

    def detect(ds: pydicom.Dataset, frames: Iterable[int]) -> list[Detection]:
        return [(p.frame, p.box, p.reason) for p in detect_proposals(ds, frames, reader) if p.risk == "high"]

    return detect


class _Sized:
    """An iterator that knows its length (so progress has a total)."""

    def __init__(self, items: Iterable, length: int) -> None:
        self._items, self._length = iter(items), length

    def __iter__(self):  # noqa: ANN204
        return self._items

    def __len__(self) -> int:
        return self._length
