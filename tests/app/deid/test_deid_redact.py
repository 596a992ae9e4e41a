"""``veil deid --redact`` (issue 13): scanner templates and OCR detection burned into each file's
pixels in memory, then de-identified in one run: the privacy gate reviews the redacted pixels,
the outputs record the Clean Pixel Data Option (PS3.15 E.3.1), and no identifiable redacted
intermediate is left on disk, in the output folder, the library, the home or the temp folder."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest

from desktop.app.deid.deidentifying import Redaction, deidentify_paths
from desktop.app.deid.runner import RedactedInput, RegionPlan, read_input
from desktop.app.library.home import VeilHome
from desktop.core.deid.profiles import preset
from desktop.core.dicom.identifiers import collect_identifiers
from desktop.core.library.sources import FileSource
from desktop.core.redaction.record import is_redacted
from desktop.core.redaction.templates import parse_ctp_script
from tests.app.gate.test_gate import BANNER_ROWS, _ultrasound
from tests.conftest import teaching

#: What _ultrasound burns into the banner and writes in the header, in every form it may take.
IDENTITY = (b"KOWALSKI", b"Kowalski", b"kowalski", b"7384912")
CLEAN_PIXEL_DATA = "113101"


def _banner_template() -> list:
    """A site's rule (RSNA CTP format): ultrasound images carry identity in the top 40 rows."""
    return parse_ctp_script(f'{{ Modality.equals("US") }}\n(0,0,256,{BANNER_ROWS})\n', "site rules")


def _outputs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _holding_identity(*folders: Path) -> list[str]:
    """Every file under ``folders`` whose bytes hold the patient's name or ID."""
    found = []
    for folder in folders:
        for path in _outputs(folder):
            data = path.read_bytes()
            if any(word in data for word in IDENTITY):
                found.append(str(path))
    return found


def test_deid_redact_detect_burns_the_planted_name_out_before_it_leaves(tmp_path, veil_cli):
    pytest.importorskip("tesserocr", reason="tesserocr (OCR) is installed from pip by the test command")
    from desktop.core.imaging.frames import decode_frame
    from desktop.core.redaction.ocr import TextReader

    src = tmp_path / "in"
    (original_path,) = _ultrasound(src)
    original = pydicom.dcmread(original_path)
    policy = veil_cli("consent", "add", "--site-wide", "--not-required", "Teaching file policy v3",
                      "--purpose", "teaching")
    assert policy.returncode == 0, policy.stderr

    # Without --redact the gate leaves it out, even confirmed: the pixels would show her name.
    refused = veil_cli("deid", "--purpose", "teaching", "--confirm-burned-in", str(src), str(tmp_path / "plain"))
    assert refused.returncode == 1
    assert "1 file left out" in refused.stdout
    assert "still show the patient's name" in refused.stdout and "read by OCR in frame 1, pixels x" in refused.stdout
    assert "KOWALSKI" not in refused.stdout.upper()
    assert not _outputs(tmp_path / "plain")

    done = veil_cli("deid", "--redact", "--detect", "--purpose", "teaching", str(src), str(tmp_path / "out"))
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "De-identified 1 instance of 1 patient" in done.stdout
    assert "1 image(s) redacted in memory before de-identification (Clean Pixel Data recorded)" in done.stdout
    (output,) = _outputs(tmp_path / "out")
    assert output.suffix == ".dcm" and not output.name.startswith(".")
    ds = pydicom.dcmread(output)
    assert ds.PatientIdentityRemoved == "YES" and ds.BurnedInAnnotation == "NO"
    assert CLEAN_PIXEL_DATA in {i.CodeValue for i in ds.DeidentificationMethodCodeSequence}
    before, after = original.pixel_array, ds.pixel_array
    assert not np.array_equal(before[:BANNER_ROWS], after[:BANNER_ROWS])  # the banner was redacted
    assert np.array_equal(before[BANNER_ROWS:], after[BANNER_ROWS:])  # and nothing else
    reader = TextReader()
    try:
        read_before = " ".join(w.text for w in reader.read_words(decode_frame(original, 0)))
        read_after = " ".join(w.text for w in reader.read_words(decode_frame(ds, 0)))
    finally:
        reader.close()
    assert "KOWALSKI" in read_before and "7384912" in read_before  # OCR does read the original
    assert "KOWALSKI" not in read_after and "7384912" not in read_after and "ANNA" not in read_after

    # Nothing identifiable left anywhere: not in the output folder, the library, the user's home
    # or the temp folder; no temp file at all in the output.
    assert _holding_identity(tmp_path / "out", tmp_path / "plain", tmp_path / "home", tmp_path / "user",
                             tmp_path / "tmp") == []
    assert not list((tmp_path / "tmp").iterdir())
    audit = (tmp_path / "home" / "audit.log").read_text()
    assert '"pixel_redaction":"templates ' in audit and "KOWALSKI" not in audit.upper()


def test_template_redaction_is_reviewed_on_the_redacted_pixels(tmp_path):
    pytest.importorskip("tesserocr", reason="the review reads the pixels with OCR (tesserocr)")
    home = VeilHome.open(tmp_path / "home")
    src = tmp_path / "us"
    paths = _ultrasound(src, 2)
    original = pydicom.dcmread(paths[0]).pixel_array
    redaction = Redaction(tuple(_banner_template()), detect=False)
    report = deidentify_paths(home, preset("teaching"), [src], tmp_path / "out", purpose=teaching(home),
                              redaction=redaction)
    assert not report.refused, report.headline()
    assert report.written == 2 and report.redacted == 2 and report.redaction == "templates 1"
    # Neither flagged by its header (regions were burned in) nor by OCR, nor refused as residual.
    assert report.review is not None and not report.review.flagged and not report.residual
    assert report.review.ocr and report.review.read == 2  # every redacted image read, as it leaves
    for output in _outputs(tmp_path / "out"):
        ds = pydicom.dcmread(output)
        assert (ds.pixel_array[:BANNER_ROWS] == ds.pixel_array[:BANNER_ROWS].min()).all()
        assert np.array_equal(ds.pixel_array[BANNER_ROWS:], original[BANNER_ROWS:])
        assert CLEAN_PIXEL_DATA in {i.CodeValue for i in ds.DeidentificationMethodCodeSequence}
    assert _holding_identity(tmp_path / "out", tmp_path / "home") == []


def test_an_image_counts_as_redacted_only_when_regions_were_burned_into_it(tmp_path):
    home = VeilHome.open(tmp_path / "home")
    src = tmp_path / "us"
    _ultrasound(src)
    # The rule matches the header but its region lies outside the 256 x 256 image: nothing burned.
    outside = parse_ctp_script('{ Modality.equals("US") }\n(300,300,20,20)\n', "site rules")
    report = deidentify_paths(home, preset("teaching"), [src], tmp_path / "out", purpose=teaching(home),
                              redaction=Redaction(tuple(outside)))
    assert report.refused and report.redacted == 0
    assert any("may carry burned-in text" in f.label for f in report.flagged)
    assert not _outputs(tmp_path / "out")


def test_a_redacted_input_reads_as_its_burned_instance_made_in_memory(tmp_path):
    (path,) = _ultrasound(tmp_path / "us")
    original = pydicom.dcmread(path)
    plan = RegionPlan((("banner", ((0, 0, 256, BANNER_ROWS),)),))
    item = RedactedInput(FileSource(str(path), path.stat().st_size), plan, burns=True)
    before = sorted(p.name for p in (tmp_path / "us").iterdir())
    redacted = pydicom.dcmread(io.BytesIO(read_input(item, None)))
    assert is_redacted(redacted) and redacted.SOPInstanceUID != original.SOPInstanceUID
    assert (redacted.pixel_array[:BANNER_ROWS] == redacted.pixel_array.min()).all()
    # The header is the original's until the engine de-identifies it: the gate's residual check
    # matches the pixels against it.
    assert "KOWALSKI" in {i.text.upper() for i in collect_identifiers(redacted) if i.kind == "name"}
    assert sorted(p.name for p in (tmp_path / "us").iterdir()) == before  # nothing written beside it
    unburned = RedactedInput(FileSource(str(path), path.stat().st_size), RegionPlan(), burns=False)
    assert read_input(unburned, None) == path.read_bytes()  # nothing to burn: the file as it is


def test_many_files_go_through_the_worker_processes(tmp_path):
    pytest.importorskip("tesserocr", reason="the review reads the pixels with OCR (tesserocr)")
    home = VeilHome.open(tmp_path / "home")
    src = tmp_path / "us"
    _ultrasound(src, 26)  # above IN_PROCESS_BELOW: redacted in the workers
    report = deidentify_paths(home, preset("teaching"), [src], tmp_path / "out", purpose=teaching(home),
                              workers=2, redaction=Redaction(tuple(_banner_template())))
    assert not report.refused, report.headline()
    assert report.written == 26 and report.redacted == 26
    outputs = _outputs(tmp_path / "out")
    assert len(outputs) == 26
    for output in outputs:
        ds = pydicom.dcmread(output)
        assert CLEAN_PIXEL_DATA in {i.CodeValue for i in ds.DeidentificationMethodCodeSequence}
        assert ds.pixel_array[:BANNER_ROWS].max() == ds.pixel_array.min()
    assert _holding_identity(tmp_path / "out") == []


def test_redact_goes_with_files_and_detect_with_redact(tmp_path, veil_cli):
    wrong = veil_cli("deid", "--purpose", "teaching", "--detect", str(tmp_path), str(tmp_path / "out"))
    assert wrong.returncode == 1 and "--detect and --template-file go with --redact" in wrong.stderr
    study = veil_cli("deid", "--purpose", "teaching", "--redact", "--study", "1.2.3", str(tmp_path / "out"))
    assert study.returncode == 1 and "--redact is for files" in study.stderr
    assert not (tmp_path / "out").exists()
