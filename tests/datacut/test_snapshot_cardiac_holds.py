"""A subject dosed during a cardiac hold: the snapshot carries the hold, and the SDTM DV dataset
and the analysis computed from it list the doses given during it as the deviations app does."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.deviations.test_deviation_listing import infusion

from trialdesk.analysis.subject import subject_facts
from trialdesk.cardiac.models import CardiacHold
from trialdesk.cardiac.services import lift_hold
from trialdesk.clinical.deviations import DOSE_DURING_HOLD
from trialdesk.crf.services import save_form
from trialdesk.datacut import build_snapshot
from trialdesk.deviations.services import treated_subjects, treatments
from trialdesk.exchange.sdtm.domains import Context, Visits, dv, subject_rows

NOW = dt.datetime(2026, 12, 30, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def dosed_during_hold(cast, enrolled_subject):
    """Baseline LVEF 62 % (screening); 45 % on 4 Dec is a drop of 17 points, 16 or more: a hold
    (trastuzumab label, protocol dose_rules.cardiac_hold). Doses on 4 and 11 Dec during it, the
    hold lifted on 15 Dec, a dose on 18 Dec after it."""
    user = cast.investigator_nantes
    save_form(user, enrolled_subject, "infusion", infusion(dt.date(2026, 11, 27), loading=True, given=280))
    save_form(
        user,
        enrolled_subject,
        "lvef",
        {"assessment_date": "2026-12-04", "lvef_pct": 45, "method": "echo", "symptoms": False},
        visit=enrolled_subject.visits.get(code="C1"),
    )
    for day in (dt.date(2026, 12, 4), dt.date(2026, 12, 11), dt.date(2026, 12, 18)):
        save_form(user, enrolled_subject, "infusion", infusion(day, loading=False, given=140))
    hold = CardiacHold.objects.system("test").get(subject=enrolled_subject)
    lift_hold(user, hold, "LVEF back to 58 % on the repeat echo", on=dt.date(2026, 12, 15))
    return enrolled_subject


def _exported(study, viewer) -> set[tuple[str, str, dt.date]]:
    """(rule, day, DVSPID) of the DV dataset of ``viewer``'s snapshot on NOW's day."""
    snapshot = build_snapshot(study, viewer=viewer)
    ctx = Context(study.protocol, study.nct_id, NOW.date(), Visits(study.protocol))
    return {
        (row["DVSPID"].split(":")[0], dt.date.fromisoformat(row["DVSTDTC"]), row["DVSPID"])
        for subject in snapshot.subjects()
        for row in dv(subject_rows(ctx, subject))
    }


def _listed(study, viewer) -> set[tuple[str, dt.date, str]]:
    return {
        (d.rule, d.on, d.key)
        for t in treatments(viewer, study, treated_subjects(viewer, study), now=NOW)
        for d in t.deviations
    }


def test_the_snapshot_carries_the_hold_with_its_rule_and_the_investigators_lift(
    cast, study, dosed_during_hold
):
    (subject,) = build_snapshot(study).subjects()
    (hold,) = subject.cardiac_holds
    assert (hold.started_on, hold.criterion, hold.status, hold.ended_on) == (
        dt.date(2026, 12, 4),
        "drop",
        "lifted",
        dt.date(2026, 12, 15),
    )
    assert (hold.baseline_pct, hold.value_pct, hold.drop_points) == (62, 45, 17)
    assert hold.repeat_lvef_due_on == dt.date(2026, 12, 4) + dt.timedelta(days=28)  # protocol: 4 weeks
    assert "16 points or more" in hold.explanation and hold.reason == "LVEF back to 58 % on the repeat echo"


def test_a_pseudonymised_viewer_gets_the_hold_without_the_investigators_reason(
    cast, study, dosed_during_hold
):
    (subject,) = build_snapshot(study, viewer=cast.statistician).subjects()
    (hold,) = subject.cardiac_holds
    assert hold.status == "lifted" and hold.explanation
    assert "repeat echo" not in hold.reason


def test_dv_lists_the_doses_given_during_the_hold_and_not_the_one_after_its_lift(
    cast, study, dosed_during_hold
):
    during = {
        (day, key) for rule, day, key in _exported(study, cast.data_manager) if rule == DOSE_DURING_HOLD
    }
    assert during == {
        (dt.date(2026, 12, 4), "dose_during_hold:infusion#2"),
        (dt.date(2026, 12, 11), "dose_during_hold:infusion#3"),
    }


def test_dv_is_the_deviations_apps_listing(cast, study, dosed_during_hold):
    exported, listed = _exported(study, cast.data_manager), _listed(study, cast.data_manager)
    assert exported == listed and any(rule == DOSE_DURING_HOLD for rule, _d, _k in listed)


def test_the_analysis_counts_the_hold_and_its_deviations(cast, study, dosed_during_hold):
    (subject,) = build_snapshot(study).subjects()
    facts = subject_facts(study.protocol, subject, NOW.date())
    assert facts.exposure.holds == 1
    assert [d.key for d in facts.deviations if d.rule == DOSE_DURING_HOLD] == [
        "dose_during_hold:infusion#2",
        "dose_during_hold:infusion#3",
    ]
