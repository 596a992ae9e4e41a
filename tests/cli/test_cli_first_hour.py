"""A newcomer's first hour on the command line: ``veil ls`` numbers the studies and shows their
UIDs, every ``--study`` takes that number, an accession number or a patient ID as well as the
UID (and refuses to guess), and ``veil import --samples`` says what it loaded in plain words."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from desktop.app.browsing.catalogue import StudyRefError, find_study, resolve_study
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.cli.main import main
from tests.conftest import pydicom_test_files

#: The three studies of the library the tests build, in the order ``veil ls`` lists them: by
#: patient name, then study date. Smith has two studies (her patient ID is ambiguous) and the
#: accession number of her first one is "1", which is also study 1's number.
STUDIES = {
    "jones": ("MR_small.dcm", "Jones^Bob", "MRN-2002", "A-100", "20200101"),
    "smith_old": ("MR_small.dcm", "Smith^Anna", "MRN-1001", "1", "20190101"),
    "smith_new": ("CT_small.dcm", "Smith^Anna", "MRN-1001", "B-300", "20210101"),
}


def _write_study(folder: Path, source: str, name: str, patient_id: str, accession: str, day: str) -> str:
    """One image of a new study of this patient, from a real pydicom test file; its Study Instance UID."""
    ds = pydicom.dcmread(pydicom_test_files() / source)
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = generate_uid(), generate_uid(), generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.PatientName, ds.PatientID, ds.AccessionNumber, ds.StudyDate = name, patient_id, accession, day
    folder.mkdir(parents=True, exist_ok=True)
    ds.save_as(folder / f"{patient_id}-{day}.dcm", enforce_file_format=True)
    return str(ds.StudyInstanceUID)


def _dicom(data: bytes) -> pydicom.Dataset:
    try:
        return pydicom.dcmread(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - not DICOM: the package's manifest, signature and the like
        return pydicom.Dataset()


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The folder of the three studies' files, and each study's UID by its key in STUDIES."""
    folder = tmp_path / "incoming"
    return folder, {key: _write_study(folder, *spec) for key, spec in STUDIES.items()}


@pytest.fixture
def library(veil_home: Path, files) -> tuple[VeilHome, dict[str, str]]:
    """A library (VEIL_HOME, for ``main``) holding the three studies; their UIDs."""
    home = VeilHome.open(veil_home)
    report = import_paths(home, [files[0]], workers=1)
    assert report.imported == 3
    return home, files[1]


def test_ls_numbers_the_studies_in_its_order_with_their_uids_the_same_every_time(library, capsys):
    _, uid = library
    assert main(["ls"]) == 0
    first = capsys.readouterr().out
    assert main(["ls"]) == 0
    assert capsys.readouterr().out == first  # the same numbers on every call
    lines = first.splitlines()
    assert lines[0] == "2 patients, 3 studies, 3 series, 3 instances"
    assert lines[1].startswith("Jones^Bob [MRN-2002")
    assert lines[2].startswith("  1  2020-01-01  MR ")
    assert lines[3] == f"     UID {uid['jones']}, accession A-100"
    smith = lines.index(next(line for line in lines if line.startswith("Smith^Anna [MRN-1001")))
    assert lines[smith + 1].startswith("  2  2019-01-01  MR ")  # a patient's studies by date
    assert lines[smith + 2] == f"     UID {uid['smith_old']}, accession 1"
    numbered = [line for line in lines if line.startswith("  3  2021-01-01  CT ")]
    assert len(numbered) == 1 and lines[lines.index(numbered[0]) + 1] == f"     UID {uid['smith_new']}, accession B-300"
    assert lines[-2].startswith("--study takes a number above (1 to 3), a Study Instance UID")


def test_an_empty_library_says_how_to_fill_it(veil_home, capsys):
    assert main(["ls"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "0 patients, 0 studies, 0 series, 0 instances"
    assert "veil import" in out[1] and "--samples" in out[1]


@pytest.mark.parametrize(("ref", "key", "how"), [
    ("UID", "smith_old", ("Study Instance UID",)),
    ("3", "smith_new", ("study number",)),
    (" 3 ", "smith_new", ("study number",)),
    ("2", "smith_old", ("study number",)),
    ("A-100", "jones", ("accession number",)),
    ("B-300", "smith_new", ("accession number",)),
    ("MRN-2002", "jones", ("patient ID",)),
])
def test_each_form_of_a_study_reference_names_its_study(library, ref, key, how):
    home, uid = library
    ref = uid[key] if ref == "UID" else ref
    match = find_study(home, ref)
    assert match.study.study_uid == uid[key] and match.how == how
    assert resolve_study(home, ref) == uid[key]


@pytest.mark.parametrize(("ref", "numbers", "said"), [
    ("MRN-1001", [2, 3], ["(its patient ID)", "(its patient ID)"]),  # a patient with two studies
])
def test_an_ambiguous_reference_lists_the_candidates_by_number_and_uid_never_by_name(library, ref, numbers, said):
    home, uid = library
    with pytest.raises(StudyRefError) as caught:
        resolve_study(home, ref)
    message, details = str(caught.value), caught.value.details
    assert f"matches {len(numbers)} studies" in message
    assert ref not in message and not any(u in message for u in uid.values())  # the message names no one
    assert details[0] == f"--study {ref!r} is"
    by_number = {1: uid["jones"], 2: uid["smith_old"], 3: uid["smith_new"]}
    assert details[1:] == [f"  {n}  {by_number[n]}  {how}" for n, how in zip(numbers, said)]
    assert not any(word in "\n".join(details) for word in ("Smith", "Anna", "Jones", "Bob"))


def test_a_number_veil_ls_shows_wins_and_the_other_study_it_fits_is_named(library, capsys):
    home, uid = library
    match = find_study(home, "1")  # study 1, and the accession number of study 2
    assert match.study.study_uid == uid["jones"] and match.how == ("study number",)
    assert match.also == ("the accession number of study 2",)
    assert resolve_study(home, "1") == uid["jones"]


@pytest.mark.parametrize("ref", ["4", "0", "03", "MRN-9999", "Smith^Anna", ""])
def test_a_reference_that_names_no_study_says_so(library, ref):
    home, _ = library
    with pytest.raises(StudyRefError) as caught:
        resolve_study(home, ref)
    assert str(caught.value).startswith("No study in the library matches this --study.")
    assert caught.value.details == [f"--study {ref!r} (the library holds 3 studies)"]


def test_consent_and_report_take_a_number_and_a_patient_id(library, capsys):
    from desktop.app.consent.consenting import consents_of

    home, uid = library
    assert main(["consent", "add", "--study", "3", "--consent", "written", "--obtained-by", "Dr Ward",
                 "--purpose", "teaching"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Recorded consent ")
    assert f"veil: --study 3 is study 3 of 'veil ls': {uid['smith_new']} (2021-01-01, CT)" in err
    (record,) = consents_of(home)
    assert record.scope.study_uids == frozenset({uid["smith_new"]})  # that study only, not the patient's other
    assert main(["consent", "list", "--study", "B-300"]) == 0
    out, err = capsys.readouterr()
    assert record.id in out and "(accession number) is study 3" in err
    assert main(["report", "disclosures", "--study", "MRN-2002"]) == 0
    assert "(patient ID) is study 1 of 'veil ls'" in capsys.readouterr().err


def test_the_command_line_refuses_an_ambiguous_study_and_names_the_candidates(library, capsys):
    _, uid = library
    assert main(["consent", "add", "--study", "MRN-1001", "--consent", "written", "--obtained-by", "Dr Ward",
                 "--purpose", "teaching"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("veil: This --study matches 2 studies: give the number or the Study Instance UID")
    assert f"    2  {uid['smith_old']}  (its patient ID)" in err and f"    3  {uid['smith_new']}" in err
    assert "Smith" not in err and "Anna" not in err
    assert main(["consent", "list", "--study", "7"]) == 1
    err = capsys.readouterr().err
    assert "No study in the library matches this --study" in err and "--study '7' (the library holds 3 studies)" in err


@pytest.mark.slow
def test_deid_export_and_slides_take_a_number_an_accession_number_and_a_patient_id(veil_cli, files, tmp_path):
    folder, uid = files
    assert veil_cli("import", str(folder)).returncode == 0
    assert veil_cli("consent", "add", "--site-wide", "--not-required", "Teaching file policy v3",
                    "--purpose", "teaching", "--purpose", "publication").returncode == 0

    deid = veil_cli("deid", "--purpose", "teaching", "--study", "3", str(tmp_path / "deid"))
    assert deid.returncode == 0, deid.stdout + deid.stderr
    (written,) = [p for p in (tmp_path / "deid").rglob("*") if p.is_file()]
    assert pydicom.dcmread(written).Modality == "CT"  # study 3, Smith's CT, and nothing else
    assert f"--study 3 is study 3 of 'veil ls': {uid['smith_new']}" in deid.stderr

    export = veil_cli("export", "--study", "A-100", "--purpose", "publication", "--recipient", "Radiology journal",
                      "--profile", "publication", "--unencrypted", "-o", str(tmp_path / "case.zip"))
    assert export.returncode == 0, export.stdout + export.stderr
    with zipfile.ZipFile(tmp_path / "case.zip") as archive:
        images = [ds for ds in map(_dicom, (archive.read(n) for n in archive.namelist())) if "PixelData" in ds]
    assert [ds.Modality for ds in images] == ["MR"]  # study 1, Jones's MR

    slides = veil_cli("slides", "--study", "MRN-2002", "--purpose", "teaching", str(tmp_path / "slides"))
    assert slides.returncode == 0, slides.stdout + slides.stderr
    assert len(list((tmp_path / "slides").rglob("*.png"))) == 1
    assert f"(patient ID) is study 1 of 'veil ls': {uid['jones']}" in slides.stderr

    refused = veil_cli("deid", "--purpose", "teaching", "--study", "MRN-1001", str(tmp_path / "ambiguous"))
    assert refused.returncode == 1 and not (tmp_path / "ambiguous").exists()
    assert uid["smith_old"] in refused.stderr and uid["smith_new"] in refused.stderr
    assert "Smith" not in refused.stderr + refused.stdout


@pytest.mark.slow
def test_the_samples_are_said_in_a_clinicians_words(veil_cli):
    first = veil_cli("import", "--samples")
    assert first.returncode == 0 and first.stderr == ""
    lines = first.stdout.splitlines()
    assert lines[0].startswith("Loaded ") and " sample studies (CT, " in lines[0] and " patients. " in lines[0]
    assert " test files are deliberately broken or not images, and were left out; " in lines[0]
    assert lines[0].endswith(" were copies of images already loaded.")
    assert lines[1:] == ["  (veil import --samples -v lists each of them)"]
    for word in ("duplicate", "rejected", "SOP Instance UID", "instances"):
        assert word not in first.stdout
    again = veil_cli("import", "--samples")
    assert again.stdout == "The sample studies are already in the library; nothing was added.\n"
    listed = veil_cli("import", "--samples", "-v")
    assert "Rejected:" in listed.stdout and "README.txt: not a DICOM file" in listed.stdout


def test_a_normal_import_still_lists_each_rejected_file_with_its_reason(veil_cli, files):
    folder, _ = files
    (folder / "notes.txt").write_text("not an image")
    done = veil_cli("import", str(folder))
    assert done.stdout.startswith("Imported 3 new instances (3 studies); 1 rejected.")
    assert "Rejected:" in done.stdout and "notes.txt: not a DICOM file" in done.stdout
