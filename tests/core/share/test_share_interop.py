"""Interop with the real ``age`` binary and dcmtk: a Veil package opens without Veil.

Skipped (with the reason) where the Debian packages ``age`` or ``dcmtk`` are not installed.
age reads passphrases only from a terminal, so those runs get a pseudo-terminal (``pty``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import pty
import select
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pydicom
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from desktop.core.share.age_stream import AgeReader

AGE = shutil.which("age")
DCMDUMP = shutil.which("dcmdump")
needs_age = pytest.mark.skipif(AGE is None, reason="the age binary is not installed "
                                                   "(Debian package 'age')")


def age_on_a_terminal(args: list[str], answers: list[str], timeout: float = 30) -> int:
    """Run age with a pseudo-terminal, answering each passphrase prompt in turn."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: age, with the pty as its controlling terminal
        try:
            os.execv(AGE, [AGE, *args])
        finally:
            os._exit(127)
    seen, answered, deadline = b"", 0, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([fd], [], [], 0.1)[0]:
                continue
            try:
                data = os.read(fd, 1024)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            seen += data
            if answered < len(answers) and seen.lower().count(b"passphrase") > answered:
                os.write(fd, answers[answered].encode() + b"\n")
                answered += 1
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def check_unzipped_package(zip_path: Path, out: Path) -> None:
    """The ZIP is a DICOM file-set whose references resolve and whose manifest is true."""
    if shutil.which("unzip"):
        subprocess.run(["unzip", "-q", str(zip_path), "-d", str(out)], check=True)
    else:
        zipfile.ZipFile(zip_path).extractall(out)
    manifest_bytes = (out / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes)
    signature = json.loads((out / "manifest.sig").read_bytes())
    Ed25519PublicKey.from_public_bytes(base64.b64decode(manifest["sender"]["signing_key"])
                                       ).verify(base64.b64decode(signature["signature"]),
                                                manifest_bytes)
    for record in manifest["files"]:
        data = (out / record["path"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (record["size"],
                                                                 record["sha256"])
    records = pydicom.dcmread(out / "DICOMDIR").DirectoryRecordSequence
    referenced = [out.joinpath(*r.ReferencedFileID) for r in records if "ReferencedFileID" in r]
    assert referenced and all(p.is_file() for p in referenced)
    if DCMDUMP:
        for path in [out / "DICOMDIR", *referenced]:
            done = subprocess.run([DCMDUMP, "-q", str(path)], capture_output=True, text=True)
            assert done.returncode == 0, done.stderr


@needs_age
def test_age_decrypts_a_recipient_package_with_the_identity_file(make_package, tmp_path,
                                                                 bob):
    package = make_package()
    identity_file = tmp_path / "key.txt"
    identity_file.write_text(bob.identity.age_identity_file())
    zip_path = tmp_path / "package.zip"
    subprocess.run([AGE, "-d", "-i", str(identity_file), "-o", str(zip_path), str(package)],
                   check=True, capture_output=True)
    check_unzipped_package(zip_path, tmp_path / "unzipped")


@needs_age
def test_age_decrypts_a_passphrase_package_on_a_terminal(make_package, tmp_path):
    package = make_package(passphrase="correct horse battery")
    zip_path = tmp_path / "package.zip"
    assert age_on_a_terminal(["-d", "-o", str(zip_path), str(package)],
                             ["correct horse battery"]) == 0
    check_unzipped_package(zip_path, tmp_path / "unzipped")
    assert age_on_a_terminal(["-d", "-o", str(tmp_path / "no.zip"), str(package)],
                             ["wrong"]) != 0


@needs_age
def test_veil_decrypts_what_age_encrypts_in_both_modes(tmp_path, bob):
    plain = os.urandom(200_000)
    source = tmp_path / "plain.bin"
    source.write_bytes(plain)
    to_bob = tmp_path / "to-bob.age"
    subprocess.run([AGE, "-r", bob.card.age_recipient, "-o", str(to_bob), str(source)],
                   check=True)
    with open(to_bob, "rb") as fh:
        assert AgeReader(fh, identities=[bob.identity.age_secret]).read() == plain
    locked = tmp_path / "locked.age"  # age -p: work factor 2**18, about a second in Veil
    assert age_on_a_terminal(["-p", "-o", str(locked), str(source)], ["pass phrase", "pass phrase"]
                             ) == 0
    with open(locked, "rb") as fh, io.BufferedReader(fh) as buffered:
        assert AgeReader(buffered, passphrase="pass phrase").read() == plain
