"""The consent ledger as a user runs it through Veil: record consent with its scanned form,
see the badge of every study, exports checked against consent (refused with the study named,
or overridden for care with a justification), the accounting of disclosures, and withdrawal
showing every disclosure that relied on the consent."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pydicom
import pytest
from PIL import Image

from desktop.app.consent import consenting
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.deid.deidentifying import deidentify_studies
from desktop.app.library.checking import check_home
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.core.consent import Basis, ConsentError, ConsentRecord, ConsentStatus, Method, Purpose, Scope
from desktop.core.deid.profiles import preset
from desktop.core.library.disclosures import disclosures_of_patient
from tests.conftest import pydicom_test_files, write_series

TODAY = date.today()


@pytest.fixture
def library(veil_home, tmp_path):
    """A home with two patients: Smith (a CT study of 2 series) and Jones (an MR study)."""
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src / "ct1", 3, "Smith^Anna", "MRN-1001")
    ct2 = write_series(pydicom_test_files() / "CT_small.dcm", src / "ct2", 2, "Smith^Anna", "MRN-1001")
    first = pydicom.dcmread(next((src / "ct1").iterdir()))
    for path in ct2:  # the second series of the same study
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID = first.StudyInstanceUID
        ds.save_as(path)
    write_series(pydicom_test_files() / "MR_small.dcm", src / "mr", 2, "Jones^Bob", "MRN-2002")
    home = VeilHome.open()
    import_paths(home, [src])
    return home, first.StudyInstanceUID


def _consent(patient_key, purposes=(Purpose.TEACHING,), **fields):
    base = dict(basis=Basis.CONSENT, scope=Scope(patient_key), purposes=frozenset(purposes),
                obtained_on=TODAY - timedelta(days=30), recorded_by="R. Ward", method=Method.WRITTEN,
                obtained_by="Dr Ward")
    return ConsentRecord(**(base | fields))


def _audit_lines(home):
    return [json.loads(line) for line in home.audit_path.read_text().splitlines()]


def test_a_recorded_consent_keeps_its_scanned_form_encrypted_and_is_audited_without_identity(library, tmp_path):
    home, _ = library
    smith = consenting.find_patient(home, patient_id="MRN-1001")
    scan = tmp_path / "signed form.png"
    Image.new("RGB", (64, 32), "white").save(scan)
    record = consenting.add_consent(home, _consent(smith.key, limits="no facial images"), form=scan)
    assert record.form is not None and record.form.media_type == "image/png"
    assert consenting.read_form(home, record) == scan.read_bytes()
    stored = b"".join(p.read_bytes() for p in (home.path / "objects").rglob("*") if p.is_file())
    assert scan.read_bytes()[:64] not in stored  # sealed, never in clear
    assert consenting.consents_of(home, [smith.key]) == [record]
    added = [e for e in _audit_lines(home) if e["action"] == "consent.add"]
    assert added and added[0]["basis"] == "consent" and added[0]["form"] is True
    text = home.audit_path.read_text()
    assert "Smith" not in text and "MRN-1001" not in text
    assert check_home(home, prune=True).pruned == 0 and consenting.read_form(home, record)


def test_a_form_must_be_a_pdf_png_or_jpeg(library, tmp_path):
    home, _ = library
    notes = tmp_path / "notes.txt"
    notes.write_text("patient agreed")
    with pytest.raises(ConsentError, match="PDF, PNG or JPEG"):
        consenting.attach_form(home, notes)


def test_badges_show_valid_partial_and_none(library):
    home, ct_study = library
    smith = consenting.find_patient(home, patient_id="MRN-1001")
    jones = consenting.find_patient(home, patient_id="MRN-2002")
    badges = consenting.study_badges(home)
    assert {b.status for b in badges.values()} == {ConsentStatus.NONE}
    conn = home.connect()
    one_series = conn.execute("SELECT series_uid FROM series ORDER BY id").fetchone()[0]
    conn.close()
    consenting.add_consent(home, _consent(smith.key, scope=Scope(smith.key, frozenset({ct_study}),
                                                                 frozenset({one_series}))))
    consenting.add_consent(home, _consent(jones.key, valid_until=TODAY - timedelta(days=1)))
    badges = consenting.study_badges(home)
    assert badges[ct_study].status is ConsentStatus.PARTIAL and "1 of 2 series" in badges[ct_study].tooltip
    (mr_study,) = [uid for uid in badges if uid != ct_study]
    assert badges[mr_study].status is ConsentStatus.EXPIRED


def test_an_export_without_consent_is_refused_naming_the_study_and_writes_nothing(library, tmp_path):
    home, ct_study = library
    report = deidentify_studies(home, preset("teaching"), [ct_study], tmp_path / "out",
                                purpose=ExportPurpose(Purpose.PUBLICATION, "Radiology Journal"))
    assert report.refused_by_consent and report.written == 0
    assert not list((tmp_path / "out").rglob("*.dcm"))
    assert "CT 2004-01-19 'e+1': no consent or waiver for journal publication" in report.consent.message
    refused = [e for e in _audit_lines(home) if e["action"] == "deid.export"][-1]
    assert refused["outcome"] == "refused-consent" and refused["purpose"] == "publication"


def test_an_allowed_export_is_accounted_for_and_carries_the_consent_in_dicom(library, tmp_path):
    home, ct_study = library
    smith = consenting.find_patient(home, study_uid=ct_study)
    record = consenting.add_consent(home, _consent(smith.key, (Purpose.RESEARCH,), protocol_id="LUNG-7"))
    report = deidentify_studies(home, preset("research"), [ct_study], tmp_path / "out",
                                purpose=ExportPurpose(Purpose.RESEARCH, "Lung study data centre", "LUNG-7"))
    assert report.written == 5 and report.consent.relied_on == (record.id,)
    for path in (tmp_path / "out").rglob("*.dcm"):
        item = pydicom.dcmread(path).ConsentForClinicalTrialUseSequence[0]
        assert (item.DistributionType, item.ClinicalTrialProtocolID, item.ConsentForDistributionFlag) == \
            ("NAMED_PROTOCOL", "LUNG-7", "YES")
    conn = home.connect()
    (disclosure,) = disclosures_of_patient(conn, smith.key)
    conn.close()
    assert (disclosure.purpose, disclosure.recipient, disclosure.profile) == ("research", "Lung study data centre",
                                                                              "research")
    (item,) = disclosure.items
    assert item.study_uid == ct_study and item.instances == 5 and item.consent_ids == (record.id,)
    line = [e for e in _audit_lines(home) if e["action"] == "disclosure"][-1]
    assert line["disclosure"] == disclosure.id and disclosure.audit_seq == line["seq"]
    assert ct_study not in json.dumps(line) and line["consents"] == [record.id]


def test_withdrawal_lists_every_disclosure_that_relied_on_the_consent(library, tmp_path):
    home, ct_study = library
    smith = consenting.find_patient(home, study_uid=ct_study)
    record = consenting.add_consent(home, _consent(smith.key))
    teaching = ExportPurpose(Purpose.TEACHING, "Grand rounds")
    deidentify_studies(home, preset("teaching"), [ct_study], tmp_path / "one", purpose=teaching)
    deidentify_studies(home, preset("teaching"), [ct_study], tmp_path / "two", purpose=teaching)
    done = consenting.withdraw_consent(home, record.id, TODAY, "patient asked")
    assert [d.destination for d in done.disclosures] == [str(tmp_path / "one"), str(tmp_path / "two")]
    assert all(d.recipient == "Grand rounds" for d in done.disclosures)
    again = deidentify_studies(home, preset("teaching"), [ct_study], tmp_path / "three", purpose=teaching)
    assert again.refused_by_consent and f"withdrawn on {TODAY.isoformat()}" in again.consent.message
    assert consenting.study_badges(home)[ct_study].status is ConsentStatus.WITHDRAWN
    line = [e for e in _audit_lines(home) if e["action"] == "consent.withdraw"][-1]
    assert line["disclosures_relying"] == 2


def test_care_without_consent_goes_only_on_a_justified_override_kept_in_the_audit_log(library, tmp_path):
    home, ct_study = library
    why = "Patient transferred tonight; the on-call neurosurgeon must see the scan now."
    care = ExportPurpose(Purpose.CARE, "Dr Jones")
    _request, refused = consenting.check_items(home, Purpose.CARE, consenting.selection_items(home, [ct_study]),
                                               deidentified=True, colleague=care.recipient)
    assert not refused.allowed and refused.override_allowed
    with pytest.raises(ConsentError, match="Only sharing for the patient's care"):
        request, decision = consenting.check_items(
            home, Purpose.TEACHING, consenting.selection_items(home, [ct_study]), deidentified=True)
        consenting.override_refusal(home, request, decision, why)
    from pyrage import x25519

    from desktop.app.gate import BindingError
    from desktop.app.keys.contacts import add_recipient
    from desktop.app.share.sharing import ShareRequest, export_package

    justified = ExportPurpose(Purpose.CARE, "Dr Jones", justification=why)
    with pytest.raises(BindingError, match="only to the colleague"):  # never to a plain folder
        deidentify_studies(home, preset("teaching"), [ct_study], tmp_path / "out", purpose=justified)
    jones = add_recipient(home, str(x25519.Identity.generate().to_public()), "Dr Jones")
    done = export_package(home, ShareRequest((ct_study,), justified, tmp_path / "care.veil", recipients=(jones,)))
    assert done.package is not None and done.consent.overridden
    override = [e for e in _audit_lines(home) if e["action"] == "consent.override"][-1]
    assert override["justification"] == why and override["purpose"] == "care"
    conn = home.connect()
    (disclosure,) = disclosures_of_patient(conn, consenting.find_patient(home, study_uid=ct_study).key)
    conn.close()
    assert disclosure.override_reason == why


def test_the_selection_names_studies_and_covers_each_series(library):
    home, ct_study = library
    items = consenting.selection_items(home, [ct_study])
    assert len(items) == 2 and {i.label for i in items} == {"CT 2004-01-19 'e+1'"}
    assert all("Smith" not in i.label for i in items)
    with pytest.raises(Exception, match="No such study"):
        consenting.selection_items(home, ["1.2.3"])


def test_a_site_policy_does_not_paint_every_badge_green_but_is_named(library):
    from tests.conftest import teaching

    home, ct_study = library
    teaching(home)  # a site-wide "not required" policy for de-identified teaching
    badge = consenting.study_badges(home)[ct_study]
    assert badge.status is ConsentStatus.NONE
    assert "Site-wide: site policy for teaching, de-identified only" in badge.tooltip
