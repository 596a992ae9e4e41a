"""``veil case`` as a site scripting its teaching file would use it: a case from a study with
its text and key images, listed, shown, and exported as a deck through the privacy gate."""

from __future__ import annotations

from pathlib import Path

import pydicom
from pptx import Presentation

from tests.conftest import pydicom_test_files, write_series


def test_a_case_made_listed_shown_and_exported_from_the_command_line(veil_cli, tmp_path: Path):
    paths = write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "in", 3, "Quisenberry^Marguerite",
                         "MRN-4471")
    sops = [pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in paths]
    assert veil_cli("import", str(tmp_path / "in")).returncode == 0
    made = veil_cli("case", "new", "--study", "MRN-4471", "--title", "Tension pneumothorax",
                    "--history", "Stab wound", "--diagnosis", "Pneumothorax", "--keyword", "chest",
                    "--keyword", "trauma", "--key", sops[2], "--key", f"{sops[0]}:1")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "Case 1: Tension pneumothorax (2 key images; CT)."
    listed = veil_cli("case", "list", "--search", "pneumo")
    assert listed.returncode == 0 and "Tension pneumothorax" in listed.stdout and "2 key images" in listed.stdout
    assert "No teaching case matches." in veil_cli("case", "list", "--modality", "MR").stdout
    shown = veil_cli("case", "show", "1")
    assert f"Key image 1: {sops[2]}, frame 1" in shown.stdout and "Keywords: chest, trauma" in shown.stdout
    bad = veil_cli("case", "new", "--study", "MRN-4471", "--title", "T", "--key", f"{sops[0]}:2")
    assert bad.returncode == 1 and "frame 2 is not one of them" in bad.stderr

    deck = tmp_path / "deck.pptx"
    refused = veil_cli("case", "export", "1", "--purpose", "teaching", "--pptx", str(deck))
    assert refused.returncode == 1 and "consent does not allow it" in refused.stdout and not deck.exists()
    assert veil_cli("consent", "add", "--site-wide", "--not-required", "Teaching files", "--purpose",
                    "teaching").returncode == 0
    exported = veil_cli("case", "export", "1", "--purpose", "teaching", "--recipient", "Residents",
                        "--pptx", str(deck), "--unknown")
    assert exported.returncode == 0, exported.stderr + exported.stdout
    assert exported.stdout.startswith("Wrote deck.pptx: 1 case, 5 slides (unknown cases")
    slides = list(Presentation(str(deck)).slides)
    assert len(slides) == 5 and "Answer: Tension pneumothorax" in slides[-1].shapes[0].text_frame.text
    slides = veil_cli("case", "export", "1", "--purpose", "teaching", "--slides", str(tmp_path / "slides"))
    assert slides.returncode == 0, slides.stderr
    assert sorted(p.name for p in (tmp_path / "slides" / "case-1").iterdir()) == ["01.png", "02.png"]
    archive = veil_cli("case", "export", "1", "--purpose", "teaching", "--unencrypted", str(tmp_path / "tf.zip"))
    assert archive.returncode == 0, archive.stderr + archive.stdout
    assert "key object selection and report (IHE TCE)" in archive.stdout
    import zipfile

    with zipfile.ZipFile(tmp_path / "tf.zip") as tf:
        assert b"KEY OBJECT DOC" in tf.read("DICOMDIR") and b"SR DOCUMENT" in tf.read("DICOMDIR")
        assert b"Tension pneumothorax" in tf.read("case.html")
    both = veil_cli("case", "export", "1", "--purpose", "teaching", "--slides", "x", "--zip", "y.zip")
    assert both.returncode == 1 and "Say what to write" in both.stderr
    care = veil_cli("case", "export", "1", "--purpose", "care", "--recipient", "Dr Bob", "--pptx",
                    str(tmp_path / "care.pptx"))
    assert care.returncode == 1 and "not for the patient's care" in care.stderr
    for where in (tmp_path / "home", tmp_path / "tmp", tmp_path / "user"):
        for path in where.rglob("*"):
            if path.is_file():
                assert b"Quisenberry" not in path.read_bytes(), path
