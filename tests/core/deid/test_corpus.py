"""Every instance of pydicom's test files and pydicom-data that pydicom finds no problem in
(tests/corpus.py; the refusal of the others is asserted in tests/app/test_deid_validation.py),
under every preset: the output re-reads with pydicom and holds no identifier of its original,
by the element-level search and by the raw-byte search (PS3.15 E.1.1: nothing identifying left)."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest

from desktop.core.deid.engine import PatientPlan, deidentify, make_settings, pixel_extent
from desktop.core.deid.leaks import find_leaks_in_bytes, find_leaks_in_dataset
from desktop.core.deid.profiles import load_presets
from desktop.core.dicom.header import InvalidInstance
from desktop.core.dicom.identifiers import collect_identifiers, reportable
from tests.conftest import pydicom_data_files, pydicom_test_files
from tests.corpus import problems

_SKIP_SUFFIXES = (".py", ".pyc", ".json", ".txt", ".md", ".gz", ".bz2", ".zip", ".icc", ".dump")


def _corpus() -> list[Path]:
    files = []
    for root in (pydicom_test_files(), pydicom_data_files()):
        files += [p for p in sorted(root.rglob("*")) if p.is_file() and not p.name.endswith(_SKIP_SUFFIXES)
                  and p.name not in ("README",)]
    return files


CORPUS = _corpus()
#: The files the engine must de-identify.
INSTANCES = [path for path in CORPUS if not problems(path)]


def test_the_corpus_is_the_real_one():
    assert len(CORPUS) > 200 and len(INSTANCES) > 200


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_identifier_left(path: Path):
    data = path.read_bytes()
    original = pydicom.dcmread(io.BytesIO(data), force=True)
    identifiers = collect_identifiers(original)
    for key, profile in load_presets().items():
        try:
            result = deidentify(data, make_settings(profile, b"k" * 32), lambda _k: PatientPlan("T-0001", -400))
        except InvalidInstance as exc:
            pytest.fail(f"{key}: refused, though pydicom finds no problem in it: {exc}")
        out = pydicom.dcmread(io.BytesIO(result.data))
        assert out.PatientIdentityRemoved == "YES"
        wanted = reportable(identifiers, profile.options)
        start, end, encapsulated = pixel_extent(result.data)
        leaks = (result.leaks + find_leaks_in_dataset(out, wanted)
                 + find_leaks_in_bytes(result.data, wanted, "iso8859", (start, end), encapsulated))
        assert not leaks, f"{key}: " + "; ".join(leak.describe() for leak in leaks)
