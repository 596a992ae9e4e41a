"""Typed text against the patient's identifiers: a given name that is also a word counts only
when written as a name; the family name, a whole name, IDs and every date form always count."""

from __future__ import annotations

import pydicom
import pytest

from desktop.app.gate.typed_text import find_typed_leaks
from desktop.core.dicom.identifiers import collect_identifiers


@pytest.fixture(scope="module")
def identifiers():  # noqa: ANN201
    ds = pydicom.Dataset()
    ds.PatientName = "Grant^Will^May"
    ds.PatientID = "QX4471902"
    ds.PatientBirthDate = "19610423"
    ds.AccessionNumber = "ACC99812"
    return collect_identifiers(ds)


@pytest.mark.parametrize("text", [
    "The effusion will resolve; it may recur.",
    "Images may show it best in the late phase.",  # 'may' as a verb
    "Consider a different window.",
])
def test_common_words_that_are_given_names_are_not_the_patient(identifiers, text):  # noqa: ANN001
    assert find_typed_leaks([("History", text)], identifiers) == []


@pytest.mark.parametrize(("text", "kind"), [
    ("Will presented with dyspnoea.", "name"),  # a given name written as a name
    ("Seen by Dr A with MAY at bedside.", "name"),
    ("pt grant, fall at home", "name"),  # the family name in lower case
    ("will grant, 65", "name"),  # a whole name in lower case
    ("Grant W.", "name"),
    ("MRN QX4471902", "id"),
    ("ID:QX4471902", "id"),
    ("born 23/04/1961", "date"),
    ("born April 23, 1961", "date"),
    ("dob 1961-04-23", "date"),
    ("acc ACC99812", "accession"),
])
def test_identity_in_free_text_is_found_however_it_is_written(identifiers, text, kind):  # noqa: ANN001
    leaks = find_typed_leaks([("Findings", text)], identifiers)
    assert len(leaks) == 1 and kind in leaks[0].kinds and leaks[0].where == "Findings", (text, leaks)
