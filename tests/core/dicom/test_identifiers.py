"""The identifiers of an instance (desktop.core.dicom.identifiers): which tokens, which kinds,
which the leak check reports under which options, and what the scrub pattern removes."""

from __future__ import annotations

import pydicom
from pydicom.dataset import Dataset

from desktop.core.dicom.identifiers import (
    Identifier,
    collect_identifiers,
    reportable,
    scrub_pattern,
    texts_of,
)


def _ds(**values: object) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def _of(identifiers: list[Identifier], kind: str) -> set[str]:
    """Every text (variants included) of one kind, upper case."""
    return {t.upper() for t in texts_of(i for i in identifiers if i.kind == kind)}


def test_scrubbing_removes_a_written_date_and_a_physicians_name():
    ids = collect_identifiers(_ds(PatientName="DOE^JANE", PatientBirthDate="20020524",
                                  ReferringPhysicianName="SMITH^JOHN"))
    pattern = scrub_pattern(ids)
    assert pattern.sub("*", "seen 24-May-2002 by Dr Smith") == "seen * by Dr *"
    assert pattern.sub("*", "DOB 5/24/02, Jane Doe; DOE, JANE; 24. Mai 2002") == "DOB *, *; *; *"
    # whole words only, and only the header's date
    assert pattern.sub("*", "Smithson on 25-May-2002, 124-MAY-2002") == "Smithson on 25-May-2002, 124-MAY-2002"


def test_the_leak_check_searches_few_forms_and_the_scrub_all_of_them():
    ids = collect_identifiers(_ds(StudyDate="20120901"))
    assert sorted(i.text for i in ids) == sorted(["20120901", "2012-09-01", "01/09/2012", "09/01/2012", "01.09.2012"])
    assert {"01-SEP-12", "SEP 1, 2012", "1.9.12"} <= _of(ids, "date")


def test_ids_and_phone_numbers_with_and_without_separators():
    ids = collect_identifiers(_ds(PatientID="123-45-678", PatientTelephoneNumbers="+1 (503) 555-0199"))
    assert {"123-45-678", "12345678", "123 45 678"} <= _of(ids, "id")
    assert "12345678" in {i.text for i in ids}  # searched by the leak check too
    assert {"15035550199", "503-555-0199", "(503) 555-0199", "555-0199"} <= _of(ids, "phone")
    pattern = scrub_pattern(ids)
    assert pattern.sub("*", "MRN 12345678, call 503 555 0199") == "MRN *, call *"


def test_times_with_seconds_are_identifiers_and_kept_under_either_date_option():
    ids = collect_identifiers(_ds(StudyTime="142317", SeriesTime="1423", ContentTime="000000",
                                  AcquisitionDateTime="20120901081500.25+0100", StudyDate="20120901"))
    times = _of(ids, "time")
    assert {"14:23:17", "2:23:17 PM", "08:15:00", "081500.25"} <= times
    assert not any(t.startswith("00") for t in times)  # midnight is the dummy time
    assert "14:23" not in times and not any(t.count(":") == 1 for t in times)  # no seconds, no token
    assert "20120901081500.25+0100" in {i.text for i in ids if i.kind == "date"}

    def kinds(options: set[str]) -> set[str]:
        return {i.kind for i in reportable(ids, options)}

    assert kinds(set()) == {"date", "time"}
    assert kinds({"retain_modified_dates"}) == {"date"}  # whole days shift, times of day stay
    assert kinds({"retain_full_dates"}) == set()


def test_reportable_keeps_its_meaning_for_the_other_kinds():
    ids = [Identifier("name", "PatientName", "DOE"), Identifier("institution", "InstitutionName", "RIVERSIDE"),
           Identifier("device", "StationName", "CT01"), Identifier("date", "StudyDate", "20040119")]
    assert [i.kind for i in reportable(ids, set())] == ["name", "institution", "device", "date"]
    assert [i.kind for i in reportable(ids, {"retain_institution_identity", "retain_device_identity"})] == [
        "name", "date"]


def test_e_mail_addresses_in_any_text_and_telecom_information():
    ds = _ds(PatientTelecomInformation="mailto:m.q@wexcombe-mail.example\r\ntel:+1 503-555-0199",
             FrameComments="Frame of jane.doe@example.org")
    ds.add_new(0x00091010, "LO", "private: x@y.example")  # private values are not collected
    ids = collect_identifiers(ds)
    assert _of(ids, "email") == {"M.Q@WEXCOMBE-MAIL.EXAMPLE", "JANE.DOE@EXAMPLE.ORG"}
    assert {"15035550199", "503-555-0199"} <= _of(ids, "phone")
    assert not any("MAILTO" in t for t in _of(ids, "phone"))
    assert reportable(ids, {"retain_full_dates", "retain_device_identity"})  # always reported


def test_physicians_at_any_depth_and_names_in_any_order():
    ds = _ds(PatientName="KOWALSKI^ANNA")
    ds.ReferringPhysicianIdentificationSequence = [_ds(PersonIdentificationCodeSequence=[
        _ds(CodeValue="X", CodingSchemeDesignator="99X", CodeMeaning="x")])]
    ds.RequestAttributesSequence = [_ds(ScheduledPerformingPhysicianName="THORNQUIST^EVANDER")]
    ids = collect_identifiers(ds)
    names = _of(ids, "name")
    assert {"THORNQUIST", "EVANDER", "ANNA KOWALSKI", "KOWALSKI, ANNA", "EVANDER THORNQUIST"} <= names
    assert scrub_pattern(ids).sub("*", "Anna Kowalski seen by Evander Thornquist") == "* seen by *"


def test_acr_nema_dotted_dates_are_read():
    ds = Dataset()
    ds.add_new(0x00181012, "DA", "2012.09.01")
    texts = _of(collect_identifiers(ds), "date")
    assert {"2012.09.01", "20120901", "01-SEP-2012"} <= texts


def test_times_are_scrubbed_with_their_separators_by_their_hour():
    ids = collect_identifiers(_ds(StudyTime="142317", PatientBirthTime="063000.5"))
    pattern = scrub_pattern(ids)
    assert pattern.sub("*", "at 14:23:17, 2:23:17 PM, 14.23.17; born 06:30:00.5, 6:30:00 AM") == (
        "at *, *, *; born *, *")
    # Another minute of the same hour goes too (the instances of a series share one pattern);
    # other hours, times without seconds and numbers stay.
    kept = "15:23:17 14:23 9:15:00 0.142317 1423170"
    assert pattern.sub("*", f"14:59:01 {kept}") == f"* {kept}"


def test_the_scrub_pattern_is_compiled_once_per_set_of_texts_and_hours():
    ds = pydicom.Dataset()
    ds.PatientName, ds.StudyDate, ds.ContentTime = "DOE^JOHN", "20120901", "142317"
    first = scrub_pattern(collect_identifiers(ds))
    assert scrub_pattern(collect_identifiers(ds)) is first
    ds.ContentTime = "143002.5"  # the next instance of the series: same hour
    assert scrub_pattern(collect_identifiers(ds)) is first
    ds.ContentTime = "150002"
    assert scrub_pattern(collect_identifiers(ds)) is not first
    assert scrub_pattern([]) is None
