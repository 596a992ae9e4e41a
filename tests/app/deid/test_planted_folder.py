"""Acceptance, end to end: ``veil deid --profile P --redact --detect`` on a folder of planted
files (a patient's identity in the header everywhere, burned into the pixels as a banner with her
dates in every usual format, hidden in bits above High Bit, in overlays, icons and codestream
comments: see :mod:`tests.planting`) writes every file under every preset, and nothing of her
is found in the outputs: not by the header and byte scan, not in the decoded pixel bits, and not
by OCR of the written pixels. Nothing identifying is left beside them either (home, temp).

Three files, so it stays fast: a signed CT (native, banner on an added band, hidden bits), a
multi-frame ultrasound (JPEG baseline YBR, its first 6 frames written back as native RGB with
the banner on every frame) and an enhanced MR (JPEG-LS re-encoded with hidden bits and a comment segment in every
frame).
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from tests.conftest import pydicom_data_files, pydicom_test_files
from tests.planting import describe, find_forms, match_ocr_text, ocr_frames, plant_file, scan_file

PRESETS = ("teaching", "research", "publication")

#: The banner formats OCR must read in the planted inputs (else the output check proves nothing).
READ_IN_INPUT = ("name 'Quisenberry'", "name 'Marguerite'", "id 'MRN-4471-0093'", "date '24-MAY-02'",
                 "date '5/25/2011'", "date '01.09.2012'", "date '2012-09-01'", "date '01 SEP 2012'",
                 "date '20120901'", "accession 'A7Q93815'", "institution 'Pemberthy'")


def _sources() -> list[Path]:
    return [pydicom_test_files() / "CT_small.dcm", pydicom_test_files() / "examples_ybr_color.dcm",
            pydicom_data_files() / "emri_small_jpeg_ls_lossless.dcm"]


def _outputs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def reader():
    pytest.importorskip("tesserocr", reason="tesserocr (OCR) is installed from pip by the test command")
    from desktop.core.redaction.ocr import TextReader

    r = TextReader()
    yield r
    r.close()


def _identity_on_disk(*folders: Path) -> list[str]:
    """Files under ``folders`` whose bytes hold a form of the identity (text, any case)."""
    found = []
    for folder in folders:
        for path in _outputs(folder):
            forms = find_forms(path.read_bytes().decode("latin_1"))
            if forms:
                found.append(f"{path}: " + ", ".join(sorted({f'{f.kind} {f.text!r}' for f in forms})))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("profile", PRESETS)
def test_deid_redact_detect_writes_every_planted_file_and_leaves_no_identity(tmp_path: Path, veil_cli, reader,
                                                                            profile: str):
    src = tmp_path / "in"
    planted = [plant_file(s, src, banner=True, max_frames=None if "emri" in s.name else 6) for s in _sources()]
    # The OCR is not blind: it reads the banner in every format from the planted inputs.
    for item in planted:
        ds = pydicom.dcmread(item.path)
        read = set(match_ocr_text("\n".join(t for _i, t in ocr_frames(ds, reader, [0]))))
        assert set(READ_IN_INPUT) <= read, f"{item.path.name}: OCR did not read {set(READ_IN_INPUT) - read}"
    policy = veil_cli("consent", "add", "--site-wide", "--not-required", "Teaching file policy v3",
                      "--purpose", "teaching")
    assert policy.returncode == 0, policy.stderr

    problems = []
    out = tmp_path / "out"
    done = veil_cli("deid", "--profile", profile, "--redact", "--detect", "--purpose", "teaching", str(src), str(out))
    if done.returncode != 0 or len(_outputs(out)) != len(planted):
        problems.append(f"`veil deid --profile {profile} --redact --detect` did not write every planted file "
                        f"(exit {done.returncode}, {len(_outputs(out))} of {len(planted)} written):\n"
                        f"{done.stdout}\n{done.stderr}")
        # What a user who looked at the redacted images and confirmed them would send.
        out = tmp_path / "out-confirmed"
        done = veil_cli("deid", "--profile", profile, "--redact", "--detect", "--confirm-burned-in", "--purpose",
                        "teaching", str(src), str(out))
        if done.returncode != 0 or len(_outputs(out)) != len(planted):
            problems.append(f"... and with --confirm-burned-in it still fails (exit {done.returncode}, "
                            f"{len(_outputs(out))} of {len(planted)} written):\n{done.stdout}\n{done.stderr}")
    for output in _outputs(out):
        findings = scan_file(output, parts=("element", "bytes", "pixels", "ocr"), reader=reader)
        if findings:
            problems.append(f"{profile}: {output.name} holds the planted identity:{describe(findings)}")
    left = _identity_on_disk(tmp_path / "home", tmp_path / "user", tmp_path / "tmp")
    if left:
        problems.append(f"{profile}: identity left beside the outputs:\n  " + "\n  ".join(left))
    assert not problems, "\n\n".join(problems)
