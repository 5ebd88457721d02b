"""Every code of the FHIR export is in the value set its element is bound to (fhir.resources
checks the structure, not the bindings).

The value sets are written here from the FHIR R5 specification (5.0.0):
- publication-status        https://hl7.org/fhir/R5/valueset-publication-status.html
- research-study-status     https://hl7.org/fhir/R5/valueset-research-study-status.html
- research-study-phase      https://hl7.org/fhir/R5/valueset-research-study-phase.html
- research-study-prim-purp-type https://hl7.org/fhir/R5/valueset-research-study-prim-purp-type.html
- research-study-reason-stopped https://hl7.org/fhir/R5/valueset-research-study-reason-stopped.html
- research-study-party-role  https://hl7.org/fhir/R5/valueset-research-study-party-role.html
- research-study-objective-type https://hl7.org/fhir/R5/valueset-research-study-objective-type.html
- research-study-arm-type    https://hl7.org/fhir/R5/valueset-research-study-arm-type.html
- title-type                 https://hl7.org/fhir/R5/valueset-title-type.html
- research-subject-state     https://hl7.org/fhir/R5/valueset-research-subject-state.html
- research-subject-state-type https://hl7.org/fhir/R5/valueset-research-subject-state-type.html
- research-subject-milestone https://hl7.org/fhir/R5/valueset-research-subject-milestone.html
- state-change-reason        https://terminology.hl7.org/ValueSet-state-change-reason.html
- organization-type          https://hl7.org/fhir/R5/valueset-organization-type.html
- security-labels (PSEUDED)  https://hl7.org/fhir/R5/valueset-security-labels.html
- administrative-gender      https://hl7.org/fhir/R5/valueset-administrative-gender.html
- group-type, group-membership-basis https://hl7.org/fhir/R5/group.html
- location-status, location-mode     https://hl7.org/fhir/R5/location.html
- identifier-use             https://hl7.org/fhir/R5/valueset-identifier-use.html
- bundle-type                https://hl7.org/fhir/R5/valueset-bundle-type.html
- UCUM's year "a"            https://ucum.org/ucum (the unit "a", Julian year)
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from trialdesk.exchange import fhir
from trialdesk.exchange.fhir import build_bundle

#: code system -> the codes of its value set (R5)
VALUE_SETS: dict[str, set[str]] = {
    "http://hl7.org/fhir/publication-status": {"draft", "active", "retired", "unknown"},
    "http://hl7.org/fhir/research-study-status": {
        "overall-study",
        "active",
        "active-but-not-recruiting",
        "administratively-completed",
        "approved",
        "closed-to-accrual",
        "closed-to-accrual-and-intervention",
        "completed",
        "disapproved",
        "enrolling-by-invitation",
        "in-review",
        "not-yet-recruiting",
        "recruiting",
        "temporarily-closed-to-accrual",
        "temporarily-closed-to-accrual-and-intervention",
        "terminated",
        "withdrawn",
    },
    "http://hl7.org/fhir/research-study-phase": {
        "n-a",
        "early-phase-1",
        "phase-1",
        "phase-1-phase-2",
        "phase-2",
        "phase-2-phase-3",
        "phase-3",
        "phase-4",
    },
    "http://hl7.org/fhir/research-study-prim-purp-type": {
        "treatment",
        "prevention",
        "diagnostic",
        "supportive-care",
        "screening",
        "health-services-research",
        "basic-science",
        "device-feasibility",
    },
    "http://hl7.org/fhir/research-study-reason-stopped": {
        "accrual-goal-met",
        "closed-due-to-toxicity",
        "closed-due-to-lack-of-study-progress",
        "temporarily-closed-per-study-design",
    },
    "http://hl7.org/fhir/research-study-party-role": {
        "sponsor",
        "lead-sponsor",
        "sponsor-investigator",
        "primary-investigator",
        "collaborator",
        "funding-source",
        "general-contact",
        "recruitment-contact",
        "sub-investigator",
        "study-director",
        "study-chair",
        "irb",
    },
    "http://hl7.org/fhir/research-study-objective-type": {"primary", "secondary", "exploratory"},
    "http://hl7.org/fhir/research-study-arm-type": {
        "active-comparator",
        "placebo-comparator",
        "sham-comparator",
        "no-intervention",
        "experimental",
        "other-arm-type",
    },
    "http://hl7.org/fhir/title-type": {
        "primary",
        "official",
        "scientific",
        "plain-language",
        "subtitle",
        "short-title",
        "acronym",
        "earlier-title",
        "language",
        "autotranslated",
        "human-use",
        "machine-use",
        "duplicate-uid",
    },
    "http://terminology.hl7.org/CodeSystem/research-subject-state": {
        "candidate",
        "eligible",
        "follow-up",
        "ineligible",
        "not-registered",
        "off-study",
        "on-study",
        "on-study-intervention",
        "on-study-observation",
        "pending-on-study",
        "potential-candidate",
        "screening",
        "withdrawn",
    },
    "http://terminology.hl7.org/CodeSystem/research-subject-state-type": {"Milestone", "Enrollment"},
    "http://terminology.hl7.org/CodeSystem/research-subject-milestone": {
        "SignedUp",
        "Screened",
        "Randomized",
    },
    "http://terminology.hl7.org/CodeSystem/state-change-reason": {
        "adverseEvent",
        "death",
        "notEligible",
        "eligibleButNo",
        "enrolled",
        "exclusion",
        "followUpComplete",
        "inclusion",
        "informedConsentSigned",
        "intOrObsComplete",
        "nonCompliance",
        "preReg",
        "refuseConsent",
        "screenFailure",
        "studyClosed",
        "studyTerminated",
        "subjectRefusal",
        "unwillingOrUnable",
        "withdrawnConsent",
    },
    "http://terminology.hl7.org/CodeSystem/organization-type": {
        "prov",
        "dept",
        "team",
        "govt",
        "ins",
        "pay",
        "edu",
        "reli",
        "crs",
        "cg",
        "bus",
        "other",
    },
    "http://terminology.hl7.org/CodeSystem/v3-ObservationValue": {"PSEUDED"},
    "http://hl7.org/fhir/administrative-gender": {"male", "female", "other", "unknown"},
    "http://unitsofmeasure.org": {"a"},
}

#: elements bound to a value set, whose value is a plain code: (resource type, element) -> codes
CODE_ELEMENTS: dict[tuple[str, str], set[str]] = {
    ("ResearchStudy", "status"): VALUE_SETS["http://hl7.org/fhir/publication-status"],
    ("ResearchSubject", "status"): VALUE_SETS["http://hl7.org/fhir/publication-status"],
    ("Patient", "gender"): VALUE_SETS["http://hl7.org/fhir/administrative-gender"],
    ("Group", "type"): {
        "person",
        "animal",
        "practitioner",
        "device",
        "careteam",
        "healthcareservice",
        "location",
        "organization",
        "relatedperson",
        "specimen",
    },
    ("Group", "membership"): {"definitional", "enumerated"},
    ("Location", "status"): {"active", "suspended", "inactive"},
    ("Location", "mode"): {"instance", "kind"},
}
IDENTIFIER_USE = {"usual", "official", "temp", "secondary", "old"}
BUNDLE_TYPE = {
    "document",
    "message",
    "transaction",
    "transaction-response",
    "batch",
    "batch-response",
    "history",
    "searchset",
    "collection",
    "subscription-notification",
}
#: element path (from the resource) -> the code system its binding names
BOUND_SYSTEMS = {
    ("ResearchStudy", "phase"): "http://hl7.org/fhir/research-study-phase",
    ("ResearchStudy", "primaryPurposeType"): "http://hl7.org/fhir/research-study-prim-purp-type",
    ("ResearchStudy", "whyStopped"): "http://hl7.org/fhir/research-study-reason-stopped",
    ("ResearchStudy", "progressStatus.state"): "http://hl7.org/fhir/research-study-status",
    ("ResearchStudy", "associatedParty.role"): "http://hl7.org/fhir/research-study-party-role",
    ("ResearchStudy", "outcomeMeasure.type"): "http://hl7.org/fhir/research-study-objective-type",
    ("ResearchStudy", "comparisonGroup.type"): "http://hl7.org/fhir/research-study-arm-type",
    ("ResearchStudy", "label.type"): "http://hl7.org/fhir/title-type",
    ("ResearchSubject", "progress.type"): "http://terminology.hl7.org/CodeSystem/research-subject-state-type",
    (
        "ResearchSubject",
        "progress.subjectState",
    ): "http://terminology.hl7.org/CodeSystem/research-subject-state",
    (
        "ResearchSubject",
        "progress.milestone",
    ): "http://terminology.hl7.org/CodeSystem/research-subject-milestone",
    ("ResearchSubject", "progress.reason"): "http://terminology.hl7.org/CodeSystem/state-change-reason",
    ("Organization", "type"): "http://terminology.hl7.org/CodeSystem/organization-type",
}


def _codings(node, path=()):
    """(path, system, code) of every Coding, and of every Quantity's unit code, under ``node``."""
    if isinstance(node, dict):
        if "code" in node and "system" in node and isinstance(node["code"], str):
            yield ".".join(path), node["system"], node["code"]
        for key, value in node.items():
            yield from _codings(value, (*path, key))
    elif isinstance(node, list):
        for item in node:
            yield from _codings(item, path)


def _strip(path: str) -> str:
    return path.replace(".coding", "")


@pytest.fixture(scope="module")
def bundle(snapshot, protocol):
    return build_bundle(snapshot, protocol)


@pytest.fixture(scope="module")
def pseudonymised_bundle(snapshot, protocol):
    return build_bundle(replace(snapshot, pseudonymised=True), protocol)


def test_every_coded_value_is_in_the_r5_value_set_of_its_system(bundle, pseudonymised_bundle):
    checked = 0
    for b in (bundle, pseudonymised_bundle):
        for path, system, code in _codings(b):
            if system.startswith("urn:trialdesk:"):
                # the study's own codes: only where the binding is an example (a criterion's code)
                assert path.endswith("characteristic.code.coding"), path
                continue
            assert system in VALUE_SETS, f"{path}: a code system no test knows: {system}"
            assert code in VALUE_SETS[system], f"{path}: {code!r} is not in {system}"
            checked += 1
    assert checked > 100


def test_each_bound_element_uses_the_code_system_of_its_binding(bundle):
    seen = set()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        for path, system, _code in _codings(resource):
            key = (resource["resourceType"], _strip(path))
            if key in BOUND_SYSTEMS:
                assert system == BOUND_SYSTEMS[key], key
                seen.add(key)
    assert seen == set(BOUND_SYSTEMS)  # the demo cohort reaches every one of them


def test_every_plain_code_element_holds_a_code_of_its_value_set(bundle):
    assert bundle["type"] in BUNDLE_TYPE
    found = set()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        for (kind, element), codes in CODE_ELEMENTS.items():
            if resource["resourceType"] == kind and element in resource:
                assert resource[element] in codes, (kind, element, resource[element])
                found.add((kind, element))
        for identifier in resource.get("identifier", []):
            if "use" in identifier:
                assert identifier["use"] in IDENTIFIER_USE
    assert found == set(CODE_ELEMENTS)


def test_a_pseudonymised_bundle_carries_the_pseudonymised_security_label(pseudonymised_bundle, bundle):
    assert pseudonymised_bundle["meta"]["security"][0]["code"] == "PSEUDED"
    assert "meta" not in bundle


@pytest.mark.parametrize(
    ("registry", "code"),
    [
        ("Not yet recruiting", "not-yet-recruiting"),
        ("Recruiting", "recruiting"),
        ("Enrolling by invitation", "enrolling-by-invitation"),
        ("Active, not recruiting", "active-but-not-recruiting"),
        ("ACTIVE_NOT_RECRUITING", "active-but-not-recruiting"),
        ("Suspended", "temporarily-closed-to-accrual"),
        ("Terminated", "terminated"),
        ("Completed", "completed"),
        ("Withdrawn", "withdrawn"),
        ("Unknown status", None),
    ],
)
def test_each_registry_status_maps_to_a_research_study_status_or_to_none(registry, code):
    assert fhir.study_status(registry) == code
    if code is not None:
        assert code in VALUE_SETS["http://hl7.org/fhir/research-study-status"]
    assert fhir.publication_status(registry) in VALUE_SETS["http://hl7.org/fhir/publication-status"]


@pytest.mark.parametrize(
    ("phase", "code"),
    [
        ("Phase 2", "phase-2"),
        ("PHASE2", "phase-2"),
        ("Phase 1/Phase 2", "phase-1-phase-2"),
        ("EARLY_PHASE1", "early-phase-1"),
        ("N/A", "n-a"),
        ("NA", "n-a"),
        ("Phase 4", "phase-4"),
        ("Pilot", None),
    ],
)
def test_each_registry_phase_maps_to_a_research_study_phase_or_to_none(phase, code):
    found = fhir.phase_code(phase)
    assert (found[0] if found else None) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Difficulties of recruitment", "closed-due-to-lack-of-study-progress"),
        ("Unacceptable toxicity", "closed-due-to-toxicity"),
        ("Accrual goal met", "accrual-goal-met"),
        ("Sponsor decision", None),
    ],
)
def test_a_reason_for_stopping_keeps_its_text_and_names_a_code_only_when_its_words_do(text, code):
    concept = fhir.reason_stopped(text)
    assert concept["text"] == text
    codes = [c["code"] for c in concept.get("coding", [])]
    assert codes == ([code] if code else [])
    assert set(codes) <= VALUE_SETS["http://hl7.org/fhir/research-study-reason-stopped"]


def test_an_arm_type_the_value_set_does_not_name_is_other_arm_type():
    assert fhir.arm_type_code("Experimental") == "experimental"
    assert fhir.arm_type_code("Placebo Comparator") == "placebo-comparator"
    assert fhir.arm_type_code("Device Feasibility") == "other-arm-type"
