"""`veil redact` for folders: templates burned into copies, a review report and contact sheet."""

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
    assert done.stdout.startswith("Redacted 1 frame in 1 of 3 files; 1 had nothing to redact; 1 could not be read.")
    original = pydicom.dcmread(src / "us" / "banner.dcm")
    redacted = pydicom.dcmread(tmp_path / "out" / "us" / "banner.dcm")
    before, after = original.pixel_array, redacted.pixel_array
    assert (after[:48] == 0).all() and np.array_equal(after[48:], before[48:])
    assert redacted.SOPInstanceUID != original.SOPInstanceUID and redacted.BurnedInAnnotation == "NO"
    assert not (tmp_path / "out" / "ct.dcm").exists()  # nothing matched: not copied
    report = json.loads((tmp_path / "out" / "redaction-report.json").read_text())
    (entry,) = report["entries"]
    assert entry["templates"] == ["Ultrasound 640x480: top banner"] and entry["frames"] == [0]
    sheet = Image.open(tmp_path / "out" / "redaction-contact-sheet.png")
    assert sheet.width >= 256 and sheet.height >= 200
    assert (src / "us" / "banner.dcm").read_bytes() == (next(pydicom_data_files().rglob("US1_UNCR.dcm"))).read_bytes()


def test_dry_run_writes_only_the_review(tmp_path, veil_cli):
    src = _folder(tmp_path)
    done = veil_cli("redact", "--templates", "--dry-run", str(src), str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Would redact 1 frame in 1 of 3 files")
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


def test_nothing_to_redact_with_is_a_clear_error(tmp_path, veil_cli):
    done = veil_cli("redact", str(tmp_path), str(tmp_path / "out"))
    assert done.returncode == 1 and "--templates" in done.stderr


def test_detect_redacts_burned_in_identifiers_found_by_ocr(tmp_path, veil_cli):
    import pytest

    pytest.importorskip("tesserocr", reason="tesserocr (OCR) is installed from pip by the test command")
    from PIL import ImageDraw, ImageFont

    from desktop.app.detecting import high_risk_detector

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
