"""The accounting of disclosures and the audit report: they name the patient from the library
while the audit log itself names nobody; on screen (tables), as CSV and as PDF; and the same
from the command line."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pydicom
import pytest

from desktop.app.consent import consenting
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.consent.report_files import csv_bytes
from desktop.app.consent.reporting import audit_report, disclosure_report
from desktop.app.deid.deidentifying import deidentify_studies
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.core.consent import Basis, ConsentRecord, Method, Purpose, Scope
from desktop.core.deid.profiles import preset
from tests.conftest import pydicom_test_files, write_series


@pytest.fixture
def exported(veil_home, tmp_path):
    """Smith's CT, consented for teaching, exported twice (a second time after withdrawal would
    be refused: the report shows both exports that relied on it)."""
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 3, "Smith^Anna", "MRN-1001")
    home = VeilHome.open()
    import_paths(home, [src])
    study = pydicom.dcmread(next(src.iterdir())).StudyInstanceUID
    smith = consenting.find_patient(home, study_uid=study)
    record = consenting.add_consent(home, ConsentRecord(
        basis=Basis.CONSENT, scope=Scope(smith.key), purposes=frozenset({Purpose.TEACHING}),
        obtained_on=date.today() - timedelta(days=3), recorded_by="R. Ward", method=Method.WRITTEN,
        obtained_by="Dr Ward", limits="no facial images"))
    for n, who in enumerate(("Grand rounds", "Residents' file")):
        deidentify_studies(home, preset("teaching"), [study], tmp_path / f"out{n}",
                           purpose=ExportPurpose(Purpose.TEACHING, who))
    return home, smith, record, study


def test_the_accounting_names_the_patient_each_export_its_recipient_and_the_consent(exported, tmp_path):
    home, smith, record, _ = exported
    table = disclosure_report(home, smith.key)
    assert table.title == "Accounting of disclosures"
    assert "Smith, Anna · ID MRN-1001" in table.subtitle and "2 disclosures" in table.subtitle
    assert [row[2] for row in table.rows] == ["Grand rounds", "Residents' file"]
    first = dict(zip(table.columns, table.rows[0]))
    assert first["Purpose"] == "Teaching"
    assert "CT 2004-01-19 'e+1': 3 images" in first["What was sent"] and "teaching profile" in first["What was sent"]
    assert f"consent of {record.obtained_on.isoformat()} for teaching [{record.id[:8]}]" in first["Consent relied on"]
    assert first["Where"] == str(tmp_path / "out0")
    assert any("hash chain intact" in note for note in table.notes)
    rows = list(csv.reader(io.StringIO(csv_bytes(table).decode("utf-8-sig"))))
    assert rows[0] == list(table.columns) and rows[1][2] == "Grand rounds"
    log = home.audit_path.read_text()
    assert "Smith" not in log and "MRN-1001" not in log


def test_the_audit_report_names_patients_and_studies_from_the_library(exported):
    home, smith, _, study = exported
    now = datetime.now().astimezone()
    table = audit_report(home, now - timedelta(hours=1), now + timedelta(hours=1))
    actions = [row[3] for row in table.rows]
    assert actions.count("disclosure") == 2 and "consent.add" in actions and "import.started" in actions
    who = {row[3]: row[4] for row in table.rows}
    assert who["consent.add"] == smith.title
    assert who["disclosure"] == "Smith, Anna · ID MRN-1001\nSmith, Anna: CT 2004-01-19 'e+1'"
    assert audit_report(home, now + timedelta(days=1), now + timedelta(days=2)).rows == ()


def test_reports_from_the_command_line(veil_cli, tmp_path):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 2, "Smith^Anna", "MRN-1001")
    assert veil_cli("import", str(src)).returncode == 0
    assert veil_cli("consent", "add", "--patient", "MRN-1001", "--consent", "written", "--obtained-by",
                    "Dr Ward", "--purpose", "teaching").returncode == 0
    uid = pydicom.dcmread(next(src.iterdir())).StudyInstanceUID
    done = veil_cli("deid", "--purpose", "teaching", "--recipient", "Grand rounds", "--study", uid,
                    str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    shown = veil_cli("report", "disclosures", "--patient", "MRN-1001")
    assert shown.returncode == 0 and "Grand rounds" in shown.stdout and "Smith, Anna" in shown.stdout
    out = veil_cli("report", "disclosures", "--patient", "MRN-1001", "--csv", str(tmp_path / "d.csv"),
                   "--pdf", str(tmp_path / "d.pdf"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "d.pdf").read_bytes().startswith(b"%PDF")
    assert "Grand rounds" in (tmp_path / "d.csv").read_text(encoding="utf-8-sig")
    today = date.today().isoformat()
    audit = veil_cli("report", "audit", "--from", today, "--to", today, "--csv", str(tmp_path / "a.csv"))
    assert audit.returncode == 0, audit.stderr
    assert "disclosure" in (tmp_path / "a.csv").read_text(encoding="utf-8-sig")
    listed = veil_cli("consent", "list", "--patient", "MRN-1001")
    consent_id = listed.stdout.split()[0]
    withdrawn = veil_cli("consent", "withdraw", consent_id[:8], "--reason", "patient asked")
    assert withdrawn.returncode == 0 and "1 disclosure(s) relied on it" in withdrawn.stdout
    assert "Grand rounds" in withdrawn.stdout
    verified = veil_cli("audit", "verify")
    assert verified.returncode == 0 and "hash chain intact" in verified.stdout
