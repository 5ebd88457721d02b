"""The simulated cohort looks like the published trial (Chevallier et al., Blood 2012;119:2474)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import statistics
import subprocess
import sys
from collections import Counter

from trialdesk.simulate import course_plan, simulate_cohort


def _data(subject, form_code, visit_code=None):
    record = subject.record(form_code, visit_code)
    assert record is not None, f"{subject.label} has no {form_code}"
    return record.data


def test_the_same_seed_gives_the_same_cohort(protocol, cohort):
    again = simulate_cohort(protocol, seed=2012)
    assert again == cohort


def test_the_cohort_does_not_depend_on_the_process(cohort):
    """No set or hash order leaks into the cohort: another interpreter, another hash seed."""
    code = (
        "import hashlib; from trialdesk.protocol import load_default_protocol;"
        "from trialdesk.simulate import simulate_cohort;"
        "print(hashlib.sha256(repr(simulate_cohort(load_default_protocol(), seed=2012)).encode()).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == hashlib.sha256(repr(cohort).encode()).hexdigest()


def test_another_seed_gives_another_cohort(protocol, cohort):
    other = simulate_cohort(protocol, seed=7)
    assert other != cohort
    assert [s.screened_on for s in other.subjects] != [s.screened_on for s in cohort.subjects]
    assert len(other.treated) == 15


def test_fifteen_patients_are_treated_and_some_fail_screening(cohort):
    assert len(cohort.treated) == 15
    assert len(cohort.screen_failures) >= 5
    assert all(s.status == "screen_failed" for s in cohort.subjects if not s.treated)
    assert all(s.status in ("completed", "withdrawn", "died", "enrolled") for s in cohort.treated)


def test_every_site_treats_someone_and_the_sponsor_site_most(protocol, cohort):
    counts = Counter(s.site_code for s in cohort.treated)
    assert set(counts) == {site.code for site in protocol.sites}
    assert counts["NTE"] == max(counts.values())
    assert all(counts["NTE"] > n for code, n in counts.items() if code != "NTE")


def test_median_age_is_the_published_one(cohort):
    ages = [_data(s, "screening")["age_years"] for s in cohort.treated]
    assert statistics.median(ages) == 62
    assert min(ages) >= 18 and max(ages) <= 85
    for s in cohort.subjects:
        age = _data(s, "screening")["age_years"]
        assert s.screened_on.year - s.year_of_birth in (age, age + 1)


def test_recruitment_spreads_from_the_study_start_to_mid_2011(cohort):
    """Registry record NCT00724360: study start November 2006, primary completion July 2011."""
    enrolled = sorted(s.enrolled_on for s in cohort.treated)
    assert dt.date(2006, 11, 1) <= enrolled[0] <= dt.date(2007, 3, 1)
    assert dt.date(2010, 6, 1) <= enrolled[-1] <= dt.date(2011, 7, 31)
    years = Counter(d.year for d in enrolled)
    assert max(years.values()) <= 6  # slow recruitment, no burst
    first = cohort.subject("NTE-001")
    assert first.enrolled_on == enrolled[0]


def test_no_one_is_screened_before_the_site_opens(cohort):
    assert cohort.site_activation["NTE"] == min(cohort.site_activation.values())
    for s in cohort.subjects:
        assert s.screened_on >= cohort.site_activation[s.site_code]


def test_screening_numbers_and_subject_codes_follow_the_site_order(cohort):
    by_site = {}
    for s in cohort.subjects:  # screening order
        by_site.setdefault(s.site_code, []).append(s)
    for site, subjects in by_site.items():
        assert [s.screening_number for s in subjects] == [
            f"{site}-S{i:02d}" for i in range(1, len(subjects) + 1)
        ]
        treated = sorted((s for s in subjects if s.treated), key=lambda s: s.enrolled_on)
        assert [s.subject_code for s in treated] == [f"{site}-{i:03d}" for i in range(1, len(treated) + 1)]
    assert all(s.subject_code is None for s in cohort.screen_failures)
    assert all(re.fullmatch(r"[A-Z]{3}-\d{3}", s.subject_code) for s in cohort.treated)
    assert [s.screened_on for s in cohort.subjects] == sorted(s.screened_on for s in cohort.subjects)


def _responses(subject):
    return [r.data["investigator_response"] for r in subject.records_of("marrow_assessment")]


def test_exactly_two_patients_reach_a_partial_response_and_none_a_complete_one(cohort):
    responders = [s for s in cohort.treated if "PR" in _responses(s)]
    assert len(responders) == 2
    for s in cohort.treated:
        assert not {"CR", "CRp", "relapse"} & set(_responses(s))


def test_partial_responses_meet_the_protocol_thresholds(protocol, cohort):
    # BBMT 2010;16:1187, Table 4a: PR = blasts 5-25 %, -50 % from baseline, CR blood counts;
    # the one exception is the investigator's confirmed "cytolytic" PR (Blood 2012;119:2474),
    # whose platelets have not recovered
    rc = protocol.response_criteria
    cytolytic = 0
    for s in cohort.treated:
        confirmed = {code for code, _ in s.confirmed_responses}
        records = s.records_of("marrow_assessment")
        baseline = records[0].data
        assert baseline["investigator_response"] == "not_applicable"
        for r in records[1:]:
            m = r.data
            if m["investigator_response"] != "PR":
                continue
            assert rc.cr_marrow_blasts_below_pct <= m["marrow_blasts_pct"] <= rc.pr_marrow_blasts_max_pct
            decrease = (
                100 * (baseline["marrow_blasts_pct"] - m["marrow_blasts_pct"]) / baseline["marrow_blasts_pct"]
            )
            assert decrease >= rc.pr_min_decrease_pct
            assert m["anc"] >= rc.anc_min and m["circulating_blasts_present"] is False
            if r.visit_code in confirmed:
                cytolytic += 1
                assert m["platelets"] < rc.platelets_min
            else:
                assert m["platelets"] >= rc.platelets_min
    assert cytolytic >= 1


def test_the_simulated_responses_come_from_the_classifier_one_derived_and_one_confirmed(protocol, cohort):
    from trialdesk.clinical.course_of_disease import MarrowRecord, course_of_disease

    derived = confirmed = 0
    for s in cohort.treated:
        justified = {code for code, _ in s.confirmed_responses}
        marrows = [
            MarrowRecord.from_record(
                protocol, "marrow_assessment", r.data, confirmed=r.visit_code in justified
            )
            for r in s.records_of("marrow_assessment")
        ]
        course = course_of_disease(marrows, protocol.response_criteria, first_dose=s.first_dose_on)
        derived += course.derived.responder
        confirmed += course.confirmed.responder
    # the published outcome: 2 responses of 15 (Chevallier et al., Blood 2012;119:2474)
    assert (derived, confirmed) == (1, 2)


def test_an_abnormal_baseline_karyotype_normalises_in_the_cohort(protocol, cohort):
    from trialdesk.clinical.course_of_disease import MarrowRecord, course_of_disease

    responses = []
    for s in cohort.treated:
        marrows = [
            MarrowRecord.from_record(protocol, "marrow_assessment", r.data)
            for r in s.records_of("marrow_assessment")
        ]
        responses.append(
            course_of_disease(marrows, protocol.response_criteria, first_dose=s.first_dose_on).cytogenetic
        )
    assert sum(1 for c in responses if c.achieved) >= 1


def test_progression_is_a_rise_of_blasts_over_the_nadir(protocol, cohort):
    rise = 1 + protocol.response_criteria.progression_increase_pct / 100
    progressed = 0
    for s in cohort.treated:
        marrows = [r.data for r in s.records_of("marrow_assessment")]
        nadir = marrows[0]["marrow_blasts_pct"]
        for m in marrows[1:]:
            if m["investigator_response"] == "PD":
                progressed += 1
                assert m["marrow_blasts_pct"] >= nadir * rise or m.get("circulating_blasts_pct")
            else:
                assert m["marrow_blasts_pct"] < nadir * rise
            nadir = min(nadir, m["marrow_blasts_pct"])
    assert progressed >= 8  # most patients progress


def test_marrows_are_monthly_on_treatment(protocol, cohort):
    for s in cohort.treated:
        for r in s.records_of("marrow_assessment")[1:]:
            visit = protocol.visit(r.visit_code)
            day = (r.data["assessment_date"] - s.first_dose_on).days
            assert visit.earliest <= day <= visit.latest


def test_most_patients_die_within_months(cohort):
    died = [s for s in cohort.treated if s.status == "died"]
    assert len(died) >= 10
    survival = []
    for s in cohort.treated:
        eos = _data(s, "end_of_study")
        end = s.death_date or eos["last_known_alive_date"]
        survival.append((end - s.enrolled_on).days)
    assert 60 <= statistics.median(survival) <= 180  # a few months
    assert any(s.status in ("completed", "withdrawn") for s in cohort.treated)


def test_exactly_one_reversible_grade_3_cardiac_event(cohort):
    cardiac = []
    for s in cohort.treated:
        for r in s.records_of("adverse_event"):
            if r.data["event_term"] in (
                "Ejection fraction decreased",
                "Heart failure",
                "Left ventricular systolic dysfunction",
            ):
                cardiac.append((s, r.data))
    assert len(cardiac) == 1
    subject, event = cardiac[0]
    assert event["grade"] == 3
    assert event["ongoing"] is False and event["outcome"] == "recovered"
    assert event["resolution_date"] > event["onset_date"]
    # the LVEF shows it, and trastuzumab was held then reloaded
    baseline = _data(subject, "lvef", "SCR")["lvef_pct"]
    drop = [r.data for r in subject.records_of("lvef") if r.data["assessment_date"] == event["onset_date"]]
    assert drop and baseline - drop[0]["lvef_pct"] >= 16
    resumed = [
        r.data for r in subject.records_of("infusion") if r.data["infusion_date"] >= event["onset_date"]
    ]
    assert resumed[0]["infusion_date"] >= event["resolution_date"] and resumed[0]["loading"] is True


def test_lvef_drops_that_call_for_a_hold_happen_only_in_that_event(cohort):
    holds = 0
    for s in cohort.treated:
        baseline = _data(s, "lvef", "SCR")["lvef_pct"]
        for r in s.records_of("lvef")[1:]:
            value = r.data["lvef_pct"]
            if baseline - value >= 16 or (value < 50 and baseline - value >= 10):
                holds += 1
    assert holds == 1


def test_lvef_is_measured_at_baseline_and_every_three_months_on_treatment(protocol, cohort):
    for s in cohort.treated:
        assert s.record("lvef", "SCR") is not None
        eot = _data(s, "end_of_treatment")
        for visit in protocol.schedule.expanded_visits():
            if visit.anchor == "first_dose" and visit.day and "lvef" in visit.forms:
                if s.first_dose_on + dt.timedelta(days=visit.latest) < eot["end_date"]:
                    assert s.record("lvef", visit.code) is not None, (s.label, visit.code)


def test_adverse_events_use_ctcae_v5_terms_and_grades(cohort):
    from trialdesk.clinical import ctcae

    terms = Counter()
    for s in cohort.treated:
        for r in s.records_of("adverse_event"):
            term = ctcae.term_by_name(r.data["event_term"])
            assert str(term.meddra_code) == r.data["meddra_code"]
            assert r.data["grade"] in ctcae.allowed_grades(term)
            assert (r.data["grade"] == 5) == (r.data["outcome"] == "fatal")
            terms[term.term] += 1
    assert terms["Infusion related reaction"] >= 2
    assert (
        terms["Febrile neutropenia"] + terms["Platelet count decreased"] + terms["Neutrophil count decreased"]
        >= 5
    )
    socs = {ctcae.term_by_name(t).soc for t in terms}
    assert len(socs) >= 5


def test_infusion_reactions_are_recorded_on_the_infusion_and_as_adverse_events(cohort):
    for s in cohort.treated:
        reactions = {
            (r.data["infusion_date"], r.data["infusion_reaction_grade"])
            for r in s.records_of("infusion")
            if r.data["infusion_reaction"]
        }
        events = {
            (r.data["onset_date"], r.data["grade"])
            for r in s.records_of("adverse_event")
            if r.data["event_term"] == "Infusion related reaction"
        }
        assert reactions == events


def test_transfusions_before_and_on_treatment(cohort):
    before = on = 0
    for s in cohort.treated:
        for r in s.records_of("transfusion"):
            day = (r.data["transfusion_date"] - s.first_dose_on).days
            assert day >= -28
            before += day < 0
            on += day >= 0
    assert before >= 15 and on >= 30
    products = {r.data["product"] for _, r in cohort.records() if r.form_code == "transfusion"}
    assert products == {"red_cells", "platelets"}


def test_responders_are_transfusion_free_while_in_response(cohort):
    for s in cohort.treated:
        marrows = [r.data for r in s.records_of("marrow_assessment")]
        for m, following in zip(marrows, marrows[1:] + [None], strict=True):
            if m["investigator_response"] != "PR":
                continue
            end = following["assessment_date"] if following else _data(s, "end_of_treatment")["end_date"]
            during = [
                r
                for r in s.records_of("transfusion")
                if m["assessment_date"] <= r.data["transfusion_date"] < end
            ]
            assert not during


def test_end_of_treatment_and_follow_up(cohort):
    reasons = Counter(_data(s, "end_of_treatment")["reason"] for s in cohort.treated)
    assert reasons["progression"] >= 8
    assert set(reasons) <= {"progression", "no_response", "death", "transplant"}
    for s in cohort.treated:
        eos = _data(s, "end_of_study")
        if s.status == "died":
            assert eos["reason"] == "death" and eos["death_date"] == s.death_date
            fu = [r.data for r in s.records_of("follow_up") if r.data["vital_status"] == "dead"]
            if _data(s, "end_of_treatment")["reason"] != "death":
                assert fu and fu[0]["death_date"] == s.death_date
        else:
            assert s.death_date is None and eos["reason"] != "death"
    assert any(s.status == "withdrawn" for s in cohort.treated)


def test_screen_failures_close_with_an_end_of_study(cohort):
    for s in cohort.screen_failures:
        assert s.enrolled_on is None and s.death_date is None
        assert {r.form_code for r in s.records} == {"screening", "marrow_assessment", "lvef", "end_of_study"}
        assert _data(s, "end_of_study")["reason"] == "screen_failure"


def test_the_course_plan_keeps_the_published_proportions():
    plan = course_plan(15)
    assert len(plan) == 15
    assert sum(kind.startswith("partial_response") for kind in plan) == 2
    assert course_plan(0) == []
    assert len(course_plan(1)) == 1 and len(course_plan(100)) == 100


def test_other_sizes_work(protocol):
    small = simulate_cohort(protocol, seed=3, n_treated=2, n_screen_failures=0)
    assert len(small.subjects) == 2 and len(small.treated) == 2
    bigger = simulate_cohort(protocol, seed=3, n_treated=40, n_screen_failures=20)
    assert len(bigger.treated) == 40 and len(bigger.screen_failures) == 20
    nobody = simulate_cohort(protocol, seed=3, n_treated=0, n_screen_failures=0)
    assert nobody.subjects == ()
