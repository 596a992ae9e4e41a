"""A teaching case inside a share package or a journal ZIP, as IHE RAD TCE exports it: beside
the de-identified key images, a Key Object Selection document titled for teaching-file export
that references them, and a structured report holding the case's text
(:mod:`desktop.core.cases.tce`). Both are built from the de-identified images' own headers (the
patient and study attributes are copied from them, nothing else), in memory, and handed to the
gate's writer as members of the package: nothing is written to disk in the clear.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial

from pydicom import dcmwrite
from pydicom.charset import convert_encodings
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import generate_uid

from desktop.app.gate import Image
from desktop.core.cases.case import KeyImage, TeachingCase
from desktop.core.cases.case_page import case_page
from desktop.core.cases.tce import case_report, key_object_selection
from desktop.core.common.errors import VeilError
from desktop.core.deid.leaks import find_leaks_in_bytes
from desktop.core.deid.mapping import map_uid
from desktop.core.dicom.identifiers import Identifier
from desktop.core.share.member_names import CASE_PAGE, dicom_member_name
from desktop.core.share.sources import PackageSource, StreamSource


def _current(images: Sequence[Image], key: KeyImage) -> Image:
    for image in images:
        if key.sop_uid in (image.sop_uid, image.original_uid):
            return image
    raise VeilError("A key image of the case is not among the images that leave.")


def deidentified_key_images(case: TeachingCase, images: Sequence[Image], headers: Mapping[str, Dataset],
                            uid_key: bytes) -> list[Dataset]:
    """The de-identified header of each key image, in the case's order: the output whose SOP
    Instance UID is the key image's mapped one (or its own, for a profile that keeps UIDs)."""
    found = []
    for n, key in enumerate(case.key_images, 1):
        image = _current(images, key)
        header = headers.get(map_uid(uid_key, image.sop_uid)) or headers.get(image.sop_uid)
        if header is None:
            raise VeilError(f"Key image {n} of the case was not de-identified with the others; nothing was written.")
        found.append(header)
    return found


def _bytes_source(name: str, data: bytes) -> PackageSource:
    return StreamSource(name, len(data), partial(io.BytesIO, data), sha256=hashlib.sha256(data).hexdigest(),
                        crc32=zlib.crc32(data), peek=lambda size: data[:size])


def _encoded(ds: Dataset) -> bytes:
    out = io.BytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def case_members(case: TeachingCase, images: Sequence[Image], headers: Mapping[str, Dataset], uid_key: bytes,
                 first_index: int, identifiers: Sequence[Identifier],
                 member_of: Mapping[str, str] | None = None) -> list[PackageSource]:
    """The KOS and the SR of ``case`` as package members, numbered on from ``first_index``,
    and ``case.html`` naming each key image by its member (``member_of``: SOP Instance UID to
    member name; without it, no page); each searched, as every output is (the gate's residual
    check), for ``identifiers`` of the original patients: a hit refuses the package."""
    keys = deidentified_key_images(case, images, headers, uid_key)
    # The case as it leaves: naming the de-identified images and studies, never the originals.
    leaving = replace(case, study_uids=tuple(dict.fromkeys(str(h.StudyInstanceUID) for h in keys)),
                      key_images=tuple(replace(k, sop_uid=str(h.SOPInstanceUID))
                                       for k, h in zip(case.key_images, keys, strict=True)))
    kos = key_object_selection(leaving, keys, series_uid=generate_uid(), sop_uid=generate_uid())
    report = case_report(leaving, keys, series_uid=generate_uid(), sop_uid=generate_uid())
    members = []
    for n, (what, ds) in enumerate((("key object selection", kos), ("report", report))):
        data = _encoded(ds)
        charset = ds.get("SpecificCharacterSet") or "iso8859"
        encodings = "iso8859" if charset == "iso8859" else convert_encodings(
            charset if isinstance(charset, list | MultiValue) else [charset])
        _refuse_leaks(what, data, identifiers, encodings)
        members.append(_bytes_source(dicom_member_name(first_index + n), data))
    if member_of is not None:
        page = case_page(leaving, [member_of[str(h.SOPInstanceUID)] for h in keys], [m.name for m in members])
        _refuse_leaks("page", page, identifiers, ["utf_8"])
        members.append(_bytes_source(CASE_PAGE, page))
    return members


def _refuse_leaks(what: str, data: bytes, identifiers: Sequence[Identifier], encodings: str | list[str]) -> None:
    leaks = find_leaks_in_bytes(data, list(identifiers), encodings)
    if leaks:
        raise VeilError(f"The teaching file's {what} would hold the patient's "
                        f"{', '.join(sorted({leak.kind for leak in leaks}))}; nothing was written.")
