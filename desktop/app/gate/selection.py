"""Steps 1 and 2 of the privacy gate: what leaves, and as which version.

A selection names library studies and, optionally, some of their series and images (the
browser's selection, the wizard's ticks, ``--series`` and ``--instance``). A series or an
image that is not in the selection's studies is refused: never silently widened to the whole
study. Given both, only the named images of the named series leave.

Every image leaves as its *current version* (:mod:`desktop.core.library.index`): where the
image has redaction masks, that is the redacted version Veil burned them into (made here,
before anything leaves, when the masks changed since the last Apply), never the original
beside it. An image with masks that cannot be redacted refuses the export.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from desktop.app.common.tasks import CancelToken, Progress, no_progress
from desktop.app.consent.consenting import study_label
from desktop.app.library.home import VeilHome
from desktop.core.common.errors import VeilError
from desktop.core.consent import ExportItem


class SelectionError(VeilError):
    """The selection names something that is not in its studies, or cannot be redacted."""


@dataclass(frozen=True)
class Selection:
    """Library studies, and (optionally) some of their series and images by UID."""

    study_uids: tuple[str, ...]
    series_uids: tuple[str, ...] = ()
    instance_uids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Image:
    """One image that leaves: its current version, and where it sits."""

    instance_ref: int
    sop_uid: str
    sha256: str
    size: int
    crc32: int | None
    patient_key: str  # the library's patient key
    study_uid: str
    series_uid: str
    series_ref: int
    series_number: int | None
    instance_number: int | None
    modality: str
    burned_in: str
    redacted: bool  # a version Veil redacted
    rows: int | None
    columns: int | None
    frames: int
    label: str  # "CT 2004-01-19 'e+1', series 2, image 14"
    identity: tuple[str, str, str, str]  # patient ID, issuer, name, birth date (for de-identification)
    original_uid: str = ""  # the original's SOP Instance UID when this is a redacted version, else sop_uid


@dataclass(frozen=True)
class Resolved:
    """A selection checked against the library: its consent items and its images."""

    items: tuple[ExportItem, ...]
    images: tuple[Image, ...]

    @property
    def study_uids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.study_uid for i in self.items))

    @property
    def series_refs(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(i.series_ref for i in self.images))


_IMAGES_SQL = """
SELECT i.id, i.sop_instance_uid, i.object_sha256, i.size_bytes, i.crc32, p.patient_key, st.study_uid,
       se.series_uid, se.id, se.series_number, i.instance_number, se.modality, i.burned_in_annotation,
       i.replaces_ref IS NOT NULL, i.rows, i.columns, COALESCE(i.number_of_frames, 0),
       st.study_date, st.description, p.patient_id, p.issuer, p.name, p.birth_date,
       (SELECT o.sop_instance_uid FROM instances o WHERE o.id = i.replaces_ref),
       COALESCE((SELECT group_concat(m, '/') FROM (SELECT DISTINCT s2.modality AS m FROM series s2
                 WHERE s2.study_ref = st.id AND s2.modality != '' ORDER BY s2.modality)), '')
FROM current_instances i JOIN series se ON i.series_ref = se.id JOIN studies st ON se.study_ref = st.id
JOIN patients p ON st.patient_ref = p.id
WHERE st.study_uid = ?
ORDER BY se.series_number IS NULL, se.series_number, se.id, i.instance_number IS NULL, i.instance_number, i.id
"""


_STUDY_OF = {
    "series": "SELECT st.study_uid FROM series se JOIN studies st ON se.study_ref = st.id WHERE se.series_uid = ?",
    "image": "SELECT st.study_uid FROM instances i JOIN series se ON i.series_ref = se.id "
             "JOIN studies st ON se.study_ref = st.id WHERE i.sop_instance_uid = ?",
}


def _check_known(conn, selection: Selection) -> None:  # noqa: ANN001
    """Refuse series and images that are not in the selection's studies (nothing is widened)."""
    studies = set(selection.study_uids)
    for noun, uids in (("series", selection.series_uids), ("image", selection.instance_uids)):
        for uid in dict.fromkeys(uids):
            row = conn.execute(_STUDY_OF[noun], (uid,)).fetchone()
            if row is None:
                raise SelectionError(f"The selection names {'a series' if noun == 'series' else 'an image'} that is "
                                     "not in the library; nothing was exported.")
            if row[0] not in studies:
                raise SelectionError(f"The selection names {'a series' if noun == 'series' else 'an image'} of "
                                     "another study than the ones chosen; nothing was exported. Choose that study "
                                     "too, or leave it out.")


def resolve(home: VeilHome, selection: Selection) -> Resolved:
    """The consent items and the current versions of the images the selection names (see the
    module); raises :class:`SelectionError` for anything outside its studies."""
    if not selection.study_uids:
        raise SelectionError("Choose at least one study to export.")
    series_wanted, images_wanted = set(selection.series_uids), set(selection.instance_uids)
    conn = home.connect()
    try:
        _check_known(conn, selection)
        items: list[ExportItem] = []
        images: list[Image] = []
        for study in dict.fromkeys(selection.study_uids):
            rows = conn.execute(_IMAGES_SQL, (study,)).fetchall()
            if not rows:
                raise SelectionError("No such study in the library (check the Study Instance UID).")
            for row in rows:
                (ref, sop, sha, size, crc, key, study_uid, series_uid, series_ref, series_number, number, modality,
                 burned, redacted, rows_, cols, frames, when, description, pid, issuer, name, birth, original_sop,
                 modalities) = row
                if series_wanted and series_uid not in series_wanted:
                    continue
                if images_wanted and sop not in images_wanted and original_sop not in images_wanted:
                    continue
                label = study_label(modalities, when, description)
                item = ExportItem(key, study_uid, series_uid, label)
                if item not in items:
                    items.append(item)
                images.append(Image(ref, sop, sha, size, crc, key, study_uid, series_uid, series_ref, series_number,
                                    number, modality, burned, bool(redacted), rows_, cols, max(1, frames),
                                    f"{label}, series {series_number or '?'}, image {number or ref}",
                                    (pid, issuer, name, birth), original_sop or sop))
        if not images:
            raise SelectionError("The selection holds no image; nothing was exported.")
        return Resolved(tuple(items), distinct_labels(images))
    finally:
        conn.close()


def masked_series(home: VeilHome, study_uids: Iterable[str]) -> list[int]:
    """The series of these studies that have redaction masks."""
    conn = home.connect()
    try:
        out: list[int] = []
        for uid in dict.fromkeys(study_uids):
            out.extend(r[0] for r in conn.execute(
                """SELECT DISTINCT se.id FROM masks m JOIN instances i ON m.instance_ref = i.id
                   JOIN series se ON i.series_ref = se.id JOIN studies st ON se.study_ref = st.id
                   WHERE st.study_uid = ? ORDER BY se.id""", (uid,)))
        return out
    finally:
        conn.close()


def redact_masked(home: VeilHome, study_uids: Sequence[str], progress: Progress = no_progress,
                  cancel: CancelToken | None = None) -> None:
    """Make sure every image with masks in these studies has its redacted version, from the
    masks as they are now (nothing is redone for masks applied before); raises
    :class:`SelectionError` naming the images that could not be redacted."""
    from desktop.app.redaction.redacting import apply_series_masks  # the gate builds on it

    failed: list[str] = []
    for series_ref in masked_series(home, study_uids):
        report = apply_series_masks(home, series_ref, progress, cancel)
        if report.cancelled:
            from desktop.core.common.errors import Cancelled
            raise Cancelled("The export was cancelled; nothing was written.")
        failed.extend(f"{what}: {why}" for what, why in report.failed)
    if failed:
        raise SelectionError("These images have redaction masks but could not be redacted, so they cannot leave; "
                             "nothing was exported:\n" + "\n".join(failed))


def distinct_labels(images: Sequence[Image]) -> tuple[Image, ...]:
    """``images``, labels made distinct where two would read the same (two patients' CTs of one
    day and description, say): "(study 2)" after those of the selection's second study where the
    alike are in several studies, then "[1]", "[2]"… for what is still alike. A person tells them
    apart in every list and report, and the de-identification keys its inputs by them."""
    counts = Counter(i.label for i in images)
    if all(n == 1 for n in counts.values()):
        return tuple(images)
    studies = {uid: n for n, uid in enumerate(dict.fromkeys(i.study_uid for i in images), 1)}
    spans: dict[str, set[str]] = {}
    for i in images:
        spans.setdefault(i.label, set()).add(i.study_uid)
    out = [dataclasses.replace(i, label=_with_study(i.label, studies[i.study_uid])) if len(spans[i.label]) > 1 else i
           for i in images]
    seen: Counter[str] = Counter()
    again = Counter(i.label for i in out)
    for n, image in enumerate(out):
        if again[image.label] > 1:
            seen[image.label] += 1
            out[n] = dataclasses.replace(image, label=f"{image.label} [{seen[image.label]}]")
    return tuple(out)


def _with_study(label: str, study: int) -> str:
    """``CT 2004-01-19 'e+1' (study 2), series 1, image 1``."""
    head, sep, tail = label.partition(", series ")
    return f"{head} (study {study}){sep}{tail}"
