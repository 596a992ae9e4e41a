"""Every way a package can be wrong is refused with a clear message, and nothing is kept.

Crafted packages are encrypted to Bob as anyone holding his public key could; the attacks are
on what is inside (manifest, signature, names, sizes) or on the encrypted bytes themselves.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from desktop.core.common.errors import Cancelled
from desktop.core.share import strict_json
from desktop.core.share.age_stream import AgeReader
from desktop.core.share.errors import (
    DamagedPackageError,
    ManifestError,
    NotAddressedToYouError,
    PackageContentError,
    PackageError,
    PackagePassphraseError,
    PackageTooLargeError,
    SignatureError,
    UnsafePackageError,
)
from desktop.core.share.manifest import sign_manifest
from desktop.core.share.reader import OpenLimits, open_package

from .conftest import RawEntry, raw_zip, seal


def inner(package: Path, bob) -> list[tuple[str, bytes]]:
    """The entries of a package, in order, as Bob decrypts them."""
    with open(package, "rb") as fh:
        plain = AgeReader(fh, identities=[bob.identity.age_secret]).read()
    with zipfile.ZipFile(io.BytesIO(plain)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def craft(tmp_path: Path, entries: list[RawEntry], bob) -> Path:
    path = tmp_path / "crafted.veil"
    path.write_bytes(seal(raw_zip(entries), bob))
    return path


def resigned(entries, signer, change) -> list[RawEntry]:
    """``entries`` with the manifest changed by ``change`` and signed by ``signer``."""
    manifest = json.loads(entries[0][1])
    change(manifest)
    data = strict_json.dumps(manifest)
    return [RawEntry("manifest.json", data),
            RawEntry("manifest.sig", sign_manifest(data, signer.identity)),
            *[RawEntry(n, d) for n, d in entries[2:]]]


def refused(package: Path, tmp_path: Path, error: type[PackageError] | type[Cancelled],
            match: str | None = None, **kwargs) -> None:
    stage = tmp_path / "stage"
    kwargs.setdefault("identities", [] if "passphrase" in kwargs else [kwargs.pop("who")])
    with pytest.raises(error, match=match):
        open_package(package, stage, **kwargs)
    assert not stage.exists()  # nothing extracted, nothing left


@pytest.fixture
def package(make_package) -> Path:
    return make_package()


def test_wrong_key(package, tmp_path, mallory):
    refused(package, tmp_path, NotAddressedToYouError, "not addressed to you",
            who=mallory.identity)


def test_wrong_passphrase(make_package, tmp_path):
    locked = make_package(passphrase="the right one")
    refused(locked, tmp_path, PackagePassphraseError, "does not open", passphrase="wrong one")


def test_a_flipped_byte_anywhere(package, tmp_path, bob):
    blob = package.read_bytes()
    payload = blob.index(b"\n---") + 1 + 48
    positions = {0, 10, 25, 60, payload - 30, payload - 2, payload, payload + 15, payload + 16,
                 payload + 5000, len(blob) // 2, len(blob) - 17, len(blob) - 1}
    positions |= set(range(payload + 16, len(blob), 65536 + 16))  # first byte of each chunk
    for position in sorted(positions):
        tampered = bytearray(blob)
        tampered[position] ^= 0x20
        package.write_bytes(tampered)
        refused(package, tmp_path, PackageError, who=bob.identity)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, -1])
def test_a_truncated_file(package, tmp_path, bob, keep):
    blob = package.read_bytes()
    package.write_bytes(blob[:int(len(blob) * keep)] if keep > 0 else blob[:-1])
    refused(package, tmp_path, DamagedPackageError, who=bob.identity)


def test_an_altered_manifest(package, tmp_path, bob):
    entries = inner(package, bob)
    manifest = json.loads(entries[0][1])
    manifest["purpose"] = "marketing"
    altered = [RawEntry("manifest.json", strict_json.dumps(manifest)),
               *[RawEntry(n, d) for n, d in entries[1:]]]
    refused(craft(tmp_path, altered, bob), tmp_path, SignatureError, "altered or swapped",
            who=bob.identity)


def test_a_swapped_manifest(make_package, tmp_path, bob, dicom_files):
    ours = inner(make_package(), bob)
    other = inner(make_package(files=dicom_files[:1]), bob)
    only_manifest = [RawEntry("manifest.json", other[0][1]),
                     *[RawEntry(n, d) for n, d in ours[1:]]]
    refused(craft(tmp_path, only_manifest, bob), tmp_path, SignatureError, who=bob.identity)
    both = [RawEntry(n, d) for n, d in other[:2]] + [RawEntry(n, d) for n, d in ours[2:]]
    refused(craft(tmp_path, both, bob), tmp_path, PackageContentError, who=bob.identity)


def test_a_signature_by_a_key_that_is_not_the_sender_card(package, tmp_path, bob, mallory):
    entries = inner(package, bob)  # Alice is the sender on the card; Mallory signs
    forged = resigned(entries, mallory, lambda m: m.update(purpose="care"))
    refused(craft(tmp_path, forged, bob), tmp_path, SignatureError, "not the sender's card",
            who=bob.identity)
    claimed = json.loads(forged[1].data)
    claimed["signing_key"] = json.loads(entries[1][1])["signing_key"]  # claim Alice's key
    forged[1] = RawEntry("manifest.sig", strict_json.dumps(claimed))
    refused(craft(tmp_path, forged, bob), tmp_path, SignatureError, "does not match",
            who=bob.identity)


def test_an_unknown_sender_who_signs_as_themself_is_reported_as_such(package, tmp_path, bob,
                                                                      mallory):
    entries = resigned(inner(package, bob), mallory,
                       lambda m: m.update(sender=mallory.card.to_dict()))
    opened = open_package(craft(tmp_path, entries, bob), tmp_path / "stage",
                          identities=[bob.identity])
    assert opened.sender == mallory.card  # the address book decides whether to trust her


@pytest.mark.parametrize("name", ["../evil.txt", "previews/../../evil", "/etc/evil",
                                  "previews\\evil", "C:/evil", "previews/./a", "previews//a"])
def test_unsafe_entry_names(package, tmp_path, bob, alice, name):
    entries = inner(package, bob)
    hidden = [RawEntry(n, d) for n, d in entries] + [RawEntry(name, b"evil")]
    refused(craft(tmp_path, hidden, bob), tmp_path, UnsafePackageError, "unsafe name",
            who=bob.identity)
    listed = resigned(entries + [(name, b"evil")], alice, lambda m: m["files"].append(
        {"path": name, "size": 4, "sha256": "0" * 64}))
    refused(craft(tmp_path, listed, bob), tmp_path, UnsafePackageError, "unsafe name",
            who=bob.identity)
    assert not (tmp_path / "evil.txt").exists() and not Path("/etc/evil").exists()


def test_duplicate_entries(package, tmp_path, bob, alice):
    entries = inner(package, bob)
    twice = [RawEntry(n, d) for n, d in entries] + [RawEntry(*entries[-1])]
    refused(craft(tmp_path, twice, bob), tmp_path, UnsafePackageError, "twice", who=bob.identity)
    cases = resigned(entries + [("previews/a.png", b"a"), ("previews/A.png", b"a")], alice,
                     lambda m: m["files"].extend(
                         {"path": p, "size": 1, "sha256": "ca978112ca1bbdcafac231b39a23dc4da786"
                          "eff8147c4e72b9807785afee48bb"} for p in ("previews/a.png",
                                                                    "previews/A.png")))
    refused(craft(tmp_path, cases, bob), tmp_path, UnsafePackageError, "twice", who=bob.identity)


def test_a_zip_bomb(package, tmp_path, bob, alice):
    import hashlib

    zeros = bytes(8 << 20)
    entries = resigned(inner(package, bob), alice, lambda m: m["files"].append(
        {"path": "previews/zeros.bin", "size": len(zeros),
         "sha256": hashlib.sha256(zeros).hexdigest()}))
    entries.append(RawEntry("previews/zeros.bin", zeros, deflate=True))
    refused(craft(tmp_path, entries, bob), tmp_path, PackageTooLargeError, "zip bomb",
            who=bob.identity)


def test_limits_on_total_size_and_file_count(package, tmp_path, bob):
    refused(package, tmp_path, PackageTooLargeError, "more than allowed", who=bob.identity,
            limits=OpenLimits(max_total_bytes=100_000))
    refused(package, tmp_path, PackageTooLargeError, "more than allowed", who=bob.identity,
            limits=OpenLimits(max_files=2))


def test_contents_that_differ_from_the_manifest(package, tmp_path, bob):
    entries = inner(package, bob)
    name, data = entries[-1]
    cases = [
        ([*entries[:-1], (name, data[:-1] + bytes([data[-1] ^ 1]))], "SHA-256"),
        ([*entries[:-1], (name, data + b"x")], "size"),
        ([*entries, ("previews/extra.png", b"x")], "does not list"),
        (entries[:-1], "lacks 1 file"),
    ]
    for changed, message in cases:
        crafted = craft(tmp_path, [RawEntry(n, d) for n, d in changed], bob)
        refused(crafted, tmp_path, PackageContentError, message, who=bob.identity)


def test_manifest_must_come_first(package, tmp_path, bob):
    entries = inner(package, bob)
    reordered = [RawEntry(n, d) for n, d in [entries[2], *entries[:2], *entries[3:]]]
    refused(craft(tmp_path, reordered, bob), tmp_path, ManifestError, "does not start",
            who=bob.identity)


def test_staging_must_be_empty_and_cancel_keeps_nothing(package, tmp_path, bob):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "other").write_text("x")
    with pytest.raises(PackageError, match="not empty"):
        open_package(package, busy, identities=[bob.identity])
    assert [p.name for p in busy.iterdir()] == ["other"]
    refused(package, tmp_path, Cancelled, who=bob.identity, cancelled=lambda: True)
