"""The export check: what a user sees when an export is allowed, refused or overridden."""

from __future__ import annotations

from datetime import date

import pytest

from desktop.core.consent import (
    ConsentError,
    ExportItem,
    ExportRequest,
    Purpose,
    Scope,
    check_export,
    override,
    withdraw,
)

PATIENT = "patient-key-7f3a"
OTHER_PATIENT = "patient-key-0b21"
CT = "1.2.826.0.1.3680043.8.498.101"
MR = "1.2.826.0.1.3680043.8.498.202"
CT_SERIES = ("1.2.826.0.1.3680043.8.498.101.1", "1.2.826.0.1.3680043.8.498.101.2",
             "1.2.826.0.1.3680043.8.498.101.3")
CT_LABEL = "CT chest 2024-03-01"
MR_LABEL = "MR brain 2024-05-20"
TODAY = date(2025, 6, 1)
GOOD_REASON = "Stroke patient transferred tonight; the neurosurgeon on call must see the scan."


def ct_items(series=CT_SERIES, patient=PATIENT):
    return tuple(ExportItem(patient, CT, s, CT_LABEL) for s in series)


def request(purpose=Purpose.TEACHING, items=None, deidentified=True, on=TODAY, **extra):
    return ExportRequest(purpose, items or ct_items(), deidentified, on, **extra)


def assert_refused(decision, *phrases, label=CT_LABEL):
    """Refused, and the message names the study and says what is missing, without any UID."""
    assert not decision.allowed
    line = next(s.message for s in decision.refused if s.label == label)
    assert line.startswith(label + ": ")
    for phrase in phrases:
        assert phrase in line and phrase in decision.message
    for secret in (PATIENT, CT, MR, *CT_SERIES):
        assert secret not in decision.message


def test_a_whole_patient_consent_allows_any_study_and_shows_its_limits(consent):
    record = consent(purposes={Purpose.TEACHING, Purpose.CONFERENCE}, limits="no facial images")
    items = ct_items() + (ExportItem(PATIENT, MR, None, MR_LABEL),)
    decision = check_export(request(items=items), [record])
    assert decision.allowed and not decision.override_allowed
    assert decision.relied_on == (record.id,)
    assert decision.limits == ("no facial images",)
    assert [s.label for s in decision.studies] == [CT_LABEL, MR_LABEL]
    assert "2 studies may be exported for teaching" in decision.message


def test_a_purpose_not_consented_to_is_refused(consent):
    decision = check_export(request(Purpose.PUBLICATION), [consent()])
    assert_refused(decision, "no consent or waiver for journal publication")
    assert not decision.override_allowed


@pytest.mark.parametrize(("given", "asked"), [
    (Purpose.PUBLICATION, Purpose.TEACHING),
    (Purpose.PUBLICATION, Purpose.CONFERENCE),
    (Purpose.TEACHING, Purpose.PUBLIC),
    (Purpose.PUBLICATION, Purpose.PUBLIC),
    (Purpose.PUBLIC, Purpose.PUBLICATION),
    (Purpose.CONFERENCE, Purpose.TEACHING),
])
def test_no_purpose_implies_another(consent, given, asked):
    assert not check_export(request(asked), [consent(purposes={given})]).allowed


def test_an_expired_consent_says_when_it_expired(consent):
    record = consent(valid_until=date(2025, 1, 31))
    assert check_export(request(on=date(2025, 1, 31)), [record]).allowed  # its last day
    assert_refused(check_export(request(), [record]), "the consent for teaching expired on 2025-01-31")


def test_a_withdrawn_consent_refuses_from_the_withdrawal_date_on(consent):
    record = withdraw(consent(), date(2025, 3, 1), "patient request")
    assert check_export(request(on=date(2025, 2, 28)), [record]).allowed
    for day in (date(2025, 3, 1), TODAY):
        assert_refused(check_export(request(on=day), [record]),
                       "the consent for teaching was withdrawn on 2025-03-01")


def test_a_consent_that_has_not_started_yet_is_refused(consent):
    record = consent(valid_from=date(2025, 9, 1))
    assert_refused(check_export(request(), [record]), "the consent for teaching starts only on 2025-09-01")


def test_a_consent_for_some_series_covers_only_those(consent):
    record = consent(scope=Scope(PATIENT, frozenset({CT}), frozenset(CT_SERIES[:2])))
    assert check_export(request(items=ct_items(CT_SERIES[:2])), [record]).allowed
    decision = check_export(request(), [record])
    assert_refused(decision, "the consent for teaching covers only 2 of 3 series")
    assert decision.relied_on == (record.id,)  # what it did allow is still on record
    whole_study = (ExportItem(PATIENT, CT, None, CT_LABEL),)
    assert_refused(check_export(request(items=whole_study), [record]),
                   "covers only some series of this study")


def test_a_partly_covered_study_says_what_happened_to_the_other_series(consent):
    some = consent(scope=Scope(PATIENT, frozenset({CT}), frozenset(CT_SERIES[:2])))
    rest = withdraw(consent(scope=Scope(PATIENT, frozenset({CT}), frozenset(CT_SERIES[2:]))),
                    date(2025, 3, 1), "patient request")
    assert_refused(check_export(request(), [some, rest]),
                   "covers only 2 of 3 series (for the others, the consent for teaching was withdrawn "
                   "on 2025-03-01)")


def test_a_study_consent_covers_that_study_only_and_never_another_patient(consent):
    record = consent(scope=Scope(PATIENT, frozenset({CT})))
    items = ct_items() + (ExportItem(PATIENT, MR, None, MR_LABEL),)
    decision = check_export(request(items=items), [record])
    assert [s.allowed for s in decision.studies] == [True, False]
    assert_refused(decision, "no consent or waiver for teaching", label=MR_LABEL)
    assert CT_LABEL not in decision.message  # only refused studies are named
    assert not check_export(request(items=ct_items(patient=OTHER_PATIENT)), [consent()]).allowed


def test_the_most_telling_reason_is_given_first(consent):
    records = [consent(purposes={Purpose.CONFERENCE}),
               withdraw(consent(), date(2025, 3, 1), "patient request")]
    decision = check_export(request(), records)
    assert_refused(decision, "the consent for teaching was withdrawn on 2025-03-01")
    assert "no consent or waiver" not in decision.message


def test_a_valid_record_wins_over_a_withdrawn_one_and_every_limit_is_shown(consent, waiver):
    records = [withdraw(consent(limits="old limit"), date(2025, 3, 1), "patient request"),
               consent(limits="no facial images"), waiver(limits="internal use only")]
    decision = check_export(request(), records)
    assert decision.allowed
    assert decision.relied_on == (records[1].id, records[2].id)
    assert decision.limits == ("no facial images", "internal use only")


def test_a_waiver_works_like_consent_for_its_purposes_and_protocol(waiver):
    record = waiver(purposes={Purpose.RESEARCH}, protocol_id="ABC-17", valid_until=date(2025, 12, 31))
    assert check_export(request(Purpose.RESEARCH, protocol_id="abc-17"), [record]).allowed
    assert_refused(check_export(request(Purpose.RESEARCH, protocol_id="XYZ-9"), [record]),
                   "the research waiver is for protocol ABC-17, not XYZ-9")
    assert_refused(check_export(request(Purpose.RESEARCH, protocol_id="ABC-17", on=date(2026, 1, 1)),
                                [record]), "the waiver for research expired on 2025-12-31")
    assert_refused(check_export(request(Purpose.TEACHING), [record]), "no consent or waiver for teaching")


def test_a_research_consent_is_for_its_protocol_only(consent):
    record = consent(purposes={Purpose.RESEARCH}, protocol_id="ABC")
    assert_refused(check_export(request(Purpose.RESEARCH, protocol_id="XYZ"), [record]),
                   "the research consent is for protocol ABC, not XYZ")
    assert_refused(check_export(request(Purpose.RESEARCH), [record]),
                   "the research consent is for protocol ABC, but this export names no protocol")


def test_a_site_policy_allows_de_identified_exports_only(site_policy):
    record = site_policy(purposes={Purpose.TEACHING, Purpose.PUBLICATION})
    assert check_export(request(Purpose.PUBLICATION, deidentified=True), [record]).allowed
    assert_refused(check_export(request(Purpose.PUBLICATION, deidentified=False), [record]),
                   "the site policy allows this only for de-identified exports")


def test_a_site_policy_never_allows_care(site_policy):
    records = [site_policy(purposes=set(Purpose) - {Purpose.CARE, Purpose.RESEARCH})]
    decision = check_export(request(Purpose.CARE, deidentified=True, colleague="Dr Smith"), records)
    assert_refused(decision, "no consent or waiver for care consultation")


def test_a_care_consent_names_the_colleague(consent):
    record = consent(purposes={Purpose.CARE}, colleague="Dr. Anna  Jones")
    assert check_export(request(Purpose.CARE, deidentified=False, colleague="dr anna jones"), [record]).allowed
    assert_refused(check_export(request(Purpose.CARE, colleague="Dr Smith"), [record]),
                   "the care consent names Dr. Anna Jones, not Dr Smith")
    assert_refused(check_export(request(Purpose.CARE), [record]), "but this export names no colleague")


def test_a_refused_care_export_may_be_overridden_with_a_justification(consent):
    req = request(Purpose.CARE, deidentified=False, colleague="Dr Smith")
    decision = check_export(req, [consent(purposes={Purpose.CARE}, colleague="Dr Jones")])
    assert decision.override_allowed
    assert "you may override this with a written justification" in decision.message
    done = override(decision, req, f"  {GOOD_REASON}  ", by="Dr Ward")
    assert done.allowed and done.overridden and not done.override_allowed
    assert done.justification == GOOD_REASON and done.overridden_by == "Dr Ward"
    assert GOOD_REASON in done.message and CT_LABEL in done.message and "Dr Ward" in done.message
    assert not done.studies[0].allowed  # the study itself still has no consent: the audit says so
    with pytest.raises(ConsentError, match="already overridden"):
        override(done, req, GOOD_REASON, by="Dr Ward")


@pytest.mark.parametrize("purpose", [p for p in Purpose if p is not Purpose.CARE])
def test_only_care_can_be_overridden(consent, purpose):
    req = request(purpose, protocol_id="ABC" if purpose is Purpose.RESEARCH else None)
    decision = check_export(req, [])
    assert not decision.override_allowed and "override" not in decision.message
    with pytest.raises(ConsentError, match="Only sharing for the patient's care can be overridden"):
        override(decision, req, GOOD_REASON, by="Dr Ward")


@pytest.mark.parametrize("justification", [
    "", "urgent", "needed for care", "a" * 40, "asdf asdf asdf asdf asdf asdf", "x y z x y z x y z x y z x y z",
])
def test_an_override_needs_a_real_sentence(justification):
    req = request(Purpose.CARE, colleague="Dr Smith")
    with pytest.raises(ConsentError, match="at least 20 characters"):
        override(check_export(req, []), req, justification, by="Dr Ward")


def test_an_override_needs_a_name_and_a_refused_decision_for_this_export(consent):
    req = request(Purpose.CARE, colleague="Dr Smith")
    refused = check_export(req, [])
    with pytest.raises(ConsentError, match="name of the person"):
        override(refused, req, GOOD_REASON, by="  ")
    other = request(Purpose.CARE, colleague="Dr Smith", items=(ExportItem(PATIENT, MR, None, MR_LABEL),))
    with pytest.raises(ConsentError, match="made for another export"):
        override(refused, other, GOOD_REASON, by="Dr Ward")
    allowed_req = request(Purpose.CARE, colleague="Dr Smith")
    allowed = check_export(allowed_req, [consent(purposes={Purpose.CARE}, colleague="Dr Smith")])
    with pytest.raises(ConsentError, match="needs no override"):
        override(allowed, allowed_req, GOOD_REASON, by="Dr Ward")


def test_an_export_must_name_its_studies():
    with pytest.raises(ConsentError, match="at least one study"):
        ExportRequest(Purpose.TEACHING, (), True, TODAY)
    with pytest.raises(ConsentError, match="needs a label"):
        ExportItem(PATIENT, CT, None, " ")


# -- site-wide records ---------------------------------------------------------------------------
def test_a_site_policy_for_every_patient_allows_de_identified_exports_of_anyone(site_policy):
    from desktop.core.consent import EVERY_PATIENT

    policy = site_policy(scope=Scope(EVERY_PATIENT))
    items = ct_items() + ct_items(patient=OTHER_PATIENT)
    decision = check_export(request(items=items), [policy])
    assert decision.allowed and decision.relied_on == (policy.id,)
    refused = check_export(request(items=items, deidentified=False), [policy])
    assert not refused.allowed and "de-identified" in refused.message


def test_a_waiver_for_every_patient_covers_its_protocol_only(waiver):
    from desktop.core.consent import EVERY_PATIENT

    irb = waiver(scope=Scope(EVERY_PATIENT), purposes=frozenset({Purpose.RESEARCH}), protocol_id="LUNG-7")
    assert check_export(request(Purpose.RESEARCH, protocol_id="LUNG-7"), [irb]).allowed
    assert not check_export(request(Purpose.RESEARCH, protocol_id="HEART-2"), [irb]).allowed


def test_a_patient_consent_cannot_be_site_wide_nor_a_site_wide_scope_list_studies(consent):
    from desktop.core.consent import EVERY_PATIENT

    with pytest.raises(ConsentError, match="only a waiver or a site policy"):
        consent(scope=Scope(EVERY_PATIENT))
    with pytest.raises(ConsentError, match="site-wide"):
        Scope(EVERY_PATIENT, frozenset({CT}))
