"""Who receives is bound (issue 13): the signed manifest says how the package was encrypted and
to whom, and the reader compares that with the file it opens. A package that Bob decrypts and
passes on (re-encrypted to Carol, with a passphrase, or as a plain ZIP), a plain archive, and a
manifest too old to say whom it was for are all *forwarded*: refused before anything is
extracted unless the caller accepts them."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pyrage
import pytest
from pyrage import passphrase as age_passphrase
from pyrage import x25519

from desktop.core.share import strict_json
from desktop.core.share.age_stream import AgeReader, AgeWriter
from desktop.core.share.errors import ExportError, ManifestError
from desktop.core.share.identity import fingerprint
from desktop.core.share.manifest import FORMAT_VERSION, Manifest, key_fingerprint, sign_manifest
from desktop.core.share.reader import (
    COUNT,
    LAYER,
    NOT_LISTED,
    UNENCRYPTED,
    UNRECORDED,
    ForwardedPackageError,
    open_package,
)
from desktop.core.share.writer import write_archive

from .conftest import RawEntry, raw_zip, seal


def _plain(package: Path, who) -> bytes:
    """The ZIP inside ``package``, as ``who`` decrypts it."""
    with open(package, "rb") as fh:
        return AgeReader(fh, identities=[who.identity.age_secret]).read()


def _refused_as_forwarded(package: Path, stage: Path, **kwargs) -> ForwardedPackageError:
    with pytest.raises(ForwardedPackageError) as caught:
        open_package(package, stage, **kwargs)
    assert not stage.exists()  # refused before anything was extracted
    assert "Nothing was opened." in str(caught.value)
    return caught.value


def test_the_manifest_says_how_and_to_whom(make_package, tmp_path, alice, bob):
    package = make_package(recipients=[bob.card, alice.card.age_recipient],
                           addressed_for="Dr Bob's MDT")
    with zipfile.ZipFile(io.BytesIO(_plain(package, bob))) as archive:
        raw = json.loads(archive.read("manifest.json"))
    assert raw["format_version"] == FORMAT_VERSION == 2
    assert raw["encryption"] == {
        "method": "x25519", "for": "Dr Bob's MDT",
        "recipients": [
            {"age_recipient": bob.card.age_recipient, "fingerprint": bob.card.fingerprint,
             "name": "Dr Bob Receiver"},
            {"age_recipient": alice.card.age_recipient,
             "fingerprint": key_fingerprint(alice.card.age_recipient), "name": ""}]}
    locked = make_package(passphrase="long enough passphrase")
    opened = open_package(locked, tmp_path / "p", passphrase="long enough passphrase")
    assert opened.manifest.encryption == "passphrase" and opened.manifest.recipients == ()
    assert not opened.arrival.forwarded and opened.arrival.layer == "passphrase"
    assert opened.manifest.addressee_text == "whoever has the passphrase (a passphrase)"
    with pytest.raises(ExportError, match="whom the package is for"):
        make_package(addressed_for="two\nlines")


def test_a_bare_keys_fingerprint_is_its_own(alice):
    bare = key_fingerprint(alice.card.age_recipient)
    assert len(bare) == 24 and bare.count("-") == 4 and bare != alice.card.fingerprint
    assert bare == key_fingerprint(alice.card.age_recipient)  # a function of the key alone
    assert alice.card.fingerprint == fingerprint(alice.card.age_recipient, alice.card.signing_key)


def test_a_package_to_bob_opened_by_bob_is_not_forwarded(make_package, tmp_path, bob):
    opened = open_package(make_package(), tmp_path / "stage", identities=[bob.identity])
    assert not opened.arrival.forwarded and opened.arrival.stanzas == 1
    assert opened.manifest.addressee_text == f"Dr Bob Receiver [{bob.card.fingerprint}]"


def test_re_encrypted_to_carol_is_forwarded(make_package, tmp_path, bob, mallory):
    carol = mallory
    forwarded = tmp_path / "to-carol.veil"  # Bob decrypts with rage and re-encrypts to Carol
    plain = pyrage.decrypt(make_package().read_bytes(), [bob.identity.age_identity])
    carol_key = x25519.Recipient.from_str(carol.card.age_recipient)
    forwarded.write_bytes(pyrage.encrypt(plain, [carol_key]))
    error = _refused_as_forwarded(forwarded, tmp_path / "stage", identities=[carol.identity])
    assert NOT_LISTED in error.arrival.reasons and error.manifest.sender.name == "Dr Alice Sender"
    message = str(error)
    assert "forwarded or re-encrypted by someone other than the person who signed it" in message
    assert "not encrypted to you the way its sender said" in message
    assert "Signed by Dr Alice Sender, General Hospital" in message
    assert f"It was for: Dr Bob Receiver [{bob.card.fingerprint}]" in message
    assert "You are not among the recipients" in message
    opened = open_package(forwarded, tmp_path / "stage", identities=[carol.identity],
                          accept_forwarded=True)
    assert opened.arrival.forwarded and (tmp_path / "stage" / "DICOMDIR").is_file()


def test_re_encrypted_to_more_keys_than_the_manifest_lists(make_package, tmp_path, bob, mallory):
    forwarded = tmp_path / "more.veil"  # to Bob again and to Carol, with Veil's own writer
    out = io.BytesIO()
    writer = AgeWriter(out, recipients=[bob.card.age_recipient, mallory.card.age_recipient])
    writer.write(_plain(make_package(), bob))
    writer.close()
    forwarded.write_bytes(out.getvalue())
    error = _refused_as_forwarded(forwarded, tmp_path / "stage", identities=[bob.identity])
    assert error.arrival.reasons == (COUNT,) and error.arrival.stanzas == 2
    assert "encrypted it to 1 recipient key, but this file's encryption header has 2" in str(error)
    error = _refused_as_forwarded(forwarded, tmp_path / "stage", identities=[mallory.identity])
    assert error.arrival.reasons == (COUNT, NOT_LISTED)


def test_re_encrypted_with_a_passphrase_is_forwarded(make_package, tmp_path, bob):
    forwarded = tmp_path / "pass.veil"
    plain = _plain(make_package(), bob)
    forwarded.write_bytes(age_passphrase.encrypt(plain, "a new passphrase"))
    error = _refused_as_forwarded(forwarded, tmp_path / "stage", passphrase="a new passphrase")
    assert error.arrival.reasons == (LAYER,) and error.arrival.layer == "passphrase"
    assert ("encrypted it to 1 recipient key, but this file is protected by a passphrase"
            in str(error))


def test_a_package_passed_on_decrypted_is_forwarded(make_package, tmp_path, bob, mallory):
    forwarded = tmp_path / "decrypted.zip"
    forwarded.write_bytes(_plain(make_package(), bob))
    error = _refused_as_forwarded(forwarded, tmp_path / "stage", identities=[mallory.identity])
    assert error.arrival.reasons == (LAYER,) and "but this file is not encrypted" in str(error)


def test_a_plain_archive_is_never_addressed_to_anyone(tmp_path, alice, bob, dicom_files, details):
    journal = write_archive(tmp_path / "journal.zip", dicom_files, details, alice.identity,
                            alice.card, addressed_for="Radiology journal").path
    for who in (bob, alice):  # not even the signer opens it as sent to them
        error = _refused_as_forwarded(journal, tmp_path / "stage", identities=[who.identity])
        assert error.arrival.reasons == (UNENCRYPTED,)
        assert "This is an unencrypted archive, not a package addressed to you" in str(error)
        assert "It was for: Radiology journal (an unencrypted archive)" in str(error)
    opened = open_package(journal, tmp_path / "stage", identities=[bob.identity],
                          accept_forwarded=True)
    assert opened.arrival.layer == "none" and opened.manifest.addressed_for == "Radiology journal"
    assert set(opened.files) == {"README.txt", "DICOMDIR"} | {n for n, _ in dicom_files}
    sealed = tmp_path / "sealed.veil"  # the archive, encrypted to Bob by someone
    sealed.write_bytes(seal(journal.read_bytes(), bob))
    error = _refused_as_forwarded(sealed, tmp_path / "again", identities=[bob.identity])
    assert error.arrival.reasons == (LAYER,)


def _as_version_1(package: Path, who, signer) -> list[RawEntry]:
    """The package's entries with its manifest as Veil 1 wrote it, signed by ``signer``."""
    with zipfile.ZipFile(io.BytesIO(_plain(package, who))) as archive:
        entries = [(i.filename, archive.read(i)) for i in archive.infolist()]
    manifest = json.loads(entries[0][1])
    manifest["format_version"] = 1
    del manifest["encryption"]["for"]
    for recipient in manifest["encryption"]["recipients"]:
        del recipient["name"]
    data = strict_json.dumps(manifest)
    return [RawEntry("manifest.json", data),
            RawEntry("manifest.sig", sign_manifest(data, signer.identity)),
            *[RawEntry(n, d) for n, d in entries[2:]]]


def test_a_manifest_that_predates_the_field_is_treated_as_forwarded(make_package, tmp_path, alice,
                                                                     bob):
    old = tmp_path / "old.veil"
    old.write_bytes(seal(raw_zip(_as_version_1(make_package(), bob, alice)), bob))
    error = _refused_as_forwarded(old, tmp_path / "stage", identities=[bob.identity])
    assert error.manifest.format_version == 1 and error.arrival.reasons == (UNRECORDED,)
    assert str(error).startswith("Veil treats this package as forwarded: it cannot confirm")
    assert "made by an older version of Veil, which did not record whom it was for" in str(error)
    opened = open_package(old, tmp_path / "stage", identities=[bob.identity], accept_forwarded=True)
    assert opened.manifest.recipients[0].fingerprint == bob.card.fingerprint


def test_version_2_recipients_are_checked_strictly(make_package, bob):
    with zipfile.ZipFile(io.BytesIO(_plain(make_package(), bob))) as archive:
        raw = json.loads(archive.read("manifest.json"))
    assert Manifest.from_bytes(strict_json.dumps(raw)).recipients[0].name == "Dr Bob Receiver"
    for change in (lambda e: e.pop("for"),
                   lambda e: e["recipients"][0].pop("name"),
                   lambda e: e["recipients"][0].update(fingerprint=None),
                   lambda e: e["recipients"][0].update(fingerprint="not-a-fingerprint"),
                   lambda e: e["recipients"][0].update(name="", fingerprint=bob.card.fingerprint),
                   lambda e: e["recipients"].append(dict(e["recipients"][0])),
                   lambda e: e.update({"for": "x" * 501})):
        bad = json.loads(json.dumps(raw))
        change(bad["encryption"])
        with pytest.raises(ManifestError, match="malformed"):
            Manifest.from_bytes(strict_json.dumps(bad))
    newer = dict(raw, format_version=3)
    with pytest.raises(ManifestError, match="newer version of Veil"):
        Manifest.from_bytes(strict_json.dumps(newer))


def test_a_bare_key_recipient_is_addressed_too(make_package, tmp_path, bob):
    package = make_package(recipients=[bob.card.age_recipient])  # Bob given as a bare age1 key
    opened = open_package(package, tmp_path / "a", identities=[bob.identity])
    assert not opened.arrival.forwarded
    opened = open_package(package, tmp_path / "b", identities=[bob.identity.age_secret])
    assert not opened.arrival.forwarded
    bare = key_fingerprint(bob.card.age_recipient)
    assert opened.manifest.addressee_text == f"an age key [{bare}]"

