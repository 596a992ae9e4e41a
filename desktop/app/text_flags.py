"""Use case: look for text burned into the pixels of images whose header does not say so (issue 7).

:func:`desktop.app.sharing.flagged_images` flags from the header alone (Burned In Annotation
YES, or a text-prone modality that does not declare NO). A CT scanned from film, a screen
capture stored as CT or a banner added by a workstation may carry the patient's name in its
pixels while its header says nothing, or even NO. :func:`text_flags` reads the first frame of
those images with the project's OCR (:class:`desktop.core.redaction.ocr.TextReader`) and flags
the ones on which it reads text. No Qt.

What counts as text: at least one word of :data:`MIN_CHARS` letters or digits that Tesseract
reads with confidence :data:`MIN_CONFIDENCE` or more. Anatomy on a stretched CT or MR frame is
sometimes read as short low-confidence "words" (on pydicom's ``eCT_Supplemental.dcm`` brain
slices: "me" at 0.58, "tee" at 0.12); real burned-in text of 8 px and up reads at 0.87-0.97.

Cost: a series is read on at most :data:`SAMPLE` images, evenly spaced, first and last included
(burned-in text is usually on every image of a series, or on its first or last), so a 500-slice
CT costs about as much as a 12-slice one: a second or less (see the module's tests).

The recognised words never leave this module: labels, log lines and errors give only counts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from desktop.app.formatting import plural
from desktop.app.home import VeilHome
from desktop.app.gate import Flagged
from desktop.app.tasks import Progress, no_progress
from desktop.core.consent import ExportItem
from desktop.core.errors import Cancelled
from desktop.core.imaging.frames import DecodeError, decode_frame, read_image
from desktop.core.library import index
from desktop.core.library.index import InstanceRow
from desktop.core.redaction.ocr import OcrUnavailable, TextReader, Word

log = logging.getLogger("veil.text_flags")

#: At most this many images of a series are read (evenly spaced, first and last included).
SAMPLE = 12
#: A word counts as text when it has this many letters or digits …
MIN_CHARS = 2
#: … and Tesseract reads it with at least this confidence (0..1).
MIN_CONFIDENCE = 0.7


@dataclass(frozen=True)
class SeriesToRead:
    """A series of the selection whose images are to be read."""

    uid: str
    label: str  # "CT 2004-01-19 'e+1', series 2"
    candidates: int  # images of the selection in this series that could be read
    chosen: tuple[InstanceRow, ...]  # the images read


def text_words(words: Sequence[Word]) -> int:
    """How many of ``words`` count as text (see :data:`MIN_CHARS`, :data:`MIN_CONFIDENCE`)."""
    return sum(1 for w in words if w.confidence >= MIN_CONFIDENCE and sum(c.isalnum() for c in w.text) >= MIN_CHARS)


def sample(images: Sequence[InstanceRow], size: int = SAMPLE) -> list[InstanceRow]:
    """``images`` when there are at most ``size``, else ``size`` of them evenly spaced, the first
    and the last included."""
    if len(images) <= size:
        return list(images)
    if size < 2:
        return list(images[:size])
    picks = sorted({round(k * (len(images) - 1) / (size - 1)) for k in range(size)})
    return [images[n] for n in picks]


def images_to_read(home: VeilHome, items: Sequence[ExportItem], instance_uids: Sequence[str] = (),
                   already: Collection[int] = frozenset(), size: int = SAMPLE) -> list[SeriesToRead]:
    """The series of the selection without a redaction mask, each with the images to read: those
    of the selection (only ``instance_uids``, when given) that hold pixels and are not in
    ``already`` (instance refs flagged by the header), sampled (see :func:`sample`)."""
    only = set(instance_uids)
    labels = {i.series_uid: i.label for i in items if i.series_uid}
    conn = home.connect()
    try:
        out: list[SeriesToRead] = []
        for uid in sorted(labels):
            rows = conn.execute(
                """SELECT se.id, se.series_number FROM series se WHERE se.series_uid = ?
                     AND NOT EXISTS (SELECT 1 FROM masks m JOIN instances j ON m.instance_ref = j.id
                                     WHERE j.series_ref = se.id) ORDER BY se.id""", (uid,)).fetchall()
            for ref, number in rows:
                images = [i for i in index.list_instances(conn, ref)
                          if (i.rows or 0) > 0 and (i.columns or 0) > 0 and i.instance_ref not in already
                          and (not only or i.sop_instance_uid in only)]
                if images:
                    out.append(SeriesToRead(uid, f"{labels[uid]}, series {number or '?'}", len(images),
                                            tuple(sample(images, size))))
        return out
    finally:
        conn.close()


def text_flags(home: VeilHome, items: Sequence[ExportItem], instance_uids: Sequence[str] = (), *,
               already: Collection[int] = frozenset(), progress: Progress = no_progress,
               cancelled: Callable[[], bool] = lambda: False, reader: TextReader | None = None,
               size: int = SAMPLE) -> list[Flagged]:
    """The images of the selection (only ``instance_uids``, when given) that carry text in their
    pixels and have no redaction mask in the library; images in ``already`` (instance refs the
    header rules flagged) are not read again. Frame 0 of each image is read, on at most ``size``
    images per series (the label says so when a series was sampled).

    An image whose pixels cannot be decoded (or read) is flagged too, "could not be read for
    text": a careful radiologist would rather look at one image more than send one that nobody,
    not even the OCR, looked at; its recipient may well have a decoder that shows it. Images
    without pixels (reports, structured documents) are not read.

    ``progress(done, total)`` counts the images to read; ``cancelled()`` is asked before each
    one (:class:`Cancelled` is raised). Raises :class:`OcrUnavailable` (a VeilError that says
    what to install) when the OCR engine is missing. ``reader`` (used in this thread only) is
    made and closed here when not given."""
    plan = images_to_read(home, items, instance_uids, already, size)
    total = sum(len(s.chosen) for s in plan)
    progress(0, total)
    if not total:
        return []
    own = reader is None
    reader = reader if reader is not None else TextReader()
    out: list[Flagged] = []
    done = 0
    try:
        for series in plan:
            note = (f"; {len(series.chosen)} of {series.candidates:,} images of this series "
                    "were read" if len(series.chosen) < series.candidates else "")
            for image in series.chosen:
                if cancelled():
                    raise Cancelled("The check for burned-in text was cancelled.")
                why = _check(home, image, reader)
                if why is not None:
                    number = image.instance_number or image.instance_ref
                    out.append(Flagged(f"{series.label}, image {number}: {why}{note}", series.uid, image.instance_ref))
                done += 1
                progress(done, total)
        return out
    finally:
        if own:
            reader.close()


def _check(home: VeilHome, image: InstanceRow, reader: TextReader) -> str | None:
    """Why ``image`` is flagged (text found, or it could not be read), or None."""
    try:
        ds = read_image(home.objects.read(image.object_sha256))
        if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
            return None  # nothing to burn text into
        frame = decode_frame(ds, 0)
    except DecodeError as exc:  # its message names the problem, never the patient
        log.warning("Text check: instance %d could not be decoded: %s", image.instance_ref, exc)
        return f"could not be read for text ({exc}); look at it yourself"
    except Exception as exc:  # noqa: BLE001 - one image; the others are still read
        log.warning("Text check: instance %d could not be read (%s)", image.instance_ref, type(exc).__name__)
        return f"could not be read for text ({type(exc).__name__}); look at it yourself"
    try:
        found = text_words(reader.read_words(frame))
    except (OcrUnavailable, Cancelled):
        raise
    except Exception as exc:  # noqa: BLE001 - an odd frame the OCR refuses
        log.warning("Text check: instance %d could not be read by OCR (%s)", image.instance_ref, type(exc).__name__)
        return f"could not be read for text ({type(exc).__name__}); look at it yourself"
    return f"text found in the pixels ({plural(found, 'word')})" if found else None
