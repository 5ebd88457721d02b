"""The clinical course of one simulated patient, from screening to the end of study.

A treated patient follows one of a few courses seen in the published trial
(Chevallier et al., Blood 2012;119:2474): progression at the first monthly marrow,
no response then progression, no response after the minimum duration, a partial
response (PR) lasting a few months, or an early death on treatment. The course
decides the marrow results; :func:`trialdesk.clinical.response.classify_response`
classifies each marrow under the protocol's thresholds, and the generator checks that
it says what the course intends.

Everything else follows the protocol: the schedule's visits and windows, the dose
rules through :func:`trialdesk.clinical.dosing.propose_dose` (loading and maintenance
mg/kg, weekly interval, reload after a dose late by more than the allowed delay, dose
recomputed after a weight change), the screening window. Values are named by clinical
concept; the protocol's concept map says which field records each (no field code or
choice value of a trial is named here).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from trialdesk.clinical import ctcae
from trialdesk.clinical.cardiac import assess_cardiac_hold, suggest_ef_decreased_grade
from trialdesk.clinical.dosing import check_deviation, propose_dose
from trialdesk.clinical.response import (
    MarrowAssessment,
    Nadir,
    ResponseCategory,
    best_response,
    classify_response,
    track_nadir,
)
from trialdesk.simulate.forms import FormRoles
from trialdesk.simulate.schedule import ScheduleMap, StudyCalendar
from trialdesk.simulate.screening import ABNORMAL_KARYOTYPES, philadelphia

D = dt.timedelta

# Outcome classes of treated patients.
EARLY_DEATH = "early_death"
PD_FIRST = "progression_first_assessment"
NR_THEN_PD = "no_response_then_progression"
NR_STOP = "no_response_minimum_duration"
PR_CARDIAC = "partial_response_cardiac_event"
PR_TRANSPLANT = "partial_response_transplant"
PR_RELAPSE = "partial_response_then_progression"

COURSE_TEXT = {
    EARLY_DEATH: "early death on treatment (sepsis)",
    PD_FIRST: "progression at the first monthly marrow",
    NR_THEN_PD: "no response at month 1, progression at month 2",
    NR_STOP: "no response after the minimum duration",
    PR_CARDIAC: "partial response; reversible grade 3 LVEF decrease; progression",
    PR_TRANSPLANT: "partial response, then allogeneic transplant",
    PR_RELAPSE: "partial response, then progression",
}

# The marrow results each course aims at, month after month (_FALLING: no response
# with a decrease of blasts that is not yet a PR).
_PD = ResponseCategory.PROGRESSION
_NR = ResponseCategory.NO_RESPONSE
_PR = ResponseCategory.PR
_FALLING = "falling_without_response"
# A "partial remission cytolytic response" (Chevallier et al., Blood 2012;119:2474): the
# marrow blasts fall by more than half into the PR range, but the platelets do not recover,
# so the criteria derive no response; the investigator assesses a PR and confirms it.
_CYTOLYTIC = "cytolytic_partial_response"
CYTOLYTIC_JUSTIFICATION = (
    "Cytolytic partial response: marrow blasts down by more than half under trastuzumab; "
    "platelets not recovered because of marrow aplasia, not of leukemia."
)
RESPONSE_PLAN: dict[str, list[str]] = {
    EARLY_DEATH: [],
    PD_FIRST: [_PD],
    NR_THEN_PD: [_NR, _PD],
    NR_STOP: [_NR, _NR],  # extended to the minimum duration below
    PR_CARDIAC: [_FALLING, _PR, _PR, _PR, _PD],
    PR_TRANSPLANT: [_FALLING, _CYTOLYTIC, _CYTOLYTIC],
    PR_RELAPSE: [_FALLING, _PR, _PR, _PD],
}


def _category(intended: str) -> ResponseCategory:
    """The response the criteria derive for an intended marrow."""
    return _NR if intended in (_FALLING, _CYTOLYTIC) else ResponseCategory(intended)


#: the investigator's assessment of each response category (a choice concept)
ASSESSED = {
    ResponseCategory.CR: "assessed_cr",
    ResponseCategory.CRP: "assessed_crp",
    ResponseCategory.PR: "assessed_pr",
    ResponseCategory.NO_RESPONSE: "assessed_no_response",
    ResponseCategory.PROGRESSION: "assessed_progression",
    ResponseCategory.RELAPSE: "assessed_relapse",
}

# Reasons (choice concepts) of the end of treatment and of the end of study.
STOPPED_DEATH = "stopped_for_death"
STOPPED_PROGRESSION = "stopped_for_progression"
STOPPED_NO_RESPONSE = "stopped_for_no_response"
STOPPED_TRANSPLANT = "stopped_for_transplant"
ENDED_DEATH = "ended_by_death"

# Why the study drug is held for a while.
CARDIAC_HOLD = "held_for_lvef_drop"
INFECTION_HOLD = "held_for_lung_infection"

BLAST_RANGE = {
    EARLY_DEATH: (35.0, 90.0),
    PD_FIRST: (30.0, 62.0),
    NR_THEN_PD: (30.0, 62.0),
    NR_STOP: (30.0, 85.0),
    PR_CARDIAC: (50.0, 85.0),
    PR_TRANSPLANT: (50.0, 85.0),
    PR_RELAPSE: (50.0, 85.0),
}


@dataclass
class Marrow:
    visit_code: str
    date: dt.date
    blasts: float
    circulating: float  # percent, 0 when none
    anc: float
    platelets: float
    hemoglobin: float
    extramedullary: bool
    her2: float | None
    karyotype_done: bool
    karyotype_abnormal: bool | None
    #: the derived response (the investigator's assessment too, unless ``assessed``); None
    #: for the baseline marrow
    response: ResponseCategory | None
    #: the investigator's assessment where it differs from the derived response
    assessed: ResponseCategory | None = None
    #: the investigator's justification of that assessment, confirmed against the derived one
    justification: str | None = None

    @property
    def investigator_response(self) -> ResponseCategory | None:
        return self.assessed or self.response

    def data(self) -> dict[str, Any]:
        """The record's values by concept."""
        investigator = self.investigator_response
        assessed = "assessed_baseline" if investigator is None else ASSESSED[investigator]
        return {
            "marrow_assessed_on": self.date,
            "marrow_blasts": self.blasts,
            "circulating_blasts_seen": self.circulating > 0,
            "circulating_blasts": self.circulating if self.circulating > 0 else None,
            "neutrophil_count": self.anc,
            "platelet_count": self.platelets,
            "hemoglobin_level": self.hemoglobin,
            "extramedullary": self.extramedullary,
            "her2_positive_blasts": self.her2,
            "karyotype_performed": self.karyotype_done,
            "abnormal_karyotype": self.karyotype_abnormal if self.karyotype_done else None,
            assessed: True,
        }

    def assessment(self) -> MarrowAssessment:
        return MarrowAssessment(
            marrow_blasts=self.blasts,
            circulating_blasts=self.circulating,
            extramedullary=self.extramedullary,
            neutrophil_count=self.anc,
            platelet_count=self.platelets,
        )


@dataclass
class Infusion:
    date: dt.date
    weight_used: float
    loading: bool
    mg_per_kg: float
    prescribed: float
    administered: float
    minutes: int
    reaction_grade: int | None = None
    comment: str | None = None
    #: the weight measured that day (the dose is computed on it or on the weight used so far)
    weight_measured: float | None = None
    vials: int | None = None
    started_at: str | None = None
    ended_at: str | None = None
    interrupted_minutes: int | None = None

    def data(self) -> dict[str, Any]:
        """The record's values by concept."""
        return {
            "dose_date": self.date,
            "weight_on_dose_day": self.weight_measured if self.weight_measured is not None else self.weight_used,
            "dose_vials": self.vials,
            "infusion_started_at": self.started_at,
            "infusion_ended_at": self.ended_at,
            "infusion_interruption": self.interrupted_minutes is not None,
            "infusion_interruption_minutes": self.interrupted_minutes,
            "dose_weight": self.weight_used,
            "loading_dose": self.loading,
            "dose_per_kg": self.mg_per_kg,
            "dose_prescribed": self.prescribed,
            "dose_given": self.administered,
            "infusion_duration": self.minutes,
            "infusion_reaction_seen": self.reaction_grade is not None,
            "infusion_reaction_severity": self.reaction_grade,
            "dose_note": self.comment,
        }


@dataclass
class Course:
    """Everything that happened to one treated patient (dates and values)."""

    kind: str
    first_dose: dt.date
    weight: float
    height: float
    marrows: list[Marrow] = field(default_factory=list)
    visit_dates: dict[str, dt.date] = field(default_factory=dict)
    missed_visits: dict[str, dt.date] = field(default_factory=dict)
    planned_dates: dict[str, dt.date] = field(default_factory=dict)
    lvefs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: cardiac holds the investigator lifted: (visit code of the LVEF that started it, the day
    #: of the decision, its reason)
    cardiac_lifts: list[tuple[str, dt.date, str]] = field(default_factory=list)
    infusions: list[Infusion] = field(default_factory=list)
    transfusions: list[dict[str, Any]] = field(default_factory=list)
    adverse_events: list[dict[str, Any]] = field(default_factory=list)
    medications: list[dict[str, Any]] = field(default_factory=list)
    follow_ups: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    end_date: dt.date | None = None
    end_reason: str = ""  # a choice concept of the end of treatment (stopped_for_…)
    death_date: dt.date | None = None
    death_cause: str | None = None  # a choice concept (death_from_…)
    end_of_study: dict[str, Any] = field(default_factory=dict)
    status: str = "completed"


@dataclass(frozen=True)
class Roles:
    """Which treated patient carries the cohort's singular events."""

    infusion_deviation: bool = False
    infusion_reaction: bool = False
    infection_delay: bool = False
    withdraws: bool = False
    extramedullary: bool = False
    #: in a trial in progress: on treatment, its last weekly infusion not given yet (overdue)
    overdue: bool = False
    #: in a trial in progress: off treatment, alive today, its next follow-up call still to make
    #: (the cohort times its course so that the call falls due today)
    call_due: bool = False


class CourseBuilder:
    def __init__(
        self,
        protocol: Any,
        schedule: ScheduleMap,
        calendar: StudyCalendar,
        rng: random.Random,
        *,
        kind: str,
        roles: Roles,
        screening: dict[str, Any],
        screening_date: dt.date,
        first_dose: dt.date,
        sex: str,
        planned_first_dose: dt.date | None = None,
    ):
        self.s = schedule
        self.cal = calendar
        self.rng = rng
        self.kind = kind
        self.roles = roles
        self.scr = screening
        self.screening_date = screening_date
        self.planned_first_dose = planned_first_dose or first_dose
        self.sex = sex
        self.forms = FormRoles.from_protocol(protocol)
        self.rc = protocol.response_criteria
        try:
            self.rules = protocol.dose_rules
        except KeyError:
            self.rules = None
        male = sex == "sex_male"
        weight = rng.gauss(77 if male else 64, 11 if male else 10)
        height = rng.gauss(175 if male else 163, 7 if male else 6)
        self.c = Course(
            kind=kind,
            first_dose=first_dose,
            weight=round(min(max(weight, 45.0), 125.0), 1),
            height=round(min(max(height, 148.0), 198.0), 1),
        )
        # per cent of body weight per week (leukemia wastes); a long course crosses the recompute threshold
        self.weight_drift = -0.95 if kind == PR_CARDIAC else rng.uniform(-0.5, 0.15)
        self.holds: list[tuple[dt.date, dt.date, str]] = []

    # ------------------------------------------------------------------ helpers
    def day(self, offset: int) -> dt.date:
        return self.c.first_dose + D(days=offset)

    def jitter(self, visit: Any, low: int = -2, high: int = 3) -> int:
        return self.rng.randint(max(low, -visit.window_before), min(high, visit.window_after))

    def weight_on(self, when: dt.date) -> float:
        weeks = (when - self.c.first_dose).days / 7
        noise = self.rng.gauss(0, 0.4)
        return round(self.c.weight * (1 + (self.weight_drift * weeks + noise) / 100), 1)

    # ------------------------------------------------------------------ the course
    def build(self) -> Course:
        c = self.c
        self.baseline_marrow()
        self.visit_dates_before_treatment()
        if self.kind == EARLY_DEATH:
            c.death_date = self.day(self.rng.randint(10, 24))
            c.death_cause = "death_from_infection"
            c.end_date = c.death_date
            c.end_reason = STOPPED_DEATH
        else:
            self.monthly_marrows()
        self.cardiac_assessments()
        self.infection_hold()
        self.infusions()
        self.end_of_treatment()
        self.survival()
        self.transfusions()
        self.adverse_events()
        self.medications()
        return c

    def baseline_marrow(self) -> None:
        rng, scr = self.rng, self.scr
        if self.kind == PR_TRANSPLANT and not scr.get("abnormal_karyotype"):
            # the cohort's cytogenetic response: this patient's abnormal karyotype (recorded at
            # screening too: the screening values are this dict) becomes normal on treatment
            scr["abnormal_karyotype"] = True
            sx = "XY" if self.sex == "sex_male" else "XX"
            scr["karyotype_formula"] = ABNORMAL_KARYOTYPES[2].format(sx=sx)
        baseline = Marrow(
            visit_code=self.s.screening.code if self.s.screening else "",
            date=self.screening_date,
            blasts=scr["marrow_blasts"],
            circulating=round(rng.uniform(4, 60), 1) if rng.random() < 0.65 else 0.0,
            anc=round(rng.uniform(0.1, 1.6), 2),
            platelets=float(rng.randint(6, 85)),
            hemoglobin=round(rng.uniform(7.4, 10.4), 1),
            extramedullary=self.roles.extramedullary,
            her2=scr["her2_positive_blasts"],
            karyotype_done=True,
            karyotype_abnormal=bool(scr.get("abnormal_karyotype")),
            response=None,
        )
        self.c.marrows.append(baseline)

    def visit_dates_before_treatment(self) -> None:
        c = self.c
        if self.s.screening is not None:  # on its own date
            c.planned_dates[self.s.screening.code] = self.screening_date
            c.visit_dates[self.s.screening.code] = self.screening_date
        for v in self.s.day_one:
            # planned from the planned first dose at enrollment; done on the day of the first dose
            c.planned_dates[v.code] = self.planned_first_dose + D(days=v.day)
            c.visit_dates[v.code] = self.day(v.day)

    def monthly_marrows(self) -> None:
        c, rng, rc = self.c, self.rng, self.rc
        visits = self.s.with_form(self.s.on_treatment, self.forms.marrow) if self.forms.marrow else []
        plan = list(RESPONSE_PLAN[self.kind])
        if self.kind == NR_STOP and self.rules is not None:
            minimum = self.rules.minimum_duration_weeks * 7
            needed = next((i + 1 for i, v in enumerate(visits) if v.day >= minimum), len(visits))
            plan = [_NR] * max(needed, 1)
        plan = plan[: len(visits)]
        if not plan:  # a protocol without monthly marrows: stop at the minimum duration
            c.end_date = self.day((self.rules.minimum_duration_weeks * 7) if self.rules else 56)
            c.end_reason = STOPPED_NO_RESPONSE
            return
        baseline = c.marrows[0]
        nadir = Nadir.of(baseline.assessment())
        best: ResponseCategory | None = None
        previous = baseline
        abnormal = bool(baseline.karyotype_abnormal)
        for i, (visit, intended) in enumerate(zip(visits, plan, strict=False)):
            date = self.day(visit.day + self.jitter(visit))
            c.planned_dates[visit.code] = self.day(visit.day)
            c.visit_dates[visit.code] = date
            for _ in range(50):
                m = self.marrow_values(visit.code, date, intended, baseline, previous, nadir)
                m.karyotype_done = abnormal and i in (1, 2) and rng.random() < 0.85
                # the cytogenetic response, at the first marrow of the response
                cytogenetic_response = self.kind == PR_TRANSPLANT and i >= 1
                if cytogenetic_response and i == 1:
                    m.karyotype_done = True
                if m.karyotype_done:
                    m.karyotype_abnormal = not cytogenetic_response
                result = classify_response(m.assessment(), baseline.assessment(), nadir, best, rc)
                if result.category == _category(intended):
                    break
            else:  # pragma: no cover - the ranges below always reach the intended response
                raise AssertionError(f"cannot simulate a marrow with {intended}")
            m.response = result.category
            if intended == _CYTOLYTIC:
                m.assessed, m.justification = _PR, CYTOLYTIC_JUSTIFICATION
            c.marrows.append(m)
            nadir = track_nadir(nadir, m.assessment())
            best = best_response(best, result.category)
            previous = m
        last = c.marrows[-1]
        if last.response == _PD:
            c.end_date = last.date + D(days=rng.randint(0, 2))
            c.end_reason = STOPPED_PROGRESSION
        elif self.kind == PR_TRANSPLANT:
            c.end_date = last.date + D(days=rng.randint(4, 10))
            c.end_reason = STOPPED_TRANSPLANT
        else:
            c.end_date = last.date + D(days=rng.randint(1, 4))
            c.end_reason = STOPPED_NO_RESPONSE

    def marrow_values(
        self,
        code: str,
        date: dt.date,
        intended: str,
        baseline: Marrow,
        previous: Marrow,
        lowest: Nadir,
    ) -> Marrow:
        rng, rc = self.rng, self.rc
        nadir, circ_nadir = lowest.marrow_blasts, lowest.circulating_blasts
        responding = intended in (_PR, _CYTOLYTIC)
        if intended == _PD:
            factor = rng.uniform(1.8, 3.0) if nadir < 30 else rng.uniform(1.35, 1.8)
            blasts = min(97.0, nadir * factor)
            circulating = round(min(95.0, max(circ_nadir * rng.uniform(1.4, 2.2), rng.uniform(3, 25))), 1)
        elif intended == _FALLING:
            blasts = baseline.blasts * rng.uniform(0.55, 0.72)
            circulating = (
                round(circ_nadir * rng.uniform(0.3, 0.9), 1) if circ_nadir and rng.random() < 0.6 else 0.0
            )
        elif responding:
            if previous.investigator_response == _PR:
                blasts = previous.blasts * rng.uniform(0.75, 1.15)
            else:
                blasts = baseline.blasts * rng.uniform(0.2, 0.42)
            ceiling = min(rc.pr_marrow_blasts_max_pct, baseline.blasts * (1 - rc.pr_min_decrease_pct / 100))
            blasts = min(max(blasts, rc.cr_marrow_blasts_below_pct + 1.0), ceiling - 0.5)
            circulating = 0.0
        else:  # NR
            blasts = min(99.0, nadir * rng.uniform(0.9, 1.15))
            circulating = (
                round(circ_nadir * rng.uniform(0.5, 1.15), 1) if circ_nadir and rng.random() < 0.8 else 0.0
            )
        her2 = None
        if rng.random() < 0.7:
            her2 = round(min(100.0, baseline.her2 * rng.uniform(0.5, 1.05)), 1) if baseline.her2 else None
        return Marrow(
            visit_code=code,
            date=date,
            blasts=round(blasts, 1),
            circulating=circulating,
            anc=round(rng.uniform(1.1, 2.9), 2) if responding else round(rng.uniform(0.1, 1.5), 2),
            platelets=float(rng.randint(105, 190))
            if intended == _PR
            else float(rng.randint(40, 90))
            if responding
            else float(rng.randint(8, 75)),
            hemoglobin=round(rng.uniform(10.0, 12.6), 1) if responding else round(rng.uniform(7.2, 10.2), 1),
            extramedullary=baseline.extramedullary,
            her2=her2,
            karyotype_done=False,
            karyotype_abnormal=None,
            response=_category(intended),
        )

    # ------------------------------------------------------------------ LVEF
    def cardiac_assessments(self) -> None:
        c, rng = self.c, self.rng
        baseline_lvef = float(self.scr["lvef"])
        methods = ("lvef_by_echocardiography", "lvef_by_isotopic_ventriculography", "lvef_by_cardiac_mri")
        self.lvef_method = rng.choices(methods, weights=(8, 2, 0.5))[0]
        if self.s.screening is not None:
            c.lvefs.append((self.s.screening.code, self.lvef(self.screening_date, baseline_lvef)))
        assert c.end_date is not None
        if self.forms.lvef is None:
            return
        for visit in self.s.with_form(self.s.on_treatment, self.forms.lvef):
            planned = self.day(visit.day)
            same_day = next(
                (m.date for m in c.marrows[1:] if c.planned_dates.get(m.visit_code) == planned), None
            )
            date = same_day or self.day(visit.day + self.jitter(visit, -5, 5))
            if date >= c.end_date:
                break
            c.planned_dates[visit.code] = planned
            c.visit_dates[visit.code] = date
            hold_rules = self.rules.cardiac_hold if self.rules is not None else None
            if self.kind == PR_CARDIAC and not self.holds and hold_rules is not None:
                drop = rng.randint(20, 24)
                value = min(39.0, baseline_lvef - drop)
                c.lvefs.append((visit.code, self.lvef(date, value)))
                # the hold the shell opens on this LVEF, by the same rule; lifted once the
                # repeat LVEF within the protocol's delay shows the recovery
                if assess_cardiac_hold(baseline_lvef, value, hold_rules).hold:
                    within = hold_rules.repeat_lvef.within_days
                    recovery = date + D(days=rng.randint(min(21, within), within))
                    self.holds.append((date, recovery, CARDIAC_HOLD))
                    if recovery <= self.cal.cutoff:  # else still on hold today
                        c.cardiac_lifts.append(
                            (visit.code, recovery, "Repeat LVEF recovered; cardiologist agrees to resume")
                        )
            else:
                value = baseline_lvef + rng.choice((-4, -3, -2, -1, 0, 1, 2))
                c.lvefs.append((visit.code, self.lvef(date, max(value, 50.0))))

    def lvef(self, date: dt.date, value: float) -> dict[str, Any]:
        data = {
            "lvef_assessed_on": date,
            "lvef": float(value),
            self.lvef_method: True,
            "heart_failure_symptoms": False,
        }
        if date > self.screening_date:
            # the investigator confirms the grade suggested from the drop (0: no decrease)
            suggested = suggest_ef_decreased_grade(float(self.scr["lvef"]), float(value))
            data["ejection_fraction_decreased_grade"] = suggested.grade if suggested else 0
        return data

    def infection_hold(self) -> None:
        if not self.roles.infection_delay:
            return
        onset = self.day(self.rng.randint(15, 18))
        recovery = onset + D(days=self.rng.randint(14, 17))
        assert self.c.end_date is not None
        if recovery < self.c.end_date:
            self.holds.append((onset, recovery, INFECTION_HOLD))

    # ------------------------------------------------------------------ dosing
    def infusions(self) -> None:
        c, rng, rules = self.c, self.rng, self.rules
        if rules is None:
            return
        assert c.end_date is not None
        weight_used: float | None = None
        planned = c.first_dose
        previous: dt.date | None = None
        while True:
            date = planned
            comment = None
            if previous is not None and rng.random() < 0.1:
                date += D(days=rng.randint(1, 3))  # a bank holiday, a late ambulance
            if self.cal.in_progress and date > self.cal.cutoff - D(days=9 if self.roles.overdue else 0):
                break  # not given yet (today is the cut-off); the overdue patient missed the last one
            for start, end, why in self.holds:
                if start <= date < end:
                    date = end
                    comment = (
                        "Resumed after LVEF recovery"
                        if why == CARDIAC_HOLD
                        else "Dose delayed (lung infection)"
                    )
            if date >= c.end_date:
                if c.end_reason == STOPPED_NO_RESPONSE and len(c.infusions) < rules.minimum_duration_weeks:
                    # no response, but the protocol's minimum duration is not reached: go on
                    c.end_date = date + D(days=rng.randint(1, 3))
                else:
                    break
            weight_now = c.weight if previous is None else self.weight_on(date)
            # the dose the shell proposes and the investigator validates: the same function
            dose = propose_dose(
                rules, date, previous_dose_on=previous, weight_now_kg=weight_now, weight_used_kg=weight_used
            )
            assert dose.kind is not None and dose.dose_mg is not None and dose.mg_per_kg is not None
            notes = [comment] if comment else []
            if dose.interval.status in ("late", "missed"):
                notes.append(dose.reasons[0])
            if dose.weight is not None and dose.weight.recompute:
                notes.append(dose.reasons[1])
            comment = "; ".join(notes) or None
            weight_used, loading = dose.weight_kg, dose.loading
            prescribed = dose.dose_mg
            minutes = 90 if loading else 30
            start_minutes = rng.choice((9 * 60, 9 * 60 + 30, 10 * 60, 10 * 60 + 30, 14 * 60))
            infusion = Infusion(
                date=date,
                weight_used=weight_used,
                loading=loading,
                mg_per_kg=dose.mg_per_kg,
                prescribed=prescribed,
                administered=prescribed,
                minutes=minutes,
                comment=comment,
                weight_measured=weight_now,
                vials=dose.vials,
            )
            if previous is None and (self.roles.infusion_reaction or self.roles.infusion_deviation):
                infusion.reaction_grade = 2 if self.roles.infusion_deviation else 1
            elif previous is None and rng.random() < 0.25:
                infusion.reaction_grade = rng.choice((1, 1, 2))
            elif rng.random() < 0.03:
                infusion.reaction_grade = 1
            if infusion.reaction_grade:
                infusion.minutes += 30 * infusion.reaction_grade
                if infusion.reaction_grade >= 2:
                    infusion.interrupted_minutes = 30 * infusion.reaction_grade
            infusion.started_at = f"{start_minutes // 60:02d}:{start_minutes % 60:02d}"
            end_minutes = start_minutes + infusion.minutes + (infusion.interrupted_minutes or 0)
            infusion.ended_at = f"{end_minutes // 60:02d}:{end_minutes % 60:02d}"
            if previous is None and self.roles.infusion_deviation:
                infusion.administered = float(round(prescribed * 0.75))
                deviation = check_deviation(prescribed, infusion.administered, rules)
                assert deviation.deviation
                infusion.comment = (
                    f"Infusion stopped at 75 % of the dose (grade 2 infusion related reaction); "
                    f"{deviation.explanation}"
                )
            c.infusions.append(infusion)
            previous = date
            planned = date + D(days=rules.interval_days)

    # ------------------------------------------------------------------ end of treatment, survival
    def end_of_treatment(self) -> None:
        c, rng = self.c, self.rng
        assert c.end_date is not None
        eot = self.s.end_of_treatment
        if eot is None:
            return
        planned = c.end_date + D(days=eot.day or 0)
        c.planned_dates[eot.code] = planned
        if c.end_reason == STOPPED_DEATH:
            c.visit_dates[eot.code] = planned
            return
        actual = planned + D(days=rng.randint(0, min(10, eot.window_after)))
        c.visit_dates[eot.code] = actual
        if self.forms.at(eot, self.forms.lvef):
            recent = [v for code, v in c.lvefs[1:] if (actual - v["lvef_assessed_on"]).days <= 21]
            if not recent:
                base = float(self.scr["lvef"])
                value = (
                    base - rng.randint(2, 6)
                    if self.kind == PR_CARDIAC
                    else base + rng.choice((-3, -2, -1, 0, 1))
                )
                c.lvefs.append((eot.code, self.lvef(actual, max(value, 50.0))))

    def survival(self) -> None:
        c, rng, cal = self.c, self.rng, self.cal
        assert c.end_date is not None
        eot_visit = c.visit_dates.get(self.s.end_of_treatment.code) if self.s.end_of_treatment else None
        last_seen = eot_visit or c.end_date
        if c.death_date is None and self.kind != PR_TRANSPLANT:
            after = {
                PD_FIRST: (18, 100),
                NR_THEN_PD: (25, 130),
                NR_STOP: (60, 220),
                PR_CARDIAC: (50, 160),
                PR_RELAPSE: (50, 160),
            }[self.kind]
            death = last_seen + D(days=rng.randint(*after))
            if death <= cal.cutoff and not self.roles.withdraws and not self.roles.call_due:
                c.death_date = death
                c.death_cause = "death_from_leukemia" if rng.random() < 0.85 else "death_from_infection"
        eos_date: dt.date
        if c.end_reason == STOPPED_DEATH and cal.in_progress and c.death_date is not None and c.death_date > cal.cutoff:
            c.death_date = c.death_cause = None  # still on treatment today
            c.status = "enrolled"
            return
        if c.end_reason == STOPPED_DEATH:
            assert c.death_date is not None
            eos_date = c.death_date + D(days=rng.randint(0, 3))
            self.close(eos_date, ENDED_DEATH)
            return
        withdrawal_after = 1 if self.roles.withdraws else None
        done = 0
        for visit in self.s.follow_up:
            planned = c.end_date + D(days=visit.day)
            if c.death_date is not None and c.death_date <= planned + D(days=visit.window_after):
                contact = min(c.death_date + D(days=rng.randint(1, 10)), cal.cutoff)
                c.planned_dates[visit.code] = planned
                c.visit_dates[visit.code] = contact
                c.follow_ups.append((visit.code, self.follow_up(contact, dead=True)))
                self.close(contact, ENDED_DEATH)
                return
            if planned - D(days=visit.window_before) > cal.cutoff:
                break
            if withdrawal_after is not None and done >= withdrawal_after:
                c.missed_visits[visit.code] = planned
                withdrawn_on = min(last_seen + D(days=rng.randint(15, 45)), cal.cutoff)
                self.close(withdrawn_on, "ended_consent_withdrawn", last_alive=last_seen)
                c.status = "withdrawn"
                return
            contact = planned + D(days=self.jitter(visit, -7, 7))
            if cal.in_progress and (contact > cal.cutoff or (self.roles.call_due and planned >= cal.cutoff)):
                break  # the call is still to come
            contact = min(contact, cal.cutoff)
            c.planned_dates[visit.code] = planned
            c.visit_dates[visit.code] = contact
            c.follow_ups.append((visit.code, self.follow_up(contact, dead=False)))
            last_seen = contact
            done += 1
        if c.death_date is not None and c.death_date <= cal.cutoff and not self.s.follow_up:
            self.close(c.death_date + D(days=rng.randint(1, 10)), ENDED_DEATH)
            return
        if cal.in_progress and done < len(self.s.follow_up):
            c.status = "enrolled"  # still treated or followed up today
            return
        # follow-up over: completed, or the study closed first
        if c.death_date is not None:
            c.death_date = None  # died after the last contact: unknown to the study
            c.death_cause = None
        all_done = done == len(self.s.follow_up)
        end = last_seen if all_done else cal.cutoff
        reason = "ended_follow_up_completed" if all_done else "ended_study_terminated"
        self.close(max(end, last_seen), reason, last_alive=last_seen)

    def follow_up(self, contact: dt.date, dead: bool) -> dict[str, Any]:
        c, rng = self.c, self.rng
        assert c.end_date is not None
        if dead:
            assert c.death_date is not None
            died: dict[str, Any] = {
                "contacted_on": contact,
                "reported_dead": True,
                "date_of_death": c.death_date,
                "new_antileukemic_treatment": False,
            }
            if c.death_cause:
                died[c.death_cause] = True
            if rng.random() < 0.3 and (c.death_date - c.end_date).days > 14:
                # salvage chemotherapy between the end of treatment and the death
                started = c.end_date + D(days=rng.randint(7, (c.death_date - c.end_date).days - 1))
                died.update(
                    new_antileukemic_treatment=True, subsequent_chemotherapy=True, subsequent_treatment_on=started
                )
            return died
        if self.kind == PR_TRANSPLANT:
            status = "disease_in_remission"
        elif self.kind == NR_STOP:
            status = rng.choice(("disease_stable", "disease_progressing"))
        else:
            status = rng.choice(("disease_progressing", "disease_progressing", "disease_not_assessed"))
        # the last news of the patient: the contact itself, or a few days before it (a call to the family)
        seen = max(contact - D(days=rng.choice((0, 0, 0, 1, 2, 3))), c.end_date)
        alive: dict[str, Any] = {
            "contacted_on": contact,
            "reported_alive": True,
            "last_known_alive": seen,
            status: True,
            "new_antileukemic_treatment": False,
        }
        first_contact = not c.follow_ups
        since = c.end_date if first_contact else max(c.visit_dates[code] for code, _data in c.follow_ups)
        if self.kind == PR_TRANSPLANT and first_contact:
            # the allogeneic transplant the partial response led to, a few weeks after the last dose
            started = min(c.end_date + D(days=rng.randint(14, 35)), contact)
            alive.update(
                new_antileukemic_treatment=True, subsequent_allogeneic_transplant=True, subsequent_treatment_on=started
            )
        elif self.kind != PR_TRANSPLANT:
            salvage = rng.random() < 0.5 and (contact - since).days > 1
            started = since + D(days=rng.randint(1, (contact - since).days)) if salvage else None
            if self.kind == NR_STOP and first_contact and (contact - since).days > 1:
                # no response at the minimum duration: salvage therapy, then an allogeneic transplant
                started = started or since + D(days=(contact - since).days // 2)
                alive.update(
                    new_antileukemic_treatment=True,
                    subsequent_allogeneic_transplant=True,
                    subsequent_treatment_on=started,
                )
            elif started is not None:
                alive.update(
                    new_antileukemic_treatment=True, subsequent_chemotherapy=True, subsequent_treatment_on=started
                )
        return alive

    def close(self, end: dt.date, reason: str, last_alive: dt.date | None = None) -> None:
        """The end of study on ``end`` for ``reason`` (a choice concept, ended_…)."""
        c = self.c
        end = min(end, self.cal.cutoff)
        data: dict[str, Any] = {"study_ended_on": end, reason: True}
        if reason == ENDED_DEATH:
            assert c.death_date is not None
            data["date_of_death"] = c.death_date
            c.status = "died"
        else:
            data["last_known_alive"] = min(last_alive or end, end)
            if c.status != "withdrawn":
                c.status = "completed"
        c.end_of_study = data
        for v in self.s.end_of_study:
            c.planned_dates[v.code] = end
            c.visit_dates[v.code] = end

    # ------------------------------------------------------------------ transfusions
    def transfusions(self) -> None:
        c, rng = self.c, self.rng
        assert c.end_date is not None
        baseline = c.marrows[0]
        start = c.first_dose - D(days=28)
        end = c.end_date if c.death_date is None else min(c.end_date, c.death_date)
        responding = [(m.date, self.next_marrow_date(m)) for m in c.marrows if m.investigator_response == _PR]

        def independent(day: dt.date) -> bool:
            return any(a <= day < (b or end) for a, b in responding)

        needs = [("red_cell_transfusion", rng.uniform(8, 15), (1, 2, 2, 2, 3))]
        if baseline.platelets < 20:
            needs.append(("platelet_transfusion", rng.uniform(4, 8), (1,)))
        elif baseline.platelets < 50:
            needs.append(("platelet_transfusion", rng.uniform(9, 16), (1,)))
        for product, every, units in needs:
            day = start + D(days=int(rng.uniform(0, every)))
            while day < end:
                if not independent(day):
                    c.transfusions.append(
                        {"transfused_on": day, product: True, "transfused_units": rng.choice(units)}
                    )
                day += D(days=max(2, round(every * rng.uniform(0.7, 1.3))))
        # platelets before red cells on the same day
        c.transfusions.sort(key=lambda t: (t["transfused_on"], "platelet_transfusion" not in t))

    def next_marrow_date(self, m: Marrow) -> dt.date | None:
        later = [x.date for x in self.c.marrows if x.date > m.date]
        return min(later) if later else None

    # ------------------------------------------------------------------ adverse events
    def ae(
        self,
        term: str,
        grade: int,
        onset: dt.date,
        days: int,
        related: str,
        *,
        serious: bool = False,
        action: str | None = None,
        fatal: bool = False,
    ) -> None:
        c = self.c
        t = ctcae.term_by_name(term)
        if grade not in t.allowed_grades:
            raise ValueError(f"CTCAE v5.0 has no grade {grade} for {term}")
        assert c.end_date is not None
        if action is None:
            action = "no_action_taken" if onset <= c.end_date else "action_off_treatment"
        event: dict[str, Any] = {
            "adverse_event_term": t.term,
            "adverse_event_meddra": str(t.meddra_code),
            "adverse_event_soc": t.soc,
            "adverse_event_grade": grade,
            "adverse_event_onset": onset,
            "adverse_event_serious": serious or grade == 5,
            related: True,
            action: True,
        }
        if serious or grade == 5:
            # ICH E2A criteria: a fatal event results in death; the others were hospitalised
            event["seriousness_death" if fatal else "seriousness_hospitalisation"] = True
        resolution = onset + D(days=days)
        limit = min(c.death_date or self.cal.cutoff, self.cal.cutoff)
        if fatal:
            event.update(
                {
                    "adverse_event_ongoing": False,
                    "adverse_event_resolved_on": c.death_date,
                    "outcome_fatal": True,
                }
            )
        elif resolution <= limit and (c.death_date is None or resolution < c.death_date):
            event.update(
                {
                    "adverse_event_ongoing": False,
                    "adverse_event_resolved_on": resolution,
                    "outcome_recovered": True,
                }
            )
        else:
            outcome = "outcome_not_recovered" if c.death_date else "outcome_recovering"
            event.update({"adverse_event_ongoing": True, outcome: True})
        c.adverse_events.append(event)

    def adverse_events(self) -> None:
        c, rng = self.c, self.rng
        assert c.end_date is not None
        window_end = c.end_date + D(days=30)
        if c.death_date is not None:
            window_end = min(window_end, c.death_date - D(days=1))
        window_end = min(window_end, self.cal.cutoff)
        span = max((window_end - c.first_dose).days, 1)

        def when(lo: int = 0) -> dt.date:
            return c.first_dose + D(days=rng.randint(min(lo, span), span))

        for inf in c.infusions:
            if inf.reaction_grade:
                action = "action_infusion_interrupted" if inf.reaction_grade >= 2 else "no_action_taken"
                self.ae(
                    "Infusion related reaction",
                    inf.reaction_grade,
                    inf.date,
                    rng.randint(0, 1),
                    "causality_definite",
                    action=action,
                )
        for start, end, why in self.holds:
            if why == CARDIAC_HOLD:
                held = next(v for _code, v in self.c.lvefs if v["lvef_assessed_on"] == start)
                grade = suggest_ef_decreased_grade(float(self.scr["lvef"]), held["lvef"])
                assert grade is not None, "an LVEF that holds the drug meets a CTCAE grade"
                self.ae(
                    "Ejection fraction decreased",
                    grade.grade,
                    start,
                    (end - start).days,
                    "causality_probable",
                    action="action_dose_delayed",
                )
            else:
                self.ae(
                    "Lung infection",
                    3,
                    start,
                    (end - start).days - 1,
                    "causality_unlikely",
                    serious=True,
                    action="action_dose_delayed",
                )
        if self.kind == EARLY_DEATH:
            assert c.death_date is not None
            fn = c.death_date - D(days=rng.randint(4, 7))
            self.ae("Febrile neutropenia", 3, max(fn, c.first_dose), 10, "causality_unlikely", serious=True)
            onset = max(c.death_date - D(days=rng.randint(1, 3)), c.first_dose)
            self.ae(
                "Sepsis",
                5,
                onset,
                0,
                "causality_unlikely",
                serious=True,
                action="action_drug_withdrawn",
                fatal=True,
            )
        unrelated, unlikely, possible = "causality_not_related", "causality_unlikely", "causality_possible"
        catalogue = (
            ("Febrile neutropenia", 0.45, (3, 3, 4), (unrelated, unlikely), (4, 10), 0.8),
            ("Platelet count decreased", 0.35, (3, 4), (unrelated,), (10, 40), 0.0),
            ("Anemia", 0.35, (3,), (unrelated,), (10, 40), 0.0),
            ("Neutrophil count decreased", 0.25, (3, 4), (unrelated, unlikely), (10, 30), 0.0),
            ("Fatigue", 0.35, (1, 2), (unlikely, possible), (7, 40), 0.0),
            ("Fever", 0.2, (1,), (unlikely, possible), (1, 4), 0.0),
            ("Nausea", 0.2, (1,), (unlikely, possible), (2, 7), 0.0),
            ("Headache", 0.15, (1,), (possible,), (1, 3), 0.0),
            ("Diarrhea", 0.12, (1,), (unlikely,), (2, 5), 0.0),
            ("Epistaxis", 0.2, (1,), (unrelated,), (1, 3), 0.0),
            ("Bone pain", 0.12, (1, 2), (unrelated,), (5, 20), 0.0),
        )
        for term, chance, grades, related, days, serious in catalogue:
            if self.kind == EARLY_DEATH and term == "Febrile neutropenia":
                continue
            if rng.random() < chance:
                onset = when()
                self.ae(
                    term,
                    rng.choice(grades),
                    onset,
                    rng.randint(*days),
                    rng.choice(related),
                    serious=rng.random() < serious,
                )
        c.adverse_events.sort(key=lambda e: (e["adverse_event_onset"], e["adverse_event_term"]))

    # ------------------------------------------------------------------ concomitant medication
    def medications(self) -> None:
        c, rng = self.c, self.rng
        assert c.end_date is not None
        open_end = c.end_date + D(days=rng.randint(5, 30))

        def add(name: str, indication: str, route: str, start: dt.date, stop: dt.date | None) -> None:
            stop = stop or open_end
            if c.death_date is not None:
                stop = min(stop, c.death_date)
            med: dict[str, Any] = {
                "medication_name": name,
                "medication_indication": indication,
                "medication_started_on": start,
                route: True,
            }
            if stop > self.cal.cutoff or (
                c.death_date is None and stop > c.end_of_study.get("study_ended_on", stop)
            ):
                med["medication_ongoing"] = True
            else:
                med.update({"medication_ongoing": False, "medication_stopped_on": max(stop, start)})
            c.medications.append(med)

        fd = c.first_dose
        oral, iv = "route_oral", "route_intravenous"
        add("Valaciclovir", "Antiviral prophylaxis (HSV/VZV)", oral, fd - D(days=rng.randint(30, 300)), None)
        if rng.random() < 0.7:
            add(
                "Sulfamethoxazole/trimethoprim",
                "Pneumocystis prophylaxis",
                oral,
                fd - D(days=rng.randint(30, 300)),
                None,
            )
        if rng.random() < 0.3:
            add("Posaconazole", "Antifungal prophylaxis", oral, fd - D(days=rng.randint(5, 60)), None)
        add(
            "Allopurinol",
            "Tumour lysis prevention",
            oral,
            fd - D(days=rng.randint(1, 4)),
            fd + D(days=rng.randint(10, 21)),
        )
        if c.infusions:
            add("Paracetamol", "Premedication before trastuzumab infusion", oral, fd, c.infusions[-1].date)
        for inf in c.infusions:
            if inf.reaction_grade:
                add("Dexchlorpheniramine", "Infusion related reaction", iv, inf.date, inf.date)
        for event in c.adverse_events:
            term, onset = event["adverse_event_term"], event["adverse_event_onset"]
            stop = event.get("adverse_event_resolved_on") or onset + D(days=7)
            if term == "Febrile neutropenia":
                add("Piperacillin/tazobactam", "Febrile neutropenia", iv, onset, stop)
            elif term == "Sepsis":
                add("Imipenem/cilastatin", "Sepsis", iv, onset, stop)
            elif term == "Lung infection":
                add("Ceftriaxone", "Lung infection", iv, onset, stop)
            elif term == "Ejection fraction decreased":
                add("Ramipril", "Left ventricular dysfunction", oral, onset + D(days=1), None)
            elif term == "Nausea":
                add("Ondansetron", "Nausea", oral, onset, stop)
        c.medications.sort(key=lambda m: (m["medication_started_on"], m["medication_name"]))


def baseline_data(course: Course, screening: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The baseline record's values by concept."""
    refractory = screening.get("refractory_disease") is True
    since = rng.randint(90, 300) if refractory else rng.randint(240, 1500)
    return {
        "baseline_assessed_on": course.first_dose,
        "body_weight": course.weight,
        "body_height": course.height,
        "diagnosed_on": course.first_dose - D(days=since),
        "prior_treatment_lines": rng.randint(1, 2) if refractory else rng.randint(1, 3),
        "prior_allogeneic_transplant": (not refractory) and rng.random() < 0.3,
        "philadelphia_chromosome": philadelphia(screening.get("karyotype_formula")),
        "extramedullary": course.marrows[0].extramedullary,
    }


def end_of_treatment_data(course: Course) -> dict[str, Any]:
    assert course.end_date is not None
    last = course.infusions[-1].date if course.infusions else course.first_dose
    return {
        "treatment_stopped_on": course.end_date,
        "last_dose_on": last,
        course.end_reason: True,
        "doses_received_count": len(course.infusions),
    }
