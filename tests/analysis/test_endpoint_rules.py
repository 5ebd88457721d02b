"""The populations and rules of the endpoints on small hand-made snapshots (the protocol's
concepts name the fields: no trial's field code here)."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.analysis import analyse
from trialdesk.protocol import load_default_protocol
from trialdesk.snapshot import ConfirmationSnapshot, RecordRef, RecordSnapshot, StudySnapshot, SubjectSnapshot
from trialdesk.snapshot.from_simulation import identity_of
from trialdesk.snapshot.model import held

D0 = dt.date(2026, 3, 2)  # the first dose


@pytest.fixture(scope="module")
def protocol():
    return load_default_protocol()


def _data(protocol, form: str, values: dict) -> dict:
    data = {}
    for concept, value in values.items():
        if protocol.concept_field(concept, form) is not None:
            data[protocol.concept_field(concept, form)] = (
                value.isoformat() if isinstance(value, dt.date) else value
            )
        else:  # a choice concept: its field holds its value
            ref = protocol.choice_concept(concept)
            assert ref.form == form, concept
            data[ref.field] = ref.value
    return data


def _record(protocol, concept_of_form: str, visit, repeat=0, voided=False, **values) -> RecordSnapshot:
    form = protocol.concept_form(concept_of_form)
    return RecordSnapshot(form, visit, repeat, _data(protocol, form, values), voided=voided)


def _marrow(protocol, day: dt.date, blasts: float, visit: str, *, platelets=150.0, assessed=None, **more):
    values = dict(
        marrow_assessed_on=day,
        marrow_blasts=blasts,
        circulating_blasts_seen=False,
        neutrophil_count=2.0,
        platelet_count=platelets,
        extramedullary=False,
        **more,
    )
    if assessed:
        values[assessed] = True
    return _record(protocol, "marrow_assessed_on", visit, **values)


def _dose(protocol, day: dt.date, repeat: int, *, loading=False, voided=False):
    mg_per_kg = 4 if loading else 2
    return _record(
        protocol,
        "dose_date",
        None,
        repeat,
        voided=voided,
        dose_date=day,
        dose_weight=70.0,
        dose_given=70.0 * mg_per_kg,
        dose_prescribed=70.0 * mg_per_kg,
        loading_dose=loading,
    )


def _subject(number: str, records, *, enrolled=True, confirmations=()) -> SubjectSnapshot:
    return SubjectSnapshot(
        screening_number=number,
        subject_code=number,
        site="NTE",
        status="enrolled" if enrolled else "screening",
        sex="F",
        age=60,
        screened_on=D0 - dt.timedelta(days=10),
        enrolled_on=(D0 - dt.timedelta(days=3)) if enrolled else None,
        first_dose_on=None,
        records=tuple(records),
        confirmations=tuple(confirmations),
    )


def _analysis(protocol, *subjects, cutoff=D0 + dt.timedelta(days=200)):
    snapshot = StudySnapshot(
        study=identity_of(protocol, "ab" * 32),
        cutoff=cutoff,
        created_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        pseudonymised=False,
        sites=(),
        subject_source=held(subjects),
    )
    return analyse(snapshot, protocol)


def _treated(protocol, number, *marrows, extra=(), confirmations=()):
    """Baseline marrow (blasts 60 %, abnormal karyotype unless said), weekly doses for 8 weeks."""
    doses = [_dose(protocol, D0, 1, loading=True)] + [
        _dose(protocol, D0 + dt.timedelta(days=7 * i), i + 1) for i in range(1, 8)
    ]
    return _subject(number, [*marrows, *doses, *extra], confirmations=confirmations)


def test_a_partial_response_counts_and_a_subject_never_dosed_is_not_in_the_denominator(protocol):
    responder = _treated(
        protocol,
        "S-1",
        _marrow(protocol, D0 - dt.timedelta(days=5), 60, "SCR"),
        _marrow(protocol, D0 + dt.timedelta(days=28), 20, "M1"),
    )  # 20 % and -67 %: PR
    enrolled_only = _subject("S-2", [_marrow(protocol, D0 - dt.timedelta(days=5), 60, "SCR")])
    a = _analysis(protocol, responder, enrolled_only)
    assert a.response.responders == ("S-1",) and a.response.population.subjects == ("S-1",)
    assert (a.response.estimate.x, a.response.estimate.n) == (1, 1)
    assert a.flow.not_treated == ("S-2",) and a.flow.enrolled == ("S-1", "S-2")


def test_a_decrease_short_of_half_is_no_partial_response(protocol):
    # DESIGN §4: PR needs blasts 5-25 % and a decrease of at least 50 %: 25 % of a 49 % baseline is -49 %
    s = _treated(
        protocol,
        "S-1",
        _marrow(protocol, D0 - dt.timedelta(days=5), 49, "SCR"),
        _marrow(protocol, D0 + dt.timedelta(days=28), 25, "M1"),
    )
    assert _analysis(protocol, s).response.responders == ()


def test_the_investigators_confirmed_assessment_counts_only_while_it_holds(protocol):
    baseline = _marrow(protocol, D0 - dt.timedelta(days=5), 60, "SCR")
    # 28 % blasts: the criteria derive no response; the investigator assesses a PR
    marrow = _marrow(protocol, D0 + dt.timedelta(days=28), 28, "M1", assessed="assessed_pr")
    ref = RecordRef(marrow.form, "M1", 0)
    holding = ConfirmationSnapshot(ref, "PR", "NR")
    stale = ConfirmationSnapshot(
        ref, "PR", "PD"
    )  # confirmed against a derived response the record no longer gives
    a = _analysis(
        protocol,
        _treated(protocol, "S-1", baseline, marrow, confirmations=[holding]),
        _treated(protocol, "S-2", baseline, marrow, confirmations=[stale]),
        _treated(protocol, "S-3", baseline, marrow),
    )
    assert a.response.responders == ("S-1",)
    assert a.response.derived_responders == ()
    assert a.response.confirmed_by_investigator == ("S-1",)


def test_a_voided_marrow_is_left_out(protocol):
    baseline = _marrow(protocol, D0 - dt.timedelta(days=5), 60, "SCR")
    voided = _marrow(protocol, D0 + dt.timedelta(days=28), 10, "M1")
    voided = RecordSnapshot(voided.form, voided.visit, voided.repeat, voided.data, voided=True)
    assert _analysis(protocol, _treated(protocol, "S-1", baseline, voided)).response.responders == ()


def test_the_cytogenetic_denominator_and_the_subject_without_a_karyotype_on_treatment(protocol):
    def base(abnormal):
        return _marrow(
            protocol,
            D0 - dt.timedelta(days=5),
            60,
            "SCR",
            karyotype_performed=True,
            abnormal_karyotype=abnormal,
        )

    later = D0 + dt.timedelta(days=56)
    normalised = _treated(
        protocol,
        "S-1",
        base(True),
        _marrow(protocol, later, 40, "M2", karyotype_performed=True, abnormal_karyotype=False),
    )
    still = _treated(
        protocol,
        "S-2",
        base(True),
        _marrow(protocol, later, 40, "M2", karyotype_performed=True, abnormal_karyotype=True),
    )
    no_karyotype = _treated(
        protocol, "S-3", base(True), _marrow(protocol, later, 40, "M2", karyotype_performed=False)
    )
    normal_at_baseline = _treated(protocol, "S-4", base(False), _marrow(protocol, later, 40, "M2"))
    c = _analysis(protocol, normalised, still, no_karyotype, normal_at_baseline).cytogenetics
    assert c.population.subjects == ("S-1", "S-2", "S-3")
    assert c.responders == ("S-1",) and c.still_abnormal == ("S-2",)
    assert c.without_karyotype_on_treatment == ("S-3",)  # counted, as not responding
    assert (c.estimate.x, c.estimate.n) == (1, 3) and c.normal_at_baseline == ("S-4",)


def test_a_normal_karyotype_on_the_baseline_day_is_no_response(protocol):
    # the baseline is the last marrow on or before the first dose: a marrow that day is the baseline
    s = _treated(
        protocol,
        "S-1",
        _marrow(
            protocol, D0 - dt.timedelta(days=5), 60, "SCR", karyotype_performed=True, abnormal_karyotype=True
        ),
        _marrow(protocol, D0, 60, "M0", karyotype_performed=True, abnormal_karyotype=False),
    )
    c = _analysis(protocol, s).cytogenetics
    assert c.population.subjects == () and c.normal_at_baseline == ("S-1",)


def test_leukemia_free_survival_counts_responders_only_from_their_first_response(protocol):
    first = D0 + dt.timedelta(days=28)
    responder = _treated(
        protocol,
        "S-1",
        _marrow(protocol, D0 - dt.timedelta(days=5), 60, "SCR"),
        _marrow(protocol, first, 20, "M1"),
        _marrow(protocol, first + dt.timedelta(days=28), 45, "M2"),
    )
    other = _treated(
        protocol,
        "S-2",
        _marrow(protocol, D0 - dt.timedelta(days=5), 60, "SCR"),
        _marrow(protocol, first, 50, "M1"),
    )
    a = _analysis(protocol, responder, other)
    (lfs,) = a.lfs.subjects
    assert (
        lfs.label == "S-1" and lfs.start == first and lfs.event
    )  # 45 % blasts over a 20 % nadir: progression
    assert lfs.end == first + dt.timedelta(days=28)
    assert [s.label for s in a.os.subjects] == ["S-1", "S-2"]


def test_facts_after_the_cutoff_are_not_known(protocol):
    s = _treated(
        protocol,
        "S-1",
        _marrow(protocol, D0 - dt.timedelta(days=5), 60, "SCR"),
        _marrow(protocol, D0 + dt.timedelta(days=28), 20, "M1"),
    )
    (os_,) = _analysis(protocol, s, cutoff=D0 + dt.timedelta(days=20)).os.subjects
    assert os_.end <= D0 + dt.timedelta(days=20) and not os_.event


def test_the_ae_table_keeps_each_subjects_worst_grade_of_a_term(protocol):
    def ae(repeat, grade, serious=False):
        return _record(
            protocol,
            "adverse_event_term",
            None,
            repeat,
            adverse_event_term="Anemia",
            adverse_event_soc="Blood and lymphatic system disorders",
            adverse_event_grade=grade,
            adverse_event_onset=D0 + dt.timedelta(days=repeat),
            adverse_event_serious=serious,
        )

    s1 = _treated(
        protocol,
        "S-1",
        _marrow(protocol, D0 - dt.timedelta(days=5), 60, "SCR"),
        extra=[ae(1, 2), ae(2, 3, serious=True)],
    )
    s2 = _treated(protocol, "S-2", _marrow(protocol, D0 - dt.timedelta(days=5), 60, "SCR"), extra=[ae(1, 1)])
    t = _analysis(protocol, s1, s2).tolerance
    (soc,) = t.by_soc
    (term,) = soc.terms
    assert term.events == 3 and term.subjects == ("S-1", "S-2")
    assert term.by_worst_grade == {1: ("S-2",), 3: ("S-1",)}
    assert [e.label for e in t.serious] == ["S-1"]


def test_exposure_counts_the_doses_given_and_leaves_out_a_voided_one(protocol):
    s = _treated(
        protocol,
        "S-1",
        _marrow(protocol, D0 - dt.timedelta(days=5), 60, "SCR"),
        extra=[_dose(protocol, D0 + dt.timedelta(days=56), 9, voided=True)],
    )
    e = _analysis(protocol, s).exposure.per_subject["S-1"]
    assert e.doses == 8 and e.first_dose_on == D0 and e.last_dose_on == D0 + dt.timedelta(days=49)
    assert e.late_doses == e.missed_doses == e.reloads == 0
    assert e.dose_intensity == pytest.approx(1.0)  # 4 then 2 mg/kg weekly, as planned


def test_a_declared_simon_design_gives_its_stage_1_decision_from_the_data(protocol):
    from trialdesk.protocol.model import StatisticalDesign

    # Simon (1989), Table 1, p0 = 0.05, p1 = 0.25, alpha = 0.05, beta = 0.20, optimal: r1/n1 = 0/9, r/n = 2/17
    design = StatisticalDesign(
        design="simon_two_stage",
        alpha=0.05,
        power=0.8,
        p0=0.05,
        p1=0.25,
        n1=9,
        r1=0,
        n=17,
        r=2,
        source="operational",
        rationale="a test design",
    )
    declared = protocol.model_copy(update={"statistical_design": design})
    baseline = _marrow(protocol, D0 - dt.timedelta(days=5), 60, "SCR")
    no_response = [
        _treated(protocol, f"S-{i}", baseline, _marrow(protocol, D0 + dt.timedelta(days=28), 55, "M1"))
        for i in range(9)
    ]
    a = _analysis(declared, *no_response)
    assert a.response.design_declared and a.response.simon.decision == "stop_futility"
    responder = _treated(protocol, "S-9", baseline, _marrow(protocol, D0 + dt.timedelta(days=28), 20, "M1"))
    assert _analysis(declared, *no_response[:8], responder).response.simon.decision == "continue"
    assert _analysis(protocol, *no_response).response.simon is None  # NCT00724360 declares none
