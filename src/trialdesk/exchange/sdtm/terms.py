"""From trialdesk's clinical concepts to SDTM variables and CDISC controlled terminology (pure).

Keyed by concept names (``trialdesk.protocol.concepts``), never by a trial's field codes or
choice values: a protocol that maps a concept gets its SDTM rows; one that does not, none.
The field, its unit and its choice labels come from the protocol file.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FindingTest:
    """A numeric concept as one test of a findings domain."""

    concept: str
    testcd: str
    test: str
    category: str | None = None
    specimen: str | None = None
    uln: str | None = None  # the concept holding the upper limit of normal recorded with the value
    #: only the records of these forms (the concept's date field dates them); None: every form
    date_concepts: tuple[str, ...] = ()


#: LB: CDISC CT (C65047 LBTESTCD, C78734 SPECTYPE); HER2BLST is sponsor-defined (no CT term)
LAB_TESTS: tuple[FindingTest, ...] = (
    FindingTest(
        "aspartate_aminotransferase",
        "AST",
        "Aspartate Aminotransferase",
        "CHEMISTRY",
        "SERUM",
        "aspartate_aminotransferase_uln",
    ),
    FindingTest(
        "alanine_aminotransferase",
        "ALT",
        "Alanine Aminotransferase",
        "CHEMISTRY",
        "SERUM",
        "alanine_aminotransferase_uln",
    ),
    FindingTest("serum_creatinine", "CREAT", "Creatinine", "CHEMISTRY", "SERUM", "serum_creatinine_uln"),
    FindingTest("neutrophil_count", "NEUT", "Neutrophils", "HEMATOLOGY", "BLOOD"),
    FindingTest("platelet_count", "PLAT", "Platelets", "HEMATOLOGY", "BLOOD"),
    FindingTest("hemoglobin_level", "HGB", "Hemoglobin", "HEMATOLOGY", "BLOOD"),
    FindingTest("circulating_blasts", "BLASTLE", "Blasts/Leukocytes", "HEMATOLOGY", "BLOOD"),
    FindingTest("marrow_blasts", "BLASTLE", "Blasts/Leukocytes", "HEMATOLOGY", "BONE MARROW"),
    FindingTest(
        "her2_positive_blasts", "HER2BLST", "HER2 Positive Blasts/Blasts", "IMMUNOPHENOTYPING", "BONE MARROW"
    ),
)

#: VS: CDISC CT C66741 VSTESTCD
VITAL_SIGNS: tuple[FindingTest, ...] = (
    FindingTest("body_weight", "WEIGHT", "Weight"),
    FindingTest("weight_on_dose_day", "WEIGHT", "Weight"),
    FindingTest("body_height", "HEIGHT", "Height"),
)

#: CV: CDISC CT C101846 CVTESTCD
CARDIAC_TESTS: tuple[FindingTest, ...] = (
    FindingTest("lvef", "LVEF", "Left Ventricular Ejection Fraction", "CARDIAC FUNCTION"),
)

#: CVMETHOD (CT C85492 METHOD) of each method concept
LVEF_METHODS: dict[str, str] = {
    "lvef_by_echocardiography": "ECHOCARDIOGRAPHY",
    "lvef_by_isotopic_ventriculography": "MULTIGATED ACQUISITION SCAN",
    "lvef_by_cardiac_mri": "MAGNETIC RESONANCE IMAGING",
}

#: UCUM-style units of CDISC CT (C71620 UNIT) for the units a protocol writes
UNITS: dict[str, str] = {
    "10^9/L": "10^9/L",
    "µmol/L": "umol/L",
    "U/L": "U/L",
    "g/dL": "g/dL",
    "%": "%",
    "kg": "kg",
    "cm": "cm",
    "mg": "mg",
    "units": "UNIT",
}

#: AEREL (sponsor terms of CT C66769 extended), AEACN (C66767 ACN), AEOUT (C66768 OUT)
CAUSALITY: dict[str, str] = {
    "causality_not_related": "NOT RELATED",
    "causality_unlikely": "UNLIKELY RELATED",
    "causality_possible": "POSSIBLY RELATED",
    "causality_probable": "PROBABLY RELATED",
    "causality_definite": "RELATED",
}
ACTION: dict[str, str] = {
    "no_action_taken": "DOSE NOT CHANGED",
    "action_infusion_interrupted": "DRUG INTERRUPTED",
    "action_dose_delayed": "DRUG INTERRUPTED",
    "action_drug_withdrawn": "DRUG WITHDRAWN",
    "action_off_treatment": "NOT APPLICABLE",
}
OUTCOME: dict[str, str] = {
    "outcome_recovered": "RECOVERED/RESOLVED",
    "outcome_recovering": "RECOVERING/RESOLVING",
    "outcome_not_recovered": "NOT RECOVERED/NOT RESOLVED",
    "outcome_fatal": "FATAL",
}
SERIOUSNESS: dict[str, str] = {
    "AESCONG": "seriousness_congenital_anomaly",
    "AESDISAB": "seriousness_disability",
    "AESDTH": "seriousness_death",
    "AESHOSP": "seriousness_hospitalisation",
    "AESLIFE": "seriousness_life_threatening",
    "AESMIE": "seriousness_medically_important",
}

#: CMROUTE / EXROUTE (CT C66729 ROUTE)
ROUTES: dict[str, str] = {"route_oral": "ORAL", "route_intravenous": "INTRAVENOUS"}
ROUTE_CODES: dict[str, str] = {
    "IV": "INTRAVENOUS",
    "SC": "SUBCUTANEOUS",
    "PO": "ORAL",
    "ORAL": "ORAL",
    "IM": "INTRAMUSCULAR",
}

#: PR: the transfusion product concepts as procedures
TRANSFUSIONS: dict[str, str] = {
    "red_cell_transfusion": "RED BLOOD CELL TRANSFUSION",
    "platelet_transfusion": "PLATELET TRANSFUSION",
}

#: DSDECOD (CT C66727 NCOMPLT, C114118 PROTMLST) of each reason concept
END_OF_TREATMENT: dict[str, str] = {
    "stopped_for_progression": "PROGRESSIVE DISEASE",
    "stopped_for_no_response": "LACK OF EFFICACY",
    "stopped_for_transplant": "PHYSICIAN DECISION",
    "stopped_for_death": "DEATH",
}
END_OF_STUDY: dict[str, str] = {
    "ended_follow_up_completed": "COMPLETED",
    "ended_by_death": "DEATH",
    "ended_consent_withdrawn": "WITHDRAWAL BY SUBJECT",
    "ended_screen_failure": "SCREEN FAILURE",
    "ended_study_terminated": "STUDY TERMINATED BY SPONSOR",
}
OTHER = "OTHER"

#: EXDOSFRQ (CT C71113 FREQ) of a dosing interval in days
FREQUENCIES: dict[int, str] = {1: "QD", 7: "QW", 14: "Q2W", 21: "Q3W", 28: "Q4W"}

#: SEX (CT C66731): the sex concepts, and the snapshot's one-letter codes
SEX_CODES: dict[str, str] = {"F": "F", "M": "M", "U": "U"}

#: the response categories of trialdesk.clinical.response as RSORRES / RSSTRESC
RESPONSE_TERMS: dict[str, str] = {
    "CR": "CR",
    "CRp": "CRP",
    "PR": "PR",
    "NR": "NR",
    "PD": "PD",
    "relapse": "RELAPSE",
}

#: TPHASE (CT C66737) of the registry's phase
PHASES: dict[str, str] = {
    "Phase 1": "PHASE I TRIAL",
    "Phase 2": "PHASE II TRIAL",
    "Phase 3": "PHASE III TRIAL",
    "Phase 4": "PHASE IV TRIAL",
    "Phase 1/Phase 2": "PHASE I/II TRIAL",
    "Phase 2/Phase 3": "PHASE II/III TRIAL",
}
INTERVENTION_MODELS: dict[str, str] = {
    "Single Group Assignment": "SINGLE GROUP",
    "Parallel Assignment": "PARALLEL",
    "Crossover Assignment": "CROSS-OVER",
    "Factorial Assignment": "FACTORIAL",
}
