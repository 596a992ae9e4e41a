"""The study browser's consent badge and its tooltip."""

from __future__ import annotations

from datetime import date

import pytest

from desktop.core.consent import ConsentStatus, Purpose, Scope, study_badge, study_status, withdraw

PATIENT = "patient-key-7f3a"
STUDY = "1.2.826.0.1.3680043.8.498.101"
SERIES = ("1.2.826.0.1.3680043.8.498.101.1", "1.2.826.0.1.3680043.8.498.101.2",
          "1.2.826.0.1.3680043.8.498.101.3")
TODAY = date(2025, 6, 1)


def badge(records, series=SERIES, study=STUDY, patient=PATIENT):
    return study_badge(patient, study, series, records, TODAY)


def some_series(n):
    return Scope(PATIENT, frozenset({STUDY}), frozenset(SERIES[:n]))


def test_no_record_means_no_consent(consent):
    assert badge([]) == badge([consent()], patient="patient-key-other")
    assert badge([]).status is ConsentStatus.NONE
    assert badge([]).tooltip == "No consent recorded for this study"
    assert badge([consent(scope=Scope(PATIENT, frozenset({"9.9.9"})))]).status is ConsentStatus.NONE


def test_valid_records_covering_every_series_make_the_study_valid(consent):
    record = consent(purposes={Purpose.TEACHING, Purpose.CONFERENCE}, valid_until=date(2027, 5, 1))
    shown = badge([record])
    assert shown.status is ConsentStatus.VALID
    assert shown.tooltip == "Consent for teaching and conference until 2027-05-01"
    halves = [consent(scope=some_series(2)), consent(scope=Scope(PATIENT, frozenset({STUDY}),
                                                                 frozenset(SERIES[2:])))]
    assert badge(halves).status is ConsentStatus.VALID


def test_a_valid_waiver_or_site_policy_counts_and_says_what_it_is(waiver, site_policy):
    research = waiver(purposes={Purpose.RESEARCH}, protocol_id="ABC-17")
    assert badge([research]).status is ConsentStatus.VALID
    assert badge([research]).tooltip == "Waiver for research (protocol ABC-17)"
    assert badge([site_policy()]).tooltip == "Site policy for teaching, de-identified only"


def test_records_covering_some_series_make_the_study_partial(consent):
    shown = badge([consent(scope=some_series(2))])
    assert shown.status is ConsentStatus.PARTIAL
    assert shown.tooltip.startswith("Covers 2 of 3 series only: Consent for teaching")


def test_partial_wins_over_withdrawn_and_withdrawn_over_expired(consent):
    withdrawn = withdraw(consent(), date(2025, 3, 1), "patient request")
    expired = consent(purposes={Purpose.CONFERENCE}, valid_until=date(2025, 1, 31))
    assert badge([withdrawn, expired, consent(scope=some_series(1))]).status is ConsentStatus.PARTIAL
    shown = badge([expired, withdrawn])
    assert shown.status is ConsentStatus.WITHDRAWN
    assert shown.tooltip == "Consent for teaching withdrawn on 2025-03-01"
    shown = badge([expired])
    assert shown.status is ConsentStatus.EXPIRED
    assert shown.tooltip == "Consent for conference expired on 2025-01-31"


def test_a_consent_that_starts_later_is_no_consent_yet(consent):
    shown = badge([consent(valid_from=date(2025, 9, 1))])
    assert shown.status is ConsentStatus.NONE
    assert shown.tooltip == "Consent for teaching valid only from 2025-09-01"


@pytest.mark.parametrize(("scope", "expected"), [
    (Scope(PATIENT), ConsentStatus.VALID),
    (Scope(PATIENT, frozenset({STUDY})), ConsentStatus.VALID),
    (Scope(PATIENT, frozenset({STUDY}), frozenset(SERIES[:1])), ConsentStatus.PARTIAL),
])
def test_a_study_whose_series_are_not_listed_is_judged_as_a_whole(consent, scope, expected):
    assert study_status(PATIENT, STUDY, (), [consent(scope=scope)], TODAY) is expected


def test_every_badge_has_a_title():
    assert [s.title for s in ConsentStatus] == ["No consent", "Partial consent", "Consent",
                                                 "Consent expired", "Consent withdrawn"]
