"""Every fact of the registry record NCT00724360 is in the protocol file.

Reads the record as the registry shows it (``../shared/data/NCT00724360.registry.txt``
beside the repository) and looks for each criterion, site, outcome and key fact.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from trialdesk.protocol import load_default_protocol

REPO_ROOT = Path(__file__).resolve().parents[2]
REGISTRY = REPO_ROOT.parent / "shared" / "data" / "NCT00724360.registry.txt"

pytestmark = pytest.mark.skipif(not REGISTRY.is_file(), reason=f"registry record not found at {REGISTRY}")

MONTHS = {
    name: number
    for number, name in enumerate(
        "January February March April May June July August September October November December".split(), 1
    )
}


@pytest.fixture(scope="module")
def record() -> str:
    return REGISTRY.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def protocol():
    return load_default_protocol()


def _field(record: str, label: str) -> str:
    match = re.search(rf"^\s*{re.escape(label)}\s*:\s*(.+?)\s*$", record, re.M)
    assert match, f"{label!r} not found in the registry record"
    return match.group(1)


def _month(text: str) -> str:
    name, year = text.split()
    return f"{int(year):04d}-{MONTHS[name]:02d}"


def _day(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%B %d, %Y").date()


def _bullets(record: str, heading: str) -> list[str]:
    block = record.split(heading, 1)[1]
    bullets = []
    for line in block.splitlines()[1:]:
        line = line.strip()
        if line.startswith("•"):
            bullets.append(line.lstrip("•").strip())
        elif line and bullets:
            break
    assert bullets, f"no bullet under {heading!r}"
    return bullets


def _fragments(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(
    "kind, heading", [("inclusion", "Inclusion Criteria:"), ("exclusion", "Exclusion Criteria:")]
)
def test_every_criterion_of_the_record_is_in_the_protocol(record, protocol, kind, heading):
    criteria = [c for c in protocol.eligibility.criteria if c.kind == kind]
    fragments = [f for c in criteria for f in _fragments(c.text)]
    # the protocol quotes the record verbatim, fragment by fragment
    for fragment in fragments:
        assert fragment in record, f"criterion text {fragment!r} is not the record's wording"
    # and every bullet of the record is covered by the protocol's fragments (nothing left but punctuation)
    for bullet in _bullets(record, heading):
        rest = bullet
        for fragment in sorted(fragments, key=len, reverse=True):
            rest = rest.replace(fragment, " ")
        assert not re.sub(r"[\s,.;:()\-]", "", rest), (
            f"{kind} bullet {bullet!r} is not covered: {rest!r} left"
        )
    assert all(c.source == "registry" and c.rule for c in criteria)


def test_every_site_of_the_record_is_in_the_protocol(record, protocol):
    locations = record.split("Please refer to this study by its identifier", 1)[1].splitlines()
    found = []
    for index, line in enumerate(locations):
        match = re.fullmatch(r"\s*(.+?), France, (\d{5})\s*", line)
        if not match:
            continue
        city, postcode = match.groups()
        previous = locations[index - 1].strip()
        hospital = None if re.search(r", France, \d{5}$", previous) or not previous else previous
        found.append((city, postcode, hospital))
    assert len(found) == 8
    sites = {(site.city, site.postcode): site for site in protocol.sites}
    assert len(sites) == len(protocol.sites) == 8
    for city, postcode, hospital in found:
        assert (city, postcode) in sites, f"site {city} {postcode} missing"
        site = sites[(city, postcode)]
        if hospital:  # the record names every hospital but Nantes's (the sponsor, named above)
            assert site.name == hospital
        assert site.country == "France" and site.source == "registry"


def test_the_site_codes_are_those_the_other_issues_use(protocol):
    codes = {site.code: site.city for site in protocol.sites}
    assert codes == {
        "NTE": "Nantes",
        "RNS": "Rennes",
        "CFD": "Clermont-Ferrand",
        "CRT": "Créteil",
        "GRE": "Grenoble",
        "MRS": "Marseille",
        "SLS": "Paris",
        "STR": "Strasbourg",
    }
    assert protocol.site("NTE").name == "Nantes University Hospital"
    assert protocol.site("SLS").postcode == "75010"


def test_every_outcome_of_the_record_is_in_the_protocol(record, protocol):
    primary_block = record.split("Primary Outcome Measures :", 1)[1].split("Secondary Outcome Measures :", 1)[
        0
    ]
    secondary_block = record.split("Secondary Outcome Measures :", 1)[1].split("Information from", 1)[0]

    def numbered(block: str) -> list[str]:
        return [m.group(1).strip() for m in re.finditer(r"^\s*\d+\.\s+(.+)$", block, re.M)]

    primary = [e.title for e in protocol.endpoints if e.kind == "primary"]
    secondary = [e.title for e in protocol.endpoints if e.kind == "secondary"]
    assert numbered(primary_block) == primary
    assert sorted(numbered(secondary_block)) == sorted(secondary)
    assert len(secondary) == 5
    assert {e.derivation for e in protocol.endpoints} == {
        "response_rate",
        "overall_survival",
        "leukemia_free_survival",
        "transfusion_needs",
        "cytogenetic_response",
        "tolerance",
    }


def test_the_identification_holds_the_key_facts_of_the_record(record, protocol):
    ident = protocol.identification
    assert ident.nct_id == re.search(r"Identifier: (NCT\d{8})", record).group(1) == "NCT00724360"
    assert ident.other_ids == [_field(record, "Other Study ID Numbers")]
    assert ident.brief_title == record.splitlines()[0].strip()
    assert ident.official_title == _field(record, "Official Title")
    assert ident.sponsor == ident.responsible_party == "Nantes University Hospital"
    assert _field(record, "Responsible Party").startswith(ident.responsible_party)
    assert f"{ident.overall_status} ({ident.why_stopped})" == _field(record, "Recruitment Status")
    assert ident.phase in record and ident.phase == "Phase 2"
    assert _field(record, "Study Type").lower().startswith(ident.study_type)
    assert ident.intervention_model == _field(record, "Intervention Model")
    assert ident.masking == _field(record, "Masking")
    assert ident.primary_purpose == _field(record, "Primary Purpose")
    assert ident.start_date == _month(_field(record, "Study Start Date"))
    assert ident.primary_completion_date == _month(_field(record, "Primary Completion Date"))
    assert ident.completion_date == _month(_field(record, "Study Completion Date"))
    assert ident.first_posted == _day(_field(record, "First Posted"))
    assert ident.last_update_posted == _day(_field(record, "Last Update Posted"))
    assert ident.last_verified == _month(_field(record, "Last Verified"))
    enrollment = re.search(r"(Actual|Anticipated) Enrollment : (\d+) participants", record)
    assert (ident.enrollment.type, ident.enrollment.count) == (
        enrollment.group(1).lower(),
        int(enrollment.group(2)),
    )
    assert ident.conditions == ["Relapsed/Refractory Leukemia"] and ident.conditions[0] in record
    for term in ident.mesh_terms:
        assert re.search(rf"^{re.escape(term)}$", record, re.M), term
    mesh_block = record.split("Additional relevant MeSH terms:", 1)[1]
    assert [line.strip() for line in mesh_block.strip().splitlines()] == ident.mesh_terms
    assert _field(record, "Sexes Eligible for Study").lower() == ident.sexes
    assert _field(record, "Ages Eligible for Study").startswith(f"{ident.minimum_age} and older")
    assert ident.maximum_age is None
    assert ident.healthy_volunteers is (_field(record, "Accepts Healthy Volunteers") == "Yes")
    summary = record.split("Brief Summary:", 1)[1].strip().splitlines()[0]
    assert ident.brief_summary == summary
    assert ident.source == "registry"


def test_the_intervention_and_its_dose_rules_are_the_records(record, protocol):
    intervention = protocol.interventions[0]
    assert f"{intervention.type}: {intervention.name}" in record
    assert intervention.description in record
    rules = intervention.dose_rules
    assert (rules.loading_mg_per_kg, rules.maintenance_mg_per_kg, rules.interval_days) == (4, 2, 7)
    assert rules.minimum_duration_weeks == 8  # "at least 2 months" of weekly doses
    assert rules.stop_on == ["progression"] and rules.route == "IV"
    assert rules.reload_if_late_by_more_than_days == 7
    assert rules.weight_change_recompute_pct == 10 and rules.deviation_pct == 10


def test_the_ambiguity_decisions_are_written_in_the_file(protocol):
    decisions = {d.code: d for d in protocol.identification.decisions}
    assert {"D-AGE", "D-LIVER", "D-RELAPSE", "D-ECOG", "D-LVEF"} <= set(decisions)
    assert "18 Years and older" in decisions["D-AGE"].decision
    assert "AST or ALT" in decisions["D-LIVER"].registry_text
    assert protocol.eligibility.criterion("I1").rule == "age_years >= 18"
    assert protocol.eligibility.criterion("I4").rule == "ast <= 5 * ast_uln and alt <= 5 * alt_uln"
    assert all(d.rationale for d in decisions.values())
