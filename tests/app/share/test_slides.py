"""Slide-ready images (issue 7): rendered as Veil shows them, redactions burned in, no metadata,
named without identity; only where consent allows a de-identified export; accounted for."""

from __future__ import annotations

import json
import re
import shutil
import stat
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from desktop.app.common.tasks import CancelToken
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.app.share.slides import export_slides
from desktop.core.common.errors import VeilError
from desktop.core.consent import Purpose
from desktop.core.library.disclosures import disclosures_between
from desktop.core.library.masks import save_mask
from desktop.core.redaction.mask import Mask, Scope
from desktop.core.redaction.shapes import Rect
from tests.conftest import pydicom_data_files, pydicom_test_files, teaching, write_series

NAME = re.compile(r"^case-\d+/\d{3}b*-\d{4}-\d{3}\.(png|jpg)$")


def _source(name: str) -> Path:
    path = pydicom_test_files() / name
    return path if path.exists() else pydicom_data_files() / name


@pytest.fixture
def lib(tmp_path):
    """A library: Smith's CT (3 images), an MR, a MONOCHROME1 copy of that MR, a colour
    ultrasound and a 10-frame MR; the study UIDs by name."""
    home = VeilHome.open(tmp_path / "home")
    src = tmp_path / "in"
    uids = {}
    for key, name, count in (("ct", "CT_small.dcm", 3), ("mr", "MR_small.dcm", 1), ("us", "US1_J2KR.dcm", 1),
                             ("multi", "emri_small.dcm", 1)):
        paths = write_series(_source(name), src / key, count, "Smith^Anna", f"MRN-{key}")
        uids[key] = pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID
    mono1 = write_series(_source("MR_small.dcm"), src / "mono1", 1, "Smith^Anna", "MRN-mono1")[0]
    ds = pydicom.dcmread(mono1)
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.save_as(mono1)
    uids["mono1"] = ds.StudyInstanceUID
    import_paths(home, [src])
    return home, uids


def _instances(home: VeilHome, study_uid: str) -> list[tuple[int, int, int]]:
    conn = home.connect()
    try:
        return conn.execute(
            """SELECT i.id, i.rows, i.columns FROM instances i JOIN series se ON i.series_ref = se.id
               JOIN studies st ON se.study_ref = st.id WHERE st.study_uid = ? ORDER BY i.instance_number""",
            (study_uid,)).fetchall()
    finally:
        conn.close()


def _audit(home: VeilHome, action: str) -> list[dict]:
    lines = [json.loads(line) for line in home.audit_path.read_text().splitlines()]
    return [e for e in lines if e["action"] == action]


def _disclosures(home: VeilHome):
    conn = home.connect()
    try:
        return disclosures_between(conn, "2000", "9999")
    finally:
        conn.close()


def test_png_slides_carry_pixels_only_and_no_identity(lib, tmp_path):
    home, uids = lib
    out = tmp_path / "slides"
    report = export_slides(home, [uids["ct"], uids["mr"]], teaching(home), out)
    assert report.headline() == "Wrote 4 slide images (PNG) of 2 cases to slides."
    assert sorted(report.files) == ["case-1/001-0001-001.png", "case-1/001-0002-001.png", "case-1/001-0003-001.png",
                                    "case-2/001-0001-001.png"]
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted(report.files) and all(NAME.match(f) for f in written)
    for path in out.rglob("*.png"):
        data = path.read_bytes()
        with Image.open(path) as im:
            assert im.info == {} and im.text == {} and im.mode == "L"
        for chunk in (b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"tIME"):
            assert chunk not in data
        assert b"Smith" not in data and b"MRN" not in data
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(out.glob(".veil-partial-*"))
    # the CT has no window in its header: an auto window, not a washed-out full range
    ct = np.asarray(Image.open(out / report.files[0]))
    assert ct.min() == 0 and ct.max() == 255 and 40 < ct.mean() < 200


def test_jpeg_slides_have_no_exif_or_comment(lib, tmp_path):
    home, uids = lib
    report = export_slides(home, [uids["mr"]], teaching(home), tmp_path / "j", fmt="jpeg")
    (name,) = report.files
    data = (tmp_path / "j" / name).read_bytes()
    assert name.endswith(".jpg") and data[:2] == b"\xff\xd8"
    assert b"\xff\xe1" not in data and b"\xff\xfe" not in data  # no APP1 (EXIF/XMP), no COM marker
    with Image.open(tmp_path / "j" / name) as im:
        assert "exif" not in im.info and "comment" not in im.info and im.getexif() == {}


def test_saved_masks_are_burned_in_black(lib, tmp_path):
    home, uids = lib
    (first, rows, cols), (second, *_), _ = _instances(home, uids["ct"])
    conn = home.connect()
    save_mask(conn, first, Mask(rows, cols).with_shape(Rect(0, 10, 20, 60, 40)))  # frame 0 of image 1
    save_mask(conn, second, Mask(rows, cols, scope=Scope.SERIES).with_shape(Rect(0, 0, 100, 30, 128)))
    conn.close()
    report = export_slides(home, [uids["ct"]], teaching(home), tmp_path / "m")
    assert report.masked == 3  # the series-wide mask covers every same-size image
    one, two, three = (np.asarray(Image.open(tmp_path / "m" / f)) for f in sorted(report.files))
    assert (one[20:40, 10:60] == 0).all() and (one[100:, :30] == 0).all()
    assert (two[100:, :30] == 0).all() and (two[20:40, 10:60] != 0).any()
    assert (three[100:, :30] == 0).all()
    assert one[60:100, 40:100].mean() > 20  # the rest of the picture is there


def test_monochrome1_is_shown_the_right_way_round(lib, tmp_path):
    home, uids = lib
    report = export_slides(home, [uids["mr"], uids["mono1"]], teaching(home), tmp_path / "p")
    mono2, mono1 = (np.asarray(Image.open(tmp_path / "p" / f)).astype(int) for f in sorted(report.files))
    assert (mono1 == 255 - mono2).all() and mono2.std() > 10


def test_colour_is_kept_as_is(lib, tmp_path):
    home, uids = lib
    # an ultrasound without BurnedInAnnotation NO may carry a banner: refused until confirmed
    refused = export_slides(home, [uids["us"]], teaching(home), tmp_path / "c")
    assert refused.refused and "US image without BurnedInAnnotation NO" in refused.flagged[0].label
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").rglob("*.png"))
    report = export_slides(home, [uids["us"]], teaching(home), tmp_path / "c", confirm_burned_in=True)
    shown = np.asarray(Image.open(tmp_path / "c" / report.files[0]))
    assert shown.shape == (480, 640, 3)
    assert np.array_equal(shown, pydicom.dcmread(_source("US1_J2KR.dcm")).pixel_array)


def test_every_frame_or_the_middle_one(lib, tmp_path):
    home, uids = lib
    every = export_slides(home, [uids["multi"]], teaching(home), tmp_path / "all")
    assert [f.rsplit("-", 1)[1] for f in every.files] == [f"{n:03d}.png" for n in range(1, 11)]
    middle = export_slides(home, [uids["multi"]], teaching(home), tmp_path / "mid", frames="middle")
    assert [f.rsplit("-", 1)[1] for f in middle.files] == ["005.png"]


def test_a_zip_holds_the_same_files(lib, tmp_path):
    home, uids = lib
    target = tmp_path / "deck.zip"
    report = export_slides(home, [uids["ct"], uids["mr"]], teaching(home), zip_path=target)
    with zipfile.ZipFile(target) as archive:
        assert archive.namelist() == report.files and archive.testzip() is None
        with archive.open(report.files[0]) as fh, Image.open(fh) as im:
            assert im.format == "PNG" and im.info == {}
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".veil-partial")] == []
    assert report.headline().endswith("to deck.zip.")


def test_refused_without_consent_writes_nothing(lib, tmp_path):
    home, uids = lib
    out = tmp_path / "journal"
    report = export_slides(home, [uids["ct"]], ExportPurpose(Purpose.PUBLICATION, "European Radiology"), out)
    assert report.refused and not report.files and "consent does not allow" in report.headline()
    assert not out.exists()
    report = export_slides(home, [uids["ct"]], ExportPurpose(Purpose.PUBLICATION, "Journal"),
                           zip_path=tmp_path / "j.zip")
    assert not (tmp_path / "j.zip").exists() and not list(tmp_path.glob(".veil-partial*"))
    assert _audit(home, "slides.export")[-1]["outcome"] == "refused-consent"
    assert _disclosures(home) == []


def test_care_is_refused(lib, tmp_path):
    home, uids = lib
    with pytest.raises(VeilError, match="not for the patient's care"):
        export_slides(home, [uids["ct"]], ExportPurpose(Purpose.CARE, "Dr Bob"), tmp_path / "care")
    assert not (tmp_path / "care").exists()


def test_burned_in_images_need_a_mask_or_a_confirmation(tmp_path):
    home = VeilHome.open(tmp_path / "home")
    paths = write_series(_source("CT_small.dcm"), tmp_path / "in", 2, "Smith^Anna", "MRN-1")
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.BurnedInAnnotation = "YES"
        ds.save_as(path)
    import_paths(home, [tmp_path / "in"])
    uid = pydicom.dcmread(paths[0]).StudyInstanceUID
    refused = export_slides(home, [uid], teaching(home), tmp_path / "a")
    assert refused.refused and len(refused.flagged) == 2 and "burned-in" in refused.headline()
    assert not (tmp_path / "a").exists()
    confirmed = export_slides(home, [uid], teaching(home), tmp_path / "b", confirm_burned_in=True)
    assert len(confirmed.files) == 2 and _audit(home, "slides.export")[-1]["confirmed_burned_in"] is True
    (ref, rows, cols), _ = _instances(home, uid)
    conn = home.connect()
    save_mask(conn, ref, Mask(rows, cols, scope=Scope.SERIES).with_shape(Rect(0, 0, 0, 128, 12)))
    conn.close()
    masked = export_slides(home, [uid], teaching(home), tmp_path / "c")
    assert not masked.flagged and masked.masked == 2


def test_the_disclosure_is_accounted_for(lib, tmp_path):
    home, uids = lib
    report = export_slides(home, [uids["ct"], uids["multi"]], teaching(home), tmp_path / "d")
    (disclosure,) = _disclosures(home)
    assert disclosure.id == report.disclosure and disclosure.kind == "slides.export"
    assert disclosure.purpose == "teaching" and disclosure.profile == "slides"
    assert disclosure.destination == str(tmp_path / "d") and disclosure.recipient == "Teaching file"
    assert sorted(i.instances for i in disclosure.items) == [1, 3]  # images, not frames
    line = _audit(home, "slides.export")[-1]
    assert line["outcome"] == "completed" and line["written"] == 13 and "Smith" not in json.dumps(line)
    assert home.verify_audit().ok


def test_cancel_and_a_used_folder_write_nothing(lib, tmp_path):
    home, uids = lib
    token = CancelToken()

    def progress(done: int, total: int) -> None:
        if done >= 2:
            token.cancel()

    out = tmp_path / "x"
    report = export_slides(home, [uids["multi"]], teaching(home), out, progress=progress, cancel=token)
    assert report.cancelled and not report.files and not out.exists() and _disclosures(home) == []
    assert report.headline() == "Slide export cancelled. Nothing was written."
    export_slides(home, [uids["mr"]], teaching(home), out)
    before = {p: p.read_bytes() for p in out.rglob("*.png")}
    with pytest.raises(VeilError, match="already holds slide images"):
        export_slides(home, [uids["mr"]], teaching(home), out)
    assert {p: p.read_bytes() for p in out.rglob("*.png")} == before and not list(out.glob(".veil-partial*"))


def test_the_command_line(veil_cli, tmp_path):
    src = tmp_path / "in"
    paths = write_series(_source("CT_small.dcm"), src, 2, "Smith^Anna", "MRN-9")
    shutil.copy(_source("MR_small.dcm"), src / "mr.dcm")
    uid = pydicom.dcmread(paths[0]).StudyInstanceUID
    assert veil_cli("import", str(src)).returncode == 0
    refused = veil_cli("slides", "--study", uid, "--purpose", "teaching", str(tmp_path / "out"))
    assert refused.returncode == 1 and "consent does not allow" in refused.stdout and not (tmp_path / "out").exists()
    care = veil_cli("slides", "--study", uid, "--purpose", "care", "--recipient", "Dr Bob", str(tmp_path / "out"))
    assert care.returncode == 1 and "not for the patient's care" in care.stderr
    assert veil_cli("consent", "add", "--site-wide", "--not-required", "Teaching file policy",
                    "--purpose", "teaching").returncode == 0
    done = veil_cli("slides", "--study", uid, "--purpose", "teaching", "--recipient", "Residents",
                    str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "Wrote 2 slide images (PNG) of 1 case" in done.stdout
    assert sorted(p.name for p in (tmp_path / "out" / "case-1").iterdir()) == ["001-0001-001.png", "001-0002-001.png"]
    zipped = veil_cli("slides", "--study", uid, "--purpose", "teaching", "--format", "jpeg", "--frames", "middle",
                      "--zip", str(tmp_path / "deck.zip"))
    assert zipped.returncode == 0, zipped.stderr
    assert zipfile.ZipFile(tmp_path / "deck.zip").namelist() == ["case-1/001-0001-001.jpg", "case-1/001-0002-001.jpg"]
    both = veil_cli("slides", "--study", uid, "--purpose", "teaching", str(tmp_path / "o2"), "--zip", "x.zip")
    assert both.returncode == 1 and "either" not in both.stdout and "Say where" in both.stderr
