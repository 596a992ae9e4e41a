"""Teaching cases in the library as a radiologist makes them: from one patient's studies, the
modality and anatomy filled in, key images marked on what is on screen (a redacted version is
named by its original), listed with the consent state of their studies."""

from __future__ import annotations

import io
from datetime import date, timedelta

import numpy as np
import pydicom
import pytest
from PIL import Image
from pptx import Presentation

from desktop.app.cases import casebook
from desktop.app.cases.deck import export_deck
from desktop.app.consent.consenting import add_consent, withdraw_consent
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.gate import redact_masked
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.core.cases.case import CaseError, KeyView
from desktop.core.consent import Basis, ConsentRecord, Method, Purpose, Scope
from desktop.core.consent.status import ConsentStatus
from desktop.core.library.masks import save_mask
from desktop.core.redaction.mask import Mask
from desktop.core.redaction.shapes import Rect
from tests.conftest import pydicom_test_files, teaching, write_series


@pytest.fixture
def lib(tmp_path):  # noqa: ANN201 - (home, {name: (study UID, [SOP UIDs])})
    home = VeilHome.open(tmp_path / "home")
    found = {}
    for key, name, patient in (("ct", "CT_small.dcm", "MRN-1"), ("mr", "MR_small.dcm", "MRN-1"),
                               ("other", "MR_small.dcm", "MRN-2")):
        paths = write_series(pydicom_test_files() / name, tmp_path / "in" / key, 2,
                             "Smith^Anna" if patient == "MRN-1" else "Jones^Bo", patient)
        headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in paths]
        headers[0].BodyPartExamined = "CHEST"
        found[key] = (headers[0].StudyInstanceUID, [h.SOPInstanceUID for h in headers])
    import_paths(home, [tmp_path / "in"])
    return home, found


def test_a_case_from_one_patients_studies_fills_modality_and_anatomy(lib):
    home, found = lib
    case = casebook.new_case(home, [found["ct"][0], found["mr"][0]], "Metastases", author="A. Reader")
    assert case.modality == "CT/MR" and case.study_uids == (found["ct"][0], found["mr"][0])
    with pytest.raises(CaseError, match="studies of one patient"):
        casebook.new_case(home, [found["ct"][0], found["other"][0]], "Two patients")
    with pytest.raises(CaseError, match="not in the library"):
        casebook.new_case(home, ["1.2.3.4"], "Nowhere")


def test_marking_a_key_image_knows_its_size_frames_and_original(lib, tmp_path):
    home, found = lib
    study, sops = found["ct"]
    case = casebook.new_case(home, [study], "Air")
    case = casebook.mark(home, case, sops[1], 0, KeyView(40, 400))
    key = case.key_images[0]
    assert key.sop_uid == sops[1] and (key.annotations.rows, key.annotations.columns) == (128, 128)
    with pytest.raises(CaseError, match="frame 2 is not one of them"):
        casebook.mark(home, case, sops[1], 1, KeyView())
    # the image is redacted afterwards: the key image still names the original, and the deck
    # shows the redacted version
    conn = home.connect()
    ref = conn.execute("SELECT id FROM instances WHERE sop_instance_uid = ?", (sops[1],)).fetchone()[0]
    save_mask(conn, ref, Mask(128, 128).with_shape(Rect(0, 0, 0, 128, 30)))
    conn.close()
    redact_masked(home, [study])
    conn = home.connect()
    version = conn.execute("SELECT sop_instance_uid FROM instances WHERE replaces_ref = ?", (ref,)).fetchone()[0]
    conn.close()
    assert casebook.key_image(home, version, 0, KeyView()).sop_uid == sops[1]  # marked on the redacted one
    case_id = casebook.save(home, case)
    deck = tmp_path / "deck.pptx"
    report = export_deck(home, [case_id], teaching(home), deck)
    assert report.written, report.headline()
    picture = next(s for s in list(Presentation(str(deck)).slides)[-1].shapes if s.shape_type == 13)
    shown = np.asarray(Image.open(io.BytesIO(picture.image.blob)).convert("L"))
    assert (shown[: shown.shape[0] * 26 // 128] == 0).all()  # the redacted band (rows 0-29) leaves black
    assert (shown[shown.shape[0] // 2:] != 0).any()


def test_the_cases_view_lists_each_case_with_its_consent_state(lib, tmp_path):
    home, found = lib
    first = casebook.save(home, casebook.mark(home, casebook.new_case(home, [found["ct"][0]], "Pneumothorax"),
                                              found["ct"][1][0], 0, KeyView()))
    second = casebook.save(home, casebook.new_case(home, [found["other"][0]], "Glioma"))
    rows = {c.row.id: c for c in casebook.listing(home)}
    assert rows[first].consent is ConsentStatus.NONE and not rows[first].withdrawn
    conn = home.connect()
    key = conn.execute("SELECT p.patient_key FROM patients p JOIN studies s ON s.patient_ref = p.id "
                       "WHERE s.study_uid = ?", (found["ct"][0],)).fetchone()[0]
    conn.close()
    record = add_consent(home, ConsentRecord(
        basis=Basis.CONSENT, scope=Scope(key), purposes=frozenset({Purpose.TEACHING}),
        obtained_on=date.today() - timedelta(days=3), recorded_by="R. Ward", method=Method.WRITTEN,
        obtained_by="Dr Ward"))
    assert {c.row.id: c for c in casebook.listing(home)}[first].consent is ConsentStatus.VALID
    withdraw_consent(home, record.id, date.today(), "Changed her mind")
    rows = {c.row.id: c for c in casebook.listing(home)}
    assert rows[first].withdrawn and rows[second].consent is ConsentStatus.NONE
    report = export_deck(home, [first], ExportPurpose(Purpose.TEACHING, "Residents"), tmp_path / "deck.pptx")
    assert report.refused and not (tmp_path / "deck.pptx").exists()  # a withdrawn case cannot leave
    assert [c.row.id for c in casebook.listing(home, "glio")] == [second]
    casebook.delete(home, first)
    assert [c.row.id for c in casebook.listing(home)] == [second]
    audit = home.audit_path.read_text()
    assert '"case.save"' in audit and '"case.delete"' in audit and "Pneumothorax" not in audit
