"""Shared fixtures for the share package tests: identities, real DICOM files, packages, and
a raw ZIP builder for crafting malicious packages."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from desktop.core.share.age_stream import AgeWriter
from desktop.core.share.identity import Identity, KeyCard
from desktop.core.share.manifest import PackageDetails
from desktop.core.share.member_names import dicom_member_name
from desktop.core.share.writer import write_package

DICOM_NAMES = ("CT_small.dcm", "MR_small.dcm", "US1_J2KR.dcm")
FAST_SCRYPT = 10  # tests only: age's default is 18


@dataclass(frozen=True)
class Person:
    identity: Identity
    card: KeyCard


@pytest.fixture(scope="session")
def alice() -> Person:
    identity = Identity.generate()
    return Person(identity, identity.card("Dr Alice Sender", "General Hospital",
                                          "alice@example.org"))


@pytest.fixture(scope="session")
def bob() -> Person:
    identity = Identity.generate()
    return Person(identity, identity.card("Dr Bob Receiver", "University Clinic"))


@pytest.fixture(scope="session")
def mallory() -> Person:
    identity = Identity.generate()
    return Person(identity, identity.card("Mallory"))


@pytest.fixture(scope="session")
def dicom_files() -> list[tuple[str, Path]]:
    return [(dicom_member_name(i), Path(get_testdata_file(name)))
            for i, name in enumerate(DICOM_NAMES)]


@pytest.fixture
def details() -> PackageDetails:
    return PackageDetails("teaching", {"basis": "consent", "record": "C-17"},
                          {"profile": "basic", "options": ["retain-dates"]},
                          {"images_redacted": 1})


@pytest.fixture
def make_package(tmp_path, alice, bob, dicom_files, details):
    """Write a package from Alice (to Bob, or with ``passphrase``) and return its path."""
    counter = iter(range(1000))

    def make(*, passphrase: str | None = None, files=None, **kwargs) -> Path:
        out = tmp_path / f"package{next(counter)}.veil"
        recipients = () if passphrase is not None else kwargs.pop("recipients", [bob.card])
        write_package(out, files if files is not None else dicom_files, details,
                      alice.identity, alice.card, recipients=recipients, passphrase=passphrase,
                      scrypt_log_n=FAST_SCRYPT, **kwargs)
        return out

    return make


def seal(zip_bytes: bytes, to: Person) -> bytes:
    """Encrypt ``zip_bytes`` to ``to`` as anyone holding their public key could."""
    out = io.BytesIO()
    writer = AgeWriter(out, recipients=[to.card.age_recipient])
    writer.write(zip_bytes)
    writer.close()
    return out.getvalue()


@dataclass
class RawEntry:
    """One ZIP entry written exactly as told (for crafting bad packages)."""

    name: str
    data: bytes
    deflate: bool = False
    size: int | None = None  # declared uncompressed size (default: the real one)


def raw_zip(entries: list[RawEntry], extra_central: list[RawEntry] = ()) -> bytes:
    """A ZIP with sizes in local headers; ``extra_central`` are listed but absent."""
    out, central = bytearray(), bytearray()
    for entry in [*entries, *extra_central]:
        payload = entry.data
        if entry.deflate:
            packer = zlib.compressobj(9, zlib.DEFLATED, -15)
            payload = packer.compress(entry.data) + packer.flush()
        method = 8 if entry.deflate else 0
        size = len(entry.data) if entry.size is None else entry.size
        crc, name = zlib.crc32(entry.data), entry.name.encode()
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, method, 0, 33, crc,
                             len(payload), size, len(name), 0)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0x800, method, 0, 33,
                               crc, len(payload), size, len(name), 0, 0, 0, 0, 0, len(out)) + name
        if entry in entries:
            out += header + name + payload
    count = len(entries) + len(extra_central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), len(out), 0)
    return bytes(out + central + end)
