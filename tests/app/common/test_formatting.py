"""DICOM values as a person reads them."""

from desktop.app.common.formatting import date_key, dicom_date, dicom_time, person_name, plural


def test_person_name_reads_family_comma_given():
    assert person_name("Doe^John") == "Doe, John"
    assert person_name("Doe^John^Paul^Dr^Jr") == "Doe, Dr John Paul Jr"
    assert person_name("Anonymized") == "Anonymized"
    assert person_name("^John") == "John"
    assert person_name("Yamada^Tarou=山田^太郎=やまだ^たろう") == "Yamada, Tarou"
    assert person_name("") == ""


def test_dates_read_iso_and_sort_chronologically():
    assert dicom_date("20110617") == "2011-06-17"
    assert dicom_date("1994.11.05") == "1994-11-05"  # ACR-NEMA form, found in old files
    assert dicom_date("") == ""
    assert dicom_date("2011") == "2011"
    assert date_key("1994.11.05") < date_key("19950101") < date_key("20110617")
    assert dicom_time("105220.123") == "10:52"


def test_plural():
    assert plural(1, "study", "studies") == "1 study"
    assert plural(2, "study", "studies") == "2 studies"
    assert plural(1234, "instance") == "1,234 instances"
