"""`veil redact` for folders: templates burned into copies, every other readable input copied
unchanged (the output folder is complete), a review report and contact sheet."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pydicom
from PIL import Image

from tests.conftest import pydicom_data_files, pydicom_test_files


def _folder(tmp_path):  # noqa: ANN001, ANN202
    src = tmp_path / "in"
    (src / "us").mkdir(parents=True)
    shutil.copy(next(pydicom_data_files().rglob("US1_UNCR.dcm")), src / "us" / "banner.dcm")
    shutil.copy(pydicom_test_files() / "CT_small.dcm", src / "ct.dcm")
    (src / "notes.txt").write_text("not an image")
    return src


def test_templates_redact_copies_and_write_a_review(tmp_path, veil_cli):
    src = _folder(tmp_path)
    done = veil_cli("redact", "--templates", str(src), str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Redacted 1 frame in 1 of 3 files; 1 copied unchanged: the output folder holds "
                                  "every readable input; 1 could not be read or redacted (not written).")
    assert "notes.txt: not a DICOM file" in done.stdout
    original = pydicom.dcmread(src / "us" / "banner.dcm")
    redacted = pydicom.dcmread(tmp_path / "out" / "us" / "banner.dcm")
    before, after = original.pixel_array, redacted.pixel_array
    assert (after[:48] == 0).all() and np.array_equal(after[48:], before[48:])
    assert redacted.SOPInstanceUID != original.SOPInstanceUID and redacted.BurnedInAnnotation == "NO"
    # Nothing matched the CT: copied byte for byte; the text file is listed, never copied.
    assert (tmp_path / "out" / "ct.dcm").read_bytes() == (src / "ct.dcm").read_bytes()
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*")) == [
        "ct.dcm", "redaction-contact-sheet.png", "redaction-report.json", "us", "us/banner.dcm"]
    report = json.loads((tmp_path / "out" / "redaction-report.json").read_text())
    assert report["copied"] == 1 and report["copies"] == ["ct.dcm"] and report["redacted"] == 1
    assert report["rejected"] == [{"input": str(src / "notes.txt"), "reason": "not a DICOM file"}]
    (entry,) = report["entries"]
    assert entry["templates"] == ["Ultrasound 640x480: top banner"] and entry["frames"] == [0]
    with Image.open(tmp_path / "out" / "redaction-contact-sheet.png") as sheet:
        assert sheet.width >= 256 and sheet.height >= 200
    assert (src / "us" / "banner.dcm").read_bytes() == (next(pydicom_data_files().rglob("US1_UNCR.dcm"))).read_bytes()


def test_dry_run_writes_only_the_review(tmp_path, veil_cli):
    src = _folder(tmp_path)
    done = veil_cli("redact", "--templates", "--dry-run", str(src), str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Would redact 1 frame in 1 of 3 files; 1 would be copied unchanged")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["redaction-contact-sheet.png",
                                                                     "redaction-report.json"]


def test_a_site_ctp_script_adds_its_rules(tmp_path, veil_cli):
    src = _folder(tmp_path)
    script = tmp_path / "DicomPixelAnonymizer.script"
    script.write_text('{ Modality.equals("CT") }\n(0,0,128,10)\n')
    done = veil_cli("redact", "--template-file", str(script), str(src), str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    ct = pydicom.dcmread(tmp_path / "out" / "ct.dcm").pixel_array
    assert (ct[:10] == ct.min()).all()
    # Its rule is for CT only: the ultrasound is copied unchanged, so the output is complete.
    assert (tmp_path / "out" / "us" / "banner.dcm").read_bytes() == (src / "us" / "banner.dcm").read_bytes()
    assert "Redacted 1 frame in 1 of 3 files; 1 copied unchanged" in done.stdout


def test_nothing_to_redact_with_is_a_clear_error(tmp_path, veil_cli):
    done = veil_cli("redact", str(tmp_path), str(tmp_path / "out"))
    assert done.returncode == 1 and "--templates" in done.stderr


def test_detect_redacts_burned_in_identifiers_found_by_ocr(tmp_path, veil_cli):
    import pytest

    pytest.importorskip("tesserocr", reason="tesserocr (OCR) is installed from pip by the test command")
    from PIL import ImageDraw, ImageFont

    from desktop.app.redaction.detecting import high_risk_detector

    src = tmp_path / "in"
    src.mkdir()
    ds = pydicom.dcmread(next(pydicom_data_files().rglob("US1_UNCR.dcm")))
    ds.PatientName, ds.PatientID = "BRIGHTWATER^JONAS", "K48213977"
    image = Image.fromarray(ds.pixel_array.copy())
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=18)
    draw.rectangle([0, 0, 639, 40], fill=(0, 0, 0))
    draw.text((8, 10), "BRIGHTWATER JONAS   ID K48213977", fill=(255, 255, 255), font=font)
    ds.PixelData = np.asarray(image).tobytes()
    ds.save_as(src / "burned.dcm")
    done = veil_cli("redact", "--detect", str(src), str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Redacted 1 frame in 1 of 1 file")
    report = json.loads((tmp_path / "out" / "redaction-report.json").read_text())
    reasons = " ".join(d["reason"] for d in report["entries"][0]["detected"])
    assert "PatientName" in reasons and "PatientID" in reasons
    assert "BRIGHTWATER" not in json.dumps(report) and "K48213977" not in json.dumps(report)
    after = pydicom.dcmread(tmp_path / "out" / "burned.dcm")
    found = high_risk_detector()(after, [0])
    assert found == []  # an OCR pass over the output finds none of them


def test_images_without_pixels_are_copied_and_the_copies_are_audited(tmp_path):
    from desktop.app.library.home import VeilHome
    from desktop.app.redaction.redacting_files import redact_paths
    from desktop.core.redaction.templates import parse_ctp_script

    src = _folder(tmp_path)
    ds = pydicom.dcmread(src / "ct.dcm")
    del ds.PixelData
    ds.save_as(src / "no-pixels.dcm")
    home = VeilHome.open(tmp_path / "home")
    templates = parse_ctp_script('{ Modality.equals("US") }\n(0,0,640,48)\n')
    report = redact_paths(home, [src], tmp_path / "out", templates)
    assert (report.redacted, report.copied, len(report.rejected)) == (1, 2, 1)
    for name in ("ct.dcm", "no-pixels.dcm"):
        assert (tmp_path / "out" / name).read_bytes() == (src / name).read_bytes()
        assert (tmp_path / "out" / name).stat().st_mode & 0o777 == 0o600
    assert not [p for p in (tmp_path / "out").rglob(".*")]  # no temp file left
    last = json.loads((tmp_path / "home" / "audit.log").read_text().splitlines()[-1])
    assert last["action"] == "redact.files" and last["copied"] == 2 and last["redacted"] == 1
    assert "ct.dcm" not in json.dumps(last)  # counts only, never a name


def test_two_inputs_with_one_output_path_never_overwrite_each_other(tmp_path):
    from desktop.app.library.home import VeilHome
    from desktop.app.redaction.redacting_files import redact_paths
    from desktop.core.redaction.templates import parse_ctp_script

    first, second = tmp_path / "a", tmp_path / "b"
    for folder, name in ((first, "CT_small.dcm"), (second, "MR_small.dcm")):
        folder.mkdir()
        shutil.copy(pydicom_test_files() / name, folder / "image.dcm")
    home = VeilHome.open(tmp_path / "home")
    nothing = parse_ctp_script('{ Modality.equals("XA") }\n(0,0,1,1)\n')  # matches neither: both copied
    report = redact_paths(home, [first, second], tmp_path / "out", nothing)
    assert report.copied == 1 and [r.reason for r in report.rejected] == [
        "another input has the same path under the output folder"]
    assert (tmp_path / "out" / "image.dcm").read_bytes() == (first / "image.dcm").read_bytes()


def test_a_cancelled_run_writes_nothing_but_its_report(tmp_path):
    from desktop.app.common.tasks import CancelToken
    from desktop.app.library.home import VeilHome
    from desktop.app.redaction.redacting_files import redact_paths
    from desktop.core.redaction.templates import parse_ctp_script

    src = _folder(tmp_path)
    home = VeilHome.open(tmp_path / "home")
    cancel = CancelToken()

    def progress(done: int, total: int) -> None:
        if done >= 1:  # the CT was copied: stop before the ultrasound
            cancel.cancel()

    report = redact_paths(home, [src], tmp_path / "out", parse_ctp_script('{ Modality.equals("US") }\n(0,0,640,48)\n'),
                          progress=progress, cancel=cancel)
    assert report.cancelled and report.headline().startswith("Cancelled") and "1 of 3 files" in report.headline()
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["redaction-report.json"]
    assert json.loads((tmp_path / "out" / "redaction-report.json").read_text())["cancelled"] is True
