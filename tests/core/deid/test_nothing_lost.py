"""Nothing that is not identity is lost (PS3.15 E.1: only what identifies goes), on every file
of pydicom's test files and pydicom-data that pydicom finds no problem in (tests/corpus.py),
under every preset:

- the Pixel Data is byte for byte the original's unless the record says it was cleaned (bits
  outside Bits Stored, text in a codestream) - and then the image the pixels show is the same;
- every attribute a profile option keeps (Table E.1-1, an option's K) is in the output with the
  value it had, unless that value held one of the patient's identifiers.

dciodvfy and dcmdump on the same outputs: tests/app/test_deid_validation.py.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest

from desktop.core.deid.engine import PatientPlan, deidentify, make_settings
from desktop.core.deid.profiles import load_presets
from desktop.core.deid.table import BASIC, decide, load_table
from desktop.core.dicom.header import InvalidInstance
from desktop.core.dicom.identifiers import collect_identifiers, reportable, scrub_pattern
from tests.core.deid.test_corpus import INSTANCES

PLAN = PatientPlan("T-0001", -400)
SETTINGS = {key: make_settings(profile, b"k" * 32) for key, profile in load_presets().items()}


def _pixel_element(ds: pydicom.Dataset) -> bytes | None:
    elem = ds.get((0x7FE0, 0x0010))
    return None if elem is None else bytes(elem.value)


def _kept_by_an_option(original: pydicom.Dataset, options: frozenset[str]) -> list[int]:
    table = load_table()
    out = []
    for elem in original:
        if elem.tag.is_private or elem.VR == "SQ":
            continue
        decision = decide(table, int(elem.tag), options)
        if decision is not None and decision.action == "K" and decision.rule != BASIC:
            out.append(int(elem.tag))
    return out


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pixels_and_kept_attributes_survive(path: Path):
    data = path.read_bytes()
    original = pydicom.dcmread(io.BytesIO(data), force=True)
    original_pixels = _pixel_element(original)
    identity = scrub_pattern(collect_identifiers(original))
    for key, settings in SETTINGS.items():
        try:
            result = deidentify(data, settings, lambda _k: PLAN, record=True)
        except InvalidInstance as exc:
            pytest.fail(f"{key}: refused, though pydicom finds no problem in it: {exc}")
        out = pydicom.dcmread(io.BytesIO(result.data))
        cleaned = [c for c in result.changes if c.name == "Pixel Data" and c.action == "cleaned"]
        if original_pixels is not None and not cleaned:
            assert _pixel_element(out) == original_pixels, f"{key}: Pixel Data changed with no record of why"
        if cleaned and "Text in compressed pixel data codestreams removed" in out.DeidentificationMethod:
            try:
                before = original.pixel_array
            except Exception:  # noqa: BLE001 - no decoder here: nothing to compare
                continue
            assert np.array_equal(out.pixel_array, before), f"{key}: dropping codestream text changed the image"
        wanted = scrub_pattern(reportable(collect_identifiers(original), settings.profile.options))
        for tag in _kept_by_an_option(original, settings.profile.options):
            before = original[tag].value
            if identity is not None and wanted is not None and wanted.search(str(before)):
                continue  # it held the patient: cleaned, rightly
            assert tag in out, f"{key}: {original[tag].keyword} kept by an option is missing"
            assert out[tag].value == before, f"{key}: {original[tag].keyword} kept by an option was changed"
