"""Teaching cases that arrive in a package: each teaching-file report among the studies a
package brought (:func:`desktop.core.cases.tce_read.read_teaching_report`) becomes a case of
the recipient's library, its key images the images that came with it, so Open Package shows
the case and the Cases list holds it. Opening the same package twice adds it once."""

from __future__ import annotations

from collections.abc import Iterable

from desktop.app.cases import casebook
from desktop.app.library.home import VeilHome
from desktop.core.cases.annotations import Annotations
from desktop.core.cases.case import KeyImage, KeyView, TeachingCase
from desktop.core.cases.tce_read import BASIC_TEXT_SR, is_teaching_report, read_teaching_report
from desktop.core.common.errors import VeilError
from desktop.core.imaging.frames import read_image


def adopt_received_cases(home: VeilHome, sha256s: Iterable[str]) -> list[str]:
    """Make a case of every teaching-file report among the files a package brought (by their
    SHA-256, as its manifest lists them: found again when the package is opened twice); their
    titles."""
    wanted = sorted(set(sha256s))
    conn = home.connect()
    try:
        reports = [row[0] for sha in wanted for row in conn.execute(
            "SELECT object_sha256 FROM instances WHERE object_sha256 = ? AND sop_class_uid = ?", (sha, BASIC_TEXT_SR))]
    finally:
        conn.close()
    titles = []
    for sha in reports:
        try:  # a report from a package is untrusted input: one that cannot be read is left as an instance
            ds = read_image(home.objects.read(sha))
            if not is_teaching_report(ds):
                continue
            found = read_teaching_report(ds)
        except Exception:  # noqa: BLE001 - a forged report may make pydicom raise anything; the images stay
            continue
        try:
            keys = tuple(casebook.key_image(home, sop, frame, KeyView())
                         for sop, frame, _caption in found.key_images)
            keys = tuple(KeyImage(k.sop_uid, k.frame, k.view, Annotations(k.annotations.rows, k.annotations.columns),
                                  caption) for k, (_s, _f, caption) in zip(keys, found.key_images, strict=True))
            studies = _studies_of(home, [k.sop_uid for k in keys]) or (str(ds.StudyInstanceUID),)
            fields = {"title": "Received teaching case", **found.fields}
            case = TeachingCase(study_uids=studies, key_images=keys, **fields)  # type: ignore[arg-type]
        except (VeilError, TypeError, ValueError):
            continue  # a report whose images did not come with it: the images are still imported
        if not any(c.row.title == case.title and c.row.key_images == len(keys) and set(c.row.study_uids) == set(studies)
                   for c in casebook.listing(home, case.title)):
            casebook.save(home, case)
        titles.append(case.title)
    return titles


def _studies_of(home: VeilHome, sop_uids: list[str]) -> tuple[str, ...]:
    conn = home.connect()
    try:
        out: list[str] = []
        for sop in sop_uids:
            row = conn.execute(
                """SELECT st.study_uid FROM instances i JOIN series se ON i.series_ref = se.id
                   JOIN studies st ON se.study_ref = st.id WHERE i.sop_instance_uid = ?""", (sop,)).fetchone()
            if row is not None and row[0] not in out:
                out.append(row[0])
        return tuple(out)
    finally:
        conn.close()
