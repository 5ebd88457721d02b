"""`trialdesk.protocol.from_ctgov`: a protocol skeleton from a ClinicalTrials.gov API v2 record.

The records: ``data/NCT00724360.ctgov.json`` holds the registry facts of the seed trial
(/work/shared/data/NCT00724360.registry.txt, the record as the registry shows it, its
criteria bullets kept as published, glued ones included); ``data/NCT04355156.ctgov.json`` is
AXMUS-C (axitinib vs placebo in chemorefractory metastatic colorectal cancer, Imperial
College London, phase 2), from the public copies of its record (see data/README.md).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import yaml

from trialdesk.protocol import ProtocolError, ProtocolIncomplete, load_default_protocol, load_protocol_text
from trialdesk.protocol.from_ctgov import NotAStudy, skeleton, skeleton_from_text
from trialdesk.rules import parse

DATA = Path(__file__).parent / "data"


def record(name: str) -> str:
    return (DATA / f"{name}.ctgov.json").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed():
    return skeleton_from_text(record("NCT00724360"))


@pytest.fixture(scope="module")
def axmus():
    return skeleton_from_text(record("NCT04355156"))


def incomplete(text: str) -> ProtocolIncomplete:
    with pytest.raises(ProtocolIncomplete) as caught:
        load_protocol_text(text, "skeleton.yaml")
    return caught.value


# --------------------------------------------------------------------------- proposals vs the hand-written file


def _grid(fields: dict[str, str], rules: list[str]) -> list[dict[str, object]]:
    """Values around every threshold the rules state: each number n and n ± 0.5, ± 1; an
    upper limit of normal of 40 and each multiple k x 40 ± 1 for its value."""
    numbers = sorted({float(n) for rule in rules for n in re.findall(r"\b\d+(?:\.\d+)?\b", rule)})
    choices: dict[str, list[object]] = {}
    for code, kind in fields.items():
        if kind == "boolean":
            choices[code] = [True, False]
        elif code.endswith("_uln"):
            choices[code] = [40.0]
        elif f"{code}_uln" in fields:
            choices[code] = sorted({k * 40 + d for k in numbers for d in (-1, 0, 1)})
        else:
            choices[code] = sorted({n + d for n in numbers for d in (-1, -0.5, 0, 0.5, 1)})
    return [dict(zip(choices, combo, strict=True)) for combo in itertools.product(*choices.values())]


def _equivalent(rule_a: str, rule_b: str, fields: dict[str, str]) -> bool:
    a, b = parse(rule_a), parse(rule_b)
    return all(a.evaluate(values) == b.evaluate(values) for values in _grid(fields, [rule_a, rule_b]))


def _correctly_proposed(result, protocol) -> dict[str, str]:
    """Hand-written criterion code -> the generated criterion whose proposed conditions on
    exactly its fields decide as its rule does (on values around every threshold)."""
    screening = protocol.screening_form
    found: dict[str, str] = {}
    for criterion in protocol.eligibility.criteria:
        wanted = parse(criterion.rule).fields
        types = {code: screening.field(code).type for code in wanted}
        for code, proposal in result.proposals.items():
            atoms = [atom for atom in proposal.atoms if parse(atom.rule).fields <= wanted]
            if not atoms or set().union(*(parse(atom.rule).fields for atom in atoms)) != wanted:
                continue
            rule = " and ".join(f"({atom.rule})" for atom in atoms)
            if _equivalent(rule, criterion.rule, types):
                found[criterion.code] = code
                break
    return found


def test_eight_of_the_nine_hand_written_criteria_get_a_correct_proposed_rule(seed):
    protocol = load_default_protocol()
    found = _correctly_proposed(seed, protocol)

    # I2 (B-ALL relapsed or refractory: a diagnosis and a disease status) matches no pattern;
    # I1 is right because the record's structured "18 Years" decides "age > 18" (D-AGE).
    assert len(protocol.eligibility.criteria) == 9
    assert len(found) == 8
    assert sorted(found) == ["E1", "E2", "I1", "I3", "I4", "I5", "I6", "I7"]
    # the record glues I4 and I5 in one bullet (I4 of the skeleton)
    assert found["I4"] == found["I5"] == "I4"


def test_the_proposed_fields_have_the_hand_written_fields_type_and_unit(seed):
    screening = load_default_protocol().screening_form
    fields = {f["code"]: f for f in seed.document["forms"][0]["fields"]}
    matching = [code for code in fields if code in screening.field_codes]
    assert len(matching) == 12
    for code in matching:
        assert fields[code]["type"] == screening.field(code).type, code
        assert fields[code].get("unit") == screening.field(code).unit, code


def test_the_proposed_fields_record_the_hand_written_files_concepts(seed):
    protocol = load_default_protocol()
    concepts = seed.document["concepts"]
    assert concepts["proposed"] is True
    assert len(concepts["fields"]) == 12  # one for each proposed field
    for name, placements in concepts["fields"].items():
        hand_written = [f"{ref.form}.{ref.field}" for ref in protocol.concept(name)]
        assert placements[0] in hand_written, name


def test_a_criterion_matching_no_pattern_is_left_without_a_rule(seed):
    criteria = {c["code"]: c for c in seed.document["eligibility"]["criteria"]}
    assert criteria["I2"]["text"] == "B-ALL in relapse"
    assert criteria["I2"]["rule"] is None
    assert "proposed" not in criteria["I2"]


def test_an_exclusion_proposes_what_must_hold_to_be_eligible(seed):
    assert seed.proposals["E2"].rule == "lvef_pct >= 50"  # "FEVG < 50%" excludes
    assert seed.proposals["E1"].rule == "prior_trastuzumab == false"


def test_the_structured_minimum_age_decides_a_text_bound_on_the_same_number(seed):
    criterion = next(c for c in seed.document["eligibility"]["criteria"] if c["code"] == "I1")
    assert criterion["rule"] == "age_years >= 18"
    assert "structured minimum age" in criterion["decision"]


# --------------------------------------------------------------------------- the skeleton


def test_the_skeleton_holds_the_records_identification(seed):
    ident = seed.document["identification"]
    protocol = load_default_protocol().identification
    for key in (
        "nct_id", "other_ids", "brief_title", "official_title", "sponsor", "responsible_party", "phase",
        "study_type", "intervention_model", "masking", "primary_purpose", "overall_status", "why_stopped",
        "start_date", "primary_completion_date", "completion_date", "first_posted", "last_update_posted",
        "last_verified", "conditions", "mesh_terms", "sexes", "minimum_age", "maximum_age",
        "healthy_volunteers", "brief_summary",
    ):  # fmt: skip
        assert ident[key] == getattr(protocol, key), key
    assert ident["enrollment"] == {"count": 15, "type": "actual"}


def test_the_skeleton_has_a_site_per_location_with_its_time_zone(seed):
    sites = seed.document["sites"]
    hand_written = {(s.city, s.postcode) for s in load_default_protocol().sites}
    assert {(s["city"], s["postcode"]) for s in sites} == hand_written
    assert {s["time_zone"] for s in sites} == {"Europe/Paris"}
    assert len({s["code"] for s in sites}) == 8
    nantes = next(s for s in sites if s["city"] == "Nantes")
    assert nantes["name"] is None  # the record names no facility there: a person writes it


def test_the_skeleton_takes_the_outcomes_as_endpoints_awaiting_their_derivation(seed):
    endpoints = seed.document["endpoints"]
    titles = [e.title for e in load_default_protocol().endpoints]
    assert [e["title"] for e in endpoints] == titles
    assert [e["kind"] for e in endpoints] == ["primary"] + ["secondary"] * 5
    assert {e["derivation"] for e in endpoints} == {None}


def test_the_skeleton_is_incomplete_exactly_where_a_person_must_write(seed):
    text = seed.yaml
    report = incomplete(text)
    assert report.errors == []
    lines = text.splitlines()

    def gap_at(needle: str) -> str:
        line = next(i for i, line in enumerate(lines, 1) if line.strip() == needle)
        found = [g.message for g in report.gaps if g.line == line]
        assert found, f"no gap at line {line} ({needle})"
        return found[0]

    assert "no schedule of assessments yet" in gap_at("schedule: null")
    assert "no response criteria yet" in gap_at("response_criteria: null")
    assert "no arm yet" in gap_at("arms: null")
    assert "no screening window yet" in gap_at("window_days: null")
    assert (
        gap_at("rule: null")
        == "incomplete: eligibility.criteria[I2] (inclusion 2) 'B-ALL in relapse': no rule yet"
    )
    messages = [g.message for g in report.gaps]
    assert (
        "incomplete: eligibility.criteria[I3] (inclusion 3) 'refractory B-ALL-performance status of 0-2 on the "
        "Eastern C…': no rule yet (proposed: ecog <= 2; check it, then delete 'proposed: true')"
    ) in messages
    assert sum("derivation: no derivation yet (one of response_rate" in m for m in messages) == 6
    assert sum("no French yet for applied_as" in m for m in messages) == 8
    assert (
        sum("proposed, not confirmed" in m for m in messages) == 12 + 1
    )  # the proposed fields, the concepts


def test_confirming_a_proposed_rule_removes_its_gap(seed):
    text = seed.yaml
    before = incomplete(text)
    confirmed = text.replace("    rule: ecog <= 2\n    proposed: true\n", "    rule: ecog <= 2\n", 1)
    after = incomplete(confirmed)
    assert len(after.gaps) == len(before.gaps) - 1
    assert not any("(proposed: ecog <= 2" in g.message for g in after.gaps)


def test_a_finished_protocol_is_no_longer_incomplete(seed):
    """Every placeholder filled: what is left is a protocol's ordinary checking (here the
    concepts the response criteria and endpoints need), no gap."""
    document = yaml.safe_load(seed.yaml)
    default = load_default_protocol()
    document["arms"] = [
        {"code": "A", "title": "Trastuzumab", "type": "Experimental", "interventions": ["Herceptin (trastuzumab)"],
         "source": "operational", "rationale": "One group."}
    ]  # fmt: skip
    document["sites"][4]["name"] = "Nantes University Hospital"
    document["eligibility"]["window_days"] = 14
    for criterion in document["eligibility"]["criteria"]:
        criterion.pop("proposed", None)
        criterion["rule"] = criterion["rule"] or "age_years >= 18"
        criterion["applied_as"] = criterion["applied_as"] or "As written."
        criterion["applied_as_fr"] = "Tel quel."
    document["concepts"].pop("proposed")
    form = document["forms"][0]
    form["title_fr"] = "Sélection"
    for field in form["fields"]:
        field.pop("proposed")
        field["label_fr"] = field["label"]
    for endpoint, hand_written in zip(document["endpoints"], default.endpoints, strict=True):
        endpoint["derivation"] = hand_written.derivation
    document["response_criteria"] = default.response_criteria.model_dump(mode="json")
    document["schedule"] = {
        "visits": [{"code": "SCR", "title": "Screening", "day": -7, "forms": ["screening"], "source": "operational",
                    "rationale": "Before the first dose."}]
    }  # fmt: skip

    with pytest.raises(ProtocolError) as caught:
        load_protocol_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "finished.yaml")
    assert not isinstance(caught.value, ProtocolIncomplete)
    assert caught.value.problems and all("concepts" in p.message for p in caught.value.problems)


def test_the_second_study_gets_its_own_skeleton(axmus):
    ident = axmus.document["identification"]
    assert ident["nct_id"] == "NCT04355156"
    assert ident["other_ids"] == ["AXMUS-C", "ISRCTN70833965", "2011-002598-49"]
    assert ident["masking"] == "Double (Participant, Investigator)"
    assert ident["intervention_model"] == "Parallel Assignment"
    assert ident["collaborators"] == ["Pfizer"]
    assert ident["enrollment"] == {"count": 51, "type": "anticipated"}
    assert ident["completion_date"] == "2019-02" and ident["start_date"] is None
    assert axmus.document["sites"] == [
        {"code": "LON", "name": "Imperial College Healthcare NHS Trust", "city": "London", "postcode": "W12 0HS",
         "country": "United Kingdom", "time_zone": "Europe/London", "source": "registry"}
    ]  # fmt: skip
    arms = axmus.document["arms"]
    assert [(a["code"], a["type"], a["interventions"]) for a in arms] == [
        ("A", "Experimental", ["Axitinib"]),
        ("B", "Placebo Comparator", ["Placebo"]),
    ]


def test_the_second_study_gets_a_rule_for_each_criterion_with_a_common_pattern(axmus):
    # The record's criteria (public copies of NCT04355156, see data/README.md): age, ECOG,
    # and the seven organ-function bounds of its criterion 7 (7.1-7.7).
    assert len(axmus.criteria) == 15
    assert {code: p.rule for code, p in axmus.proposals.items()} == {
        "I4": "age_years >= 18",
        "I5": "ecog <= 1",
        "I7": "ast <= 2.5 * ast_uln and alt <= 2.5 * alt_uln",
        "I8": "bilirubin < 1.5 * bilirubin_uln",
        "I9": "albumin >= 3",
        "I10": "anc >= 1500",
        "I11": "platelets >= 100000",
        "I12": "hemoglobin >= 9",
        "I13": "creatinine <= 1.5 * creatinine_uln",
    }
    # the liver-metastases bound of 7.1 is a subgroup's: said, not proposed
    assert "liver metastases" in axmus.proposals["I7"].note
    fields = {f["code"]: f for f in axmus.document["forms"][0]["fields"]}
    assert fields["anc"]["unit"] == "/µL" and fields["albumin"]["unit"] == "g/dL"
    assert fields["bilirubin"]["unit"] == fields["bilirubin_uln"]["unit"]
    report = incomplete(axmus.yaml)
    assert report.errors == []
    assert sum("no rule yet" in g.message and "proposed" not in g.message for g in report.gaps) == 6


# --------------------------------------------------------------------------- what is not a study


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[1, 2]", "no protocolSection"),
        ('{"studies": []}', "holds 0 studies"),
        ('{"protocolSection": {"identificationModule": {"nctId": "12"}}}', "not an NCT number"),
        ("{not json", "not JSON (line 1, column 2"),
        ('{"resourceType": "ResearchStudy"}', "not a ClinicalTrials.gov study"),
    ],
)
def test_it_refuses_a_json_that_is_not_a_study(text, says):
    with pytest.raises(NotAStudy, match=re.escape(says)):
        skeleton_from_text(text)


@pytest.mark.parametrize("criteria", [None, "", "   \n", "Inclusion Criteria:\n\nExclusion Criteria:\n"])
def test_it_refuses_a_study_without_eligibility_text(criteria):
    study = yaml.safe_load(record("NCT00724360"))
    if criteria is None:
        del study["protocolSection"]["eligibilityModule"]["eligibilityCriteria"]
    else:
        study["protocolSection"]["eligibilityModule"]["eligibilityCriteria"] = criteria
    with pytest.raises(NotAStudy, match="eligibility criteria text"):
        skeleton(study)


def test_it_reads_one_study_of_a_search_answer():
    study = yaml.safe_load(record("NCT04355156"))
    assert skeleton({"studies": [study]}).document["identification"]["nct_id"] == "NCT04355156"


def test_a_record_without_french_leaves_every_french_text_to_write(seed):
    text = seed.yaml
    french = re.findall(r"^\s*\w+_fr: (.*)$", text, flags=re.MULTILINE)
    assert len(french) == 8 + 1 + 12  # the criteria's readings, the form's title, its fields' labels
    assert set(french) == {'""'}


def _with_locations(locations: list[dict]) -> str:
    study = yaml.safe_load(record("NCT00724360"))
    study["protocolSection"]["contactsLocationsModule"]["locations"] = locations
    return skeleton(study).yaml


def test_a_site_in_a_country_of_several_time_zones_gets_the_nearest_zone_to_confirm():
    # NCT05013879's location (Burke Rehabilitation Hospital, White Plains, New York)
    text = _with_locations(
        [{"facility": "Burke Rehabilitation Hospital", "city": "White Plains", "state": "New York", "zip": "10605",
          "country": "United States", "geoPoint": {"lat": 41.03399, "lon": -73.76291}}]
    )  # fmt: skip
    site = yaml.safe_load(text)["sites"][0]
    assert site["time_zone"] == "America/New_York" and site["proposed"] is True
    gaps = [g.message for g in incomplete(text).gaps if g.message.startswith("incomplete: sites")]
    assert gaps == [
        "incomplete: sites[WHI] time zone America/New_York (the zone whose main city is nearest White Plains): "
        "proposed, not confirmed (check it, then delete 'proposed: true')"
    ]


def test_a_site_whose_time_zone_cannot_be_told_awaits_it():
    text = _with_locations(
        [{"facility": "A hospital", "city": "Springfield", "zip": "62701", "country": "United States"}]
    )
    assert yaml.safe_load(text)["sites"][0]["time_zone"] is None
    gaps = [g.message for g in incomplete(text).gaps if g.message.startswith("incomplete: sites")]
    assert gaps == [
        "incomplete: sites[SPR].time_zone: no time zone yet (the IANA name of the site's time zone, e.g. Europe/Paris)"
    ]


def test_a_record_with_little_more_than_its_criteria_gives_a_skeleton_of_gaps_only():
    minimal = {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT01234567"},
            "eligibilityModule": {"eligibilityCriteria": "* Adults"},
        }
    }
    report = incomplete(skeleton(minimal).yaml)
    assert report.errors == []
    places = [g.message.split(": ")[1] for g in report.gaps]
    for place in (
        "identification.brief_title", "identification.sponsor", "identification.phase",
        "identification.study_type", "identification.overall_status", "identification.enrollment",
        "sites", "arms", "interventions", "endpoints", "schedule", "response_criteria",
    ):  # fmt: skip
        assert place in places, place
