"""The written forms of header values (desktop.core.dicom.identity_forms) and the data file they come from."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from desktop.core.common.resources import resource_path
from desktop.core.dicom.identity_forms import (
    FORMATS_FILE,
    Form,
    date_forms,
    hour_of,
    load_formats,
    name_forms,
    number_forms,
    time_forms,
    time_regex,
)


def _texts(forms: tuple[Form, ...]) -> set[str]:
    return {f.text.upper() for f in forms}


def _searched(forms: tuple[Form, ...]) -> list[str]:
    return [f.text for f in forms if f.searched]


# -- dates ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("day, written", [
    ("20120901", ["01.09.2012", "1.9.2012", "2012/09/01", "2012.09.01", "09/01/2012", "9/1/2012", "01-09-2012",
                  "01.09.12", "1.9.12", "9/1/12", "01/09/12", "120901",
                  "01-SEP-12", "01-SEP-2012", "01 Sep 2012", "1 Sep 2012", "01SEP2012", "Sep 1, 2012", "SEP 01 2012",
                  "September 1, 2012", "1 September 2012", "1. September 2012", "01. September 2012",
                  "1 septembre 2012", "1 de septiembre de 2012", "1 settembre 2012", "01-SET-12"]),
    ("20020524", ["24-MAY-02", "24MAY02", "24-MAI-2002", "24. Mai 2002", "24 mei 2002", "24 maggio 2002",
                  "24 mayo 2002", "5/24/02", "24.05.02"]),
    ("20110525", ["5/25/2011", "May 25, 2011", "25.05.11", "25/5/11", "05-25-2011"]),
    ("19700302", ["2. März 1970", "2. Maerz 1970", "02-MRZ-1970", "02-MRT-70", "2 mars 1970"]),
])
def test_a_date_is_written_in_every_usual_form(day: str, written: list[str]):
    forms = date_forms(day)
    missing = [w for w in written if w.upper() not in _texts(forms)]
    assert not missing
    assert forms[0] == Form(day, True)  # the value as stored comes first, searched


def test_only_the_stored_value_and_the_forms_the_leak_check_used_are_searched():
    assert _searched(date_forms("20120901")) == ["20120901", "2012-09-01", "01/09/2012", "09/01/2012", "01.09.2012"]


def test_forms_are_unique_ignoring_case_and_few_enough_to_search():
    for day in ("20120901", "20020524", "19991231", "20000101", "19700302"):
        forms = date_forms(day)
        folded = [f.text.casefold() for f in forms]
        assert len(folded) == len(set(folded))
        assert 20 <= len(forms) <= 90  # each form is a branch of the scrub pattern of every instance


def test_a_value_that_is_not_a_date_has_numeric_forms_at_most():
    assert date_forms("2012090") == () and date_forms("2012-09-01") == () and date_forms("") == ()
    odd = _texts(date_forms("20121301"))  # month 13: no month name can be given
    assert "01.13.2012" in odd and not any(c.isalpha() for text in odd for c in text)


def test_another_date_has_none_of_the_forms():
    ours, other = _texts(date_forms("20120901")), _texts(date_forms("20120902"))
    assert not ours & other


# -- times ---------------------------------------------------------------------------------------

def test_a_time_with_seconds_is_written_in_its_forms():
    forms = time_forms("142317")
    assert _searched(forms) == ["14:23:17"]
    assert {"142317", "14.23.17", "2:23:17 PM", "02:23:17 PM"} <= _texts(forms)
    assert {"6:30:00", "06:30:00 AM", "6:30:00 AM"} <= _texts(time_forms("063000"))
    fraction = time_forms("141127.937501")
    assert _searched(fraction) == ["14:11:27", "141127.937501"]  # the stored value is unique enough
    assert "14:11:27.937501" in _texts(fraction)
    assert _searched(time_forms("14:23:17")) == ["14:23:17"]  # the retired ACR-NEMA form (PS3.5 6.2)


@pytest.mark.parametrize("value", ["1423", "14", "", "000000", "000000.000000", "241000", "146000", "1423170",
                                   "x42317"])
def test_no_forms_without_seconds_for_midnight_or_for_what_is_not_a_time(value: str):
    assert time_forms(value) == ()


def test_hours_and_minutes_alone_are_never_a_form():
    assert not any(len(f.text.split(":")) == 2 for f in time_forms("142317"))
    assert "14:23" not in _texts(time_forms("142317"))


# -- IDs, phone numbers, names ------------------------------------------------------------------

def test_an_id_without_and_with_other_separators():
    forms = number_forms("123-45-678")
    assert _searched(forms) == ["12345678"]
    assert "123 45 678" in _texts(forms)
    assert "123-45-678" not in _texts(forms)  # the value itself is the caller's
    assert number_forms("12345678") == ()  # nothing to remove, nowhere to add


def test_an_id_without_its_prefix_and_a_phone_number_without_its_codes():
    assert {"44710093", "4471 0093", "4471-0093", "MRN44710093"} <= _texts(number_forms("MRN-4471-0093"))
    assert "0093" not in _texts(number_forms("MRN-4471-0093"))  # too short to stand alone
    phone = _texts(number_forms("+1 503-555-0199", phone=True))
    assert {"15035550199", "5035550199", "(503) 555-0199", "503 555 0199", "555-0199", "5550199"} <= phone
    assert not any(len("".join(c for c in t if c.isalnum())) < 7 for t in phone)


def test_a_name_in_the_orders_people_write_it():
    forms = name_forms("Quisenberry^Marguerite^Odalys")
    assert {"MARGUERITE QUISENBERRY", "QUISENBERRY MARGUERITE", "QUISENBERRY, MARGUERITE",
            "MARGUERITE ODALYS QUISENBERRY"} <= _texts(forms)
    assert not _searched(forms)  # the name and its parts are searched already
    assert name_forms("SMITH") == () and name_forms("^JOHN") == ()
    assert "JOHN DOE" in _texts(name_forms("DOE^JOHN=ドウ^ジョン"))


# -- the data file ------------------------------------------------------------------------------

def test_the_formats_are_read_from_resources():
    path = resource_path(*FORMATS_FILE)
    assert path.is_file()
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data["languages"]) >= {"en", "de", "fr", "es", "it", "nl"}
    formats = load_formats()
    assert formats.date_searched[0] == "{YYYY}{MM}{DD}" and "{DD}-{MON}-{YY}" in formats.abbreviated


def test_another_formats_file_changes_the_forms(tmp_path: Path):
    data = json.loads(resource_path(*FORMATS_FILE).read_text(encoding="utf-8"))
    data["dates"]["written"] = ["{DD}~{MM}~{YYYY}"]
    data["dates"]["with_month_abbreviations"] = []
    for lang in data["languages"].values():
        lang["formats"] = []
    path = tmp_path / "formats.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    forms = date_forms("20120901", load_formats(path))
    assert [f.text for f in forms if not f.searched] == ["01~09~2012"]


def test_a_format_with_an_unknown_field_is_refused(tmp_path: Path):
    data = json.loads(resource_path(*FORMATS_FILE).read_text(encoding="utf-8"))
    data["times"]["written"].append("{HH}h{MIN}")
    path = tmp_path / "formats.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="MIN"):
        load_formats(path)


def test_a_time_pattern_by_hour_leaves_plain_numbers_alone():
    pattern = re.compile(f"(?:{time_regex(frozenset({14}))})$", re.IGNORECASE)
    assert all(pattern.match(t) for t in ("14:00:59", "14.59.00", "2:05:07 PM", "14:23:17.25"))
    assert not any(pattern.match(t) for t in ("142317", "15:23:17", "2:23:17 AM", "14:23", "14:60:00"))
    assert hour_of("14:23:17") == 14 and hour_of("063000.5") == 6
    assert hour_of("2:23:17 PM") is None and hour_of("250000") is None
