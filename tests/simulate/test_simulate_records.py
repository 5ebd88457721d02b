"""Every simulated record is valid data of the protocol, and follows its rules."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.clinical.dosing import check_deviation
from trialdesk.protocol.formdata import validate_form_data
from trialdesk.rules import Tri, parse
from trialdesk.simulate import simulate_cohort


def _check_records_validate(protocol, cohort):
    problems = []
    for subject, record in cohort.records():
        validation = validate_form_data(protocol.form(record.form_code), record.data)
        if validation.errors or not validation.complete:
            problems.append(
                (
                    subject.label,
                    record.form_code,
                    record.visit_code,
                    validation.errors,
                    validation.missing_required,
                )
            )
    assert not problems, problems[:5]


def test_every_record_validates_against_its_form(protocol, cohort):
    _check_records_validate(protocol, cohort)


@pytest.mark.parametrize("seed", [1, 99])
def test_records_of_other_seeds_validate_too(protocol, seed):
    _check_records_validate(protocol, simulate_cohort(protocol, seed=seed))


def test_record_values_are_typed_python_values(cohort):
    for _, record in cohort.records():
        for value in record.data.values():
            assert isinstance(value, bool | int | float | str | dt.date), value
            assert value is not None


def test_no_edit_check_fails_and_the_deliberate_dose_deviation_is_the_dosing_rules(protocol, cohort):
    failures = []
    for subject, record in cohort.records():
        for failure in validate_form_data(protocol.form(record.form_code), record.data).check_failures:
            failures.append((subject.label, failure.code))
    assert failures == []
    # the dose deviation is no edit check any more: trialdesk.clinical.dosing finds it (issue 9)
    rules = protocol.dose_rules
    deviations = [
        inf
        for subject in cohort.treated
        for inf in _infusions(subject)
        if check_deviation(inf["prescribed_dose_mg"], inf["administered_dose_mg"], rules).deviation
    ]
    assert len(deviations) == 1


def test_every_form_of_the_protocol_is_filled(protocol, cohort):
    filled = {record.form_code for _, record in cohort.records()}
    assert filled == {form.code for form in protocol.forms}


def test_records_sit_at_the_visits_that_hold_their_form(protocol, cohort):
    log_forms = set(protocol.schedule.log_forms)
    for subject, record in cohort.records():
        if record.form_code in log_forms:
            assert record.visit_code is None
        else:
            assert record.form_code in protocol.visit(record.visit_code).forms
            assert subject.visit(record.visit_code) is not None
    for subject in cohort.subjects:
        keys = [(r.form_code, r.visit_code, r.repeat) for r in subject.records]
        assert len(keys) == len(set(keys))
        for form_code in log_forms:
            repeats = [r.repeat for r in subject.records_of(form_code)]
            assert repeats == list(range(1, len(repeats) + 1))


def test_treated_patients_meet_every_eligibility_criterion(protocol, cohort):
    for subject in cohort.treated:
        values = subject.record(protocol.eligibility.form).data
        for criterion in protocol.eligibility.criteria:
            assert parse(criterion.rule).evaluate(values) is Tri.TRUE, (subject.label, criterion.code)
        assert subject.eligible and subject.failed_criteria == ()


def test_screen_failures_fail_exactly_the_criteria_they_list(protocol, cohort):
    reasons = set()
    for subject in cohort.screen_failures:
        assert not subject.eligible and subject.failed_criteria
        values = subject.record(protocol.eligibility.form).data
        for criterion in protocol.eligibility.criteria:
            result = parse(criterion.rule).evaluate(values)
            expected = Tri.FALSE if criterion.code in subject.failed_criteria else Tri.TRUE
            assert result is expected, (subject.label, criterion.code, result)
        reasons.update(subject.failed_criteria)
    # the real reasons: HER2 expression, LVEF, prior trastuzumab, performance status
    assert {"I7", "E2", "E1", "I3"} <= reasons


def test_screening_marrow_and_lvef_are_the_screening_values(protocol, cohort):
    for subject in cohort.subjects:
        screening = subject.record("screening").data
        marrow = subject.record("marrow_assessment", "SCR").data
        lvef = subject.record("lvef", "SCR").data
        assert marrow["marrow_blasts_pct"] == screening["marrow_blasts_pct"]
        assert marrow["her2_positive_blasts_pct"] == screening["her2_positive_blasts_pct"]
        assert lvef["lvef_pct"] == screening["lvef_pct"]
        assert screening["sex"] == {"F": "female", "M": "male"}[subject.sex]


def _infusions(subject):
    return [r.data for r in subject.records_of("infusion")]


def test_doses_follow_the_dose_rules(protocol, cohort):
    rules = protocol.dose_rules
    reload_after = rules.interval_days + rules.reload_if_late_by_more_than_days
    reloads = recomputed = 0
    for subject in cohort.treated:
        infusions = _infusions(subject)
        baseline = subject.record("baseline").data
        assert infusions[0]["infusion_date"] == subject.first_dose_on
        assert infusions[0]["loading"] is True
        assert infusions[0]["weight_kg"] == baseline["weight_kg"]
        previous = None
        for inf in infusions:
            mg_per_kg = rules.loading_mg_per_kg if inf["loading"] else rules.maintenance_mg_per_kg
            assert inf["dose_mg_per_kg"] == mg_per_kg
            assert abs(inf["prescribed_dose_mg"] - mg_per_kg * inf["weight_kg"]) <= 0.5
            if previous is not None:
                gap = (inf["infusion_date"] - previous["infusion_date"]).days
                assert gap >= rules.interval_days
                assert inf["loading"] is (gap > reload_after), (subject.label, inf)
                reloads += inf["loading"]
                if inf["weight_kg"] != previous["weight_kg"]:
                    change = abs(inf["weight_kg"] - previous["weight_kg"]) / previous["weight_kg"]
                    assert change > rules.weight_change_recompute_pct / 100
                    recomputed += 1
            deviation = abs(inf["administered_dose_mg"] - inf["prescribed_dose_mg"])
            if deviation > inf["prescribed_dose_mg"] * rules.deviation_pct / 100:
                assert inf["infusion_reaction"] and "stopped" in inf["comment"]
            previous = inf
    assert reloads >= 2  # the cardiac hold and a delay for an infection
    assert recomputed >= 1


def test_treatment_lasts_the_minimum_duration_unless_progression_or_death(protocol, cohort):
    minimum = protocol.dose_rules.minimum_duration_weeks
    for subject in cohort.treated:
        eot = subject.record("end_of_treatment").data
        infusions = _infusions(subject)
        assert eot["doses_received"] == len(infusions)
        assert eot["last_dose_date"] == infusions[-1]["infusion_date"]
        if eot["reason"] not in ("progression", "death"):
            assert len(infusions) >= minimum, subject.label


def test_dates_are_in_order(protocol, cohort):
    window = protocol.eligibility.window_days
    for s in cohort.subjects:
        screening = s.record("screening").data
        assert s.consent_date <= s.screened_on == screening["screening_date"]
        assert screening["consent_date"] == s.consent_date
        eos = s.record("end_of_study").data
        if not s.treated:
            assert s.screened_on <= eos["end_date"]
            continue
        assert s.screened_on <= s.enrolled_on <= s.planned_first_dose_on <= s.screened_on + dt.timedelta(days=window)
        assert s.screened_on < s.first_dose_on <= s.screened_on + dt.timedelta(days=window)
        infusions = [r.data["infusion_date"] for r in s.records_of("infusion")]
        assert infusions == sorted(infusions) and infusions[0] == s.first_dose_on
        eot = s.record("end_of_treatment").data
        assert infusions[-1] <= eot["end_date"]
        clinical = infusions + [r.data["assessment_date"] for r in s.records_of("marrow_assessment")[1:]]
        clinical += [r.data["onset_date"] for r in s.records_of("adverse_event")]
        assert min(clinical) >= s.first_dose_on
        for r in s.records_of("adverse_event"):
            if "resolution_date" in r.data:
                assert r.data["resolution_date"] >= r.data["onset_date"]
        if s.death_date is not None:
            assert eot["end_date"] <= s.death_date
            assert max(clinical) <= s.death_date
            for r in s.records_of("adverse_event"):
                assert r.data.get("resolution_date", s.death_date) <= s.death_date
            assert eos["end_date"] >= s.death_date
        last_visit = max(v.actual_date for v in s.visits if v.actual_date)
        assert eos["end_date"] == last_visit
        assert eos["end_date"] <= dt.date(2011, 11, 30)


def test_visits_are_in_their_windows(protocol, cohort):
    for s in cohort.treated:
        for v in s.visits:
            planned = protocol.visit(v.code)
            if planned.anchor == "first_dose" and planned.day is not None and v.actual_date and planned.day > 0:
                # planned from the first dose given (day 0 itself was planned from the planned first dose)
                assert v.planned_date == s.first_dose_on + dt.timedelta(days=planned.day)
                day = (v.actual_date - s.first_dose_on).days
                assert planned.earliest <= day <= planned.latest, (s.label, v)
        missed = [v for v in s.visits if v.actual_date is None]
        assert all(s.status == "withdrawn" for _ in missed)


def test_a_protocol_with_an_extra_form_and_field_still_gets_valid_complete_records(protocol):
    from trialdesk.protocol import Field, Form

    baseline = protocol.form("baseline")
    extra_field = Field(
        code="body_surface_m2", label="Body surface", type="decimal", min=1, max=3, required=True
    )
    quality = Form(
        code="quality_of_life",
        title="Quality of life",
        source="operational",
        rationale="test",
        fields=[
            Field(code="qol_date", label="Date", type="date", required=True),
            Field(code="score", label="Score", type="integer", min=0, max=100, required=True),
            Field(code="comment", label="Comment", type="text", max_length=50),
        ],
    )
    forms = [
        f.model_copy(update={"fields": [*f.fields, extra_field]}) if f.code == "baseline" else f
        for f in protocol.forms
    ] + [quality]
    visits = [
        v.model_copy(update={"forms": [*v.forms, "quality_of_life"]}) if v.code == "D1" else v
        for v in protocol.schedule.visits
    ]
    variant = protocol.model_copy(
        update={"forms": forms, "schedule": protocol.schedule.model_copy(update={"visits": visits})}
    )
    assert variant.form("baseline").field("body_surface_m2") and baseline is not variant.form("baseline")
    cohort = simulate_cohort(variant, seed=5, n_treated=3, n_screen_failures=1)
    _check_records_validate(variant, cohort)
    assert all(s.record("quality_of_life", "D1") for s in cohort.treated)


def test_the_cohort_has_a_late_dose_and_missed_doses_each_with_its_reload(protocol, cohort):
    """The demo exercises the dosing rules (issue 9): a dose more than 9 days after the last
    (late, still maintenance), and doses more than 14 days after it (missed, reloaded)."""
    from trialdesk.clinical.dosing import classify_interval

    rules = protocol.dose_rules
    seen: dict[str, int] = {}
    for subject in cohort.treated:
        infusions = _infusions(subject)
        for previous, inf in zip(infusions, infusions[1:], strict=False):
            status = classify_interval(previous["infusion_date"], inf["infusion_date"], rules).status
            seen[status] = seen.get(status, 0) + 1
            assert inf["loading"] is (status == "missed"), (subject.label, inf)
            assert status != "too_early"
    assert seen.get("late", 0) >= 1 and seen.get("missed", 0) >= 1
