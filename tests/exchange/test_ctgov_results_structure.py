"""The ctgov-results file has the structure of ClinicalTrials.gov's API v2 study record.

The schema below is written from the API v2 OpenAPI document (https://clinicaltrials.gov/api/oas/v2,
``components.schemas``: Study, ResultsSection, ParticipantFlowModule, FlowGroup, FlowPeriod,
FlowMilestone, FlowStats, DropWithdraw, BaselineCharacteristicsModule, MeasureGroup, Denom,
DenomCount, BaselineMeasure, MeasureClass, MeasureCategory, Measurement, OutcomeMeasuresModule,
OutcomeMeasure, MeasureAnalysis, AdverseEventsModule, EventGroup, AdverseEvent, EventStats,
MoreInfoModule, LimitationsAndCaveats, PointOfContact) and its "Study Data Structure" page
(https://clinicaltrials.gov/data-api/about-api/study-data-structure): the field names, their
types (strings where the registry has strings, integers where it has integers) and the enums
(MeasureParam, MeasureDispersionType, OutcomeMeasureType, ReportingStatus,
ConfidenceIntervalNumSides, EventAssessment). Every object refuses a field the document does
not name (``additionalProperties: false``), so a misspelt field fails.
"""

from __future__ import annotations

import jsonschema
import pytest
from tests.exchange.ctgov_api_v2 import STUDY

from trialdesk.exchange.ctgov_results import build_results


@pytest.fixture(scope="module")
def record(snapshot, protocol):
    return build_results(snapshot, protocol)


def test_the_record_validates_against_the_api_v2_structure(record):
    jsonschema.validate(record, STUDY)


def test_the_schema_refuses_a_field_the_registry_does_not_name(record):
    import copy

    wrong = copy.deepcopy(record)
    wrong["resultsSection"]["participantFlowModule"]["periods"][0]["milestones"][0]["numSubjects"] = "15"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, STUDY)


def test_the_results_section_has_the_four_modules(record, protocol):
    section = record["resultsSection"]
    assert {
        "participantFlowModule",
        "baselineCharacteristicsModule",
        "outcomeMeasuresModule",
        "adverseEventsModule",
    } <= set(section)
    assert record["protocolSection"]["identificationModule"]["nctId"] == protocol.identification.nct_id


def test_the_flow_period_has_the_registry_milestones_and_its_not_completed_reasons_add_up(record):
    (period,) = record["resultsSection"]["participantFlowModule"]["periods"]
    types = [m["type"] for m in period["milestones"]]
    # the registry's reserved milestones, STARTED first, COMPLETED and NOT COMPLETED last
    assert types[0] == "STARTED" and types[-2:] == ["COMPLETED", "NOT COMPLETED"]
    count = {m["type"]: int(m["achievements"][0]["numSubjects"]) for m in period["milestones"]}
    assert count["COMPLETED"] + count["NOT COMPLETED"] == count["STARTED"]
    assert sum(int(d["reasons"][0]["numSubjects"]) for d in period["dropWithdraws"]) == count["NOT COMPLETED"]


def test_every_group_id_of_a_module_is_one_of_its_groups(record):
    section = record["resultsSection"]
    prefixes = {
        "participantFlowModule": "FG",
        "baselineCharacteristicsModule": "BG",
        "outcomeMeasuresModule": "OG",
        "adverseEventsModule": "EG",
    }

    def group_ids(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "groupId":
                    yield value
                elif key == "groupIds":
                    yield from value
                else:
                    yield from group_ids(value)
        elif isinstance(node, list):
            for item in node:
                yield from group_ids(item)

    for module, prefix in prefixes.items():
        found = set(group_ids(section[module]))
        assert found == {f"{prefix}000"}, module
