"""De-identified export as a user runs it: from folders or library studies, with pseudonyms that
stay the same across exports, all or nothing when a leak is found, recorded in the audit log;
and the leak check `veil verify`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pydicom
import pytest

from desktop.app.common.tasks import CancelToken
from desktop.app.deid.deidentifying import deidentify_paths, deidentify_studies, library_inputs, preview
from desktop.app.deid.leak_check import verify_paths
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.core.deid.profiles import preset
from tests.conftest import pydicom_test_files, teaching, write_series


def _outputs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.dcm"))


def test_export_writes_pseudonymised_studies_that_open_as_one_study(veil_home, tmp_path):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src / "a", 5, "Smith^Anna", "MRN-1001")
    write_series(pydicom_test_files() / "MR_small.dcm", src / "b", 3, "Jones^Bob", "MRN-2002")
    home = VeilHome.open()
    report = deidentify_paths(home, preset("teaching"), [src], tmp_path / "out", purpose=teaching(home))
    assert report.written == 8 and not report.refused and not report.rejected
    assert sorted(report.pseudonyms.items()) == [("TEACH-0001", 5), ("TEACH-0002", 3)]
    files = _outputs(tmp_path / "out")
    assert len(files) == 8
    by_patient: dict[str, set[str]] = {}
    for path in files:
        ds = pydicom.dcmread(path)
        assert ds.PatientName in ("TEACH-0001", "TEACH-0002")
        by_patient.setdefault(str(ds.PatientName), set()).add(ds.StudyInstanceUID)
        assert path.name == f"{ds.SOPInstanceUID}.dcm" and path.parts[-4] == str(ds.PatientName)
    assert all(len(uids) == 1 for uids in by_patient.values())  # each still one study
    assert not [p for p in (tmp_path / "out").rglob(".veil-partial-*")]


def test_pseudonyms_and_dates_are_the_same_in_every_export(veil_home, tmp_path):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 2, "Smith^Anna", "MRN-1001")
    home = VeilHome.open()
    first = deidentify_paths(home, preset("teaching"), [src], tmp_path / "one", purpose=teaching(home))
    write_series(pydicom_test_files() / "MR_small.dcm", tmp_path / "new", 1, "New^Person", "MRN-3")
    second = deidentify_paths(home, preset("teaching"), [tmp_path / "new", src], tmp_path / "two",
                              purpose=teaching(home))
    assert set(first.pseudonyms) == {"TEACH-0001"}
    assert set(second.pseudonyms) == {"TEACH-0001", "TEACH-0002"}
    one = {p.name: pydicom.dcmread(p) for p in _outputs(tmp_path / "one")}
    two = {p.name: pydicom.dcmread(p) for p in _outputs(tmp_path / "two")}
    for name, ds in one.items():  # same file names, same shifted dates, in both exports
        assert two[name].StudyDate == ds.StudyDate and two[name].PatientID == "TEACH-0001"
    # Another scheme numbers its own patients.
    research = deidentify_paths(home, preset("research"), [src], tmp_path / "three", purpose=teaching(home))
    assert set(research.pseudonyms) == {"RES-0001"}


def test_library_studies_export_and_preview(veil_home, few_dicoms, tmp_path):
    home = VeilHome.open()
    imported = import_paths(home, [few_dicoms])
    study = sorted(imported.study_uids)[0]
    item = library_inputs(home, [study])[0]
    changes = preview(home, preset("teaching"), item)
    names = {c.name: c for c in changes}
    assert names["Patient's Name"].after.startswith("TEACH-")
    assert any(c.action == "removed" for c in changes)
    refused = deidentify_studies(home, preset("teaching"), sorted(imported.study_uids), tmp_path / "out",
                                 purpose=teaching(home))
    # The sample holds images that may carry burned-in text: nothing leaves until a person confirms.
    assert refused.refused_for_review and refused.written == 0 and not _outputs(tmp_path / "out")
    report = deidentify_studies(home, preset("teaching"), sorted(imported.study_uids), tmp_path / "out",
                                purpose=teaching(home), confirm_burned_in=True)
    assert report.written == len(_outputs(tmp_path / "out")) >= 5
    assert not report.refused
    # Previewing assigned nothing: the export numbered patients from 1.
    assert "TEACH-0001" in report.pseudonyms


def _jpeg_with_a_comment(src: Path, name: str, patient_id: str, comment: bytes) -> Path:
    """A real JPEG baseline instance of this patient whose frame carries ``comment`` in a JPEG
    COM segment (ISO 10918-1 B.2.4.5) and ends without its EOI marker: a damaged codestream
    Veil cannot parse, so cannot clean (a whole one would lose its COM segment)."""
    import struct

    from pydicom.encaps import encapsulate, generate_frames

    ds = pydicom.dcmread(next(pydicom_test_files().rglob("SC_rgb_jpeg_dcmtk.dcm")))
    ds.PatientName, ds.PatientID = name, patient_id
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    body = frame.rstrip(b"\x00")
    assert body.endswith(b"\xff\xd9")
    frame = frame[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + body[2:-2]
    frame += b"\x00" * (len(frame) % 2)
    ds.PixelData = encapsulate([frame])
    src.mkdir(parents=True, exist_ok=True)
    path = src / "scanned.dcm"
    ds.save_as(path)
    return path


def test_a_file_that_cannot_be_cleaned_is_left_out_named_and_the_rest_is_written(veil_home, tmp_path):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 3, "Quisenberry^Annabel", "MRN-1001")
    _jpeg_with_a_comment(src, "Quisenberry^Annabel", "MRN-1001", b"Scanned for Quisenberry Annabel")
    home = VeilHome.open()
    report = deidentify_paths(home, preset("teaching"), [src], tmp_path / "out", purpose=teaching(home),
                              confirm_burned_in=True)
    assert not report.refused and report.written == 3 and report.left_out == 1
    assert "1 file left out" in report.headline()
    assert len(_outputs(tmp_path / "out")) == 3
    [(label, leaks)] = report.leaks
    assert label.endswith("scanned.dcm")
    text = " ".join(leak.describe() for leak in leaks)
    assert "Pixel Data" in text and "Quisenberry" not in text and "Annabel" not in text
    for path in _outputs(tmp_path / "out"):
        assert b"Quisenberry" not in path.read_bytes()


def test_a_share_package_with_one_file_that_cannot_be_cleaned_writes_nothing(veil_home, tmp_path):
    from desktop.app.deid.deidentifying import deidentify_inputs, file_inputs

    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 3, "Quisenberry^Annabel", "MRN-1001")
    _jpeg_with_a_comment(src, "Quisenberry^Annabel", "MRN-1001", b"Scanned for Quisenberry Annabel")
    home = VeilHome.open()
    inputs, rejected = file_inputs([src])
    report = deidentify_inputs(home, preset("teaching"), inputs, tmp_path / "staged", purpose=teaching(home),
                               seal_key=b"s" * 32, account=False, confirm_burned_in=True)
    assert report.refused and report.written == 0 and report.all_or_nothing
    assert "Export refused" in report.headline() and "Nothing was written" in report.headline()
    assert not [p for p in (tmp_path / "staged").rglob("*") if p.is_file()]
    text = " ".join(leak.describe() for _label, leaks in report.leaks for leak in leaks)
    assert "Pixel Data" in text and "Quisenberry" not in text


def test_identity_typed_into_attributes_no_row_governs_is_cleaned_and_the_file_written(veil_home, tmp_path):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 2, "Smith^Anna", "MRN-1001")
    first = sorted(src.iterdir())[0]
    leaky = pydicom.dcmread(first)
    leaky.Manufacturer = "Scanner of Anna Smith"  # no row governs it: kept, cleaned
    leaky.RetrieveURL = "https://pacs.example.org/wado?patient=MRN-1001"  # no row, not kept: removed
    leaky.save_as(first)
    home = VeilHome.open()
    report = deidentify_paths(home, preset("teaching"), [src], tmp_path / "out", purpose=teaching(home))
    assert report.written == 2 and not report.leaks and not report.refused
    for path in _outputs(tmp_path / "out"):
        ds = pydicom.dcmread(path)
        assert "Anna" not in str(ds.Manufacturer) and "Smith" not in str(ds.Manufacturer)
        assert "RetrieveURL" not in ds
    lines = {(line.action, line.why): line.attributes for line in __import__(
        "desktop.app.deid.summary", fromlist=["summarise"]).summarise(report.actions)}
    assert any("Retrieve URL" in names for (action, why), names in lines.items()
               if action == "removed" and "by default" in why)
    assert any("Patient's Sex" in names for (action, why), names in lines.items()
               if action == "kept" and why == "Retain Patient Characteristics Option")


def test_cancel_writes_nothing(veil_home, tmp_path):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 30, "Smith^Anna", "MRN-1001")
    home = VeilHome.open()
    cancel = CancelToken()

    def progress(done: int, total: int) -> None:
        if done >= 5:
            cancel.cancel()

    report = deidentify_paths(home, preset("teaching"), [src], tmp_path / "out", progress, cancel, workers=1,
                              purpose=teaching(home))
    assert report.cancelled and report.written == 0
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]


def test_bad_files_are_named_and_the_rest_goes_on(veil_home, tmp_path):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 2, "Smith^Anna", "MRN-1001")
    (src / "notes.txt").write_text("not dicom")
    shutil.copy(pydicom_test_files() / "MR_truncated.dcm", src / "cut.dcm")
    home = VeilHome.open()
    report = deidentify_paths(home, preset("teaching"), [src], tmp_path / "out", purpose=teaching(home))
    assert report.written == 2
    reasons = {Path(r.label).name: r.reason for r in report.rejected}
    assert "truncated" in reasons["cut.dcm"] and "not a DICOM file" in reasons["notes.txt"]


def test_output_inside_the_input_is_refused(veil_home, tmp_path):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 1)
    home = VeilHome.open()
    with pytest.raises(Exception, match="outside the folder"):
        deidentify_paths(home, preset("teaching"), [src], src / "out", purpose=teaching(home))


def test_export_is_in_the_audit_log_without_identity(veil_home, tmp_path):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 2, "Smith^Anna", "MRN-1001")
    home = VeilHome.open()
    deidentify_paths(home, preset("research"), [src], tmp_path / "out", purpose=teaching(home))
    lines = [json.loads(line) for line in home.audit_path.read_text().splitlines()]
    export = [line for line in lines if line.get("action") == "deid.export"][-1]
    assert export["outcome"] == "completed" and export["written"] == 2 and export["profile"] == "research"
    log = home.audit_path.read_text()
    assert "Smith" not in log and "MRN-1001" not in log
    assert home.verify_audit().ok


def test_verify_finds_no_leak_in_an_export_and_finds_a_planted_one(veil_home, tmp_path):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 3, "Smith^Anna", "MRN-1001")
    home = VeilHome.open()
    deidentify_paths(home, preset("teaching"), [src], tmp_path / "out", purpose=teaching(home))
    clean = verify_paths([src], [tmp_path / "out"], uid_key=home.keys.deid_key)
    assert clean.clean and clean.outputs == 3, clean.headline()
    # Plant the patient's ID in a private tag of one output, and the name in its raw bytes.
    target = _outputs(tmp_path / "out")[0]
    ds = pydicom.dcmread(target)
    block = ds.private_block(0x0099, "PLANTED", create=True)
    block.add_new(0x01, "LO", "MRN-1001")
    ds.save_as(target)
    raw = _outputs(tmp_path / "out")[1]
    raw.write_bytes(raw.read_bytes() + b"\x00Smith\x00")
    report = verify_paths([src], [tmp_path / "out"], uid_key=home.keys.deid_key)
    assert not report.clean and len(report.leaks) == 2
    found = {label: " ".join(leak.describe() for leak in leaks) for label, leaks in report.leaks.items()}
    assert "id from PatientID found in (0099,1001)" in found[str(target)]
    assert "name from PatientName found in the file's bytes" in found[str(raw)]


def test_verify_flags_an_original_passed_off_as_output(veil_home, tmp_path):
    report = verify_paths([pydicom_test_files() / "CT_small.dcm"], [pydicom_test_files() / "CT_small.dcm"])
    assert not report.clean and report.not_deidentified
    assert "LEAK" in report.headline()


def test_cli_deid_then_verify(veil_cli, tmp_path):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 4, "Smith^Anna", "MRN-1001")
    refused = veil_cli("deid", "--profile", "teaching", "--purpose", "teaching", str(src), str(tmp_path / "out"))
    assert refused.returncode == 1 and "Export refused: consent does not allow it" in refused.stdout
    assert "no consent" in refused.stderr.lower() and "teaching" in refused.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.dcm"))
    policy = veil_cli("consent", "add", "--site-wide", "--not-required", "Teaching file policy v3",
                      "--purpose", "teaching")
    assert policy.returncode == 0, policy.stderr
    done = veil_cli("deid", "--profile", "teaching", "--purpose", "teaching", str(src), str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "De-identified 4 instances of 1 patient with the Teaching file profile" in done.stdout
    assert "TEACH-0001 (4)" in done.stdout
    assert done.stderr == ""
    checked = veil_cli("verify", str(src), str(tmp_path / "out"))
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout.startswith("No identifier found: 4 output files")
    leaky = veil_cli("verify", str(src), str(src))
    assert leaky.returncode == 1 and "LEAK" in leaky.stdout
    assert "Smith" not in leaky.stdout and "MRN-1001" not in leaky.stdout


def test_cli_deid_library_study_with_an_extra_option(veil_cli, few_dicoms, tmp_path):
    assert veil_cli("import", str(few_dicoms)).returncode == 0
    uid = pydicom.dcmread(few_dicoms / "ct" / "CT_small.dcm").StudyInstanceUID
    added = veil_cli("consent", "add", "--study", uid, "--consent", "written", "--obtained-by", "Dr Ward",
                     "--purpose", "publication", "--limits", "no facial images")
    assert added.returncode == 0, added.stderr
    done = veil_cli("deid", "--profile", "publication", "--option", "retain_patient_characteristics",
                    "--prefix", "JOURNAL", "--study", uid, "--purpose", "publication",
                    "--recipient", "Radiology Journal", str(tmp_path / "out"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "consent limit: no facial images" in done.stdout
    (path,) = _outputs(tmp_path / "out")
    ds = pydicom.dcmread(path)
    original = pydicom.dcmread(few_dicoms / "ct" / "CT_small.dcm")
    assert ds.PatientName == "JOURNAL-0001" and ds.PatientSex == original.PatientSex
    assert [i.CodeValue for i in ds.DeidentificationMethodCodeSequence] == ["113100", "113108"]
    consent = ds.ConsentForClinicalTrialUseSequence[0]
    assert (consent.DistributionType, consent.ConsentForDistributionFlag) == ("PUBLIC_RELEASE", "YES")


def test_cli_unknown_profile_is_a_clear_error(veil_cli, tmp_path):
    done = veil_cli("deid", "--profile", "nope", "--purpose", "teaching", str(tmp_path), str(tmp_path / "out"))
    assert done.returncode == 1 and "No profile named 'nope'" in done.stderr


def test_preview_reads_nothing_into_the_pseudonym_table(veil_home, tmp_path):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 1, "Smith^Anna", "MRN-1001")
    home = VeilHome.open()
    from desktop.app.deid.deidentifying import file_inputs

    (item,), _ = file_inputs([src])
    first = {c.name: c.after for c in preview(home, preset("teaching"), item)}
    second = {c.name: c.after for c in preview(home, preset("teaching"), item)}
    assert first["Patient's Name"] == second["Patient's Name"] == "TEACH-0001"
    assert not list(tmp_path.rglob("*.veil-partial-*"))


def test_worker_processes_give_the_same_files_as_one_process(veil_home, tmp_path):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src / "a", 20, "Smith^Anna", "MRN-1001")
    write_series(pydicom_test_files() / "MR_small.dcm", src / "b", 10, "Jones^Bob", "MRN-2002")
    (src / "junk.dcm").write_bytes(b"DICM" * 10)
    home = VeilHome.open()
    serial = deidentify_paths(home, preset("teaching"), [src], tmp_path / "one", workers=1, purpose=teaching(home))
    parallel = deidentify_paths(home, preset("teaching"), [src], tmp_path / "two", workers=2, purpose=teaching(home))
    assert serial.written == parallel.written == 30
    assert len(serial.rejected) == len(parallel.rejected) == 1
    one = {p.relative_to(tmp_path / "one"): p.read_bytes() for p in _outputs(tmp_path / "one")}
    two = {p.relative_to(tmp_path / "two"): p.read_bytes() for p in _outputs(tmp_path / "two")}
    assert one == two


def test_the_quick_identity_reader_agrees_with_pydicom(tmp_path):
    from desktop.app.library.instance_identity import quick_identity
    from desktop.core.deid.engine import patient_key_of

    checked = 0
    for path in sorted(pydicom_test_files().glob("*.dcm")):
        quick = quick_identity(path.read_bytes()[:16384])
        if quick is None:
            continue
        ds = pydicom.dcmread(path, force=True)
        assert quick.patient_key == patient_key_of(ds), path.name
        assert quick.study_uid == str(ds.get("StudyInstanceUID", "") or ""), path.name
        assert quick.series_uid == str(ds.get("SeriesInstanceUID", "") or ""), path.name
        checked += 1
    assert checked > 15


def test_a_long_temp_folder_path_does_not_stop_the_export(veil_home, tmp_path, monkeypatch):
    # The worker pool's Unix socket lives under TMPDIR; a path past 107 bytes cannot be bound.
    import tempfile

    long_tmp = tmp_path / ("t" * 90)
    long_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(long_tmp))
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 30, "Smith^Anna", "MRN-1001")
    home = VeilHome.open()
    report = deidentify_paths(home, preset("teaching"), [src], tmp_path / "out", workers=2, purpose=teaching(home))
    assert report.written == 30 and not report.refused
