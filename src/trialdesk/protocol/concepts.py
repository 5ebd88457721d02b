"""The clinical concepts the core reads, and what kind of value each one is.

A protocol file maps each concept to where its trial records it (``concepts`` in the
file): a *field concept* to one or more ``form.field`` places, in order of precedence
(marrow blasts on the monthly marrow form first, then on the screening form); a
*choice concept* to one choice value of one choice field (a red-cell transfusion is
``transfusion.product = red_cells`` in NCT00724360). The clinical functions, the
simulator and the analysis name concepts, never a trial's field codes or choice
values: a second trial maps the same concepts to its own forms.

Concept names are the core's vocabulary. They are chosen unlike any field code or
choice value of the seed protocol (``neutrophil_count``, not ``anc``) so that a file
whose codes are renamed still maps the same names.

``needed_by`` names the part of a protocol that cannot work without the concept
(``response_criteria``, ``dose_rules``, ``cardiac_hold``, or an endpoint derivation):
the validator requires the concept when the protocol has that part. Concepts needed
by nobody in particular serve the simulator and the description of the cohort; a
protocol that does not map them simply does not get them simulated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CONCEPTS", "ConceptKind", "ConceptSpec", "FIELD_TYPES_OF_KIND", "concept_spec"]

#: ``choice``: a choice concept (one value of a choice field); the others are field concepts
ConceptKind = Literal["number", "integer", "date", "boolean", "text", "choice"]

#: the form field types a field concept of each kind may be recorded in
FIELD_TYPES_OF_KIND: dict[str, tuple[str, ...]] = {
    "number": ("decimal", "integer"),
    "integer": ("integer",),
    "date": ("date",),
    "boolean": ("boolean",),
    "text": ("text", "ctcae_term"),
    "choice": ("choice",),
}


@dataclass(frozen=True)
class ConceptSpec:
    name: str
    kind: ConceptKind
    meaning: str
    needed_by: str | None = None


def _specs(kind: ConceptKind, needed_by: str | None, *pairs: tuple[str, str]) -> list[ConceptSpec]:
    return [ConceptSpec(name, kind, meaning, needed_by) for name, meaning in pairs]


_RESPONSE = "response_criteria"
_DOSING = "dose_rules"
_CARDIAC = "cardiac_hold"
_SURVIVAL = "overall_survival"
_TRANSFUSION = "transfusion_needs"
_CYTOGENETICS = "cytogenetic_response"

_ALL: list[ConceptSpec] = [
    # ---------------------------------------------------------------- screening
    *_specs(
        "date",
        None,
        ("screened_on", "date of the screening assessments"),
        ("consented_on", "date of informed consent"),
    ),
    *_specs(
        "integer",
        None,
        ("age", "age in whole years at screening"),
        ("performance_status", "ECOG performance status"),
    ),
    *_specs(
        "choice",
        None,
        ("sex_female", "sex: female"),
        ("sex_male", "sex: male"),
        ("b_lineage_all", "diagnosis: B-cell acute lymphoblastic leukemia"),
        ("t_lineage_all", "diagnosis: T-cell acute lymphoblastic leukemia"),
        ("relapsed_disease", "disease status at screening: relapse"),
        ("refractory_disease", "disease status at screening: refractory"),
        ("untreated_disease", "disease status at screening: never treated (first line)"),
    ),
    *_specs(
        "number",
        None,
        ("aspartate_aminotransferase", "AST"),
        ("aspartate_aminotransferase_uln", "AST upper limit of normal of the laboratory"),
        ("alanine_aminotransferase", "ALT"),
        ("alanine_aminotransferase_uln", "ALT upper limit of normal of the laboratory"),
        ("serum_creatinine", "serum creatinine"),
        ("serum_creatinine_uln", "creatinine upper limit of normal of the laboratory"),
    ),
    *_specs(
        "boolean",
        None,
        ("prior_study_drug", "previously treated with the study drug"),
    ),
    *_specs("text", None, ("karyotype_formula", "the karyotype in ISCN notation")),
    # ---------------------------------------------------------------- marrow and blood count
    *_specs(
        "date",
        _RESPONSE,
        ("marrow_assessed_on", "date of the marrow aspirate and its same-day blood count"),
    ),
    *_specs(
        "number",
        _RESPONSE,
        ("marrow_blasts", "bone marrow blasts, % of nucleated cells"),
        ("circulating_blasts", "circulating (peripheral blood) blasts, %"),
        ("neutrophil_count", "absolute neutrophil count (ANC), 10^9/L"),
        ("platelet_count", "platelets, 10^9/L"),
    ),
    *_specs(
        "boolean",
        _RESPONSE,
        ("circulating_blasts_seen", "circulating blasts present"),
        ("extramedullary", "extramedullary disease present"),
    ),
    *_specs(
        "number",
        None,
        ("her2_positive_blasts", "HER2-positive blasts, % of the marrow blast population"),
        ("hemoglobin_level", "hemoglobin, g/dL"),
    ),
    *_specs(
        "boolean",
        _CYTOGENETICS,
        ("karyotype_performed", "a karyotype was done on the aspirate"),
        ("abnormal_karyotype", "a karyotype abnormality is present"),
    ),
    *_specs(
        "choice",
        None,
        ("assessed_cr", "investigator's assessment: complete response"),
        ("assessed_crp", "investigator's assessment: complete response without platelet recovery"),
        ("assessed_pr", "investigator's assessment: partial response"),
        ("assessed_no_response", "investigator's assessment: no response"),
        ("assessed_progression", "investigator's assessment: progression"),
        ("assessed_relapse", "investigator's assessment: relapse after CR or CRp"),
        ("assessed_baseline", "investigator's assessment: not applicable (the baseline marrow)"),
    ),
    # ---------------------------------------------------------------- baseline
    *_specs(
        "date",
        None,
        ("baseline_assessed_on", "date of the baseline characteristics"),
        ("diagnosed_on", "date of the initial diagnosis"),
    ),
    *_specs(
        "number",
        _DOSING,
        ("body_weight", "body weight, kg"),
    ),
    *_specs("number", None, ("body_height", "height, cm")),
    *_specs("integer", None, ("prior_treatment_lines", "number of prior lines of treatment")),
    *_specs(
        "boolean",
        None,
        ("prior_allogeneic_transplant", "prior allogeneic stem cell transplant"),
        ("philadelphia_chromosome", "Philadelphia chromosome positive"),
    ),
    # ---------------------------------------------------------------- cardiac function
    *_specs("date", _CARDIAC, ("lvef_assessed_on", "date of the LVEF measurement")),
    *_specs("number", _CARDIAC, ("lvef", "left ventricular ejection fraction, %")),
    *_specs(
        "choice",
        None,
        ("lvef_by_echocardiography", "LVEF measured by echocardiography"),
        ("lvef_by_isotopic_ventriculography", "LVEF measured by isotopic ventriculography (MUGA)"),
        ("lvef_by_cardiac_mri", "LVEF measured by cardiac MRI"),
    ),
    *_specs("boolean", None, ("heart_failure_symptoms", "symptoms of heart failure")),
    *_specs(
        "integer",
        None,
        ("ejection_fraction_decreased_grade", "CTCAE grade of 'Ejection fraction decreased' the investigator confirms (0: none)"),
    ),
    # ---------------------------------------------------------------- doses
    *_specs(
        "date",
        _DOSING,
        ("dose_date", "date a dose was given"),
    ),
    *_specs(
        "number",
        _DOSING,
        ("dose_weight", "the weight the dose was computed from, kg"),
        ("weight_on_dose_day", "the weight measured on the day of a dose, kg"),
        ("dose_per_kg", "prescribed dose per kg, mg/kg"),
        ("dose_prescribed", "prescribed dose, mg"),
        ("dose_given", "dose actually given, mg"),
    ),
    *_specs("boolean", _DOSING, ("loading_dose", "the dose is a loading dose")),
    *_specs("integer", None, ("infusion_duration", "duration of the infusion, minutes")),
    *_specs("boolean", None, ("infusion_reaction_seen", "an infusion reaction occurred")),
    *_specs("integer", None, ("infusion_reaction_severity", "CTCAE grade of the infusion reaction")),
    *_specs("text", None, ("dose_note", "free-text comment on the dose")),
    *_specs("text", None, ("dose_lot", "lot number of the vials the dose was prepared from")),
    *_specs(
        "text",
        None,
        ("infusion_started_at", "time the infusion started, HH:MM (24 h)"),
        ("infusion_ended_at", "time the infusion ended, HH:MM (24 h)"),
    ),
    *_specs("boolean", None, ("infusion_interruption", "the infusion was interrupted")),
    *_specs("integer", None, ("infusion_interruption_minutes", "length of the interruption, minutes")),
    *_specs("integer", None, ("dose_vials", "number of vials dispensed for the dose")),
    # ---------------------------------------------------------------- transfusions
    *_specs("date", _TRANSFUSION, ("transfused_on", "date of a transfusion")),
    *_specs("integer", _TRANSFUSION, ("transfused_units", "units transfused")),
    *_specs(
        "choice",
        _TRANSFUSION,
        ("red_cell_transfusion", "transfusion of red blood cells"),
        ("platelet_transfusion", "transfusion of platelets"),
    ),
    # ---------------------------------------------------------------- adverse events
    *_specs(
        "text",
        None,
        ("adverse_event_term", "CTCAE term of an adverse event"),
        ("adverse_event_meddra", "MedDRA code of an adverse event"),
    ),
    *_specs("integer", None, ("adverse_event_grade", "worst CTCAE grade of an adverse event")),
    *_specs(
        "date",
        None,
        ("adverse_event_onset", "onset date of an adverse event"),
        ("adverse_event_resolved_on", "resolution date of an adverse event"),
    ),
    *_specs(
        "boolean",
        None,
        ("adverse_event_ongoing", "the adverse event is ongoing"),
        ("adverse_event_serious", "the adverse event is serious"),
    ),
    *_specs(
        "text",
        None,
        ("adverse_event_soc", "MedDRA system organ class of an adverse event (from the CTCAE list)"),
        ("adverse_event_specified", "the event's own words under an 'Other, specify' CTCAE term"),
    ),
    *_specs(
        "boolean",
        None,
        ("seriousness_death", "seriousness criterion (ICH E2A): results in death"),
        ("seriousness_life_threatening", "seriousness criterion (ICH E2A): life-threatening"),
        ("seriousness_hospitalisation", "seriousness criterion (ICH E2A): requires or prolongs hospitalisation"),
        ("seriousness_disability", "seriousness criterion (ICH E2A): persistent or significant disability"),
        ("seriousness_congenital_anomaly", "seriousness criterion (ICH E2A): congenital anomaly or birth defect"),
        ("seriousness_medically_important", "seriousness criterion (ICH E2A): other medically important event"),
    ),
    # ---------------------------------------------------------------- medical history
    *_specs("text", None, ("history_condition", "a condition of the medical history")),
    *_specs(
        "date",
        None,
        ("history_started_on", "when a condition of the medical history began"),
        ("history_ended_on", "when a condition of the medical history ended"),
    ),
    *_specs("boolean", None, ("history_ongoing", "a condition of the medical history is ongoing")),
    *_specs(
        "choice",
        None,
        ("causality_not_related", "relationship to the study drug: not related"),
        ("causality_unlikely", "relationship to the study drug: unlikely"),
        ("causality_possible", "relationship to the study drug: possible"),
        ("causality_probable", "relationship to the study drug: probable"),
        ("causality_definite", "relationship to the study drug: definite"),
        ("no_action_taken", "action taken with the study drug: none"),
        ("action_infusion_interrupted", "action taken with the study drug: infusion interrupted"),
        ("action_dose_delayed", "action taken with the study drug: dose delayed"),
        ("action_drug_withdrawn", "action taken with the study drug: withdrawn"),
        ("action_off_treatment", "action taken with the study drug: not applicable, off treatment"),
        ("outcome_recovered", "adverse event outcome: recovered"),
        ("outcome_recovering", "adverse event outcome: recovering"),
        ("outcome_not_recovered", "adverse event outcome: not recovered"),
        ("outcome_fatal", "adverse event outcome: fatal"),
    ),
    # ---------------------------------------------------------------- concomitant medication
    *_specs(
        "text",
        None,
        ("medication_name", "name (INN) of a concomitant medication"),
        ("medication_indication", "indication of a concomitant medication"),
    ),
    *_specs(
        "date",
        None,
        ("medication_started_on", "start date of a concomitant medication"),
        ("medication_stopped_on", "stop date of a concomitant medication"),
    ),
    *_specs("boolean", None, ("medication_ongoing", "the concomitant medication is ongoing")),
    *_specs(
        "choice",
        None,
        ("route_oral", "route of a concomitant medication: oral"),
        ("route_intravenous", "route of a concomitant medication: intravenous"),
    ),
    # ---------------------------------------------------------------- end of treatment
    *_specs(
        "date",
        None,
        ("treatment_stopped_on", "date of the decision to stop treatment"),
        ("last_dose_on", "date of the last dose"),
    ),
    *_specs("integer", None, ("doses_received_count", "number of doses received")),
    *_specs(
        "choice",
        None,
        ("stopped_for_progression", "reason for end of treatment: progression"),
        ("stopped_for_no_response", "reason for end of treatment: no response after the minimum duration"),
        ("stopped_for_transplant", "reason for end of treatment: stem cell transplant"),
        ("stopped_for_death", "reason for end of treatment: death"),
    ),
    # ---------------------------------------------------------------- follow-up, end of study
    *_specs("date", None, ("contacted_on", "date of a follow-up contact")),
    *_specs(
        "choice",
        _SURVIVAL,
        ("reported_alive", "vital status at a contact: alive"),
        ("reported_dead", "vital status at a contact: dead"),
    ),
    *_specs(
        "date", _SURVIVAL, ("date_of_death", "date of death"), ("last_known_alive", "last date known alive")
    ),
    *_specs(
        "choice",
        None,
        ("death_from_leukemia", "cause of death: leukemia"),
        ("death_from_infection", "cause of death: infection"),
        ("disease_in_remission", "disease status at follow-up: in remission"),
        ("disease_stable", "disease status at follow-up: stable"),
        ("disease_progressing", "disease status at follow-up: progression"),
        ("disease_relapsed", "disease status at follow-up: relapse"),
        ("disease_not_assessed", "disease status at follow-up: not assessed"),
    ),
    *_specs(
        "boolean",
        None,
        ("new_antileukemic_treatment", "a new anti-leukemic treatment since the last contact"),
    ),
    *_specs("date", None, ("subsequent_treatment_on", "start of a subsequent anti-leukemic treatment")),
    *_specs(
        "choice",
        None,
        ("subsequent_allogeneic_transplant", "subsequent treatment: allogeneic stem cell transplant"),
        ("subsequent_chemotherapy", "subsequent treatment: chemotherapy"),
    ),
    *_specs("date", None, ("study_ended_on", "date of the end of study")),
    *_specs(
        "choice",
        None,
        ("ended_follow_up_completed", "reason for end of study: follow-up completed"),
        ("ended_by_death", "reason for end of study: death"),
        ("ended_consent_withdrawn", "reason for end of study: consent withdrawn"),
        ("ended_screen_failure", "reason for end of study: screen failure"),
        ("ended_study_terminated", "reason for end of study: study terminated by the sponsor"),
    ),
]

#: every concept the core knows, by name
CONCEPTS: dict[str, ConceptSpec] = {spec.name: spec for spec in _ALL}
assert len(CONCEPTS) == len(_ALL), "a concept is declared twice"


def concept_spec(name: str) -> ConceptSpec:
    try:
        return CONCEPTS[name]
    except KeyError:
        raise KeyError(f"no clinical concept {name!r}") from None
