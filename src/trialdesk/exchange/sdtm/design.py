"""The trial design datasets TS, TA, TE, TV and TI, from the protocol file alone (pure).

SDTM IG 3.4 §7: the trial summary parameters (TS, CDISC CT C66738 TSPARMCD), the arms as
the sequence of their elements (TA), the elements (TE: screening, treatment, follow-up),
the planned visits of the schedule (TV) and the eligibility criteria (TI).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from trialdesk.clinical.calendar import END_OF_TREATMENT, FIRST_DOSE
from trialdesk.exchange.sdtm import terms
from trialdesk.exchange.sdtm.domains import Row, planned_study_day, text

_AGE = re.compile(r"^\s*(\d+)\s*(year|month|week|day)s?\s*$", re.IGNORECASE)
_OPEN_LABEL = "none"  # ClinicalTrials.gov's masking "None (Open Label)"
_DURATION = {"year": "Y", "month": "M", "week": "W", "day": "D"}

#: the elements every arm goes through, in order: (ETCD, EPOCH)
ELEMENTS = (("SCRN", "SCREENING"), ("TRT", "TREATMENT"), ("FU", "FOLLOW-UP"))


def iso_age(value: str | None) -> str | None:
    """An age bound of the registry ("18 Years") as an ISO 8601 duration (P18Y)."""
    match = _AGE.match(value or "")
    if match is None:
        return None
    return f"P{int(match.group(1))}{_DURATION[match.group(2).lower()]}"


def ts(protocol: Any, studyid: str) -> Iterator[Row]:
    ident = protocol.identification
    rows: list[tuple[str, str, Any, dict]] = []

    def add(code: str, name: str, value: Any, **extra: Any) -> None:
        rows.append((code, name, value, extra))

    add("TITLE", "Trial Title", ident.official_title)
    add("REGID", "Registry Identifier", ident.nct_id, TSVALCD=ident.nct_id, TSVCDREF="ClinicalTrials.gov")
    for other in ident.other_ids:
        add("REGID", "Registry Identifier", other)
    add("SPONSOR", "Clinical Study Sponsor", ident.sponsor)
    add("TPHASE", "Trial Phase Classification", terms.PHASES.get(ident.phase, ident.phase.upper()))
    add("STYPE", "Study Type", ident.study_type.upper())
    if ident.intervention_model:
        add(
            "INTMODEL",
            "Intervention Model",
            terms.INTERVENTION_MODELS.get(ident.intervention_model, ident.intervention_model.upper()),
        )
    if ident.masking:
        add(
            "TBLIND",
            "Trial Blinding Schema",
            "OPEN LABEL" if ident.masking.lower().startswith(_OPEN_LABEL) else ident.masking.upper(),
        )
    if ident.primary_purpose:
        add("TTYPE", "Trial Type", ident.primary_purpose.upper())
    add("RANDOM", "Trial is Randomized", "N" if len(protocol.arms) == 1 else None)
    add("NARMS", "Planned Number of Arms", str(len(protocol.arms)))
    for intervention in protocol.interventions:
        add("TRT", "Investigational Therapy or Treatment", intervention.name)
        rules = intervention.dose_rules
        if rules is not None:
            route = terms.ROUTE_CODES.get(str(rules.route).upper())
            if route:
                add("ROUTE", "Route of Administration", route)
            add("DOSE", "Dose per Administration", f"{rules.maintenance_mg_per_kg:g}")
            add("DOSU", "Dose Units", "mg/kg")
            frequency = terms.FREQUENCIES.get(int(rules.interval_days))
            if frequency:
                add("DOSFRQ", "Dosing Frequency", frequency)
    for condition in ident.conditions:
        add("INDIC", "Trial Disease/Condition Indication", condition)
    enrollment = ident.enrollment
    add(
        "ACTSUB" if enrollment.type == "actual" else "PLANSUB",
        "Actual Number of Subjects" if enrollment.type == "actual" else "Planned Number of Subjects",
        str(enrollment.count),
    )
    add("SEXPOP", "Sex of Participants", {"all": "BOTH", "female": "F", "male": "M"}[ident.sexes])
    add("AGEMIN", "Planned Minimum Age of Subjects", iso_age(ident.minimum_age))
    add("AGEMAX", "Planned Maximum Age of Subjects", iso_age(ident.maximum_age))
    add("HLTSUBJI", "Healthy Subject Indicator", "Y" if ident.healthy_volunteers else "N")
    if ident.start_date:
        add("SSTDTC", "Study Start Date", str(ident.start_date))
    if ident.completion_date:
        add("SENDTC", "Study End Date", str(ident.completion_date))
    for endpoint in protocol.endpoints:
        if endpoint.kind == "primary":
            add("OBJPRIM", "Trial Primary Objective", endpoint.title)
            add("OUTMSPRI", "Primary Outcome Measure", endpoint.title)
        else:
            add("OUTMSSEC", "Secondary Outcome Measure", endpoint.title)
    for seq, (code, name, value, extra) in enumerate(rows, start=1):
        value = text(value)
        yield {
            "STUDYID": studyid,
            "DOMAIN": "TS",
            "TSSEQ": seq,
            "TSPARMCD": code,
            "TSPARM": name,
            "TSVAL": value,
            # ISO 21090 null flavors: no upper bound (PINF), not stated (UNK)
            "TSVALNF": None if value is not None else ("PINF" if code == "AGEMAX" else "UNK"),
            "TSVALCD": extra.get("TSVALCD"),
            "TSVCDREF": extra.get("TSVCDREF"),
            "TSVCDVER": extra.get("TSVCDVER"),
        }


def _treatment(protocol: Any) -> str:
    names = [i.name for i in protocol.interventions]
    return text(", ".join(names)) or "Study treatment"


def te(protocol: Any, studyid: str) -> Iterator[Row]:
    treatment = _treatment(protocol)
    rules = {
        "SCRN": ("Screening", "Informed consent", "First dose of study treatment"),
        "TRT": (treatment, "First dose of study treatment", "Decision to stop study treatment"),
        "FU": ("Follow-up", "Decision to stop study treatment", "End of study"),
    }
    for etcd, _ in ELEMENTS:
        element, start, end = rules[etcd]
        yield {
            "STUDYID": studyid,
            "DOMAIN": "TE",
            "ETCD": etcd,
            "ELEMENT": element,
            "TESTRL": start,
            "TEENRL": end,
            "TEDUR": None,
        }


def ta(protocol: Any, studyid: str) -> Iterator[Row]:
    names = {"SCRN": "Screening", "TRT": _treatment(protocol), "FU": "Follow-up"}
    for arm in protocol.arms:
        for order, (etcd, epoch) in enumerate(ELEMENTS, start=1):
            yield {
                "STUDYID": studyid,
                "DOMAIN": "TA",
                "ARMCD": arm.code,
                "ARM": text(arm.title),
                "TAETORD": order,
                "ETCD": etcd,
                "ELEMENT": names[etcd],
                "TABRANCH": None,
                "TATRANS": None,
                "EPOCH": epoch,
            }


def _visit_rule(visit: Any) -> str:
    if visit.day is None:
        return "When the event occurs"
    anchor = "the first dose" if visit.anchor == FIRST_DOSE else "the end of treatment"
    if visit.anchor == END_OF_TREATMENT and visit.day == 0:
        where = "At the decision to stop treatment"
    elif visit.day == 0:
        where = f"On the day of {anchor}"
    else:
        where = f"{abs(visit.day)} days {'after' if visit.day > 0 else 'before'} {anchor}"
    if visit.window_before or visit.window_after:
        where += f" (window -{visit.window_before}/+{visit.window_after} days)"
    return where


def tv(protocol: Any, studyid: str) -> Iterator[Row]:
    for number, visit in enumerate(protocol.schedule.expanded_visits(), start=1):
        yield {
            "STUDYID": studyid,
            "DOMAIN": "TV",
            "VISITNUM": number,
            "VISIT": text(visit.title),
            "VISITDY": planned_study_day(visit.day) if visit.anchor == FIRST_DOSE else None,
            "ARMCD": None,
            "TVSTRL": _visit_rule(visit),
            "TVENRL": None,
        }


def ti(protocol: Any, studyid: str, version: str = "") -> Iterator[Row]:
    for criterion in protocol.eligibility.criteria:
        yield {
            "STUDYID": studyid,
            "DOMAIN": "TI",
            "IETESTCD": criterion.code,
            "IETEST": text(criterion.text),
            "IECAT": criterion.kind.upper(),
            "TIRL": text(criterion.rule),
            "TIVERS": version or None,
        }


BUILDERS = {"TS": ts, "TA": ta, "TE": te, "TV": tv, "TI": ti}
