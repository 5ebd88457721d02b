"""The ClinicalTrials.gov API v2 study record as a JSON schema (the parts a results section uses).

Written from the API v2 OpenAPI document (https://clinicaltrials.gov/api/oas/v2,
``components.schemas``) and its "Study Data Structure" page
(https://clinicaltrials.gov/data-api/about-api/study-data-structure): field names, types and
enums; every object refuses a field the document does not name."""

from __future__ import annotations

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
