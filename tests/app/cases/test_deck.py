"""A teaching case leaves as a PowerPoint deck only through the privacy gate: consent for the
purpose, the key images at their view with their annotations, the case's text in the notes (or
on a reveal slide), and the patient nowhere in the file; typed text that names the patient
refuses the export."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pptx import Presentation

from desktop.app.cases import casebook
from desktop.app.cases.deck import export_deck
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.library.home import VeilHome
from desktop.core.cases.annotations import Kind
from desktop.core.cases.burn import ANNOTATION_RGB
from desktop.core.cases.case import KeyView
from desktop.core.common.errors import VeilError
from desktop.core.consent import Purpose
from tests.conftest import teaching
from tests.planting import PATIENT, find_forms


def _case(home: VeilHome, study: str, sop: str, **fields) -> int:  # noqa: ANN003 - case fields
    case = casebook.new_case(home, [study], "Tension pneumothorax", author="Dr A. Reader")
    case = case.with_fields(history="Stab wound to the left chest; hypotensive.", findings="Mediastinal shift.",
                            diagnosis="Tension pneumothorax", differential="Large bulla",
                            teaching_points="Treat before the CT.", keywords=("chest", "trauma"), **fields)
    case = casebook.mark(home, case, sop, 0, KeyView(40, 400, rotation_quarters=1))
    marks = case.key_images[0].annotations.add(Kind.ARROW, [(20, 100), (100, 30)], "Air")
    case = case.with_annotations(0, marks).with_caption(0, "Deep sulcus sign")
    return casebook.save(home, case)


def _audit(home: VeilHome, action: str) -> list[dict]:
    return [e for e in (json.loads(line) for line in home.audit_path.read_text().splitlines()) if e["action"] == action]


def _notes(slide) -> str:  # noqa: ANN001 - a pptx slide
    return slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else ""


def _texts(slide) -> str:  # noqa: ANN001
    return "\n".join(s.text_frame.text for s in slide.shapes if s.has_text_frame)


def test_a_case_becomes_a_deck_with_its_key_image_annotated_and_its_text_in_the_notes(planted_ct, tmp_path):
    home, study, sop = planted_ct
    case_id = _case(home, study, sop)
    deck = tmp_path / "out" / "lecture.pptx"
    (tmp_path / "out").mkdir()
    report = export_deck(home, [case_id], teaching(home), deck)
    assert report.headline() == "Wrote lecture.pptx: 1 case, 3 slides."
    slides = list(Presentation(str(deck)).slides)
    assert len(slides) == 3  # the deck's title, the case's title, one key image
    assert "Tension pneumothorax" in _texts(slides[0])
    assert "CT" in _texts(slides[1]) and "Stab wound" in _texts(slides[1])
    assert "Deep sulcus sign" in _texts(slides[2])
    notes = _notes(slides[2])
    assert "History: Stab wound" in notes and "Diagnosis: Tension pneumothorax" in notes
    pictures = [s for s in slides[2].shapes if s.shape_type == 13]  # MSO_SHAPE_TYPE.PICTURE
    image = np.asarray(Image.open(io.BytesIO(pictures[0].image.blob)).convert("RGB"))
    assert image.shape[0] > image.shape[1] or image.shape[0] == image.shape[1]
    assert np.all(image == np.array(ANNOTATION_RGB), axis=-1).sum() > 500  # the arrow, drawn in
    assert _audit(home, "deck.export")[-1]["outcome"] == "completed"
    assert report.disclosure is not None


def test_nothing_of_the_patient_is_anywhere_in_the_file(planted_ct, tmp_path):
    home, study, sop = planted_ct
    case_id = _case(home, study, sop)
    deck = tmp_path / "deck.pptx"
    export_deck(home, [case_id], teaching(home), deck)
    with zipfile.ZipFile(deck) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            text = data.decode("utf-8", "ignore") if name.endswith((".xml", ".rels")) else ""
            assert not find_forms(text), (name, find_forms(text))
            assert PATIENT.family.lower().encode() not in data.lower(), name
            assert PATIENT.id_digits.encode() not in data, name
            if name.startswith("docProps/"):
                assert "Dr A. Reader" not in text and "Steve Canny" not in text and "python-pptx" not in text
            if name.endswith(".png"):
                assert set(Image.open(io.BytesIO(data)).info) <= {"dpi"}, name  # no text chunks
    core = zipfile.ZipFile(deck).read("docProps/core.xml").decode()
    assert "<dc:creator>Veil</dc:creator>" in core and re.search(r"<dc:title>Tension pneumothorax</dc:title>", core)


def test_an_unknown_case_keeps_the_diagnosis_for_the_last_slide(planted_ct, tmp_path):
    home, study, sop = planted_ct
    case_id = _case(home, study, sop)
    deck = tmp_path / "quiz.pptx"
    export_deck(home, [case_id], teaching(home), deck, unknown=True)
    slides = list(Presentation(str(deck)).slides)
    before = slides[:-1]
    assert all("pneumothorax" not in (_texts(s) + _notes(s)).lower() for s in before)
    assert all("Large bulla" not in (_texts(s) + _notes(s)) for s in before)
    assert "Answer: Tension pneumothorax" in _texts(slides[-1]) and "Diagnosis: Tension pneumothorax" in _texts(
        slides[-1])


@pytest.mark.parametrize("where, text", [
    ("history", f"Mrs {PATIENT.family} fell from a horse."),
    ("history", f"{PATIENT.given.upper()} {PATIENT.family.upper()}, seen on the ward."),
    ("findings", f"Compared with the CT of {PATIENT.birth.strftime('%d.%m.%Y')}."),
    ("findings", f"Patient ID {PATIENT.patient_id}."),
    ("caption", f"{PATIENT.family}, left lung"),
    ("label", f"{PATIENT.family[:1]}. {PATIENT.family}"),
    ("keywords", PATIENT.accession),
])
def test_typed_text_that_names_the_patient_refuses_the_deck(planted_ct, tmp_path, where, text):
    home, study, sop = planted_ct
    case_id = _case(home, study, sop)
    case = casebook.load(home, case_id)
    if where == "caption":
        case = case.with_caption(0, text)
    elif where == "label":
        case = case.with_annotations(0, case.key_images[0].annotations.add(Kind.TEXT, [(5, 5)], text))
    elif where == "keywords":
        case = case.with_fields(keywords=("chest", text))
    else:
        case = case.with_fields(**{where: text})
    casebook.save(home, case, case_id)
    deck = tmp_path / "deck.pptx"
    report = export_deck(home, [case_id], teaching(home), deck)
    assert report.refused and report.typed and not deck.exists()
    assert report.headline().startswith("Deck export refused: ") and "holds the patient's" in report.headline()
    assert PATIENT.family not in report.headline()  # the refusal says where, not what
    assert _audit(home, "deck.export")[-1]["outcome"] == "refused-typed-text"


def test_no_consent_or_care_writes_nothing(planted_ct, tmp_path):
    home, study, sop = planted_ct
    case_id = _case(home, study, sop)
    deck = tmp_path / "deck.pptx"
    report = export_deck(home, [case_id], ExportPurpose(Purpose.TEACHING, "Residents"), deck)
    assert report.refused and not deck.exists()
    assert report.headline() == "Deck export refused: consent does not allow it. Nothing was written."
    with pytest.raises(VeilError, match="not for the patient's care"):
        export_deck(home, [case_id], ExportPurpose(Purpose.CARE, "Dr Bob"), deck)
    with pytest.raises(VeilError, match=r"\.pptx"):
        export_deck(home, [case_id], teaching(home), tmp_path / "deck.ppt")
    assert not list(Path(tmp_path).glob("*.pptx"))


def test_key_images_as_annotated_slide_images_in_a_folder_or_a_zip(planted_ct, tmp_path):
    from desktop.app.cases.case_slides import export_case_slides

    home, study, sop = planted_ct
    case_id = _case(home, study, sop)
    report = export_case_slides(home, [case_id], teaching(home), tmp_path / "slides")
    assert report.files == ["case-1/01.png"] and report.headline().startswith("Wrote 1 key image(s) (PNG")
    image = np.asarray(Image.open(tmp_path / "slides" / "case-1" / "01.png").convert("RGB"))
    assert np.all(image == np.array(ANNOTATION_RGB), axis=-1).sum() > 500  # the arrow
    assert image.shape[:2] == (1600, 1600)
    zipped = export_case_slides(home, [case_id], teaching(home), zip_path=tmp_path / "s.zip", fmt="jpeg")
    assert zipfile.ZipFile(tmp_path / "s.zip").namelist() == ["case-1/01.jpg"] and zipped.zipped
    assert [e["outcome"] for e in _audit(home, "case.slides")] == ["completed", "completed"]
    case = casebook.load(home, case_id)
    casebook.save(home, case.with_caption(0, f"{PATIENT.given} {PATIENT.family}"), case_id)
    refused = export_case_slides(home, [case_id], teaching(home), tmp_path / "again")
    assert refused.refused and not (tmp_path / "again").exists()
