"""Keyed UID mapping and date shifting: repeatable, consistent, irreversible without the key."""

from __future__ import annotations

import re
from datetime import date

import pytest

from desktop.core.deid.mapping import (
    MAX_SHIFT_DAYS,
    MIN_SHIFT_DAYS,
    date_shift_days,
    map_uid,
    shift_date,
    shift_datetime,
)

KEY, OTHER = b"k" * 32, b"o" * 32
CT_STUDY = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"


def test_uids_map_the_same_way_every_time_and_differ_by_key():
    assert map_uid(KEY, CT_STUDY) == map_uid(KEY, CT_STUDY)
    assert map_uid(KEY, CT_STUDY + "\x00") == map_uid(KEY, CT_STUDY)  # padding does not matter
    assert map_uid(KEY, CT_STUDY) != map_uid(OTHER, CT_STUDY)
    assert map_uid(KEY, CT_STUDY) != map_uid(KEY, CT_STUDY + ".1")


def test_mapped_uids_are_valid_dicom_uids():
    for i in range(200):
        uid = map_uid(KEY, f"1.2.840.{i}")
        assert len(uid) <= 64
        assert re.fullmatch(r"2\.25\.(0|[1-9][0-9]*)", uid)  # PS3.5 9.1: no leading zeros
        assert CT_STUDY not in uid


def test_each_patient_gets_one_shift_in_range_and_intervals_are_kept():
    shifts = {date_shift_days(KEY, f"id:|PAT{i}") for i in range(200)}
    assert all(-MAX_SHIFT_DAYS <= s <= -MIN_SHIFT_DAYS for s in shifts)
    assert len(shifts) > 150  # patients do not share one offset
    days = date_shift_days(KEY, "id:|1CT1")
    assert days == date_shift_days(KEY, "id:|1CT1")
    birth, study = shift_date("19400305", days), shift_date("20040826", days)
    as_date = lambda s: date(int(s[:4]), int(s[4:6]), int(s[6:]))  # noqa: E731
    assert (as_date(study) - as_date(birth)) == (date(2004, 8, 26) - date(1940, 3, 5))
    assert study != "20040826"


def test_ranges_multiple_values_leap_days_and_datetimes():
    assert shift_date("20240229", 1) == "20240301"
    assert shift_date("20200101-20201231", -1) == "20191231-20201230"
    assert shift_date("20200101\\20200102", 30) == "20200131\\20200201"
    assert shift_date("", 10) == ""
    assert shift_datetime("20040826185059.123456+0200", -2) == "20040824185059.123456+0200"


@pytest.mark.parametrize("bad", ["2004.08.26", "200408", "2004082X", "20041332"])
def test_a_date_that_cannot_be_shifted_is_an_error_not_a_guess(bad):
    with pytest.raises(ValueError):
        shift_date(bad, 5)
