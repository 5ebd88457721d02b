"""The database's snapshot carries the demo's cardiac holds as the cardiac app opened and ended
them, and the SDTM DV dataset computed from it lists the deviations the deviations app lists."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from tests.datacut.conftest import user

from trialdesk.analysis.subject import subject_facts
from trialdesk.cardiac.models import CardiacHold, HoldStatus
from trialdesk.clinical.deviations import DOSE_DURING_HOLD
from trialdesk.datacut import build_snapshot
from trialdesk.deviations.services import treated_subjects, treatments
from trialdesk.exchange.sdtm.domains import Context, Visits, dv, subject_rows


def _holds(snapshot):
    return {s.label: s.cardiac_holds for s in snapshot.subjects() if s.cardiac_holds}


def test_the_snapshot_holds_every_cardiac_hold_of_the_database_with_its_rule_and_decision(demo_study):
    rows = list(
        CardiacHold.objects.system("test")
        .filter(subject__study=demo_study)
        .exclude(status=HoldStatus.ENTERED_IN_ERROR)
        .select_related("subject")
    )
    assert rows, "the demo has the published trial's reversible cardiac event"
    held = _holds(build_snapshot(demo_study))
    expected = {}
    for h in rows:
        expected.setdefault(h.subject.label, set()).add(
            (
                h.started_on,
                h.criterion,
                h.explanation,
                h.value_pct,
                h.drop_points,
                h.status,
                h.ended_on,
                h.end_reason,
            )
        )
    assert {
        label: {
            (
                h.started_on,
                h.criterion,
                h.explanation,
                h.value_pct,
                h.drop_points,
                h.status,
                h.ended_on,
                h.reason,
            )
            for h in holds
        }
        for label, holds in held.items()
    } == expected


def test_a_hold_lifted_after_the_cut_off_was_still_in_force_then(demo_study):
    lifted = (
        CardiacHold.objects.system("test")
        .filter(subject__study=demo_study, status=HoldStatus.LIFTED)
        .select_related("subject")
        .first()
    )
    assert lifted is not None
    on_its_eve = lifted.ended_on - dt.timedelta(days=1)
    (hold,) = _holds(build_snapshot(demo_study, cutoff=on_its_eve))[lifted.subject.label]
    assert (hold.status, hold.ended_on, hold.reason) == ("active", None, "")
    (hold,) = _holds(build_snapshot(demo_study, cutoff=lifted.ended_on))[lifted.subject.label]
    assert (hold.status, hold.ended_on) == ("lifted", lifted.ended_on)


def test_the_statistician_sees_the_holds_without_the_investigators_reason(demo_study):
    held = _holds(build_snapshot(demo_study, viewer=user("statistician")))
    assert held
    for holds in held.values():
        for h in holds:
            assert h.explanation and h.criterion  # the rule's, not the site's words
            if h.status != "active":
                assert h.reason != next(
                    r.end_reason for r in CardiacHold.objects.system("test").filter(started_on=h.started_on)
                )


def _kind(ref: str) -> str:
    """What a deviation is about, without the database's row numbers (a hold's ``#pk`` in the
    app, the LVEF that opened it in the snapshot): ``infusion#3`` and ``M2/marrow`` kept whole."""
    return "cardiac_hold" if ref.startswith("cardiac_hold") else ref


def _listing(study, viewer):
    """(subject, deviation key, day) of the deviations app, for ``viewer``."""
    now = timezone.now()
    out = set()
    for t in treatments(viewer, study, treated_subjects(viewer, study), now=now):
        if t.facts.first_dose_on is None:
            continue
        for d in t.deviations:
            out.add((t.subject.label, d.rule, d.on, _kind(d.ref)))
    return out


def _dv(study, viewer):
    snapshot = build_snapshot(study, viewer=viewer)
    as_of = snapshot.created_at.date()
    ctx = Context(study.protocol, study.nct_id, as_of, Visits(study.protocol))
    out = set()
    for subject in snapshot.subjects():
        for row in dv(subject_rows(ctx, subject)):
            rule = row["DVSPID"].split(":")[0]
            facts = subject_facts(study.protocol, subject, as_of)
            (d,) = [d for d in facts.deviations if d.key == row["DVSPID"]]
            out.add((subject.label, rule, d.on, _kind(d.ref)))
    return out


def test_the_sdtm_deviations_are_the_deviations_apps_doses_during_a_hold_included(demo_study):
    viewer = user("datamanager")
    listed, exported = _listing(demo_study, viewer), _dv(demo_study, viewer)
    assert exported == listed
    assert any(rule == "assessment_out_of_window" and ref == "cardiac_hold" for _s, rule, _d, ref in listed)
    # the simulator gives no dose during a hold: the published event's doses resumed after its lift
    assert not any(rule == DOSE_DURING_HOLD for _s, rule, _d, _r in listed)
