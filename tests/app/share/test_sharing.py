"""Share packages end to end, as two colleagues use them: one exports library studies for a
purpose the patient consented to, encrypted to the other's key (or a passphrase) and signed;
the other opens it, sees who sent it, and gets the images in their library. Refusals write
nothing; every export and opening is audited and accounted for."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date, timedelta

import pydicom
import pytest

from desktop.app.consent import consenting
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.keys.contacts import add_card, verify_contact
from desktop.app.keys.identity import my_card, my_identity
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.app.share.receiving import open_received
from desktop.app.share.sharing import ShareRequest, export_package, passphrase_problem
from desktop.core.common.errors import VeilError
from desktop.core.consent import Basis, ConsentRecord, Method, Purpose, Scope
from desktop.core.deid.profiles import preset
from desktop.core.library.disclosures import disclosures_between
from desktop.core.share.errors import PackageError
from tests.conftest import pydicom_test_files, write_series


@pytest.fixture
def two(tmp_path):
    """Alice's library (Smith's CT, consented for teaching and care with Dr Bob) and Bob's."""
    alice, bob = VeilHome.open(tmp_path / "alice"), VeilHome.open(tmp_path / "bob")
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 3, "Smith^Anna", "MRN-1001")
    import_paths(alice, [src])
    study = pydicom.dcmread(next(src.iterdir())).StudyInstanceUID
    smith = consenting.find_patient(alice, study_uid=study)
    consenting.add_consent(alice, ConsentRecord(
        basis=Basis.CONSENT, scope=Scope(smith.key), purposes=frozenset({Purpose.TEACHING, Purpose.CARE}),
        colleague="Dr Bob", obtained_on=date.today() - timedelta(days=1), recorded_by="alice",
        method=Method.WRITTEN, obtained_by="Dr Ward", limits="no facial images"))
    contact = add_card(alice, my_card(bob), name="Dr Bob")
    verify_contact(alice, "Dr Bob")
    add_card(bob, my_card(alice), name="Dr Alice", verified=True)
    return alice, bob, study, contact


def _lines(home):
    return [json.loads(line) for line in home.audit_path.read_text().splitlines()]


def test_a_de_identified_package_to_a_colleague_opens_in_their_library(two, tmp_path):
    alice, bob, study, contact = two
    out = tmp_path / "case.veil"
    report = export_package(alice, ShareRequest((study,), ExportPurpose(Purpose.TEACHING, "Dr Bob"), out,
                                                preset("teaching"), recipients=(contact,)))
    assert report.package is not None and out.exists() and report.headline().startswith("Wrote case.veil: 3 images")
    assert not list((alice.path / "tmp").glob("share-*"))  # the sealed staging is gone
    details = report.package.manifest.details
    assert details.consent_basis["distribution_type"] == "RESTRICTED_REUSE"
    assert details.consent_basis["records"][0]["limits"] == "no facial images"
    assert details.deidentification["profile"] == "teaching"
    assert b"Smith" not in out.read_bytes()
    received = open_received(bob, out)
    assert received.imported.imported == 3 and "verified" in received.sender_text
    conn = bob.connect()
    names = {str(n) for (n,) in conn.execute("SELECT name FROM patients")}
    conn.close()
    assert names == {"TEACH-0001"}  # Bob got the pseudonymised copy, never the name
    opened = [e for e in _lines(bob) if e["action"] == "share.opened"][-1]
    assert opened["sender_verified"] is True and opened["imported"] == 3
    conn = bob.connect()
    (receipt,) = disclosures_between(conn, "2000", "9999")
    conn.close()
    assert receipt.kind == "share.received" and receipt.recipient.startswith("received from ")
    assert receipt.items[0].instances == 3 and receipt.purpose == "teaching"
    conn = alice.connect()
    (disclosure,) = disclosures_between(conn, "2000", "9999")
    conn.close()
    assert disclosure.kind == "share.package" and "Dr Bob" in disclosure.recipient
    assert disclosure.destination == str(out)
    with pytest.raises(PackageError):  # not addressed to Alice herself
        open_received(alice, out)


def test_identifiable_images_go_only_for_care_and_as_the_originals(two, tmp_path):
    alice, bob, study, contact = two
    with pytest.raises(VeilError, match="only for the patient's care"):
        export_package(alice, ShareRequest((study,), ExportPurpose(Purpose.TEACHING), tmp_path / "x.veil",
                                           None, recipients=(contact,)))
    out = tmp_path / "care.veil"
    report = export_package(alice, ShareRequest((study,), ExportPurpose(Purpose.CARE, "Dr Bob"), out, None,
                                                recipients=(contact,)))
    assert report.package is not None
    open_received(bob, out)
    conn = bob.connect()
    assert {str(n) for (n,) in conn.execute("SELECT name FROM patients")} == {"Smith^Anna"}
    conn.close()


def test_without_consent_no_package_is_written(two, tmp_path):
    alice, _, study, contact = two
    out = tmp_path / "journal.veil"
    report = export_package(alice, ShareRequest((study,), ExportPurpose(Purpose.PUBLICATION, "Radiology"), out,
                                                preset("publication"), recipients=(contact,)))
    assert report.refused and not out.exists() and not list(tmp_path.glob("*.partial"))
    assert "no consent or waiver for journal publication" in report.consent.message
    assert [e for e in _lines(alice) if e["action"] == "share.refused"][-1]["reason"] == "consent"


def test_a_passphrase_package_for_someone_without_veil_opens_with_age(two, tmp_path):
    alice, bob, study, _ = two
    assert passphrase_problem("short") and passphrase_problem("aaaaaaaaaaaaaaaa")
    assert passphrase_problem("abcdefghijklmnop") and passphrase_problem("correct horse battery staple") is None
    with pytest.raises(VeilError, match="too short"):
        export_package(alice, ShareRequest((study,), ExportPurpose(Purpose.TEACHING), tmp_path / "p.veil",
                                           preset("teaching"), passphrase="secret"))
    out = tmp_path / "p.veil"
    report = export_package(alice, ShareRequest((study,), ExportPurpose(Purpose.TEACHING, "a course"), out,
                                                preset("teaching"), passphrase="correct horse battery staple"))
    assert report.package is not None
    assert open_received(bob, out, passphrase="correct horse battery staple").imported.imported == 3


def test_a_package_made_by_the_app_decrypts_with_the_age_binary(two, tmp_path):
    if shutil.which("age") is None:
        pytest.skip("the age binary is not installed (Debian package 'age')")
    alice, bob, study, contact = two
    out = tmp_path / "case.veil"
    export_package(alice, ShareRequest((study,), ExportPurpose(Purpose.TEACHING, "Dr Bob"), out,
                                       preset("teaching"), recipients=(contact,)))
    key = tmp_path / "bob.key"
    key.write_text(my_identity(bob).age_identity_file())
    key.chmod(0o600)
    done = subprocess.run(["age", "-d", "-i", str(key), "-o", str(tmp_path / "case.zip"), str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    import zipfile

    with zipfile.ZipFile(tmp_path / "case.zip") as z:
        names = z.namelist()
    assert names[:2] == ["manifest.json", "manifest.sig"] and "DICOMDIR" in names and "README.txt" in names


def test_images_declaring_burned_in_text_without_a_mask_must_be_confirmed(tmp_path):
    home = VeilHome.open(tmp_path / "h")
    src = tmp_path / "in"
    paths = write_series(pydicom_test_files() / "CT_small.dcm", src, 2, "Smith^Anna", "MRN-1001")
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.BurnedInAnnotation = "YES"
        ds.save_as(path)
    import_paths(home, [src])
    study = pydicom.dcmread(paths[0]).StudyInstanceUID
    from tests.conftest import teaching

    purpose = teaching(home)
    out = tmp_path / "b.veil"
    report = export_package(home, ShareRequest((study,), purpose, out, preset("teaching"),
                                               passphrase="correct horse battery staple"))
    assert report.refused and len(report.flagged) == 2 and not out.exists()
    assert "may carry burned-in identity" in report.headline()
    confirmed = export_package(home, ShareRequest((study,), purpose, out, preset("teaching"),
                                                  passphrase="correct horse battery staple", confirm_burned_in=True))
    assert confirmed.package is not None
    assert confirmed.package.manifest.details.redaction == {"confirmed_burned_in": 2, "redacted_in_veil": 0,
                                                            "read_for_text": 2}


def test_export_and_open_from_the_command_line(veil_cli, tmp_path):
    bob = ("--home", str(tmp_path / "bob"))
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 2, "Smith^Anna", "MRN-1001")
    assert veil_cli("import", str(src)).returncode == 0
    uid = pydicom.dcmread(next(src.iterdir())).StudyInstanceUID
    assert veil_cli(*bob, "keys", "set", "--name", "Dr Bob").returncode == 0
    assert veil_cli(*bob, "keys", "export-card", "-o", str(tmp_path / "bob.card")).returncode == 0
    assert veil_cli("contacts", "add", str(tmp_path / "bob.card"), "--verified").returncode == 0
    args = ("export", "--study", uid, "--purpose", "teaching", "--to", "Dr Bob", "-o", str(tmp_path / "c.veil"))
    refused = veil_cli(*args)
    assert refused.returncode == 1 and "consent does not allow it" in refused.stdout, refused.stderr
    assert "no consent or waiver for teaching" in refused.stderr and not (tmp_path / "c.veil").exists()
    assert veil_cli("consent", "add", "--patient", "MRN-1001", "--consent", "written", "--obtained-by", "Dr Ward",
                    "--purpose", "teaching").returncode == 0
    done = veil_cli(*args)
    assert done.returncode == 0, done.stderr
    assert "Wrote c.veil: 2 images" in done.stdout and "accounting of disclosures" in done.stdout
    opened = veil_cli(*bob, "open", str(tmp_path / "c.veil"))
    assert opened.returncode == 0, opened.stderr
    assert "NOT in your address book" in opened.stdout and "Imported 2 new instance(s)" in opened.stdout
    assert "consent relied on: consent for teaching" in opened.stdout
    tampered = bytearray((tmp_path / "c.veil").read_bytes())
    tampered[len(tampered) // 2] ^= 1
    (tmp_path / "t.veil").write_bytes(bytes(tampered))
    bad = veil_cli(*bob, "open", str(tmp_path / "t.veil"))
    assert bad.returncode == 1 and "altered or damaged" in bad.stderr


def test_no_plaintext_touches_disk_while_a_package_is_made(two, tmp_path):
    """Watch the home's temp folder and the output folder during the export: only sealed
    staging files and age ciphertext, never a DICOM file, a ZIP or a patient's name."""
    from desktop.app.common.tasks import CancelToken

    alice, _, study, contact = two
    out_dir = tmp_path / "outbox"
    out_dir.mkdir()
    seen: list[bytes] = []

    def watch(_done, _total):
        for folder in (alice.path / "tmp", out_dir):
            for path in folder.rglob("*"):
                if path.is_file():
                    seen.append(path.read_bytes())

    report = export_package(alice, ShareRequest((study,), ExportPurpose(Purpose.TEACHING, "Dr Bob"),
                                                out_dir / "case.veil", preset("teaching"), recipients=(contact,)),
                            progress=watch, cancel=CancelToken())
    assert report.package is not None and seen
    for data in seen:
        assert b"DICM" not in data and b"PK\x03\x04" not in data and b"Smith" not in data
        assert data.startswith((b"age-encryption.org/v1", b"VEIL")) or not data, data[:16]


def test_the_index_keeps_each_original_s_crc32_for_packages(two):
    import zlib

    alice, *_ = two
    conn = alice.connect()
    rows = conn.execute("SELECT object_sha256, crc32 FROM instances").fetchall()
    conn.close()
    assert rows and all(crc == zlib.crc32(alice.objects.read(sha)) for sha, crc in rows)


def test_single_images_can_be_sent(two, tmp_path):
    alice, bob, study, contact = two
    conn = alice.connect()
    (sop,) = conn.execute("SELECT sop_instance_uid FROM instances ORDER BY instance_number LIMIT 1").fetchone()
    conn.close()
    for profile, name in ((preset("teaching"), "one.veil"), (None, "care.veil")):
        purpose = ExportPurpose(Purpose.TEACHING if profile else Purpose.CARE, "Dr Bob")
        report = export_package(alice, ShareRequest((study,), purpose, tmp_path / name, profile,
                                                    recipients=(contact,), instance_uids=(sop,)))
        assert report.headline().startswith(f"Wrote {name}: 1 image,")
    assert open_received(bob, tmp_path / "care.veil").imported.imported == 1


def test_a_de_identified_archive_for_a_journal_leaves_unencrypted_but_accounted_for(two, tmp_path):
    import zipfile

    alice, _, study, contact = two
    smith = consenting.find_patient(alice, study_uid=study)
    consenting.add_consent(alice, ConsentRecord(
        basis=Basis.CONSENT, scope=Scope(smith.key), purposes=frozenset({Purpose.PUBLICATION}),
        obtained_on=date.today() - timedelta(days=1), recorded_by="alice", method=Method.WRITTEN,
        obtained_by="Dr Ward"))
    journal = ExportPurpose(Purpose.PUBLICATION, "Radiology journal")
    for wrong, why in [(ShareRequest((study,), ExportPurpose(Purpose.CARE, "Dr Bob"), tmp_path / "c.zip", None,
                                     unencrypted=True), "leave without encryption"),
                       (ShareRequest((study,), journal, tmp_path / "c.zip", preset("publication"),
                                     recipients=(contact,), unencrypted=True), "no recipients"),
                       (ShareRequest((study,), journal, tmp_path / "c.veil", preset("publication"),
                                     unencrypted=True), "NAME.zip")]:
        with pytest.raises(VeilError, match=why):
            export_package(alice, wrong)
    out = tmp_path / "case.zip"
    report = export_package(alice, ShareRequest((study,), journal, out, preset("publication"), unencrypted=True))
    assert report.package is not None, report.headline()
    headline = report.headline()
    assert "case.zip" in headline and "3 images" in headline and f"{report.package.size / 1e6:.1f} MB" in headline
    assert "de-identified" in headline and "signed" in headline and "not encrypted" in headline
    assert b"Smith" not in out.read_bytes() and b"MRN-1001" not in out.read_bytes()
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert names[:2] == ["manifest.json", "manifest.sig"] and "DICOMDIR" in names
        manifest = json.loads(archive.read("manifest.json"))
        images = [n for n in names if n.startswith("DICOM/")]
        assert len(images) == 3
        first = pydicom.dcmread(archive.open(images[0]))
    assert (manifest["encryption"]["method"], manifest["encryption"]["recipients"]) == ("none", [])
    assert manifest["consent_basis"]["distribution_type"] == "PUBLIC_RELEASE"
    assert "Smith" not in str(first.PatientName) and first.PatientIdentityRemoved == "YES"
    assert not list((alice.path / "tmp").glob("share-*")) and not list(tmp_path.glob("*.partial"))
    conn = alice.connect()
    (disclosure,) = disclosures_between(conn, "2000", "9999")
    conn.close()
    assert disclosure.kind == "share.archive" and disclosure.recipient == "Radiology journal (unencrypted archive)"
    assert disclosure.destination == str(out)


def test_an_unencrypted_archive_from_the_command_line(veil_cli, tmp_path):
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 2, "Smith^Anna", "MRN-1001")
    assert veil_cli("import", str(src)).returncode == 0
    uid = pydicom.dcmread(next(src.iterdir())).StudyInstanceUID
    assert veil_cli("consent", "add", "--patient", "MRN-1001", "--consent", "written", "--obtained-by", "Dr Ward",
                    "--purpose", "publication").returncode == 0
    out = tmp_path / "journal.zip"
    both = veil_cli("export", "--study", uid, "--purpose", "publication", "--unencrypted", "--passphrase-file",
                    str(tmp_path / "pass"), "-o", str(out))
    assert both.returncode != 0 and "give neither --to nor --passphrase-file" in both.stderr
    care = veil_cli("export", "--study", uid, "--purpose", "care", "--recipient", "Dr Bob", "--profile",
                    "identifiable", "--unencrypted", "-o", str(out))
    assert care.returncode != 0 and "leave without encryption" in care.stderr and not out.exists()
    done = veil_cli("export", "--study", uid, "--purpose", "publication", "--recipient", "Radiology journal",
                    "--profile", "publication", "--unencrypted", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "Wrote journal.zip: 2 images" in done.stdout and "not encrypted" in done.stdout
    assert out.read_bytes().startswith(b"PK\x03\x04") and b"Smith" not in out.read_bytes()
