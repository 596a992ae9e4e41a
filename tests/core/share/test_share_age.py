"""The age layer: interop with pyrage (rage) both ways, strict headers, truncation, tampering."""

from __future__ import annotations

import io
import os

import pyrage
import pytest
from pyrage import passphrase as pyrage_passphrase

from desktop.core.share.age_header import b64_raw
from desktop.core.share.age_stream import CHUNK, AgeReader, AgeWriter
from desktop.core.share.errors import (
    DamagedPackageError,
    NotAddressedToYouError,
    PackagePassphraseError,
)

SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 7]


def encrypt(data: bytes, **kwargs) -> bytes:
    out = io.BytesIO()
    writer = AgeWriter(out, **kwargs)
    for start in range(0, len(data), 50_000):  # writes that straddle chunk boundaries
        writer.write(data[start:start + 50_000])
    writer.close()
    return out.getvalue()


def decrypt(blob: bytes, **kwargs) -> bytes:
    reader = AgeReader(io.BufferedReader(io.BytesIO(blob)), **kwargs)
    data = reader.read()
    assert reader.at_end
    return data


@pytest.mark.parametrize("size", SIZES)
def test_recipient_mode_interoperates_with_pyrage(size, alice, bob):
    data = os.urandom(size)
    blob = encrypt(data, recipients=[alice.card.age_recipient, bob.card.age_recipient])
    assert pyrage.decrypt(blob, [bob.identity.age_identity]) == data
    theirs = pyrage.encrypt(data, [bob.identity.age_identity.to_public()])
    assert decrypt(theirs, identities=[bob.identity.age_secret]) == data


@pytest.mark.parametrize("size", [0, CHUNK, 2 * CHUNK + 1])
def test_passphrase_mode_decrypts_with_pyrage(size):
    # The other direction (another implementation's scrypt file opened by Veil) is tested with
    # the age binary (test_share_interop): pyrage picks a work factor of 2**19 or more here,
    # seconds per file in Python.
    data = os.urandom(size)
    blob = encrypt(data, passphrase="correct horse ✓", scrypt_log_n=10)
    assert pyrage_passphrase.decrypt(blob, "correct horse ✓") == data
    assert decrypt(blob, passphrase="correct horse ✓") == data


def test_wrong_key_and_wrong_passphrase(alice, bob):
    blob = encrypt(b"x" * 100, recipients=[bob.card.age_recipient])
    with pytest.raises(NotAddressedToYouError, match="not addressed to you"):
        decrypt(blob, identities=[alice.identity.age_secret])
    with pytest.raises(PackagePassphraseError, match="encrypted to its recipients"):
        decrypt(blob, passphrase="guess")
    locked = encrypt(b"x" * 100, passphrase="right", scrypt_log_n=10)
    with pytest.raises(PackagePassphraseError, match="does not open"):
        decrypt(locked, passphrase="wrong")
    with pytest.raises(NotAddressedToYouError, match="passphrase"):
        decrypt(locked, identities=[bob.identity.age_secret])


def test_truncation_at_every_kind_of_place_is_detected(bob):
    blob = encrypt(os.urandom(3 * CHUNK), recipients=[bob.card.age_recipient])
    payload = blob.index(b"\n---") + 1 + 48 + 16  # the MAC line ("--- " + 43 + LF), nonce
    for cut in [10, payload - 5, payload, payload + 100, payload + CHUNK + 16,
                payload + 2 * (CHUNK + 16), len(blob) - 1]:
        with pytest.raises(DamagedPackageError):
            decrypt(blob[:cut], identities=[bob.identity.age_secret])
    with pytest.raises(DamagedPackageError, match="ends early"):
        decrypt(blob[:payload + 2 * (CHUNK + 16)], identities=[bob.identity.age_secret])
    with pytest.raises(DamagedPackageError):
        decrypt(blob + b"\x00", identities=[bob.identity.age_secret])


def _header_with(stanza_lines: list[str]) -> bytes:
    return ("age-encryption.org/v1\n" + "".join(line + "\n" for line in stanza_lines)
            + "--- " + b64_raw(bytes(32)) + "\n").encode()


@pytest.mark.parametrize("lines", [
    ["-> X25519 " + b64_raw(bytes(32)) + "=", b64_raw(bytes(32))],        # padded argument
    ["-> X25519 " + b64_raw(bytes(31)), b64_raw(bytes(32))],              # short share
    ["-> X25519 " + b64_raw(os.urandom(32)), b64_raw(bytes(33))],         # long body
    ["-> X25519  two-spaces", ""],
    ["-> X25519 " + b64_raw(bytes(32)), "A" * 65],                        # overlong body line
    ["-> X25519 " + b64_raw(bytes(32))],                                  # no body line
])
def test_malformed_headers_are_refused(lines, bob):
    with pytest.raises(DamagedPackageError):
        decrypt(_header_with(lines) + bytes(100), identities=[bob.identity.age_secret])


def test_scrypt_rules_mixing_and_work_factor(bob):
    scrypt = ["-> scrypt " + b64_raw(bytes(16)) + " 10", b64_raw(bytes(32))]
    x25519 = ["-> X25519 " + b64_raw(os.urandom(32)), b64_raw(bytes(32))]
    with pytest.raises(DamagedPackageError):
        decrypt(_header_with(scrypt + x25519), passphrase="p")
    heavy = ["-> scrypt " + b64_raw(bytes(16)) + " 30", b64_raw(bytes(32))]
    with pytest.raises(DamagedPackageError, match="more memory"):
        decrypt(_header_with(heavy), passphrase="p")
    with pytest.raises(DamagedPackageError):  # leading zero: not canonical
        decrypt(_header_with(["-> scrypt " + b64_raw(bytes(16)) + " 010", b64_raw(bytes(32))]),
                passphrase="p")


@pytest.mark.parametrize("start", [b"", b"hello", b"age-encryption.org/v2\n",
                                   b"-----BEGIN AGE ENCRYPTED FILE-----\n", b"PK\x03\x04"])
def test_files_that_are_not_age_v1(start, bob):
    with pytest.raises(DamagedPackageError):
        decrypt(start + bytes(64), identities=[bob.identity.age_secret])


def test_header_mac_and_payload_flips(bob):
    blob = bytearray(encrypt(os.urandom(CHUNK + 10), recipients=[bob.card.age_recipient]))
    mac_at = blob.index(b"\n---") + 6
    for position in (mac_at, mac_at + 20, len(blob) - 1, len(blob) - CHUNK):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(DamagedPackageError):
            decrypt(bytes(tampered), identities=[bob.identity.age_secret])
