"""The deck opens where educators open it: LibreOffice Impress converts it to PDF page for
page, and the pages show the key images with their annotations."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from desktop.app.cases import casebook
from desktop.app.cases.deck import export_deck
from desktop.core.cases.annotations import Kind
from desktop.core.cases.case import KeyView
from tests.conftest import teaching

SOFFICE = shutil.which("soffice")
PDFTOPPM = shutil.which("pdftoppm")

pytestmark = pytest.mark.skipif(
    SOFFICE is None or PDFTOPPM is None,
    reason="soffice or pdftoppm is not on PATH (Debian packages libreoffice-impress and poppler-utils; "
           "scripts/run-tests installs them)")


def test_libreoffice_renders_every_slide_with_the_annotations(planted_ct, tmp_path):
    home, study, sop = planted_ct
    case = casebook.mark(home, casebook.new_case(home, [study], "Pneumothorax").with_fields(
        history="Stab wound", diagnosis="Tension pneumothorax"), sop, 0, KeyView(40, 400))
    marks = case.key_images[0].annotations.add(Kind.ARROW, [(20, 100), (100, 30)]).add(
        Kind.ROI, [(40, 50), (80, 80)])
    case_id = casebook.save(home, case.with_annotations(0, marks).with_caption(0, "Deep sulcus sign"))
    deck = tmp_path / "deck.pptx"
    assert export_deck(home, [case_id], teaching(home), deck).written
    profile = tmp_path / "lo-profile"  # its own profile: no user settings, no lock with another soffice
    done = subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                           "--outdir", str(tmp_path), str(deck)], capture_output=True, text=True, timeout=240)
    pdf = tmp_path / "deck.pdf"
    assert done.returncode == 0 and pdf.exists(), done.stderr
    reader = PdfReader(pdf)
    assert len(reader.pages) == 3
    assert "Deep sulcus sign" in reader.pages[2].extract_text()
    subprocess.run([PDFTOPPM, "-r", "60", "-png", "-f", "3", "-l", "3", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=120)
    page = np.asarray(Image.open(next(tmp_path.glob("page*.png"))).convert("RGB")).astype(int)
    yellowish = (page[..., 0] > 180) & (page[..., 1] > 150) & (page[..., 2] < 90)
    assert yellowish.sum() > 50  # the arrow and the ROI, as LibreOffice shows them
    assert (page[..., :].sum(axis=-1) < 30).mean() > 0.5  # the slide's black background
