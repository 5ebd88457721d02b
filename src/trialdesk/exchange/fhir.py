"""HL7 FHIR R5 from a StudySnapshot and its protocol (pure core, never imports Django).

    bundle_entries(snapshot, protocol)            -> iterator of Bundle.entry dicts
    build_bundle(snapshot, protocol)              -> the whole Bundle as a dict
    write_fhir(snapshot, protocol, out)           -> FhirResult (the JSON streamed to ``out``)
    export_file(snapshot, protocol, path, source, progress)   # the ``fhir`` export kind's writer

A Bundle of type ``collection`` (FHIR R5, 5.0.0, https://hl7.org/fhir/R5/bundle.html) holds:

- per site of the snapshot (the viewer's scope): an ``Organization`` (the hospital) and a
  ``Location`` (the study site, managed by it), with the protocol's address;
- the sponsor as an ``Organization``;
- the eligibility criteria as a definitional ``Group`` of persons: one characteristic per
  criterion of the protocol (its code, the registry's text, ``exclude`` for an exclusion
  criterion), and the structured ages and sexes of the registry record;
- one ``Patient`` and one ``ResearchSubject`` per subject: the subject's progress through the
  study as the R5 value sets name it (https://hl7.org/fhir/R5/researchsubject.html): the
  ``Screened`` milestone, then the states screening, ineligible (a screen failure),
  pending-on-study, on-study, on-study-intervention (first dose to the end of treatment),
  follow-up (after it) and off-study (completed, withdrawn or died), each with its dates;
- the ``ResearchStudy`` last (it counts the subjects enrolled): identifiers (the NCT id and
  the other ids), titles, ``status`` the FHIR publication status of the record, the
  registry's overall status in ``progressStatus`` (with the study's period as
  ``overall-study``) and its reason in ``whyStopped``, phase, primary purpose, conditions,
  the sponsor, the sites, the arms as ``comparisonGroup``, recruitment (target, actual, the
  eligibility Group) and the protocol's endpoints as ``outcomeMeasure``.

The codes are those of the R5 value sets bound to each element (``fhir.resources`` parses
the structure; tests/exchange/test_fhir_value_sets.py checks each code against its value
set). References between entries are ``urn:uuid:`` full URLs, derived from the study and the
resource's id so that the same data give the same file.

Pseudonymisation and site scope are the snapshot's: a pseudonymised snapshot gives no year of
birth, and the Bundle carries the ``PSEUDED`` security label; a site outside the viewer's
scope is absent, as are its subjects.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from trialdesk.analysis.subject import SubjectFacts, subject_facts
from trialdesk.snapshot.cut import ended_on
from trialdesk.snapshot.model import StudySnapshot, SubjectSnapshot

FHIR_VERSION = "5.0.0"

# --------------------------------------------------------------------------- code systems (R5)
PUBLICATION_STATUS = "http://hl7.org/fhir/publication-status"
STUDY_STATUS = "http://hl7.org/fhir/research-study-status"
STUDY_PHASE = "http://hl7.org/fhir/research-study-phase"
PRIMARY_PURPOSE = "http://hl7.org/fhir/research-study-prim-purp-type"
REASON_STOPPED = "http://hl7.org/fhir/research-study-reason-stopped"
PARTY_ROLE = "http://hl7.org/fhir/research-study-party-role"
OBJECTIVE_TYPE = "http://hl7.org/fhir/research-study-objective-type"
ARM_TYPE = "http://hl7.org/fhir/research-study-arm-type"
TITLE_TYPE = "http://hl7.org/fhir/title-type"
SUBJECT_STATE = "http://terminology.hl7.org/CodeSystem/research-subject-state"
SUBJECT_STATE_TYPE = "http://terminology.hl7.org/CodeSystem/research-subject-state-type"
SUBJECT_MILESTONE = "http://terminology.hl7.org/CodeSystem/research-subject-milestone"
STATE_CHANGE_REASON = "http://terminology.hl7.org/CodeSystem/state-change-reason"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
OBSERVATION_VALUE = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
ADMINISTRATIVE_GENDER = "http://hl7.org/fhir/administrative-gender"
UCUM = "http://unitsofmeasure.org"
#: the identifier system of ClinicalTrials.gov numbers (HL7 Terminology's NamingSystem
#: ClinicalTrials-Gov, http://terminology.hl7.org/NamingSystem/ClinicalTrials-Gov)
CLINICALTRIALS_GOV = "https://clinicaltrials.gov"

# the subject's status, as the snapshot carries it (trialdesk.subjects.SubjectStatus)
SCREENING = "screening"
SCREEN_FAILED = "screen_failed"
PENDING = "pending_enrollment"
ENROLLED = "enrolled"
FINISHED = "completed"
WITHDRAWN = "withdrawn"
DIED = "died"

#: the registry's overall status (ClinicalTrials.gov, as the record shows it or as API v2
#: spells it) -> the R5 research-study-status code
_REGISTRY_STATUS = {
    "not yet recruiting": "not-yet-recruiting",
    "recruiting": "recruiting",
    "enrolling by invitation": "enrolling-by-invitation",
    "active not recruiting": "active-but-not-recruiting",
    "suspended": "temporarily-closed-to-accrual",
    "terminated": "terminated",
    "completed": "completed",
    "withdrawn": "withdrawn",
}
_REGISTRY_STATUS_DISPLAY = {
    "not-yet-recruiting": "Not yet recruiting",
    "recruiting": "Recruiting",
    "enrolling-by-invitation": "Enrolling by invitation",
    "active-but-not-recruiting": "Active, but not recruiting",
    "temporarily-closed-to-accrual": "Temporarily closed to accrual",
    "terminated": "Terminated",
    "completed": "Completed",
    "withdrawn": "Withdrawn",
}
_PHASES = {
    "na": ("n-a", "N/A"),
    "not applicable": ("n-a", "N/A"),
    "n a": ("n-a", "N/A"),
    "early phase 1": ("early-phase-1", "Early Phase 1"),
    "phase 1": ("phase-1", "Phase 1"),
    "phase 1 phase 2": ("phase-1-phase-2", "Phase 1/Phase 2"),
    "phase 2": ("phase-2", "Phase 2"),
    "phase 2 phase 3": ("phase-2-phase-3", "Phase 2/Phase 3"),
    "phase 3": ("phase-3", "Phase 3"),
    "phase 4": ("phase-4", "Phase 4"),
}
_PURPOSES = {
    "treatment": "Treatment",
    "prevention": "Prevention",
    "diagnostic": "Diagnostic",
    "supportive-care": "Supportive Care",
    "screening": "Screening",
    "health-services-research": "Health Services Research",
    "basic-science": "Basic Science",
    "device-feasibility": "Device Feasibility",
}
_ARM_TYPES = {
    "experimental": "Experimental",
    "active-comparator": "Active Comparator",
    "placebo-comparator": "Placebo Comparator",
    "sham-comparator": "Sham Comparator",
    "no-intervention": "No Intervention",
    "other-arm-type": "Other",
}
#: a registry's reason for stopping, read for the words that name one of the R5 codes (the
#: text itself is kept beside the code; a reason that names none keeps its text alone)
_REASONS_STOPPED = (
    (re.compile(r"toxicit|safety|adverse", re.I), "closed-due-to-toxicity", "Closed due to toxicity"),
    (re.compile(r"(goal|target)\s+(met|reached)", re.I), "accrual-goal-met", "Accrual Goal Met"),
    (
        re.compile(r"recruit|accrual|enrol", re.I),
        "closed-due-to-lack-of-study-progress",
        "Closed due to lack of study progress",
    ),
)
_GENDER = {"F": "female", "M": "male", "U": "unknown"}
_STATE_DISPLAY = {
    "screening": "Screening",
    "ineligible": "Ineligible",
    "pending-on-study": "Pending on-study",
    "on-study": "On-study",
    "on-study-intervention": "On-study-intervention",
    "follow-up": "Follow-up",
    "off-study": "Off-study",
    "withdrawn": "Withdrawn",
}
_REASON_DISPLAY = {
    "screenFailure": "Screen failure",
    "death": "Death",
    "followUpComplete": "Follow-up complete",
    "withdrawnConsent": "Withdrawn consent",
    "enrolled": "Enrolled",
}


@dataclass(frozen=True)
class FhirResult:
    """What was written: the SHA-256 of the file, the subjects, the resources (entries)."""

    sha256: str
    subjects: int
    records: int
    files: tuple[str, ...] = ()


# --------------------------------------------------------------------------- small builders


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _fhir_id(text: str) -> str:
    """A FHIR id ([A-Za-z0-9-.]{1,64}) from a code or a label."""
    cleaned = re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-") or "x"
    return cleaned[:64]


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict:
    concept: dict[str, Any] = {"coding": [_coding(system, code, display)]}
    if text:
        concept["text"] = text
    return concept


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _period(start: str | None, end: str | None) -> dict[str, str] | None:
    period = {k: v for k, v in (("start", start), ("end", end)) if v}
    return period or None


def _drop_empty(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if v not in (None, [], {}, "")}


class _Ids:
    """Full URLs (urn:uuid, stable for the study and the resource) and references."""

    def __init__(self, nct_id: str) -> None:
        self.nct_id = nct_id

    def url(self, resource_type: str, resource_id: str) -> str:
        name = f"urn:trialdesk:{self.nct_id}:{resource_type}/{resource_id}"
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"

    def ref(self, resource_type: str, resource_id: str, display: str | None = None) -> dict[str, str]:
        reference = {"reference": self.url(resource_type, resource_id), "type": resource_type}
        if display:
            reference["display"] = display
        return reference

    def system(self, what: str) -> str:
        """A code or identifier system of this study's own (its sites, subjects, criteria…)."""
        return f"urn:trialdesk:{self.nct_id}:{what}"


def _entry(ids: _Ids, resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": ids.url(resource["resourceType"], resource["id"]), "resource": _drop_empty(resource)}


# --------------------------------------------------------------------------- study-level mappings


def study_status(overall_status: str) -> str | None:
    """The R5 research-study-status code of a registry overall status (None: no code names it)."""
    return _REGISTRY_STATUS.get(_key(overall_status))


def publication_status(overall_status: str) -> str:
    """ResearchStudy.status (publication-status): the record describes a registered study, so it
    is ``active``; a study withdrawn before its first participant no longer describes one
    that will run: ``retired``."""
    return "retired" if study_status(overall_status) == "withdrawn" else "active"


def phase_code(phase: str) -> tuple[str, str] | None:
    """(code, display) of research-study-phase for a registry phase ("Phase 2", "PHASE2",
    "Phase 1/Phase 2", "N/A"…); None when it names none."""
    key = re.sub(r"(phase)\s*(\d)", r"\1 \2", _key(phase))
    return _PHASES.get(key)


def purpose_code(purpose: str | None) -> str | None:
    if not purpose:
        return None
    code = _key(purpose).replace(" ", "-")
    return code if code in _PURPOSES else None


def arm_type_code(arm_type: str) -> str:
    code = _key(arm_type).replace(" ", "-")
    return code if code in _ARM_TYPES else "other-arm-type"


def reason_stopped(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    for pattern, code, display in _REASONS_STOPPED:
        if pattern.search(text):
            return _concept(REASON_STOPPED, code, display, text)
    return {"text": text}


def _age(text: str | None) -> float | None:
    """The number of years of a registry age ("18 Years"); None for none or another unit."""
    if not text:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*years?\s*", text, re.I)
    return float(match.group(1)) if match else None


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


# --------------------------------------------------------------------------- resources


def _organizations_and_locations(snapshot: StudySnapshot, protocol: Any, ids: _Ids) -> Iterator[dict]:
    declared = {site.code: site for site in protocol.sites}
    for site in snapshot.sites:
        known = declared.get(site.code)
        name = site.name or (known.name if known else site.code)
        address = _drop_empty(
            {
                "city": site.city or (known.city if known else None),
                "postalCode": known.postcode if known else None,
                "country": site.country or (known.country if known else None),
            }
        )
        site_id = _fhir_id(site.code)
        identifier = [{"system": ids.system("site"), "value": site.code}]
        yield _entry(
            ids,
            {
                "resourceType": "Organization",
                "id": f"site-{site_id}",
                "identifier": identifier,
                "active": True,
                "type": [_concept(ORGANIZATION_TYPE, "prov", "Healthcare Provider")],
                "name": name,
                "contact": [{"address": address}] if address else [],
            },
        )
        yield _entry(
            ids,
            {
                "resourceType": "Location",
                "id": f"site-{site_id}",
                "identifier": identifier,
                "status": "active",
                "name": name,
                "mode": "instance",
                "address": address,
                "managingOrganization": ids.ref("Organization", f"site-{site_id}", name),
            },
        )


def _sponsor(protocol: Any, ids: _Ids) -> dict:
    return _entry(
        ids,
        {
            "resourceType": "Organization",
            "id": "sponsor",
            "active": True,
            "name": protocol.identification.sponsor,
        },
    )


def _eligibility(protocol: Any, ids: _Ids) -> dict:
    ident = protocol.identification
    characteristics = []
    for criterion in protocol.eligibility.criteria:
        characteristics.append(
            {
                "code": {
                    "coding": [
                        _coding(ids.system("eligibility-criterion"), criterion.code, criterion.applied_as)
                    ],
                    "text": criterion.text,
                },
                "valueBoolean": True,
                "exclude": criterion.kind == "exclusion",
            }
        )
    low, high = _age(ident.minimum_age), _age(ident.maximum_age)
    if low is not None or high is not None:
        age_range = {}
        if low is not None:
            age_range["low"] = {"value": _number(low), "unit": "years", "system": UCUM, "code": "a"}
        if high is not None:
            age_range["high"] = {"value": _number(high), "unit": "years", "system": UCUM, "code": "a"}
        characteristics.append(
            {
                "code": {"text": "Age (the registry's structured eligible ages)"},
                "valueRange": age_range,
                "exclude": False,
            }
        )
    if ident.sexes != "all":
        characteristics.append(
            {
                "code": {"text": "Sex (the registry's eligible sexes)"},
                "valueCodeableConcept": _concept(ADMINISTRATIVE_GENDER, ident.sexes, ident.sexes.title()),
                "exclude": False,
            }
        )
    description = "\n".join(
        f"- {'Inclusion' if c.kind == 'inclusion' else 'Exclusion'} {c.code}: {c.text}"
        for c in protocol.eligibility.criteria
    )
    return _entry(
        ids,
        {
            "resourceType": "Group",
            "id": "eligibility",
            "identifier": [{"system": ids.system("group"), "value": "eligibility"}],
            "active": True,
            "type": "person",
            "membership": "definitional",
            "name": f"Eligibility criteria of {ident.nct_id}",
            "description": description,
            "characteristic": characteristics,
        },
    )


def _state(code: str, start: dt.date | None, end: dt.date | None = None, reason: str | None = None) -> dict:
    progress: dict[str, Any] = {
        "type": _concept(SUBJECT_STATE_TYPE, "Enrollment", "Enrollment status"),
        "subjectState": _concept(SUBJECT_STATE, code, _STATE_DISPLAY[code]),
    }
    if reason:
        progress |= {"reason": _concept(STATE_CHANGE_REASON, reason, _REASON_DISPLAY[reason])}
    if start is not None:
        progress["startDate"] = start.isoformat()
    if end is not None:
        progress["endDate"] = end.isoformat()
    return progress


def subject_progress(protocol: Any, subject: SubjectSnapshot, facts: SubjectFacts | None) -> list[dict]:
    """The subject's progress: the ``Screened`` milestone, then each state with its dates (the
    day the subject left the study as the data-cut rule reads it: the death date for a death,
    else the end of study recorded)."""
    progress: list[dict] = []
    if subject.screened_on is not None:
        progress.append(
            {
                "type": _concept(SUBJECT_STATE_TYPE, "Milestone", "Milestone status"),
                "milestone": _concept(SUBJECT_MILESTONE, "Screened", "Screened"),
                "startDate": subject.screened_on.isoformat(),
            }
        )
    status = subject.status
    enrolled_on = subject.enrolled_on
    if status == SCREENING:
        progress.append(_state("screening", subject.screened_on))
        return progress
    if status == SCREEN_FAILED:
        progress.append(_state("screening", subject.screened_on))
        progress.append(_state("ineligible", None, reason="screenFailure"))
        return progress
    progress.append(_state("screening", subject.screened_on, enrolled_on))
    if status == PENDING or enrolled_on is None:
        progress.append(_state("pending-on-study", None))
        return progress
    first_dose = facts.first_dose_on if facts is not None and facts.treated else None
    ended = facts.treatment_ended_on if facts is not None else None
    left_on = left_study_on(protocol, subject)
    progress.append(_state("on-study", enrolled_on, left_on, reason="enrolled"))
    if first_dose is not None:
        progress.append(_state("on-study-intervention", first_dose, ended or left_on))
        if ended is not None and (left_on is None or ended < left_on):
            progress.append(_state("follow-up", ended, left_on))
    if status == DIED:
        progress.append(_state("off-study", left_on, reason="death"))
    elif status == WITHDRAWN:
        progress.append(_state("withdrawn", left_on))
    elif status == FINISHED:
        progress.append(_state("off-study", left_on, reason="followUpComplete"))
    return progress


def left_study_on(protocol: Any, subject: SubjectSnapshot) -> dt.date | None:
    """The day an off-study subject left the study (None: on study, or not recorded)."""
    if subject.status not in (DIED, WITHDRAWN, FINISHED):
        return None
    return ended_on(protocol, subject.status, [(r.form, r.data) for r in subject.records if not r.voided])


def _subject_entries(
    protocol: Any,
    subject: SubjectSnapshot,
    facts: SubjectFacts | None,
    snapshot: StudySnapshot,
    ids: _Ids,
    single_arm: str | None,
) -> tuple[dict, dict]:
    label = subject.label
    subject_id = _fhir_id(label)
    identifier = [{"use": "official", "system": ids.system("subject"), "value": label}]
    patient = {
        "resourceType": "Patient",
        "id": subject_id,
        "identifier": identifier,
        "gender": _GENDER.get(subject.sex, _GENDER["U"]),
    }
    if not snapshot.pseudonymised and subject.year_of_birth is not None:
        patient["birthDate"] = f"{subject.year_of_birth:04d}"
    end = left_study_on(protocol, subject)
    research_subject = {
        "resourceType": "ResearchSubject",
        "id": subject_id,
        "identifier": identifier,
        "status": "active",
        "progress": subject_progress(protocol, subject, facts),
        "period": _period(_date(subject.consent_date or subject.screened_on), _date(end)),
        "study": ids.ref("ResearchStudy", _fhir_id(ids.nct_id), ids.nct_id),
        "subject": ids.ref("Patient", subject_id, label),
        "assignedComparisonGroup": single_arm if subject.enrolled_on is not None else None,
        "actualComparisonGroup": single_arm if facts is not None and facts.treated else None,
    }
    return _entry(ids, patient), _entry(ids, research_subject)


def _research_study(protocol: Any, snapshot: StudySnapshot, ids: _Ids, enrolled: int, sites: list) -> dict:
    ident = protocol.identification
    identifiers = [{"use": "official", "system": CLINICALTRIALS_GOV, "value": ident.nct_id}]
    identifiers += [
        {"use": "secondary", "type": {"text": "Other study identifier"}, "value": other}
        for other in ident.other_ids
    ]
    progress = []
    if ident.start_date or ident.completion_date:
        progress.append(
            {
                "state": _concept(STUDY_STATUS, "overall-study", "Overall study"),
                "period": _period(ident.start_date, ident.completion_date),
            }
        )
    code = study_status(ident.overall_status)
    if code is not None:
        state = _concept(STUDY_STATUS, code, _REGISTRY_STATUS_DISPLAY[code], ident.overall_status)
    else:
        state = {"text": ident.overall_status}
    progress.append({"state": state, "actual": True})
    phase = phase_code(ident.phase)
    purpose = purpose_code(ident.primary_purpose)
    parties = [
        {
            "name": ident.sponsor,
            "role": _concept(PARTY_ROLE, "lead-sponsor", "Lead sponsor"),
            "party": ids.ref("Organization", "sponsor", ident.sponsor),
        }
    ]
    parties += [
        {"name": name, "role": _concept(PARTY_ROLE, "collaborator", "Collaborator")}
        for name in ident.collaborators
    ]
    arms = [
        _drop_empty(
            {
                "linkId": _fhir_id(arm.code),
                "name": arm.title,
                "type": _concept(
                    ARM_TYPE, arm_type_code(arm.type), _ARM_TYPES[arm_type_code(arm.type)], arm.type
                ),
                "description": arm.description,
            }
        )
        for arm in protocol.arms
    ]
    outcomes = [
        _drop_empty(
            {
                "name": endpoint.title,
                "type": [_concept(OBJECTIVE_TYPE, endpoint.kind, endpoint.kind.title())],
                "description": endpoint.description,
            }
        )
        for endpoint in protocol.endpoints
    ]
    design = [{"text": text} for text in (ident.intervention_model, ident.masking) if text]
    return _entry(
        ids,
        {
            "resourceType": "ResearchStudy",
            "id": _fhir_id(ident.nct_id),
            "url": f"{CLINICALTRIALS_GOV}/study/{ident.nct_id}",
            "identifier": identifiers,
            "version": protocol_version(snapshot),
            "name": _fhir_id(ident.nct_id),
            "title": ident.brief_title,
            "label": [
                {"type": _concept(TITLE_TYPE, "official", "Official title"), "value": ident.official_title},
                {"type": _concept(TITLE_TYPE, "short-title", "Short title"), "value": ident.brief_title},
            ],
            "date": snapshot.created_at.astimezone(dt.UTC).isoformat(),
            "status": publication_status(ident.overall_status),
            "primaryPurposeType": _concept(PRIMARY_PURPOSE, purpose, _PURPOSES[purpose]) if purpose else None,
            "phase": _concept(STUDY_PHASE, phase[0], phase[1], ident.phase)
            if phase
            else {"text": ident.phase},
            "studyDesign": design,
            "focus": [{"concept": {"text": i.name}} for i in protocol.interventions],
            "condition": [{"text": c} for c in ident.conditions],
            "keyword": [{"text": k} for k in [*ident.keywords, *ident.mesh_terms]],
            "descriptionSummary": ident.brief_summary,
            "period": _period(ident.start_date, ident.completion_date),
            "site": sites,
            "associatedParty": parties,
            "progressStatus": progress,
            "whyStopped": reason_stopped(ident.why_stopped),
            "recruitment": {
                "targetNumber": ident.enrollment.count,
                "actualNumber": enrolled,
                "eligibility": ids.ref("Group", "eligibility", "Eligibility criteria"),
            },
            "comparisonGroup": arms,
            "outcomeMeasure": outcomes,
        },
    )


def protocol_version(snapshot: StudySnapshot) -> str:
    return snapshot.study.version or snapshot.protocol_sha256[:12]


# --------------------------------------------------------------------------- the bundle


def bundle_entries(
    snapshot: StudySnapshot, protocol: Any, *, progress: Callable[[int], None] | None = None
) -> Iterator[dict]:
    """The entries of the Bundle, the subjects streamed, the ResearchStudy last."""
    ids = _Ids(protocol.identification.nct_id)
    sites = []
    for entry in _organizations_and_locations(snapshot, protocol, ids):
        if entry["resource"]["resourceType"] == "Location":
            sites.append(ids.ref("Location", entry["resource"]["id"], entry["resource"].get("name")))
        yield entry
    yield _sponsor(protocol, ids)
    yield _eligibility(protocol, ids)
    single_arm = _fhir_id(protocol.arms[0].code) if len(protocol.arms) == 1 else None
    as_of = snapshot.cutoff or snapshot.created_at.date()
    enrolled = subjects = 0
    for subject in snapshot.subjects():
        facts = subject_facts(protocol, subject, as_of) if subject.enrolled_on is not None else None
        enrolled += subject.enrolled_on is not None
        yield from _subject_entries(protocol, subject, facts, snapshot, ids, single_arm)
        subjects += 1
        if progress is not None:
            progress(subjects)
    yield _research_study(protocol, snapshot, ids, enrolled, sites)


def _bundle_header(snapshot: StudySnapshot, protocol: Any) -> dict[str, Any]:
    nct = protocol.identification.nct_id
    cut = (snapshot.cutoff or snapshot.created_at.date()).isoformat()
    header: dict[str, Any] = {"resourceType": "Bundle", "id": _fhir_id(f"{nct}-{cut}")}
    if snapshot.pseudonymised:
        header["meta"] = {"security": [_coding(OBSERVATION_VALUE, "PSEUDED", "pseudonymized")]}
    header |= {
        "identifier": {"system": f"urn:trialdesk:{nct}:export", "value": f"fhir-{cut}"},
        "type": "collection",
        "timestamp": snapshot.created_at.astimezone(dt.UTC).isoformat(),
    }
    return header


def build_bundle(snapshot: StudySnapshot, protocol: Any) -> dict[str, Any]:
    """The whole Bundle in memory (tests, small studies); :func:`write_fhir` streams it."""
    return {**_bundle_header(snapshot, protocol), "entry": list(bundle_entries(snapshot, protocol))}


class _Hashing:
    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.digest = hashlib.sha256()

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self.digest.update(data)
        self.out.write(data)


def write_fhir(
    snapshot: StudySnapshot,
    protocol: Any,
    out: BinaryIO,
    *,
    progress: Callable[[int], None] | None = None,
) -> FhirResult:
    """Write the Bundle as JSON to the binary file ``out``, one entry at a time."""
    hashing = _Hashing(out)
    header = json.dumps(_bundle_header(snapshot, protocol), ensure_ascii=False, indent=1)
    hashing.write(header[:-2] + ',\n "entry": [\n')
    entries = subjects = 0

    def counted(n: int) -> None:
        nonlocal subjects
        subjects = n
        if progress is not None:
            progress(n)

    for entry in bundle_entries(snapshot, protocol, progress=counted):
        hashing.write(("" if entries == 0 else ",\n") + json.dumps(entry, ensure_ascii=False))
        entries += 1
    hashing.write("\n ]\n}\n")
    return FhirResult(hashing.digest.hexdigest(), subjects, entries)


def export_file(snapshot: StudySnapshot, protocol: Any, temporary: Path, source: Any, progress) -> FhirResult:
    """The ``fhir`` export kind's writer (``trialdesk.exports.services.EXPORT_KINDS``)."""
    with Path(temporary).open("wb") as handle:
        return write_fhir(snapshot, protocol, handle, progress=progress)
