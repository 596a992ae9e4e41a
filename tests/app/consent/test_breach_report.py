"""When something went to the wrong person (issue 15): every patient, study and image sent to a
recipient or in a package, as CSV (a row per image), PDF and on the command line; two recipients
with similar names are both named, never mixed; the report is audited."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pydicom
import pytest

from desktop.app.consent import consenting
from desktop.app.consent.breach_report import BreachReportError, breach_report, parties
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.consent.report_files import csv_bytes, pdf_bytes
from desktop.app.deid.deidentifying import deidentify_studies
from desktop.app.keys.contacts import add_card
from desktop.app.keys.identity import my_card
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.app.share.sharing import ShareRequest, export_package
from desktop.core.consent import Basis, ConsentRecord, Method, Purpose, Scope
from desktop.core.deid.profiles import preset
from desktop.core.library.disclosures import DisclosedItem, Disclosure, add_disclosure, load_disclosures
from tests.conftest import pydicom_test_files, teaching, write_series

PATIENTS = (("Smith^Anna", "MRN-1001", 3), ("Jones^Bill", "MRN-1002", 2), ("Brown^Cara", "MRN-1003", 4))
PACKAGE = "1c0ffee5-0000-4000-8000-00000000beef"


def _sops(home: VeilHome, study: str) -> set[str]:
    conn = home.connect()
    try:
        return {s for (s,) in conn.execute(
            """SELECT i.sop_instance_uid FROM instances i JOIN series se ON i.series_ref = se.id
               JOIN studies st ON se.study_ref = st.id WHERE st.study_uid = ?""", (study,))}
    finally:
        conn.close()


@pytest.fixture
def sent(veil_home, tmp_path):
    return make_disclosures(tmp_path)


def make_disclosures(tmp_path):  # noqa: ANN001, ANN201 - (home, study UIDs by MRN, Dr Grey, Dr Greyson)
    """Three patients; Smith and Jones de-identified to 'Dr Grey' (a folder), Brown in a package
    encrypted to 'Dr Greyson', Jones's originals for care in a package to 'Dr Grey''s key
    (VEIL_HOME set by the caller)."""
    home = VeilHome.open()
    studies = {}
    for name, mrn, count in PATIENTS:
        src = tmp_path / mrn
        write_series(pydicom_test_files() / "CT_small.dcm", src, count, name, mrn)
        import_paths(home, [src])
        studies[mrn] = pydicom.dcmread(next(src.iterdir())).StudyInstanceUID
    grey_home, greyson_home = VeilHome.open(tmp_path / "grey"), VeilHome.open(tmp_path / "greyson")
    grey = add_card(home, my_card(grey_home), name="Dr Grey", verified=True)
    greyson = add_card(home, my_card(greyson_home), name="Dr Greyson", verified=True)
    jones = consenting.find_patient(home, "MRN-1002")
    consenting.add_consent(home, ConsentRecord(
        basis=Basis.CONSENT, scope=Scope(jones.key), purposes=frozenset({Purpose.CARE}), colleague="Dr Grey",
        obtained_on=date.today() - timedelta(days=1), recorded_by="tests", method=Method.WRITTEN,
        obtained_by="Dr Ward"))
    purpose = teaching(home)
    folder = deidentify_studies(home, preset("teaching"), [studies["MRN-1001"], studies["MRN-1002"]],
                                tmp_path / "folder", purpose=ExportPurpose(Purpose.TEACHING, "Dr Grey"))
    assert folder.disclosure is not None
    package = export_package(home, ShareRequest((studies["MRN-1003"],), ExportPurpose(purpose.purpose, "Dr Greyson"),
                                                tmp_path / "brown.veil", preset("teaching"), recipients=(greyson,)))
    care = export_package(home, ShareRequest((studies["MRN-1002"],), ExportPurpose(Purpose.CARE, "Dr Grey"),
                                             tmp_path / "jones.veil", None, recipients=(grey,)))
    assert package.disclosure is not None and care.disclosure is not None
    return home, studies, grey, greyson


def _csv(table) -> list[dict[str, str]]:  # noqa: ANN001
    return list(csv.DictReader(io.StringIO(csv_bytes(table).decode("utf-8-sig"))))


def test_recorded_recipients_are_read_back_as_parties():
    assert parties("Dr A [AAAA-BBBB], B, Jr [CCCC]") == [parties("Dr A [AAAA-BBBB]")[0], parties("B, Jr [CCCC]")[0]]
    assert parties("Dr A [AAAA-BBBB]")[0].fingerprint == "AAAA-BBBB"
    assert parties("Grand rounds (passphrase)")[0].name == "Grand rounds"
    assert parties("Grand rounds")[0].name == "Grand rounds"


def test_a_recipient_s_report_lists_every_image_sent_to_them_and_none_sent_to_another(sent):
    home, studies, grey, greyson = sent
    report = breach_report(home, recipient="greyson")
    rows = _csv(report.per_image)
    assert {r["SOP Instance UID"] for r in rows} == _sops(home, studies["MRN-1003"])
    assert len(rows) == 4 and {r["Patient name"] for r in rows} == {"Brown, Cara"}
    first = rows[0]
    assert first["Patient ID"] == "MRN-1003" and first["Key fingerprint"] == greyson.fingerprint
    assert first["Recipient"] == "Dr Greyson" and "encrypted to the key of Dr Greyson" in first["How"]
    assert "De-identified copies, 'teaching' profile" in first["What was sent"]
    assert first["Purpose"] == "Teaching" and first["Study date"] == "2004-01-19"
    assert (report.disclosures, report.patients, report.studies, report.images) == (1, 1, 1, 4)
    assert "name 'Dr Greyson' contains 'greyson'" in " ".join(report.table.notes)
    assert any("internal to the covered entity" in n for n in report.table.notes)
    assert pdf_bytes(report.table).startswith(b"%PDF")
    by_key = breach_report(home, recipient=grey.fingerprint.replace("-", "").lower()[:10])
    assert {r["SOP Instance UID"] for r in _csv(by_key.per_image)} == _sops(home, studies["MRN-1002"])
    assert {r["What was sent"][:12] for r in _csv(by_key.per_image)} == {"Identifiable"}


def test_a_name_matching_two_recipients_lists_and_names_both(sent):
    home, studies, grey, greyson = sent
    report = breach_report(home, recipient="DR GREY")
    rows = _csv(report.per_image)
    everything = set().union(*(_sops(home, s) for s in studies.values()))
    assert {r["SOP Instance UID"] for r in rows} == everything
    assert len(rows) == 3 + 2 + 2 + 4  # Jones went twice: in the folder and in the care package
    assert (report.disclosures, report.patients, report.studies, report.images) == (3, 3, 3, 11)
    assert {r["Recipient"] for r in rows} == {"Dr Grey", "Dr Greyson"}
    assert len(report.recipients) == 2  # Dr Grey's folder and package go to the address book's Dr Grey
    assert "matches 2 different recipients" in " ".join(report.table.notes)
    assert f"Dr Grey [{grey.fingerprint}]" in report.table.subtitle
    assert f"Dr Greyson [{greyson.fingerprint}]" in report.table.subtitle
    assert "3 patients, 3 studies, 11 images" in report.table.subtitle
    grouped = report.table.rows
    assert len(grouped) == 4  # a row per disclosure and patient
    assert any("Smith, Anna" in row[5] and "series 1 (CT): images 1-3" in row[6] for row in grouped)
    lines = [json.loads(line) for line in home.audit_path.read_text().splitlines()]
    audited = [e for e in lines if e["action"] == "report.breach"][-1]
    assert audited["recipient"] == "DR GREY" and audited["instances"] == 11 and len(audited["patients"]) == 3
    assert "Smith" not in home.audit_path.read_text() and "MRN-100" not in home.audit_path.read_text()


def test_a_package_by_its_id_prefix(sent):
    home, studies, _, greyson = sent
    conn = home.connect()
    try:
        smith = consenting.find_patient(home, "MRN-1001")
        uids = tuple(sorted(_sops(home, studies["MRN-1001"])))[:2] + ("1.2.3.4.999",)  # one since removed
        ref = add_disclosure(conn, Disclosure("2030-01-02T03:04:05+00:00", "tests", "share.package", "teaching",
                                              f"Dr Greyson [{greyson.fingerprint}]", "/out/x.veil", "teaching",
                                              items=(DisclosedItem(smith.key, studies["MRN-1001"], (), 3, (), uids),),
                                              package_id=PACKAGE))
        assert load_disclosures(conn, [ref])[0].items[0].instance_uids == uids
    finally:
        conn.close()
    report = breach_report(home, package="1C0FFEE5")
    rows = _csv(report.per_image)
    assert sorted(r["SOP Instance UID"] for r in rows) == sorted(uids)
    assert [r["Series UID"] == "" for r in rows] == [False, False, True]  # the removed one: its UID only
    assert "1 image no longer in the library: 1.2.3.4.999" in report.table.rows[0][6]
    assert {r["Package id"] for r in rows} == {PACKAGE} and {r["Image list"] for r in rows} == {"as recorded"}
    assert report.table.subtitle.startswith(f"Package {PACKAGE}")
    for wrong, says in (("1c0ffee", "at least its first 8"), ("deadbeef", "veil verify")):
        with pytest.raises(BreachReportError, match=says):
            breach_report(home, package=wrong)
    with pytest.raises(BreachReportError, match="one of the two"):
        breach_report(home)
    with pytest.raises(BreachReportError, match="one of the two"):
        breach_report(home, recipient="Dr Grey", package=PACKAGE)


def test_nobody_matching_is_an_empty_report_not_an_error(sent):
    home = sent[0]
    report = breach_report(home, recipient="Dr Nobody")
    assert report.per_image.rows == () and "No disclosure went to a recipient matching" in report.table.notes[0]


def test_the_breach_report_from_the_command_line(veil_cli, tmp_path):
    for name, mrn, count in PATIENTS[:2]:
        write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / mrn, count, name, mrn)
        assert veil_cli("import", str(tmp_path / mrn)).returncode == 0
    assert veil_cli("consent", "add", "--site-wide", "--not-required", "teaching policy",
                    "--purpose", "teaching").returncode == 0
    for mrn, who in (("MRN-1001", "Dr Grey"), ("MRN-1002", "Dr Greyson")):
        uid = pydicom.dcmread(next((tmp_path / mrn).iterdir())).StudyInstanceUID
        done = veil_cli("deid", "--purpose", "teaching", "--recipient", who, "--study", uid, str(tmp_path / who))
        assert done.returncode == 0, done.stderr
    out = veil_cli("report", "disclosures", "--recipient", "greyson", "--csv", str(tmp_path / "b.csv"),
                   "--pdf", str(tmp_path / "b.pdf"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "b.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == 2 and {r["Patient ID"] for r in rows} == {"MRN-1002"}
    shown = veil_cli("report", "disclosures", "--recipient", "dr grey")
    assert shown.returncode == 0 and "Smith, Anna" in shown.stdout and "Jones, Bill" in shown.stdout
    assert "matches 2 different recipients" in shown.stdout
    for args, says in ((("--recipient", "x", "--patient", "MRN-1001"), "you gave --patient and --recipient"),
                       ((), "exactly one of"), (("--package", "0123456789ab"), "veil verify")):
        failed = veil_cli("report", "disclosures", *args)
        assert failed.returncode != 0 and says in failed.stderr and "Traceback" not in failed.stderr


def test_exports_record_their_package_id_and_each_image_sent(sent, tmp_path):
    home, studies, grey, _ = sent
    conn = home.connect()
    (sop,) = conn.execute(
        """SELECT i.sop_instance_uid FROM instances i JOIN series se ON i.series_ref = se.id JOIN studies st
           ON se.study_ref = st.id WHERE st.study_uid = ? ORDER BY i.instance_number LIMIT 1""",
        (studies["MRN-1003"],)).fetchone()
    conn.close()
    one = export_package(home, ShareRequest((studies["MRN-1003"],), teaching(home), tmp_path / "one.veil",
                                            preset("teaching"), recipients=(grey,), instance_uids=(sop,)))
    package_id = one.package.manifest.package_id
    report = breach_report(home, package=package_id[:8])
    rows = _csv(report.per_image)
    assert [(r["SOP Instance UID"], r["Image list"], r["Package id"]) for r in rows] == [
        (sop, "as recorded", package_id)]
    by_key = _csv(breach_report(home, recipient=grey.fingerprint).per_image)
    assert {r["Image list"] for r in by_key} == {"as recorded"}  # both packages' images, one by one
    lines = [json.loads(line) for line in home.audit_path.read_text().splitlines()]
    assert any(e["action"] == "disclosure" and e.get("package") == package_id for e in lines)
