"""The FHIR R5 Bundle of a study: it parses with fhir.resources (R5), holds the ResearchStudy
with its registry facts, the sites, the eligibility Group and one ResearchSubject per subject
with its progress; streamed as built; pseudonymised and scoped as its snapshot is."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from dataclasses import replace

import fhir.resources
import pytest
from fhir.resources.bundle import Bundle

from trialdesk.analysis.subject import forms_of, subject_facts
from trialdesk.exchange.fhir import build_bundle, subject_progress, write_fhir
from trialdesk.snapshot.model import held


def _resources(bundle, kind):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _states(progress):
    return [p["subjectState"]["coding"][0]["code"] for p in progress if "subjectState" in p]


@pytest.fixture(scope="module")
def bundle(snapshot, protocol):
    return build_bundle(snapshot, protocol)


@pytest.fixture(scope="module")
def subjects(snapshot):
    return list(snapshot.subjects())


def test_fhir_resources_is_the_r5_release():
    # fhir.resources 7.0 and later model FHIR R5 (5.0.0) by default
    assert fhir.resources.__fhir_version__ == "5.0.0"


def test_the_bundle_parses_as_an_r5_bundle_with_every_resource(bundle):
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection"
    kinds = {e.resource.get_resource_type() for e in parsed.entry}
    assert kinds == {"Organization", "Location", "Group", "Patient", "ResearchSubject", "ResearchStudy"}


def test_every_reference_points_at_an_entry_of_the_bundle(bundle):
    urls = {e["fullUrl"] for e in bundle["entry"]}
    assert len(urls) == len(bundle["entry"])

    def references(node):
        if isinstance(node, dict):
            if "reference" in node:
                yield node["reference"]
            for value in node.values():
                yield from references(value)
        elif isinstance(node, list):
            for item in node:
                yield from references(item)

    found = list(references(bundle))
    assert found and set(found) <= urls


def test_the_research_study_carries_the_registry_facts_of_the_protocol(bundle, protocol, subjects):
    (study,) = _resources(bundle, "ResearchStudy")
    ident = protocol.identification
    nct = next(i for i in study["identifier"] if i["system"] == "https://clinicaltrials.gov")
    assert nct["value"] == ident.nct_id and nct["use"] == "official"
    assert [i["value"] for i in study["identifier"] if i["use"] == "secondary"] == ident.other_ids
    assert study["title"] == ident.brief_title
    assert study["status"] == "active"  # the publication status of the record
    # the registry's "Terminated" is the study's progress, its reason whyStopped
    actual = [p for p in study["progressStatus"] if p.get("actual")]
    assert [p["state"]["coding"][0]["code"] for p in actual] == ["terminated"]
    assert study["whyStopped"]["text"] == ident.why_stopped
    assert study["phase"]["coding"][0]["code"] == "phase-2"
    assert study["recruitment"]["targetNumber"] == ident.enrollment.count
    assert study["recruitment"]["actualNumber"] == sum(s.enrolled_on is not None for s in subjects)
    assert [(o["name"], o["type"][0]["coding"][0]["code"]) for o in study["outcomeMeasure"]] == [
        (e.title, e.kind) for e in protocol.endpoints
    ]
    assert len(study["site"]) == len(protocol.sites)


def test_each_site_is_an_organization_and_a_location_it_manages(bundle, protocol):
    organizations = {
        o["identifier"][0]["value"]: o for o in _resources(bundle, "Organization") if "identifier" in o
    }
    locations = {loc["identifier"][0]["value"]: loc for loc in _resources(bundle, "Location")}
    assert set(organizations) == set(locations) == {s.code for s in protocol.sites}
    site = protocol.sites[0]
    assert locations[site.code]["address"]["postalCode"] == site.postcode
    assert (
        locations[site.code]["managingOrganization"]["display"]
        == organizations[site.code]["name"]
        == site.name
    )


def test_the_eligibility_group_has_one_characteristic_per_criterion_and_the_registry_ages(bundle, protocol):
    (group,) = _resources(bundle, "Group")
    assert (group["type"], group["membership"]) == ("person", "definitional")
    by_code = {c["code"]["coding"][0]["code"]: c for c in group["characteristic"] if "coding" in c["code"]}
    criteria = protocol.eligibility.criteria
    assert list(by_code) == [c.code for c in criteria]
    for criterion in criteria:
        characteristic = by_code[criterion.code]
        assert characteristic["code"]["text"] == criterion.text
        assert characteristic["exclude"] is (criterion.kind == "exclusion")
    (age,) = [c for c in group["characteristic"] if "valueRange" in c]
    # the registry's structured field "18 Years" (minimum age), no maximum
    assert age["valueRange"] == {
        "low": {"value": 18, "unit": "years", "system": "http://unitsofmeasure.org", "code": "a"}
    }


def test_one_patient_and_one_research_subject_per_subject(bundle, subjects):
    patients = _resources(bundle, "Patient")
    research = _resources(bundle, "ResearchSubject")
    assert [p["identifier"][0]["value"] for p in patients] == [s.label for s in subjects]
    assert [r["identifier"][0]["value"] for r in research] == [s.label for s in subjects]
    assert {p["gender"] for p in patients} <= {"male", "female"}
    assert all(p["birthDate"] == f"{s.year_of_birth:04d}" for p, s in zip(patients, subjects, strict=True))


def test_a_screen_failure_ends_ineligible_for_its_screen_failure(bundle, subjects):
    failed = next(s for s in subjects if s.status == "screen_failed")
    (rs,) = [r for r in _resources(bundle, "ResearchSubject") if r["identifier"][0]["value"] == failed.label]
    assert _states(rs["progress"]) == ["screening", "ineligible"]
    assert rs["progress"][-1]["reason"]["coding"][0]["code"] == "screenFailure"
    assert rs["progress"][0]["milestone"]["coding"][0]["code"] == "Screened"
    assert "assignedComparisonGroup" not in rs


def test_a_subject_who_died_goes_off_study_on_the_day_of_death(bundle, subjects, protocol, snapshot):
    died = next(s for s in subjects if s.status == "died")
    facts = subject_facts(protocol, died, snapshot.created_at.date())
    death = facts.survival.death_date.isoformat()
    (rs,) = [r for r in _resources(bundle, "ResearchSubject") if r["identifier"][0]["value"] == died.label]
    states = _states(rs["progress"])
    assert states[:3] == ["screening", "on-study", "on-study-intervention"] and states[-1] == "off-study"
    off = rs["progress"][-1]
    assert off["startDate"] == death and off["reason"]["coding"][0]["code"] == "death"
    on_study = rs["progress"][2]
    assert (on_study["startDate"], on_study["endDate"]) == (died.enrolled_on.isoformat(), death)
    assert rs["progress"][3]["startDate"] == facts.first_dose_on.isoformat()
    assert rs["period"]["end"] == death
    assert rs["assignedComparisonGroup"] == protocol.arms[0].code


def test_every_state_starts_before_it_ends(bundle):
    for rs in _resources(bundle, "ResearchSubject"):
        for p in rs["progress"]:
            if "startDate" in p and "endDate" in p:
                assert p["startDate"] <= p["endDate"], (rs["id"], p)


def test_a_subject_on_treatment_is_on_study_intervention_with_no_end(subjects, protocol):
    died = next(s for s in subjects if s.status == "died")
    dose_forms = forms_of(protocol, "dose_date")
    on_treatment = replace(
        died, status="enrolled", records=tuple(r for r in died.records if r.form in dose_forms)
    )
    facts = subject_facts(protocol, on_treatment, dt.date(2030, 1, 1))
    progress = subject_progress(protocol, on_treatment, facts)
    assert _states(progress) == ["screening", "on-study", "on-study-intervention"]
    assert "endDate" not in progress[-1] and "endDate" not in progress[-2]


def test_an_enrolled_subject_before_the_first_dose_is_on_study(subjects, protocol):
    died = next(s for s in subjects if s.status == "died")
    waiting = replace(died, status="enrolled", records=(), first_dose_on=None)
    progress = subject_progress(protocol, waiting, subject_facts(protocol, waiting, dt.date(2030, 1, 1)))
    assert _states(progress) == ["screening", "on-study"]


def test_the_streamed_file_is_the_bundle_and_its_sha256(snapshot, protocol, bundle):
    out = io.BytesIO()
    result = write_fhir(snapshot, protocol, out)
    assert json.loads(out.getvalue()) == bundle
    assert result.sha256 == hashlib.sha256(out.getvalue()).hexdigest()
    assert (result.subjects, result.records) == (len(list(snapshot.subjects())), len(bundle["entry"]))


def test_a_pseudonymised_snapshot_gives_no_year_of_birth(snapshot, protocol):
    pseudonymised = replace(snapshot, pseudonymised=True)
    bundle = build_bundle(pseudonymised, protocol)
    assert all("birthDate" not in p for p in _resources(bundle, "Patient"))
    Bundle.model_validate(bundle)


def test_a_snapshot_of_one_site_holds_that_site_and_its_subjects_only(snapshot, protocol, subjects):
    nantes = [s for s in snapshot.sites if s.code == "NTE"]
    mine = [s for s in subjects if s.site == "NTE"]
    scoped = replace(snapshot, sites=tuple(nantes), subject_source=held(mine))
    bundle = build_bundle(scoped, protocol)
    assert [loc["identifier"][0]["value"] for loc in _resources(bundle, "Location")] == ["NTE"]
    assert [r["identifier"][0]["value"] for r in _resources(bundle, "ResearchSubject")] == [
        s.label for s in mine
    ]
    (study,) = _resources(bundle, "ResearchStudy")
    assert len(study["site"]) == 1
    assert study["recruitment"]["actualNumber"] == sum(s.enrolled_on is not None for s in mine)
