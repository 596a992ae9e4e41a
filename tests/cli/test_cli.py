"""The CLI as a script or CI uses it: passphrase from VEIL_PASSPHRASE_FILE, no keyring."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.fixture
def run(veil_cli):
    return veil_cli


def test_import_ls_and_audit_verify(run, few_dicoms, tmp_path):
    first = run("import", str(few_dicoms))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Imported 5 new instances (5 studies)")
    again = run("import", str(few_dicoms))
    assert "Nothing new: every file is already in the library." in again.stdout
    listing = run("ls")
    assert listing.stdout.splitlines()[0] == "5 patients, 5 studies, 5 series, 5 instances"
    assert "CompressedSamples^CT1 [1CT1]" in listing.stdout
    assert "#1 CT" in listing.stdout or " CT " in listing.stdout
    verify = run("audit", "verify")
    assert verify.returncode == 0 and "OK: 4 lines" in verify.stdout  # started + outcome, twice
    assert run("check").returncode == 0

    log = tmp_path / "home" / "audit.log"
    lines = log.read_text().splitlines()
    lines[1] = lines[1].replace('"imported":5', '"imported":50')
    log.write_text("\n".join(lines) + "\n")
    tampered = run("audit", "verify")
    assert tampered.returncode == 1
    assert "line 2 was altered" in tampered.stdout


def test_no_keyring_and_no_passphrase_is_a_clear_error(tmp_path):
    env = dict(os.environ, VEIL_HOME=str(tmp_path / "home"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    env.pop("VEIL_PASSPHRASE_FILE", None)
    done = subprocess.run([sys.executable, "-m", "desktop", "ls"], env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 1
    assert "VEIL_PASSPHRASE_FILE" in done.stderr
    assert "Traceback" not in done.stderr


def test_importing_the_whole_corpus_writes_nothing_to_stderr(run):
    """pydicom's warnings quote element values; none of them may reach the terminal or a log."""
    done = run("import", "--samples")
    assert done.returncode == 0
    assert done.stderr == ""
    assert "Loaded" in done.stdout


def test_two_first_opens_at_once_agree_on_one_key(tmp_path):
    """The app and a script started together on a new home must not each mint a key."""
    passfile = tmp_path / "pass"
    passfile.write_text("correct horse battery")
    env = dict(os.environ, VEIL_HOME=str(tmp_path / "home"), VEIL_PASSPHRASE_FILE=str(passfile),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    procs = [subprocess.Popen([sys.executable, "-m", "desktop", "ls"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    again = subprocess.run([sys.executable, "-m", "desktop", "check"], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr


def test_a_file_name_with_a_newline_stays_on_its_own_line(run, tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "Doe John\nok.dcm: imported fine").write_bytes(b"not dicom")
    done = run("import", str(folder))
    rejected = [line for line in done.stdout.splitlines() if "Doe John" in line]
    assert len(rejected) == 1 and "\\n" in rejected[0] and rejected[0].endswith("DICOM dataset")
    assert not any(line.startswith("ok.dcm") for line in done.stdout.splitlines())
