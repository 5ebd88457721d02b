"""The numbers behind each chart, on small hand-made snapshots (the protocol's concepts name
the fields: no trial's field code here)."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.analysis import analyse
from trialdesk.charts.rows import her2_series, lvef_series, lvef_threshold, swimmer, waterfall
from trialdesk.clinical.response import ResponseCategory
from trialdesk.dashboards.data import adverse_event_grades, dashboard_data, enrollment, screen_failures
from trialdesk.protocol import load_default_protocol
from trialdesk.snapshot import RecordSnapshot, StudySnapshot, SubjectSnapshot
from trialdesk.snapshot.from_simulation import identity_of
from trialdesk.snapshot.model import SiteSnapshot, held

D0 = dt.date(2026, 3, 2)  # the first dose
CUTOFF = D0 + dt.timedelta(days=200)


@pytest.fixture(scope="module")
def protocol():
    return load_default_protocol()


def _data(protocol, form: str, values: dict) -> dict:
    data = {}
    for concept, value in values.items():
        field = protocol.concept_field(concept, form)
        assert field is not None, concept
        data[field] = value.isoformat() if isinstance(value, dt.date) else value
    return data


def _record(protocol, concept_of_form: str, visit, repeat=0, **values) -> RecordSnapshot:
    form = protocol.concept_form(concept_of_form)
    return RecordSnapshot(form, visit, repeat, _data(protocol, form, values))


def _marrow(protocol, day: dt.date, blasts: float, visit: str | None = None, *, her2=None, repeat=0):
    values = dict(
        marrow_assessed_on=day,
        marrow_blasts=blasts,
        circulating_blasts_seen=False,
        neutrophil_count=2.0,
        platelet_count=150.0,
        extramedullary=False,
    )
    if her2 is not None:
        values["her2_positive_blasts"] = her2
    return _record(protocol, "marrow_assessed_on", visit, repeat, **values)


def _doses(protocol, weeks: int):
    out = []
    for i in range(weeks):
        mg_per_kg = 4 if i == 0 else 2
        out.append(
            _record(
                protocol,
                "dose_date",
                None,
                i + 1,
                dose_date=D0 + dt.timedelta(days=7 * i),
                dose_weight=70.0,
                dose_given=70.0 * mg_per_kg,
                dose_prescribed=70.0 * mg_per_kg,
            )
        )
    return out


def _adverse_event(protocol, repeat: int, grade: int, *, serious=False, onset=D0 + dt.timedelta(days=10)):
    return _record(
        protocol,
        "adverse_event_term",
        None,
        repeat,
        adverse_event_term="Nausea",
        adverse_event_grade=grade,
        adverse_event_serious=serious,
        adverse_event_onset=onset,
    )


def _subject(
    label: str, records, *, site="NTE", enrolled_on=D0 - dt.timedelta(days=3), status="enrolled", failed=()
) -> SubjectSnapshot:
    return SubjectSnapshot(
        screening_number=label,
        subject_code=label if enrolled_on else None,
        site=site,
        status=status,
        sex="F",
        age=60,
        screened_on=D0 - dt.timedelta(days=10),
        enrolled_on=enrolled_on,
        screen_failure_criteria=tuple(failed),
        records=tuple(records),
    )


def _analysis(protocol, *subjects, sites=(), cutoff=CUTOFF):
    snapshot = StudySnapshot(
        study=identity_of(protocol, "ab" * 32),
        cutoff=cutoff,
        created_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        pseudonymised=False,
        sites=tuple(sites),
        subject_source=held(subjects),
    )
    return analyse(snapshot, protocol)


def _blasts_80_40_3(protocol, label="S-1", **more):
    return _subject(
        label,
        [
            _marrow(protocol, D0 - dt.timedelta(days=5), 80, protocol.baseline_visits[0].code, her2=60),
            _marrow(protocol, D0 + dt.timedelta(days=28), 40, repeat=1, her2=45),
            _marrow(protocol, D0 + dt.timedelta(days=56), 3, repeat=2, her2=10),
            *_doses(protocol, 8),
        ],
        **more,
    )


# --------------------------------------------------------------------------- waterfall


def test_the_waterfall_bar_of_blasts_80_40_3_is_a_fall_of_96_25_percent(protocol):
    # (3 - 80) / 80 = -96.25 %; 3 % blasts with ANC 2.0 and platelets 150 is a CR (DESIGN §4)
    bars, missing = waterfall(_analysis(protocol, _blasts_80_40_3(protocol)))
    assert missing == ()
    (bar,) = bars
    assert bar.change_pct == pytest.approx(-96.25)
    assert (bar.baseline_blasts, bar.nadir_blasts) == (80, 3)
    assert bar.best == ResponseCategory.CR


def test_the_waterfall_puts_the_largest_increase_first_and_lists_who_has_no_marrow_after_baseline(protocol):
    rising = _subject(
        "S-2",
        [
            _marrow(protocol, D0 - dt.timedelta(days=5), 40, protocol.baseline_visits[0].code),
            _marrow(protocol, D0 + dt.timedelta(days=28), 60, repeat=1),
            *_doses(protocol, 4),
        ],
    )  # +50 %: (60 - 40) / 40
    baseline_only = _subject(
        "S-3",
        [
            _marrow(protocol, D0 - dt.timedelta(days=5), 50, protocol.baseline_visits[0].code),
            *_doses(protocol, 2),
        ],
    )
    bars, missing = waterfall(_analysis(protocol, _blasts_80_40_3(protocol), rising, baseline_only))
    assert [b.label for b in bars] == ["S-2", "S-1"]
    assert bars[0].change_pct == pytest.approx(50.0)
    assert missing == ("S-3",)


def test_a_subject_never_dosed_is_not_in_the_waterfall(protocol):
    never_dosed = _subject(
        "S-4",
        [
            _marrow(protocol, D0 - dt.timedelta(days=5), 80, protocol.baseline_visits[0].code),
            _marrow(protocol, D0 + dt.timedelta(days=28), 10, repeat=1),
        ],
    )
    bars, missing = waterfall(_analysis(protocol, never_dosed))
    assert bars == () and missing == ()


# --------------------------------------------------------------------------- swimmer


def test_the_swimmer_row_holds_the_doses_the_first_response_and_the_serious_events(protocol):
    subject = _subject(
        "S-1",
        [
            *_blasts_80_40_3(protocol).records,
            _adverse_event(protocol, 1, 3, serious=True, onset=D0 + dt.timedelta(days=20)),
            _adverse_event(protocol, 2, 1),
        ],
    )
    (row,) = swimmer(_analysis(protocol, subject))
    assert row.first_dose == D0 and row.last_dose == D0 + dt.timedelta(days=49)
    assert len(row.doses) == 8
    # 40 % blasts at month 1 is no response (PR needs 5-25 %); 3 % at month 2 is the first response
    assert row.first_response_on == D0 + dt.timedelta(days=56)
    assert row.best == ResponseCategory.CR
    assert row.serious_events == (D0 + dt.timedelta(days=20),)
    assert row.death_on is None and row.ongoing


def test_the_swimmer_runs_to_the_last_day_known_alive_not_past_it(protocol):
    (row,) = swimmer(_analysis(protocol, _blasts_80_40_3(protocol)))
    # on study up to the last date the subject is known alive (the last marrow, day 56)
    assert row.last_dose == D0 + dt.timedelta(days=49) and row.end == D0 + dt.timedelta(days=56)
    assert row.months_on_study == pytest.approx(56 / 30.4375)  # months of 30.4375 days (clinical.survival)


# --------------------------------------------------------------------------- series


def test_the_her2_series_starts_at_the_baseline_marrow_in_months_from_the_first_dose(protocol):
    (series,) = her2_series(_analysis(protocol, _blasts_80_40_3(protocol)))
    assert series.values == (60, 45, 10)
    assert series.months[0] == pytest.approx(-5 / 30.4375)
    assert series.months[2] == pytest.approx(56 / 30.4375)


def test_an_lvef_recorded_twice_on_one_day_is_one_point(protocol):
    day = D0 - dt.timedelta(days=4)
    lvef_form = protocol.concept_form("lvef_assessed_on")
    subject = _subject(
        "S-1",
        [
            *_doses(protocol, 2),
            _record(
                protocol,
                "lvef_assessed_on",
                protocol.baseline_visits[0].code,
                lvef_assessed_on=day,
                lvef=62.0,
            ),
            RecordSnapshot(
                lvef_form, None, 5, _data(protocol, lvef_form, {"lvef_assessed_on": day, "lvef": 62.0})
            ),
            _record(
                protocol, "lvef_assessed_on", None, 6, lvef_assessed_on=D0 + dt.timedelta(days=90), lvef=48.0
            ),
        ],
    )
    (series,) = lvef_series(_analysis(protocol, subject))
    assert series.points == ((day, 62.0), (D0 + dt.timedelta(days=90), 48.0))


def test_the_lvef_threshold_line_is_the_protocols_cardiac_hold_value(protocol):
    # DESIGN §4 / trastuzumab label: withheld below 50 % with a drop of 10 points
    assert lvef_threshold(protocol) == protocol.dose_rules.cardiac_hold.below_pct == 50


# --------------------------------------------------------------------------- adverse events


def test_adverse_events_are_counted_by_grade_and_each_subject_once_at_their_worst(protocol):
    one = _subject(
        "S-1",
        [
            *_doses(protocol, 2),
            _adverse_event(protocol, 1, 1),
            _adverse_event(protocol, 2, 3, serious=True),
            _adverse_event(protocol, 3, 3),
        ],
    )
    two = _subject("S-2", [*_doses(protocol, 2), _adverse_event(protocol, 1, 1)])
    untreated = _subject(
        "S-3", [_adverse_event(protocol, 1, 5)]
    )  # not treated: outside the tolerance population
    grades = adverse_event_grades(_analysis(protocol, one, two, untreated))
    by_grade = {r.grade: r for r in grades.rows}
    assert [r.grade for r in grades.rows] == [1, 2, 3, 4, 5]
    assert (by_grade[1].events, by_grade[3].events, by_grade[5].events) == (2, 2, 0)
    assert (by_grade[1].serious, by_grade[3].serious) == (0, 1)
    assert by_grade[3].subjects_at_worst == ("S-1",) and by_grade[1].subjects_at_worst == ("S-2",)
    assert (grades.events, grades.treated, grades.with_an_event) == (4, 2, 2)


# --------------------------------------------------------------------------- screen failures


def test_screen_failures_count_each_criterion_failed_with_its_protocol_text(protocol):
    first, last = protocol.eligibility.criteria[0], protocol.eligibility.criteria[-1]
    a = _subject("F-1", [], enrolled_on=None, status="screen_failed", failed=(first.code, last.code))
    b = _subject("F-2", [], enrolled_on=None, status="screen_failed", failed=(last.code,))
    reasons = screen_failures(_analysis(protocol, a, b), protocol)
    assert [(r.code, r.count) for r in reasons] == [(last.code, 2), (first.code, 1)]
    assert reasons[0].text == last.text and reasons[0].kind == last.kind
    assert reasons[0].subjects == ("F-1", "F-2")


def test_a_screen_failure_without_a_criterion_is_counted_last_as_such(protocol):
    first = protocol.eligibility.criteria[0]
    a = _subject("F-1", [], enrolled_on=None, status="screen_failed")
    b = _subject("F-2", [], enrolled_on=None, status="screen_failed", failed=(first.code,))
    reasons = screen_failures(_analysis(protocol, a, b), protocol)
    assert [(r.code, r.count) for r in reasons] == [(first.code, 1), ("", 1)]


# --------------------------------------------------------------------------- enrollment and forecast


def _sites(*activations):
    return tuple(SiteSnapshot(code, code, activated_on=day) for code, day in activations)


def test_enrollment_counts_per_site_up_to_the_date_of_the_data(protocol):
    sites = _sites(("NTE", D0 - dt.timedelta(days=200)), ("RNS", D0 - dt.timedelta(days=100)))
    subjects = [
        _subject("N-1", [], enrolled_on=D0 - dt.timedelta(days=150)),
        _subject("N-2", [], enrolled_on=D0 - dt.timedelta(days=20)),
        _subject("R-1", [], site="RNS", enrolled_on=D0 - dt.timedelta(days=50)),
        _subject("F-1", [], enrolled_on=None, status="screen_failed"),
    ]
    e = enrollment(_analysis(protocol, *subjects, sites=sites, cutoff=D0), sites, protocol, whole_study=False)
    assert {s.code: len(s.dates) for s in e.sites} == {"NTE": 2, "RNS": 1}
    assert e.enrolled == 3 and e.dates[0] == D0 - dt.timedelta(days=150)
    assert e.open_sites == 2
    # one site's view: no trial-wide plan nor forecast
    assert e.forecast is None and e.plan is None and e.forecast_problem == ""


def test_the_whole_study_gets_the_forecast_of_the_date_the_target_is_reached(protocol):
    sites = _sites(("NTE", D0 - dt.timedelta(days=365)), ("RNS", D0 - dt.timedelta(days=365)))
    subjects = [_subject(f"N-{i}", [], enrolled_on=D0 - dt.timedelta(days=30 * i)) for i in range(1, 5)] + [
        _subject("R-1", [], site="RNS", enrolled_on=D0 - dt.timedelta(days=45))
    ]
    e = enrollment(_analysis(protocol, *subjects, sites=sites, cutoff=D0), sites, protocol, whole_study=True)
    f = e.forecast
    assert f is not None and f.enrolled == 5 and f.target == protocol.identification.enrollment.count
    assert f.remaining == f.target - 5
    assert e.as_of < f.interval_80[0] <= f.median_date <= f.interval_80[1]
    # 5 patients in 2 x 366 site-days: the rate in patients per month per open site
    assert f.mean_rate_per_site_per_month == pytest.approx(5 / (2 * 366) * 30.44, rel=0.05)
    assert e.months_of_recruitment == pytest.approx(366 / 30.44)


def test_without_an_enrolled_patient_there_is_no_forecast_and_the_page_says_why(protocol):
    sites = _sites(("NTE", D0 - dt.timedelta(days=30)))
    e = enrollment(_analysis(protocol, sites=sites, cutoff=D0), sites, protocol, whole_study=True)
    assert e.forecast is None and e.forecast_problem == "no_patient"


def test_a_target_reached_is_dated_by_its_last_patient(protocol):
    target = protocol.identification.enrollment.count
    sites = _sites(("NTE", D0 - dt.timedelta(days=400)))
    subjects = [
        _subject(f"N-{i}", [], enrolled_on=D0 - dt.timedelta(days=10 * i)) for i in range(1, target + 1)
    ]
    e = enrollment(_analysis(protocol, *subjects, sites=sites, cutoff=D0), sites, protocol, whole_study=True)
    assert e.target_reached_on == D0 - dt.timedelta(days=10)
    assert e.forecast is not None and e.forecast.method == "target_reached"


def test_the_whole_dashboard_gathers_every_chart(protocol):
    sites = _sites(("NTE", D0 - dt.timedelta(days=60)))
    data = dashboard_data(
        _analysis(protocol, _blasts_80_40_3(protocol), sites=sites), sites, protocol, whole_study=True
    )
    assert data.treated == 1 and data.site_codes == ("NTE",)
    assert len(data.waterfall) == len(data.swimmer) == len(data.her2) == 1


def test_an_enrollment_before_its_sites_activation_gives_no_forecast_rather_than_a_wrong_one(protocol):
    sites = _sites(("NTE", D0 - dt.timedelta(days=30)))
    early = _subject("N-1", [], enrolled_on=D0 - dt.timedelta(days=60))
    e = enrollment(_analysis(protocol, early, sites=sites, cutoff=D0), sites, protocol, whole_study=True)
    assert e.forecast is None and e.forecast_problem == "data"
    assert e.enrolled == 1  # still counted on the curve
