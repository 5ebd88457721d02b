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

from trialdesk.exchange.ctgov_results import build_results

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}


def obj(**properties):
    return {"type": "object", "properties": properties, "additionalProperties": False}


def array(items):
    return {"type": "array", "items": items}


def enum(*values):
    return {"type": "string", "enum": list(values)}


MEASURE_PARAM = enum(
    "GEOMETRIC_MEAN",
    "GEOMETRIC_LEAST_SQUARES_MEAN",
    "LEAST_SQUARES_MEAN",
    "LOG_MEAN",
    "MEAN",
    "MEDIAN",
    "NUMBER",
    "COUNT_OF_PARTICIPANTS",
    "COUNT_OF_UNITS",
)
DISPERSION = enum(
    "NA",
    "STANDARD_DEVIATION",
    "STANDARD_ERROR",
    "INTER_QUARTILE_RANGE",
    "FULL_RANGE",
    "CONFIDENCE_80",
    "CONFIDENCE_90",
    "CONFIDENCE_95",
    "CONFIDENCE_975",
    "CONFIDENCE_99",
    "CONFIDENCE_OTHER",
    "GEOMETRIC_COEFFICIENT",
)
FLOW_STATS = obj(groupId=STRING, comment=STRING, numSubjects=STRING, numUnits=STRING)
GROUP = obj(id=STRING, title=STRING, description=STRING)
DENOM = obj(units=STRING, counts=array(obj(groupId=STRING, value=STRING)))
MEASUREMENT = obj(
    groupId=STRING, value=STRING, spread=STRING, lowerLimit=STRING, upperLimit=STRING, comment=STRING
)
MEASURE_CLASS = obj(
    title=STRING, denoms=array(DENOM), categories=array(obj(title=STRING, measurements=array(MEASUREMENT)))
)
ANALYSIS = obj(
    paramType=STRING,
    paramValue=STRING,
    dispersionType=enum("STANDARD_DEVIATION", "STANDARD_ERROR_OF_MEAN"),
    dispersionValue=STRING,
    statisticalMethod=STRING,
    statisticalComment=STRING,
    pValue=STRING,
    pValueComment=STRING,
    ciNumSides=enum("ONE_SIDED", "TWO_SIDED"),
    ciPctValue=STRING,
    ciLowerLimit=STRING,
    ciUpperLimit=STRING,
    ciLowerLimitComment=STRING,
    ciUpperLimitComment=STRING,
    estimateComment=STRING,
    testedNonInferiority=BOOLEAN,
    nonInferiorityType=STRING,
    nonInferiorityComment=STRING,
    otherAnalysisDescription=STRING,
    groupDescription=STRING,
    groupIds=array(STRING),
)
EVENT = obj(
    term=STRING,
    organSystem=STRING,
    sourceVocabulary=STRING,
    assessmentType=enum("NON_SYSTEMATIC_ASSESSMENT", "SYSTEMATIC_ASSESSMENT"),
    notes=STRING,
    stats=array(obj(groupId=STRING, numEvents=INTEGER, numAffected=INTEGER, numAtRisk=INTEGER)),
)
RESULTS_SECTION = obj(
    participantFlowModule=obj(
        preAssignmentDetails=STRING,
        recruitmentDetails=STRING,
        typeUnitsAnalyzed=STRING,
        groups=array(GROUP),
        periods=array(
            obj(
                title=STRING,
                milestones=array(obj(type=STRING, comment=STRING, achievements=array(FLOW_STATS))),
                dropWithdraws=array(obj(type=STRING, comment=STRING, reasons=array(FLOW_STATS))),
            )
        ),
    ),
    baselineCharacteristicsModule=obj(
        populationDescription=STRING,
        typeUnitsAnalyzed=STRING,
        groups=array(GROUP),
        denoms=array(DENOM),
        measures=array(
            obj(
                title=STRING,
                description=STRING,
                populationDescription=STRING,
                paramType=MEASURE_PARAM,
                dispersionType=DISPERSION,
                unitOfMeasure=STRING,
                calculatePct=BOOLEAN,
                denomUnitsSelected=STRING,
                denoms=array(DENOM),
                classes=array(MEASURE_CLASS),
            )
        ),
    ),
    outcomeMeasuresModule=obj(
        outcomeMeasures=array(
            obj(
                type=enum("PRIMARY", "SECONDARY", "OTHER_PRE_SPECIFIED", "POST_HOC"),
                title=STRING,
                description=STRING,
                populationDescription=STRING,
                reportingStatus=enum("NOT_POSTED", "POSTED"),
                anticipatedPostingDate=STRING,
                paramType=MEASURE_PARAM,
                dispersionType=STRING,
                unitOfMeasure=STRING,
                calculatePct=BOOLEAN,
                timeFrame=STRING,
                typeUnitsAnalyzed=STRING,
                denomUnitsSelected=STRING,
                groups=array(GROUP),
                denoms=array(DENOM),
                classes=array(MEASURE_CLASS),
                analyses=array(ANALYSIS),
            )
        )
    ),
    adverseEventsModule=obj(
        frequencyThreshold=STRING,
        timeFrame=STRING,
        description=STRING,
        allCauseMortalityComment=STRING,
        eventGroups=array(
            obj(
                id=STRING,
                title=STRING,
                description=STRING,
                deathsNumAffected=INTEGER,
                deathsNumAtRisk=INTEGER,
                seriousNumAffected=INTEGER,
                seriousNumAtRisk=INTEGER,
                otherNumAffected=INTEGER,
                otherNumAtRisk=INTEGER,
            )
        ),
        seriousEvents=array(EVENT),
        otherEvents=array(EVENT),
    ),
    moreInfoModule=obj(
        limitationsAndCaveats=obj(description=STRING),
        certainAgreement=obj(),
        pointOfContact=obj(title=STRING, organization=STRING, email=STRING, phone=STRING, phoneExt=STRING),
    ),
)
STUDY = {
    "type": "object",
    "properties": {
        "protocolSection": {
            "type": "object",
            "properties": {
                "identificationModule": {
                    "type": "object",
                    "properties": {"nctId": {"type": "string", "pattern": "^NCT\\d{8}$"}},
                }
            },
        },
        "resultsSection": RESULTS_SECTION,
        "hasResults": BOOLEAN,
        "annotationSection": {"type": "object"},
        "documentSection": {"type": "object"},
        "derivedSection": {"type": "object"},
    },
    "required": ["protocolSection", "resultsSection", "hasResults"],
    "additionalProperties": False,
}


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
