"""Screening values: eligible patients, and screen failures with real reasons.

Values are drawn by clinical concept (``age``, ``performance_status``,
``aspartate_aminotransferase``…, a choice concept such as ``relapsed_disease`` set to
True); the protocol's concept map puts them in its screening form's fields. The
protocol's own criteria then decide: an eligible patient's values are redrawn until
every criterion's rule is TRUE, and a screen failure's ``failed_criteria`` are exactly
the criteria its values make FALSE (every other one TRUE), whatever the protocol's
thresholds and field codes are.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trialdesk.rules import Tri, parse

# Karyotypes (ISCN) seen in adult B-ALL; "{sx}" is the sex chromosomes.
ABNORMAL_KARYOTYPES = (
    "46,{sx},t(9;22)(q34;q11.2)[20]",
    "47,{sx},+8,t(9;22)(q34;q11.2)[16]/46,{sx}[4]",
    "46,{sx},t(4;11)(q21;q23)[17]/46,{sx}[3]",
    "45,{sx},-7[12]/46,{sx}[8]",
    "46,{sx},del(9)(p21)[15]/46,{sx}[5]",
    "54,{sx},+X,+4,+6,+10,+14,+17,+18,+21[14]/46,{sx}[6]",
    "46,{sx},t(1;19)(q23;p13)[20]",
    "44,{sx},-7,-9,-13,+mar[10]/46,{sx}[10]",
)


def philadelphia(karyotype: str | None) -> bool:
    return bool(karyotype) and "t(9;22)" in karyotype


@dataclass(frozen=True)
class Scenario:
    """A reason to fail screening: a story and what it does to the screening values."""

    code: str
    story: str
    apply: Callable[[dict[str, Any], random.Random], None]


def choose(values: dict[str, Any], chosen: str, *alternatives: str) -> None:
    """Select the choice concept ``chosen`` in place of any of its ``alternatives``."""
    for alternative in alternatives:
        values.pop(alternative, None)
    values[chosen] = True


DIAGNOSES = ("b_lineage_all", "t_lineage_all")
DISEASE_STATUSES = ("relapsed_disease", "refractory_disease", "untreated_disease")


def _her2_low(v: dict[str, Any], rng: random.Random) -> None:
    v["her2_positive_blasts"] = 30.0 if rng.random() < 0.15 else round(rng.uniform(4, 29.5), 1)


def _lvef_low(v: dict[str, Any], rng: random.Random) -> None:
    v["lvef"] = float(rng.randint(36, 49))


def _previously_treated(v: dict[str, Any], rng: random.Random) -> None:
    v["prior_study_drug"] = True


def _ecog_3(v: dict[str, Any], rng: random.Random) -> None:
    v["performance_status"] = 3


def _blasts_low(v: dict[str, Any], rng: random.Random) -> None:
    v["marrow_blasts"] = 20.0 if rng.random() < 0.15 else round(rng.uniform(6, 19.5), 1)


def _creatinine_high(v: dict[str, Any], rng: random.Random) -> None:
    v["serum_creatinine"] = round(v["serum_creatinine_uln"] * rng.uniform(2.05, 2.8))


def _transaminases_high(v: dict[str, Any], rng: random.Random) -> None:
    v["aspartate_aminotransferase"] = round(v["aspartate_aminotransferase_uln"] * rng.uniform(5.3, 9.0))
    v["alanine_aminotransferase"] = round(v["alanine_aminotransferase_uln"] * rng.uniform(4.0, 11.0))


def _never_treated(v: dict[str, Any], rng: random.Random) -> None:
    choose(v, "untreated_disease", *DISEASE_STATUSES)


def _t_lineage(v: dict[str, Any], rng: random.Random) -> None:
    choose(v, "t_lineage_all", *DIAGNOSES)


SCENARIOS: dict[str, Scenario] = {
    s.code: s
    for s in (
        Scenario(
            "her2_low", "HER2-positive blasts at or below the threshold on immunophenotyping", _her2_low
        ),
        Scenario("lvef_low", "LVEF below 50 % on the screening echocardiography", _lvef_low),
        Scenario("previously_treated", "previously treated with trastuzumab", _previously_treated),
        Scenario("ecog_3", "ECOG performance status 3", _ecog_3),
        Scenario("blasts_low", "marrow blasts at or below 20 % (early relapse)", _blasts_low),
        Scenario("creatinine_high", "creatinine at 2 x ULN or more", _creatinine_high),
        Scenario("transaminases_high", "AST above 5 x ULN", _transaminases_high),
        Scenario("never_treated", "untreated disease (neither relapsed nor refractory)", _never_treated),
        Scenario("t_lineage", "T-lineage ALL", _t_lineage),
    )
}

#: the order screen failures are drawn in: HER2 expression is by far the commonest reason
SCREEN_FAILURE_PLAN: tuple[tuple[str, ...], ...] = (
    ("her2_low",),
    ("lvef_low",),
    ("her2_low",),
    ("previously_treated",),
    ("ecog_3",),
    ("her2_low", "blasts_low"),
    ("her2_low",),
    ("creatinine_high",),
    ("transaminases_high",),
    ("her2_low",),
    ("never_treated",),
    ("t_lineage",),
)


def eligible_values(rng: random.Random, *, age: int, sex: str, disease_status: str) -> dict[str, Any]:
    """Screening values (by concept) of a patient with B-ALL who meets the usual criteria
    of a relapsed/refractory trial. ``sex``: ``sex_female`` or ``sex_male``;
    ``disease_status``: ``relapsed_disease`` or ``refractory_disease``."""
    male = sex == "sex_male"
    ast_uln = float(rng.choice((35, 40, 45)))
    alt_uln = float(rng.choice((35, 40, 45, 50)))
    creatinine_uln = float(110 if male else 90) + rng.choice((0.0, 5.0, 10.0))
    abnormal = rng.random() < 0.6
    sx = "XY" if male else "XX"
    values: dict[str, Any] = {
        "age": age,
        sex: True,
        "b_lineage_all": True,
        disease_status: True,
        "performance_status": rng.choices((0, 1, 2), weights=(2, 5, 3))[0],
        "aspartate_aminotransferase": float(round(ast_uln * rng.uniform(0.4, 2.6))),
        "aspartate_aminotransferase_uln": ast_uln,
        "alanine_aminotransferase": float(round(alt_uln * rng.uniform(0.3, 2.8))),
        "alanine_aminotransferase_uln": alt_uln,
        "serum_creatinine": float(round(creatinine_uln * rng.uniform(0.55, 1.35))),
        "serum_creatinine_uln": creatinine_uln,
        "marrow_blasts": round(rng.uniform(32, 88), 1),
        "her2_positive_blasts": round(rng.uniform(34, 85), 1),
        "prior_study_drug": False,
        "lvef": float(rng.randint(55, 71)),
        "abnormal_karyotype": abnormal,
    }
    if abnormal:
        values["karyotype_formula"] = rng.choice(ABNORMAL_KARYOTYPES).format(sx=sx)
    return values


def criteria_results(protocol: Any, values: dict[str, Any]) -> dict[str, Tri]:
    """Each criterion's verdict on screening values named by concept."""
    data = protocol.concept_data(protocol.eligibility.form, values)
    return {c.code: parse(c.rule).evaluate(data) for c in protocol.eligibility.criteria}


def failed(results: dict[str, Tri]) -> tuple[str, ...]:
    return tuple(code for code, result in results.items() if result is Tri.FALSE)


def draw_eligible(protocol: Any, rng: random.Random, **kwargs: Any) -> dict[str, Any]:
    """Eligible values: redrawn until every criterion is TRUE under the protocol's rules."""
    for _ in range(200):
        values = eligible_values(rng, **kwargs)
        if all(r is Tri.TRUE for r in criteria_results(protocol, values).values()):
            return values
    raise ValueError("the simulator cannot draw screening values that meet this protocol's criteria")


def draw_screen_failure(
    protocol: Any, rng: random.Random, plan: tuple[str, ...], **kwargs: Any
) -> tuple[dict[str, Any], tuple[str, ...], str]:
    """Values failing the protocol's criteria for the planned reasons, every other criterion TRUE.

    Returns the values, the failed criterion codes (protocol order) and the story. Falls
    back to the other scenarios if the protocol's thresholds make the planned one pass.
    """
    candidates = [plan, *((code,) for code in SCENARIOS if (code,) != plan)]
    for scenario_codes in candidates:
        for _ in range(20):
            values = draw_eligible(protocol, rng, **kwargs)
            for code in scenario_codes:
                SCENARIOS[code].apply(values, rng)
            results = criteria_results(protocol, values)
            if any(r is Tri.UNKNOWN for r in results.values()):
                break
            failures = failed(results)
            if failures and len(failures) >= len(scenario_codes):
                story = "; ".join(SCENARIOS[code].story for code in scenario_codes)
                return values, failures, story
    raise ValueError("the simulator cannot draw a screen failure for this protocol's criteria")


def year_of_birth(age: int, on: dt.date, rng: random.Random) -> int:
    """A birth year consistent with ``age`` on ``on`` (birthday passed or not)."""
    passed = rng.random() < on.timetuple().tm_yday / 366
    return on.year - age - (0 if passed else 1)
