"""simulate_cohort: a seeded virtual cohort that follows the protocol.

Pure and deterministic: the same protocol and seed give the same cohort. Each subject
draws from its own random stream (derived from the seed and its position), so the
cohort does not shift as a whole when one subject's course changes.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from typing import Any

from trialdesk.rules import Tri
from trialdesk.simulate import course as cr
from trialdesk.simulate.forms import FormRoles, conform, generic_data
from trialdesk.simulate.model import SimulatedCohort, SimulatedRecord, SimulatedSubject, SimulatedVisit
from trialdesk.simulate.schedule import ScheduleMap, StudyCalendar
from trialdesk.simulate.screening import (
    DISEASE_STATUSES,
    SCREEN_FAILURE_PLAN,
    criteria_results,
    draw_eligible,
    draw_screen_failure,
    year_of_birth,
)
from trialdesk.simulate.supply import simulate_supply

D = dt.timedelta

# The forms the simulator has a clinical model for are found through the concepts
# they record (FormRoles); any other form of the protocol is filled with plain values
# of its fields' types wherever the schedule asks for it.

MEDIAN_AGE = 62  # Chevallier et al., Blood 2012;119:2474


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(["trialdesk.simulate", str(seed), *map(str, parts)]))


# ---------------------------------------------------------------------------- the plan


def course_plan(n_treated: int) -> list[str]:
    """The outcome classes of ``n_treated`` patients, in the proportions of the published
    trial (for 15: 1 early death, 6 progressions at month 1, 4 progressions at month 2,
    2 no responses, 2 partial responses)."""
    if n_treated <= 0:
        return []
    responders = round(2 * n_treated / 15)
    early = round(n_treated / 15)
    nr_stop = round(2 * n_treated / 15)
    nr_pd = round(4 * n_treated / 15)
    pd_first = n_treated - responders - early - nr_stop - nr_pd
    plan = (
        [cr.EARLY_DEATH] * early + [cr.PD_FIRST] * pd_first + [cr.NR_THEN_PD] * nr_pd + [cr.NR_STOP] * nr_stop
    )
    for i in range(responders):
        if i % 7 == 0:
            plan.append(cr.PR_CARDIAC)
        elif i % 2 == 1:
            plan.append(cr.PR_TRANSPLANT)
        else:
            plan.append(cr.PR_RELAPSE)
    return plan


def _roles(plan: list[str]) -> list[cr.Roles]:
    seen: dict[str, int] = defaultdict(int)
    roles = []
    for kind in plan:
        i = seen[kind]
        seen[kind] += 1
        roles.append(
            cr.Roles(
                infusion_deviation=kind == cr.PD_FIRST and i == 0,
                infusion_reaction=(kind == cr.PD_FIRST and i == 1) or (kind == cr.NR_STOP and i == 1),
                extramedullary=kind == cr.PD_FIRST and i == 2,
                infection_delay=kind == cr.NR_THEN_PD and i == 0,
                withdraws=kind == cr.NR_STOP and i == 0,
            )
        )
    return roles


def _ages(n: int, rng: random.Random) -> list[int]:
    """Ages whose median is the published one, spread over adult ages."""
    if n == 0:
        return []
    raw = [rng.gauss(0, 13) for _ in range(n)]
    mid = sorted(raw)[n // 2] if n % 2 else sum(sorted(raw)[n // 2 - 1 : n // 2 + 1]) / 2
    return [int(round(min(max(MEDIAN_AGE + x - mid, 19), 82))) for x in raw]


def _activate_sites(protocol: Any, calendar: StudyCalendar, rng: random.Random) -> dict[str, dt.date]:
    activation = {}
    for i, site in enumerate(protocol.sites):
        offset = rng.randint(0, 20) if i == 0 else rng.randint(45, 600)
        activation[site.code] = calendar.start + D(days=offset)
    return activation


def _allocate_treated(protocol: Any, n: int, rng: random.Random) -> list[str]:
    """Sites of the treated patients: the sponsor's site (first listed) recruits most."""
    codes = [s.code for s in protocol.sites]
    if n == 0:
        return []
    lead, others = codes[0], codes[1:]
    n_lead = max(1, round(n / 3)) if others else n
    allocation = [lead] * n_lead
    rest = n - n_lead
    if others:
        if rest >= len(others):
            allocation += others
            extra = rest - len(others)
            allocation += rng.sample(others, extra) if extra <= len(others) else rng.choices(others, k=extra)
        else:
            allocation += rng.sample(others, rest)
    return allocation


@dataclass
class _Slot:
    site: str
    screened_on: dt.date
    treated: bool
    index: int  # position among the treated or among the screen failures


def _schedule_screenings(
    protocol: Any,
    calendar: StudyCalendar,
    activation: dict[str, dt.date],
    treated_sites: list[str],
    failure_sites: list[str],
    rng: random.Random,
    forced: tuple[dt.date, ...] = (),
) -> list[_Slot]:
    """Screening dates. Treated patients are spread over the whole recruitment period
    (one per equal stretch of time: recruitment was slow and steady), the first one at
    the sponsor's site soon after the start; nobody is screened at a site before it
    opens, and a site's screenings are a month apart when it can be arranged (so the
    order of screening numbers is the order of subject codes). ``forced``: the screening
    dates of the last treated patients (a trial in progress: those still on treatment)."""
    first = calendar.start + D(days=rng.randint(25, 70))
    last = max(calendar.recruitment_end - D(days=14), first + D(days=30))
    span = (last - first).days
    n_forced = min(len(forced), len(treated_sites))
    forced = forced[len(forced) - n_forced :]
    spread_last = max(min(last, forced[0] - D(days=30)), first + D(days=30)) if n_forced else last
    spread_span = (spread_last - first).days
    lead = protocol.sites[0].code
    opens = _opens(activation)
    per_site = Counter([*treated_sites, *failure_sites])
    # a month between screenings at a site is only possible for a small cohort
    attempts = 60 if max(per_site.values(), default=0) * 30 <= span else 1
    best: list[_Slot] = []
    best_conflicts: int | None = None
    for _ in range(attempts):
        slots: list[_Slot] = []
        n = len(treated_sites)
        remaining = Counter(treated_sites)
        spread = n - n_forced
        for i in range(n):
            if i >= spread:
                day = forced[i - spread]
            else:
                day = first if i == 0 else first + D(days=int(spread_span * (i + rng.random()) / spread))
            if i == 0 and remaining[lead]:
                site = lead
            else:
                candidates = [code for code, left in remaining.items() if left and opens[code] <= day]
                if candidates:
                    site = rng.choices(candidates, weights=[remaining[c] for c in candidates])[0]
                else:
                    site = min((c for c, left in remaining.items() if left), key=lambda c: opens[c])
                day = max(day, opens[site])
            remaining[site] -= 1
            slots.append(_Slot(site, day, True, i))
        for i, site in enumerate(failure_sites):
            earliest = max(opens[site], first)
            day = earliest + D(days=rng.randint(0, max((last - earliest).days, 0)))
            slots.append(_Slot(site, day, False, i))
        conflicts = _conflicts(slots) if attempts > 1 else 0
        if best_conflicts is None or conflicts < best_conflicts:
            best, best_conflicts = slots, conflicts
        if conflicts == 0:
            break
    best.sort(key=_screening_order)
    return best


def _opens(activation: dict[str, dt.date]) -> dict[str, dt.date]:
    """The first day each site screens: two weeks after its activation."""
    return {code: date + D(days=14) for code, date in activation.items()}


def _screening_order(slot: _Slot) -> tuple:
    return (slot.screened_on, slot.site, not slot.treated, slot.index)


def _conflicts(slots: list[_Slot], gap_days: int = 30) -> int:
    by_site: dict[str, list[dt.date]] = defaultdict(list)
    for slot in slots:
        by_site[slot.site].append(slot.screened_on)
    count = 0
    for dates in by_site.values():
        dates.sort()
        count += sum(1 for a, b in zip(dates, dates[1:], strict=False) if (b - a).days < gap_days)
    return count


# ---------------------------------------------------------------------------- subjects


class _Recorder:
    """Collects a subject's records, fitted to the protocol's forms. ``visit`` and ``log``
    take values named by concept; the protocol's concept map puts them in fields."""

    def __init__(self, protocol: Any, schedule: ScheduleMap, rng: random.Random):
        self.protocol = protocol
        self.schedule = schedule
        self.rng = rng
        self.forms = {f.code: f for f in protocol.forms}
        self.roles = FormRoles.from_protocol(protocol)
        self.items: list[tuple[dt.date, int, int, SimulatedRecord]] = []
        self.log_counts: dict[str, int] = defaultdict(int)

    def _fields(self, form_code: str, values: dict[str, Any]) -> dict[str, Any]:
        return self.protocol.concept_data(form_code, values)

    def visit(self, form_code: str | None, visit_code: str, on: dt.date, values: dict[str, Any]) -> None:
        if form_code is None or form_code not in self.forms:
            return
        self._visit_fields(form_code, visit_code, on, self._fields(form_code, values))

    def _visit_fields(self, form_code: str, visit_code: str, on: dt.date, data: dict[str, Any]) -> None:
        form = self.forms[form_code]
        record = SimulatedRecord(form_code, visit_code, 1, conform(form, data, self.rng, on))
        self.items.append((on, self.schedule.order.get(visit_code, 0), self._position(form_code), record))

    def log(self, form_code: str | None, on: dt.date, values: dict[str, Any]) -> None:
        if form_code is None or form_code not in self.forms:
            return
        self._log_fields(form_code, on, self._fields(form_code, values))

    def _log_fields(self, form_code: str, on: dt.date, data: dict[str, Any]) -> None:
        form = self.forms[form_code]
        self.log_counts[form_code] += 1
        record = SimulatedRecord(
            form_code, None, self.log_counts[form_code], conform(form, data, self.rng, on)
        )
        self.items.append((on, 10_000, self._position(form_code), record))

    def generic_visit_forms(self, visit: Any, on: dt.date) -> None:
        for code in visit.forms:
            if code not in self.roles.modelled and code in self.forms:
                self._visit_fields(code, visit.code, on, generic_data(self.forms[code], self.rng, on))

    def generic_log_forms(self, on: dt.date) -> None:
        for code in self.protocol.schedule.log_forms:
            if code not in self.roles.modelled and code in self.forms:
                self._log_fields(code, on, generic_data(self.forms[code], self.rng, on))

    def _position(self, form_code: str) -> int:
        return next((i for i, f in enumerate(self.protocol.forms) if f.code == form_code), 0)

    def records(self) -> tuple[SimulatedRecord, ...]:
        # chronological; log forms renumbered in date order
        items = sorted(self.items, key=lambda x: (x[0], x[1], x[2], x[3].repeat))
        counters: dict[str, int] = defaultdict(int)
        out = []
        for _, _, _, record in items:
            if record.visit_code is None:
                counters[record.form_code] += 1
                record = SimulatedRecord(record.form_code, None, counters[record.form_code], record.data)
            out.append(record)
        return tuple(out)


def _screening_record(values: dict[str, Any], screening_date: dt.date, consent: dt.date) -> dict[str, Any]:
    return {"screened_on": screening_date, "consented_on": consent, **values}


def _screen_failure(
    protocol: Any,
    schedule: ScheduleMap,
    slot: _Slot,
    age: int,
    rng: random.Random,
) -> SimulatedSubject:
    sex = rng.choice(("sex_female", "sex_male"))
    plan = SCREEN_FAILURE_PLAN[slot.index % len(SCREEN_FAILURE_PLAN)]
    disease_status = _disease_status(rng)
    values, failed, story = draw_screen_failure(
        protocol, rng, plan, age=age, sex=sex, disease_status=disease_status
    )
    screened = slot.screened_on
    consent = screened - D(days=rng.randint(0, 3))
    rec = _Recorder(protocol, schedule, rng)
    forms = rec.roles
    scr = schedule.screening
    visits = []
    if scr is not None:
        rec.visit(forms.screening, scr.code, screened, _screening_record(values, screened, consent))
        marrow = {
            "marrow_assessed_on": screened,
            "marrow_blasts": values["marrow_blasts"],
            "circulating_blasts_seen": False,
            "neutrophil_count": round(rng.uniform(0.2, 2.0), 2),
            "platelet_count": float(rng.randint(10, 120)),
            "hemoglobin_level": round(rng.uniform(7.5, 11.5), 1),
            "extramedullary": False,
            "her2_positive_blasts": values["her2_positive_blasts"],
            "karyotype_performed": True,
            "abnormal_karyotype": bool(values.get("abnormal_karyotype")),
            "assessed_baseline": True,
        }
        if forms.at(scr, forms.marrow):
            rec.visit(forms.marrow, scr.code, screened, marrow)
        if forms.at(scr, forms.lvef):
            lvef = {
                "lvef_assessed_on": screened,
                "lvef": float(values["lvef"]),
                "lvef_by_echocardiography": True,
                "heart_failure_symptoms": False,
            }
            rec.visit(forms.lvef, scr.code, screened, lvef)
        rec.generic_visit_forms(scr, screened)
        visits.append(SimulatedVisit(scr.code, screened, screened))
    decided = screened + D(days=rng.randint(1, 7))
    for v in schedule.end_of_study:
        eos = {"study_ended_on": decided, "ended_screen_failure": True, "last_known_alive": decided}
        rec.visit(forms.end_of_study, v.code, decided, eos)
        visits.append(SimulatedVisit(v.code, decided, decided))
    return SimulatedSubject(
        site_code=slot.site,
        screening_number="",
        sex=_sex_code(sex),
        year_of_birth=year_of_birth(age, screened, rng),
        screened_on=screened,
        consent_date=consent,
        eligible=False,
        failed_criteria=failed,
        enrolled_on=None,
        subject_code=None,
        status="screen_failed",
        visits=tuple(visits),
        records=rec.records(),
        death_date=None,
        course=f"screen failure: {story}",
    )


#: conditions of a patient's past (an older population with relapsed ALL), with their chance
_HISTORY = (
    ("Hypertension", 0.4, True),
    ("Type 2 diabetes mellitus", 0.15, True),
    ("Catheter-related deep vein thrombosis", 0.2, False),
    ("Invasive pulmonary aspergillosis", 0.1, False),
)


def _medical_history(consent: dt.date, age: int, sex: str) -> list[dict[str, Any]]:
    """The conditions that began before the consent (the medical history form), each from its
    own random stream so that the rest of the cohort is drawn as before."""
    rng = _rng(0, "medical_history", consent.isoformat(), age, sex)
    found = []
    for name, chance, ongoing in _HISTORY:
        if rng.random() < chance:
            began = consent - dt.timedelta(days=rng.randint(60, 3000))
            condition: dict[str, Any] = {"history_condition": name, "history_started_on": began}
            if ongoing:
                condition["history_ongoing"] = True
            else:
                condition.update(
                    {
                        "history_ongoing": False,
                        "history_ended_on": min(began + dt.timedelta(days=rng.randint(20, 120)), consent),
                    }
                )
            found.append(condition)
    return found


def _treated(
    protocol: Any,
    schedule: ScheduleMap,
    calendar: StudyCalendar,
    slot: _Slot,
    kind: str,
    roles: cr.Roles,
    age: int,
    rng: random.Random,
    enrollment_rng: random.Random,
) -> SimulatedSubject:
    sex = rng.choice(("sex_female", "sex_male"))
    disease_status = _disease_status(rng)
    values = draw_eligible(protocol, rng, age=age, sex=sex, disease_status=disease_status)
    low, high = cr.BLAST_RANGE[kind]
    values["marrow_blasts"] = round(rng.uniform(max(low, 21.0), high), 1)
    values = _check_eligible(protocol, values)
    screened = slot.screened_on
    consent = screened - D(days=rng.randint(0, 3))
    window = protocol.eligibility.window_days
    first_dose = screened + D(days=rng.randint(min(3, window - 1), min(13, window - 1)))
    # Enrolled with a planned first dose; the first dose is given on that day or a day or two off
    # (a bed free a day late), always within the screening window.
    planned_first_dose = first_dose - D(days=enrollment_rng.choice((0, 0, 0, 1, 1, 2, -1)))
    planned_first_dose = min(max(planned_first_dose, screened + D(days=1)), screened + D(days=window))
    enrolled_on = screened + D(days=enrollment_rng.randint(0, max((planned_first_dose - screened).days - 1, 0)))
    builder = cr.CourseBuilder(
        protocol,
        schedule,
        calendar,
        rng,
        kind=kind,
        roles=roles,
        screening=values,
        screening_date=screened,
        first_dose=first_dose,
        sex=sex,
        planned_first_dose=planned_first_dose,
    )
    course = builder.build()
    rec = _Recorder(protocol, schedule, rng)
    forms = rec.roles
    scr = schedule.screening
    if scr is not None:
        rec.visit(forms.screening, scr.code, screened, _screening_record(values, screened, consent))
    for m in course.marrows:
        rec.visit(forms.marrow, m.visit_code, m.date, m.data())
    for code, data in course.lvefs:
        rec.visit(forms.lvef, code, data["lvef_assessed_on"], data)
    for v in schedule.day_one:
        if forms.at(v, forms.baseline):
            rec.visit(forms.baseline, v.code, first_dose, cr.baseline_data(course, values, rng))
    eot = schedule.end_of_treatment
    if eot is not None and eot.code in course.visit_dates:
        rec.visit(
            forms.end_of_treatment, eot.code, course.visit_dates[eot.code], cr.end_of_treatment_data(course)
        )
    for code, data in course.follow_ups:
        rec.visit(forms.follow_up, code, data["contacted_on"], data)
    for v in schedule.end_of_study:
        if course.end_of_study:
            rec.visit(forms.end_of_study, v.code, course.end_of_study["study_ended_on"], course.end_of_study)
    for inf in course.infusions:
        rec.log(forms.infusion, inf.date, inf.data())
    for t in course.transfusions:
        rec.log(forms.transfusion, t["transfused_on"], t)
    for ae in course.adverse_events:
        rec.log(forms.adverse_event, ae["adverse_event_onset"], ae)
    for med in course.medications:
        rec.log(forms.medication, med["medication_started_on"], med)
    if forms.medical_history is not None:
        for condition in _medical_history(consent, age, sex):
            rec.log(forms.medical_history, condition["history_started_on"], condition)
    # forms the simulator does not model: wherever the schedule asks, and one log entry
    visits_by_code = {v.code: v for v in protocol.schedule.expanded_visits()}
    for code, on in course.visit_dates.items():
        if code in visits_by_code:
            rec.generic_visit_forms(visits_by_code[code], on)
    rec.generic_log_forms(first_dose)

    # What has not happened by the cut-off (today, in a trial in progress) is left out.
    rec.items = [item for item in rec.items if item[0] <= calendar.cutoff]
    done = {code: on for code, on in course.visit_dates.items() if on <= calendar.cutoff}
    visits = []
    for code in sorted(set(done) | set(course.missed_visits), key=lambda c: schedule.order.get(c, 0)):
        planned = course.planned_dates.get(code) or course.missed_visits.get(code) or done[code]
        visits.append(SimulatedVisit(code, planned, done.get(code)))
    return SimulatedSubject(
        site_code=slot.site,
        screening_number="",
        sex=_sex_code(sex),
        year_of_birth=year_of_birth(age, screened, rng),
        screened_on=screened,
        consent_date=consent,
        eligible=True,
        failed_criteria=(),
        enrolled_on=enrolled_on,
        subject_code=None,
        status=course.status,  # type: ignore[arg-type]
        visits=tuple(visits),
        records=rec.records(),
        death_date=course.death_date,
        planned_first_dose_on=planned_first_dose,
        first_dose_on=first_dose,
        course=cr.COURSE_TEXT[kind] + (" (on treatment today)" if course.status == "enrolled" else ""),
        confirmed_responses=tuple((m.visit_code, m.justification) for m in course.marrows if m.justification),
        cardiac_lifts=tuple(course.cardiac_lifts),
    )


def _disease_status(rng: random.Random) -> str:
    relapsed, refractory = DISEASE_STATUSES[:2]
    return refractory if rng.random() < 0.3 else relapsed


def _sex_code(sex: str) -> str:
    """The subject's sex as the subject table holds it (``F``/``M``) from its concept."""
    return "M" if sex == "sex_male" else "F"


def _check_eligible(protocol: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Check that adjusted screening values still meet every criterion."""
    results = criteria_results(protocol, values)
    bad = [code for code, r in results.items() if r is not Tri.TRUE]
    if bad:
        raise ValueError(f"simulated screening values fail {bad}")
    return values


# ---------------------------------------------------------------------------- the cohort


def simulate_cohort(
    protocol: Any,
    seed: int = 2012,
    n_treated: int = 15,
    n_screen_failures: int | None = None,
    *,
    today: dt.date | None = None,
) -> SimulatedCohort:
    """A virtual cohort of ``n_treated`` treated patients and screen failures.

    With the defaults and the NCT00724360 protocol it looks like the published trial:
    15 patients over the 8 sites (the sponsor's site most), median age 62, two partial
    responses and no complete response, one reversible grade 3 LVEF decrease, most
    patients progressing and dying within months.

    ``today``: a trial in progress. The calendar is shifted so that today falls in its last
    months (every patient enrolled, the last ones still on treatment, one of them with its
    weekly infusion overdue) and nothing after today is recorded; the protocol's own dates
    are left as they are. Without it, the whole trial on the registry's calendar.
    """
    if n_treated < 0:
        raise ValueError("n_treated cannot be negative")
    if n_screen_failures is None:
        n_screen_failures = round(0.6 * n_treated)
    if n_screen_failures < 0:
        raise ValueError("n_screen_failures cannot be negative")
    if not protocol.sites:
        raise ValueError("the protocol lists no site")
    calendar = StudyCalendar.from_protocol(protocol)
    if today is not None:
        calendar = calendar.in_progress_on(today)
    schedule = ScheduleMap.from_protocol(protocol)
    rng = _rng(seed, "cohort")
    activation = _activate_sites(protocol, calendar, rng)
    treated_sites = _allocate_treated(protocol, n_treated, rng)
    weights = [1 + treated_sites.count(s.code) for s in protocol.sites]
    failure_sites = [s.code for s in rng.choices(protocol.sites, weights=weights, k=n_screen_failures)]
    forced: tuple[dt.date, ...] = ()
    plan = course_plan(n_treated)
    # a trial in progress: the course followed up today, then those still treated (its place in the plan)
    call_due = len(plan) - sum(1 for kind in ON_TREATMENT_TODAY_COURSES if kind in plan) - 1
    call_due = call_due if today is not None and call_due >= 0 and CALL_DUE_TODAY_COURSE in plan else None
    if today is not None:
        # the last patients screened are still treated today: screening about 18, 10 and 6
        # weeks before it, courses long enough to be running; before them, the patient whose
        # first follow-up call falls due today (screened about 5 months before it)
        days_ago = ON_TREATMENT_TODAY_SCREENED_DAYS_AGO
        if call_due is not None:
            days_ago = (CALL_DUE_TODAY_SCREENED_DAYS_AGO, *days_ago)
        forced = tuple(today - D(days=days) for days in days_ago)
    slots = _schedule_screenings(protocol, calendar, activation, treated_sites, failure_sites, rng, forced)

    rng.shuffle(plan)
    if today is not None:
        _put_last(
            plan,
            (CALL_DUE_TODAY_COURSE, *ON_TREATMENT_TODAY_COURSES)
            if call_due is not None
            else ON_TREATMENT_TODAY_COURSES,
        )
    roles = _roles(plan)
    if today is not None and plan and plan[-1] in ON_TREATMENT_TODAY_COURSES:
        roles[-1] = replace(roles[-1], overdue=True)
    if call_due is not None:
        roles[call_due] = replace(roles[call_due], call_due=True)
    treated_ages = _ages(n_treated, rng)
    failure_ages = [int(round(min(max(rng.gauss(MEDIAN_AGE, 14), 19), 84))) for _ in range(n_screen_failures)]

    def treated(slot: _Slot) -> SimulatedSubject:
        i = slot.index
        srng = _rng(seed, "treated", i)
        erng = _rng(seed, "enrollment", i)
        return _treated(protocol, schedule, calendar, slot, plan[i], roles[i], treated_ages[i], srng, erng)

    if call_due is not None and today is not None:
        _time_the_call_due(protocol, schedule, activation, slots, call_due, today, treated)

    subjects = []
    for slot in slots:
        if slot.treated:
            subject = treated(slot)
        else:
            srng = _rng(seed, "screen-failure", slot.index)
            subject = _screen_failure(protocol, schedule, slot, failure_ages[slot.index], srng)
        subjects.append(subject)
    cohort = SimulatedCohort(seed=seed, subjects=tuple(_number(subjects)), site_activation=activation)
    return simulate_supply(protocol, cohort, seed=seed, today=calendar.cutoff)


#: a trial in progress: the courses of the last patients, still on treatment today (a partial
#: response past its second marrow, another at its second, no response at the first marrow)
ON_TREATMENT_TODAY_COURSES = (cr.PR_CARDIAC, cr.PR_TRANSPLANT, cr.NR_STOP)
ON_TREATMENT_TODAY_SCREENED_DAYS_AGO = (136, 76, 44)
#: a trial in progress: the course of the patient in follow-up whose first call falls due today
#: (no response at month 1, progression at month 2; alive three months after the last dose)
CALL_DUE_TODAY_COURSE = cr.NR_THEN_PD
CALL_DUE_TODAY_SCREENED_DAYS_AGO = 157  # a first guess: the course is then timed to the day


def _time_the_call_due(
    protocol, schedule, activation, slots: list[_Slot], index: int, today, treated
) -> None:
    """Time the course of the treated patient ``index`` (role ``call_due``) so that its first
    follow-up call, planned from its end of treatment, falls due today; at the sponsor's site,
    whose coordinator makes the calls of the demo. A subject's course is drawn from its own
    random stream, so moving its screening date moves its whole course by as many days."""
    slot = next((s for s in slots if s.treated and s.index == index), None)
    if slot is None or not schedule.follow_up or not protocol.has_concept("treatment_stopped_on"):
        return
    lead = protocol.sites[0].code
    if slot.site != lead:
        opens = _opens(activation)
        swaps = [
            s
            for s in slots
            if s.treated and s.site == lead and s.index < index and opens[slot.site] <= s.screened_on
        ]
        if swaps:
            other = max(swaps, key=lambda s: s.screened_on)
            other.site, slot.site = slot.site, lead
    form = protocol.concept_form("treatment_stopped_on")
    for _attempt in range(3):
        ended = next(
            (
                protocol.read_concept("treatment_stopped_on", form, r.data)
                for r in treated(slot).records_of(form)
            ),
            None,
        )
        if ended is None:
            return
        shift = today - (ended + D(days=schedule.follow_up[0].day))
        if not shift:
            break
        slot.screened_on += shift
    slots.sort(key=_screening_order)


def _put_last(plan: list[str], kinds: tuple[str, ...]) -> None:
    """Move one course of each of ``kinds`` (those the plan has) to the end of the plan, in order."""
    wanted = [kind for kind in kinds if kind in plan]
    rest = list(plan)
    for kind in wanted:
        rest.remove(kind)
    plan[:] = rest + wanted


def _number(subjects: list[SimulatedSubject]) -> list[SimulatedSubject]:
    """Screening numbers per site in screening order (``NTE-S01``); subject codes per
    site in enrollment order (``NTE-001``)."""
    screened: dict[str, int] = defaultdict(int)
    numbered = []
    for s in subjects:
        screened[s.site_code] += 1
        numbered.append(replace(s, screening_number=f"{s.site_code}-S{screened[s.site_code]:02d}"))
    enrolled: dict[str, int] = defaultdict(int)
    codes: dict[int, str] = {}
    order = sorted(
        (i for i, s in enumerate(numbered) if s.enrolled_on is not None),
        key=lambda i: (numbered[i].enrolled_on, numbered[i].screened_on, i),
    )
    for i in order:
        site = numbered[i].site_code
        enrolled[site] += 1
        codes[i] = f"{site}-{enrolled[site]:03d}"
    return [replace(s, subject_code=codes.get(i)) for i, s in enumerate(numbered)]
