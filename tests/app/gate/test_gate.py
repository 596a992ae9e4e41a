"""The privacy gate (issue 13): every exit refuses an ultrasound whose pixels show the patient's
name, and with a mask lets the redacted pixels leave, never the original; who receives is bound."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from desktop.app.consent import consenting
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.deid.deidentifying import deidentify_paths, deidentify_studies
from desktop.app.gate import BindingError, SelectionError
from desktop.app.gate.still import export_image
from desktop.app.keys.contacts import add_card, add_recipient
from desktop.app.keys.identity import my_card
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.app.share.sharing import ShareRequest, export_package
from desktop.app.share.slides import export_slides
from desktop.core.consent import Basis, ConsentRecord, Method, Purpose, Scope
from desktop.core.deid.profiles import preset
from desktop.core.imaging.frames import read_image
from desktop.core.imaging.shown import slide_pixels
from desktop.core.library import index
from desktop.core.library.disclosures import disclosures_between
from desktop.core.library.masks import save_mask
from desktop.core.redaction.mask import Mask
from desktop.core.redaction.mask import Scope as MaskScope
from desktop.core.redaction.shapes import Rect
from tests.app.gate.test_text_flags import burn_text
from tests.conftest import pydicom_test_files, teaching, write_series

BANNER_ROWS = 40  # burn_text writes two lines in the top 40 rows of a 256 x 256 image


def _ultrasound(folder: Path, count: int = 1) -> list[Path]:
    """Ultrasound images of Kowalski^Anna, ID 7384912, her name and ID burned into a banner,
    and no Burned In Annotation at all (as many US scanners write them)."""
    paths = write_series(pydicom_test_files() / "CT_small.dcm", folder, count, "Kowalski^Anna", "7384912")
    for path in paths:
        burn_text(path, ("KOWALSKI ANNA", "ID 7384912"))
        ds = pydicom.dcmread(path)
        ds.Modality = "US"
        del ds.BurnedInAnnotation
        ds.save_as(path)
    return paths


@pytest.fixture
def lib(tmp_path):
    home = VeilHome.open(tmp_path / "home")
    src = tmp_path / "us"
    paths = _ultrasound(src)
    import_paths(home, [src])
    ds = pydicom.dcmread(paths[0])
    return home, src, ds.StudyInstanceUID, ds.SOPInstanceUID


def _mask_banner(home: VeilHome, sop: str) -> None:
    conn = home.connect()
    try:
        (ref,) = conn.execute("SELECT id FROM instances WHERE sop_instance_uid = ?", (sop,)).fetchone()
        save_mask(conn, ref, Mask(256, 256, scope=MaskScope.IMAGE).with_shape(Rect(0, 0, 0, 256, BANNER_ROWS)))
    finally:
        conn.close()


def _shown(home: VeilHome, study: str) -> tuple[str, np.ndarray]:
    """The current version's SOP UID and its rendering (what the viewer would show)."""
    conn = home.connect()
    try:
        (series_ref,) = conn.execute("SELECT se.id FROM series se JOIN studies st ON se.study_ref = st.id "
                                     "WHERE st.study_uid = ?", (study,)).fetchone()
        (row,) = index.list_instances(conn, series_ref)
    finally:
        conn.close()
    return row.sop_instance_uid, slide_pixels(read_image(home.objects.read(row.object_sha256)), 0)


def _every_exit(home: VeilHome, src: Path, study: str, out: Path, confirm: bool) -> dict[str, object]:
    purpose = teaching(home)

    def png() -> object:  # what the viewer shows once the other exits ran (the current version)
        sop, image = _shown(home, study)
        return export_image(home, study_uid=study, sop_instance_uid=sop, image=image, path=out / "view.png",
                            purpose=purpose, confirm_burned_in=confirm)

    return {
        "deid library": deidentify_studies(home, preset("teaching"), [study], out / "lib", purpose=purpose,
                                           confirm_burned_in=confirm),
        "deid folder": deidentify_paths(home, preset("teaching"), [src], out / "files", purpose=purpose,
                                        confirm_burned_in=confirm),
        "package": export_package(home, ShareRequest((study,), purpose, out / "case.veil", preset("teaching"),
                                                     passphrase="correct horse battery staple",
                                                     confirm_burned_in=confirm)),
        "journal zip": export_package(home, ShareRequest((study,), purpose, out / "journal.zip", preset("teaching"),
                                                         unencrypted=True, confirm_burned_in=confirm)),
        "slides": export_slides(home, [study], purpose, out / "slides", confirm_burned_in=confirm),
        "viewer png": png(),
    }


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_every_exit_refuses_an_ultrasound_with_a_burned_in_name_and_no_mask(lib, tmp_path):
    home, src, study, _sop = lib
    out = tmp_path / "out"
    for confirm in (False, True):  # confirming does not let the patient's name out
        for exit_name, report in _every_exit(home, src, study, out, confirm).items():
            if exit_name.startswith("deid") and confirm:  # a folder export leaves the one image out
                assert report.left_out == 1 and report.written == 0, exit_name
                assert "left out: still identifying" in report.headline(), (exit_name, report.headline())
                continue
            assert report.refused, exit_name
            assert "identity" in report.headline(), (exit_name, report.headline())
            if not confirm:
                assert report.review is not None and report.review.flagged, exit_name
        assert not _files(out), _files(out)
    conn = home.connect()
    try:
        assert not disclosures_between(conn, date.today() - timedelta(days=1), date.today() + timedelta(days=1))
    finally:
        conn.close()


def test_with_a_mask_the_redacted_pixels_leave_and_never_the_original(lib, tmp_path):
    home, src, study, sop = lib
    _mask_banner(home, sop)
    out = tmp_path / "out"
    original = pydicom.dcmread(next(src.iterdir())).pixel_array
    reports = _every_exit(home, src, study, out, confirm=True)
    # The folder of files has no mask (it is not the library): its image is still left out.
    folder = reports.pop("deid folder")
    assert folder.left_out == 1 and folder.written == 0 and not _files(out / "files")
    for exit_name, report in reports.items():
        assert not report.refused, (exit_name, report.headline())
    (dicom,) = _files(out / "lib")
    ds = pydicom.dcmread(dicom)
    assert (ds.pixel_array[:BANNER_ROWS] == ds.pixel_array[:BANNER_ROWS].min()).all()
    assert np.array_equal(ds.pixel_array[BANNER_ROWS:], original[BANNER_ROWS:])
    assert ds.BurnedInAnnotation == "NO"
    assert "113101" in {i.CodeValue for i in ds.DeidentificationMethodCodeSequence}  # Clean Pixel Data
    with zipfile.ZipFile(out / "journal.zip") as archive:
        members = [n for n in archive.namelist() if n.startswith("DICOM/")]
        assert len(members) == 1  # the redacted version only, never the original beside it
        zipped = pydicom.dcmread(io.BytesIO(archive.read(members[0])))
        assert np.array_equal(zipped.pixel_array, ds.pixel_array)
    (slide,) = _files(out / "slides")
    assert np.asarray(Image.open(slide))[:BANNER_ROWS].max() == 0
    assert np.asarray(Image.open(out / "view.png"))[:BANNER_ROWS].max() == 0
    assert reports["package"].package.manifest.details.redaction["redacted_in_veil"] == 1


def test_a_view_of_the_original_does_not_leave(lib, tmp_path):
    home, _src, study, sop = lib
    _mask_banner(home, sop)
    _current, image = _shown(home, study)
    with pytest.raises(Exception, match="redacted version"):
        export_image(home, study_uid=study, sop_instance_uid=sop, image=image, path=tmp_path / "o.png",
                     purpose=teaching(home), confirm_burned_in=True)
    assert not (tmp_path / "o.png").exists()


# -- who receives is bound ----------------------------------------------------------------------------
@pytest.fixture
def care(tmp_path):
    """Alice's CT of Smith, consented for care with Dr Bob; Bob and Carol in her address book."""
    alice, bob, carol = (VeilHome.open(tmp_path / n) for n in ("alice", "bob", "carol"))
    src = tmp_path / "ct"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 2, "Smith^Anna", "MRN-1001")
    other = tmp_path / "other"
    write_series(pydicom_test_files() / "CT_small.dcm", other, 1, "Jones^Ben", "MRN-2002")
    import_paths(alice, [src, other])
    study = pydicom.dcmread(next(src.iterdir())).StudyInstanceUID
    foreign = pydicom.dcmread(next(other.iterdir()))
    smith = consenting.find_patient(alice, study_uid=study)
    consenting.add_consent(alice, ConsentRecord(
        basis=Basis.CONSENT, scope=Scope(smith.key), purposes=frozenset({Purpose.CARE}), colleague="Dr Bob",
        obtained_on=date.today() - timedelta(days=1), recorded_by="alice", method=Method.WRITTEN,
        obtained_by="Dr Ward"))
    contacts = {"bob": add_card(alice, my_card(bob), name="Dr Bob"),
                "carol": add_card(alice, my_card(carol), name="Dr Carol")}
    return alice, study, foreign, contacts


def test_a_care_package_goes_only_to_the_colleague_the_consent_names(care, tmp_path):
    alice, study, _foreign, contacts = care
    for_bob = ExportPurpose(Purpose.CARE, "Dr Bob")
    wrong = [
        (ShareRequest((study,), for_bob, tmp_path / "a.veil", None, recipients=(contacts["carol"],)), "Dr Carol"),
        (ShareRequest((study,), for_bob, tmp_path / "b.veil", None, recipients=(contacts["bob"], contacts["carol"])),
         "exactly one colleague"),
        (ShareRequest((study,), for_bob, tmp_path / "c.veil", None, passphrase="correct horse battery staple"),
         "not with a passphrase"),
    ]
    for request, why in wrong:
        with pytest.raises(BindingError, match=why):
            export_package(alice, request)
        assert not request.output.exists()
    # Carol named as the recipient: her key, but the consent names Bob: refused by consent.
    refused = export_package(alice, ShareRequest((study,), ExportPurpose(Purpose.CARE, "Dr Carol"),
                                                 tmp_path / "d.veil", None, recipients=(contacts["carol"],)))
    assert refused.refused and not refused.consent.allowed
    with pytest.raises(BindingError):
        deidentify_studies(alice, preset("teaching"), [study], tmp_path / "folder", purpose=for_bob)
    done = export_package(alice, ShareRequest((study,), for_bob, tmp_path / "e.veil", None,
                                              recipients=(contacts["bob"],)))
    assert done.package is not None
    conn = alice.connect()
    try:
        (disclosure,) = disclosures_between(conn, date.today() - timedelta(days=1), date.today() + timedelta(days=1))
    finally:
        conn.close()
    assert disclosure.recipient.startswith("Dr Bob [") and contacts["bob"].fingerprint in disclosure.recipient
    assert "Carol" not in disclosure.recipient
    assert [c.name for c in done.unverified] == ["Dr Bob"]  # the key was never checked with Bob: said


def test_a_selection_naming_a_series_or_image_of_another_study_is_refused(care, tmp_path):
    alice, study, foreign, contacts = care
    for_bob = ExportPurpose(Purpose.CARE, "Dr Bob")
    for kwargs in ({"series_uids": (foreign.SeriesInstanceUID,)}, {"instance_uids": (foreign.SOPInstanceUID,)},
                   {"series_uids": ("1.2.3.4",)}):
        request = ShareRequest((study,), for_bob, tmp_path / "x.veil", None, recipients=(contacts["bob"],), **kwargs)
        with pytest.raises(SelectionError, match="nothing was exported"):
            export_package(alice, request)
        with pytest.raises(SelectionError):
            export_slides(alice, [study], teaching(alice), tmp_path / "s", **kwargs)
        assert not request.output.exists() and not (tmp_path / "s").exists()


def test_a_bare_age_recipient_can_receive_but_only_as_the_named_colleague(care, tmp_path):
    from pyrage import x25519

    alice, study, _foreign, _contacts = care
    bare = add_recipient(alice, str(x25519.Identity.generate().to_public()), "Dr B. Other")
    with pytest.raises(BindingError, match="Dr B. Other"):
        export_package(alice, ShareRequest((study,), ExportPurpose(Purpose.CARE, "Dr Bob"), tmp_path / "y.veil",
                                           None, recipients=(bare,)))


def test_an_export_reuses_the_review_a_person_saw_only_for_the_same_bytes(lib, tmp_path):
    from desktop.app.gate import Selection, resolve, review_images

    home, _src, study, sop = lib
    images = resolve(home, Selection((study,))).images
    shown = review_images(home, images)
    assert shown.read == 1 and shown.leaks and shown.leaks[0].key == images[0].instance_ref
    assert review_images(home, images, shown=shown) is shown  # the same bytes: not read twice
    _mask_banner(home, sop)
    report = export_slides(home, [study], teaching(home), tmp_path / "s", confirm_burned_in=True, review=shown)
    # The mask made a redacted version: other bytes leave, so they were read again, and pass.
    assert not report.refused and report.review is not shown and not report.review.leaks


def test_a_folder_flagged_by_its_headers_is_refused_before_any_work_and_says_so(lib, tmp_path):
    home, src, _study, _sop = lib
    report = deidentify_paths(home, preset("teaching"), [src], tmp_path / "out", purpose=teaching(home))
    assert report.refused_for_review and report.written == 0 and not _files(tmp_path / "out")
    assert report.review.note().startswith("Only the headers were reviewed so far")  # not "no OCR engine"
    assert report.flagged[0].label.startswith(str(src))  # the file, as the person gave it


def test_a_frame_too_large_to_read_is_flagged_for_a_person_not_decoded():
    from desktop.app.gate.review import Candidate, run_review

    ds = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")
    ds.Rows = ds.Columns = 60000  # 3.6 gigapixels declared: never decoded, never read by OCR
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    candidate = Candidate(1, "s", "CT, series 1, image 1", "CT", "", False, lambda: buffer.getvalue())
    review = run_review([candidate])
    (flag,) = review.flagged
    assert "too large to be read for text (60000 x 60000 pixels" in flag.label and review.needs_confirmation
