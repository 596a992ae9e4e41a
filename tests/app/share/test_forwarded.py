"""Who receives is bound (issue 13), as people meet it: Alice sends Bob a package; Bob opens it as
sent to him. Bob decrypts it and passes it on to Carol (re-encrypted to her key, or with a
passphrase); at Carol it is refused as forwarded, saying who signed it and whom it was for, and
imported only when she confirms: the refusal and the confirmation are audited, and her
accounting says the images came forwarded. Alice's journal ZIP is addressed to no one."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pyrage
import pytest
from pyrage import passphrase as age_passphrase
from pyrage import x25519

from desktop.app.browsing.catalogue import load_catalogue
from desktop.app.keys.contacts import add_card, list_contacts
from desktop.app.keys.identity import my_card, my_identity, set_my_details
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.app.share.receiving import open_received
from desktop.app.share.sharing import ShareRequest, export_package
from desktop.core.deid.profiles import preset
from desktop.core.library.disclosures import disclosures_between
from desktop.core.share import strict_json
from desktop.core.share.age_stream import AgeWriter
from desktop.core.share.manifest import sign_manifest
from desktop.core.share.reader import NOT_LISTED, UNENCRYPTED, UNRECORDED, ForwardedPackageError
from tests.conftest import pydicom_test_files, teaching, write_series

PASSPHRASE = "correct horse battery staple"


def _home(tmp_path: Path, name: str) -> VeilHome:
    home = VeilHome.open(tmp_path / name.split()[-1].lower())
    set_my_details(home, name=name, institution="General Hospital" if name == "Dr Alice" else "St Elsewhere")
    return home


@pytest.fixture
def people(tmp_path):
    """Alice (Smith's CT, teaching allowed by site policy, Bob in her address book), Bob, Carol."""
    alice, bob, carol = (_home(tmp_path, n) for n in ("Dr Alice", "Dr Bob", "Dr Carol"))
    src = tmp_path / "in"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 3, "Smith^Anna", "MRN-1001")
    import_paths(alice, [src])
    teaching(alice)
    add_card(alice, my_card(bob), name="Dr Bob", verified=True)
    return alice, bob, carol


def _export(alice: VeilHome, out: Path, **kwargs) -> Path:
    study = load_catalogue(alice).studies[0].study_uid
    named = kwargs.get("unencrypted") or kwargs.get("passphrase")
    contacts = () if named else tuple(c for c in list_contacts(alice) if c.name == "Dr Bob")
    report = export_package(alice, ShareRequest((study,), teaching(alice), out, preset("teaching"),
                                                recipients=contacts, **kwargs))
    assert report.package is not None, report.headline()
    return out


def _decrypted_by(home: VeilHome, package: Path) -> bytes:
    return pyrage.decrypt(package.read_bytes(), [my_identity(home).age_identity])


def _audit(home: VeilHome, action: str) -> list[dict]:
    return [e for e in map(json.loads, home.audit_path.read_text().splitlines()) if e["action"] == action]


def _receipts(home: VeilHome):
    conn = home.connect()
    try:
        return [d for d in disclosures_between(conn, "2000", "9999") if d.kind == "share.received"]
    finally:
        conn.close()


def test_forwarded_to_carol_is_refused_until_she_confirms(people, tmp_path):
    alice, bob, carol = people
    package = _export(alice, tmp_path / "case.veil")
    received = open_received(bob, package)  # to Bob, opened by Bob: as Alice sent it
    assert received.imported.imported == 3 and not received.forwarded and received.forwarded_text == ""
    assert _audit(bob, "share.opened")[-1]["forwarded"] is False and not _audit(bob, "share.forwarded")
    assert "forwarded" not in _receipts(bob)[0].recipient

    forwarded = tmp_path / "for-carol.veil"  # Bob decrypts it and re-encrypts it to Carol
    forwarded.write_bytes(pyrage.encrypt(_decrypted_by(bob, package),
                                         [x25519.Recipient.from_str(my_card(carol).age_recipient)]))
    with pytest.raises(ForwardedPackageError) as refused:
        open_received(carol, forwarded)
    message = str(refused.value)
    assert "forwarded or re-encrypted by someone other than the person who signed it" in message
    assert f"Signed by Dr Alice, General Hospital [{my_card(alice).fingerprint}]" in message
    assert f"It was for: Dr Bob [{my_card(bob).fingerprint}]" in message
    assert "Smith" not in message and "MRN" not in message
    assert load_catalogue(carol).empty and not list((carol.path / "tmp").glob("open-*"))
    (line,) = _audit(carol, "share.forwarded")
    assert line["confirmed"] is False and NOT_LISTED in line["reasons"]
    assert line["sender"] == my_card(alice).fingerprint and line["recipients"] == [my_card(bob).fingerprint]
    assert not _audit(carol, "share.opened") and not _receipts(carol)

    received = open_received(carol, forwarded, confirm_forwarded=True)
    assert received.imported.imported == 3 and received.forwarded
    assert "not encrypted to you the way its sender said" in received.forwarded_text
    confirmed = _audit(carol, "share.forwarded")[-1]
    assert confirmed["confirmed"] is True and confirmed["package"] == received.manifest.package_id
    assert _audit(carol, "share.opened")[-1]["forwarded"] is True
    (receipt,) = _receipts(carol)
    assert "forwarded" in receipt.recipient and "Dr Alice" in receipt.recipient
    audit_text = carol.audit_path.read_text()
    assert "Smith" not in audit_text and "MRN-1001" not in audit_text and "Dr Alice" not in audit_text
    assert carol.verify_audit().ok


def test_re_encrypted_with_a_passphrase_is_forwarded(people, tmp_path):
    alice, bob, carol = people
    package = _export(alice, tmp_path / "case.veil")
    forwarded = tmp_path / "pass.veil"
    forwarded.write_bytes(age_passphrase.encrypt(_decrypted_by(bob, package), PASSPHRASE))
    with pytest.raises(ForwardedPackageError, match="but this file is protected by a passphrase"):
        open_received(carol, forwarded, passphrase=PASSPHRASE)
    assert load_catalogue(carol).empty
    received = open_received(carol, forwarded, passphrase=PASSPHRASE, confirm_forwarded=True)
    assert received.forwarded and received.imported.imported == 3


def test_a_passphrase_package_as_alice_made_it_is_not_forwarded(people, tmp_path):
    alice, _, carol = people
    package = _export(alice, tmp_path / "pass.veil", passphrase=PASSPHRASE)
    received = open_received(carol, package, passphrase=PASSPHRASE)
    assert not received.forwarded and received.imported.imported == 3


def test_the_journal_zip_is_addressed_to_no_one(people, tmp_path):
    alice, bob, _ = people
    journal = _export(alice, tmp_path / "journal.zip", unencrypted=True)
    for who in (bob, alice):
        with pytest.raises(ForwardedPackageError, match="unencrypted archive, not a package addressed to you"):
            open_received(who, journal)
        assert _audit(who, "share.forwarded")[-1]["reasons"] == [UNENCRYPTED]
    received = open_received(bob, journal, confirm_forwarded=True)
    assert received.forwarded and received.arrival.layer == "none" and received.imported.imported == 3


def test_a_manifest_without_the_field_is_treated_as_forwarded(people, tmp_path):
    alice, bob, _ = people
    package = _export(alice, tmp_path / "case.veil")
    with zipfile.ZipFile(io.BytesIO(_decrypted_by(bob, package))) as archive:
        entries = [(i.filename, archive.read(i)) for i in archive.infolist()]
    manifest = json.loads(entries[0][1])  # as Veil 1 wrote it: no names, no "for"
    manifest["format_version"] = 1
    del manifest["encryption"]["for"]
    for recipient in manifest["encryption"]["recipients"]:
        del recipient["name"]
    data = strict_json.dumps(manifest)
    rezipped = io.BytesIO()
    with zipfile.ZipFile(rezipped, "w") as archive:
        archive.writestr("manifest.json", data)
        archive.writestr("manifest.sig", sign_manifest(data, my_identity(alice)))
        for name, content in entries[2:]:
            archive.writestr(name, content)
    old = tmp_path / "old.veil"
    with open(old, "wb") as out:
        writer = AgeWriter(out, recipients=[my_card(bob).age_recipient])
        writer.write(rezipped.getvalue())
        writer.close()
    with pytest.raises(ForwardedPackageError, match="older version of Veil"):
        open_received(bob, old)
    assert _audit(bob, "share.forwarded")[-1]["reasons"] == [UNRECORDED]
    assert open_received(bob, old, confirm_forwarded=True).imported.imported == 3


def test_veil_open_needs_accept_forwarded(people, veil_cli, tmp_path):
    alice, bob, _ = people
    shown = veil_cli("keys", "show")
    assert shown.returncode == 0, shown.stderr
    me = shown.stdout.split("Age recipient:")[1].split()[0]
    package = _export(alice, tmp_path / "case.veil")
    forwarded = tmp_path / "forwarded.veil"
    forwarded.write_bytes(pyrage.encrypt(_decrypted_by(bob, package), [x25519.Recipient.from_str(me)]))
    refused = veil_cli("open", str(forwarded))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "forwarded or re-encrypted by someone other than the person who signed it" in refused.stderr
    assert "Signed by Dr Alice, General Hospital" in refused.stderr and "It was for: Dr Bob" in refused.stderr
    assert "--accept-forwarded" in refused.stderr and "Imported" not in refused.stdout
    done = veil_cli("open", "--accept-forwarded", str(forwarded))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("FORWARDED: This package was forwarded")
    assert "Imported 3 new instance(s)" in done.stdout
    assert veil_cli("audit", "verify").returncode == 0
