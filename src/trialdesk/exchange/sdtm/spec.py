"""The SDTM IG 3.4 datasets trialdesk writes: their variables, labels, types, cores and origins (pure).

One declaration feeds the Dataset-JSON columns, the XPT labels and ``define.json``. ``core``
is the IG's: ``Req`` (present and never null), ``Exp`` (present, null where legitimately
empty), ``Perm`` (present here because trialdesk collects or derives it). ``kind`` is the
Dataset-JSON 1.1 data type (``string``, ``integer``, ``double``, ``date``, ``datetime``);
in SAS XPORT a ``string``/``date``/``datetime`` is character and a number is numeric.
``origin`` is Define-XML's: ``Collected``, ``Derived``, ``Assigned``, ``Protocol``.

Names are at most 8 characters, labels at most 40 (SAS XPORT version 5, SDTM IG 3.4 §2.2.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Core = Literal["Req", "Exp", "Perm"]
Kind = Literal["string", "integer", "double", "date", "datetime"]
Origin = Literal["Collected", "Derived", "Assigned", "Protocol"]

NAME_MAX = 8
LABEL_MAX = 40
TEXT_MAX = 200  # a character value in XPORT version 5 (SDTM IG 3.4 §4.5.3.1: longer text is split)


@dataclass(frozen=True)
class Var:
    name: str
    label: str
    kind: Kind = "string"
    core: Core = "Perm"
    origin: Origin = "Collected"

    @property
    def numeric(self) -> bool:
        return self.kind in ("integer", "double")


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    label: str
    structure: str
    klass: str  # the SDTM observation class
    variables: tuple[Var, ...]
    keys: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    def var(self, name: str) -> Var:
        return next(v for v in self.variables if v.name == name)


def _v(name, label, kind="string", core="Perm", origin="Collected") -> Var:
    return Var(name, label, kind, core, origin)


def _ids(domain: str, seq: bool = True) -> list[Var]:
    out = [
        _v("STUDYID", "Study Identifier", core="Req", origin="Protocol"),
        _v("DOMAIN", "Domain Abbreviation", core="Req", origin="Assigned"),
        _v("USUBJID", "Unique Subject Identifier", core="Req", origin="Derived"),
    ]
    if seq:
        out.append(_v(f"{domain}SEQ", "Sequence Number", "integer", "Req", "Derived"))
    return out


def _visit() -> list[Var]:
    return [
        _v("VISITNUM", "Visit Number", "integer", "Exp", "Derived"),
        _v("VISIT", "Visit Name", origin="Protocol"),
    ]


def _findings(p: str, test_label: str, extra: list[Var], *, ranges: bool = False) -> tuple[Var, ...]:
    """A findings domain (LB, VS, CV): its identifiers, test, result, visit and timing."""
    variables = [
        *_ids(p),
        _v(f"{p}TESTCD", f"{test_label} Short Name", core="Req", origin="Assigned"),
        _v(f"{p}TEST", f"{test_label} Name", core="Req", origin="Assigned"),
        _v(
            f"{p}CAT",
            f"Category for {test_label}"[:LABEL_MAX],
            core="Exp" if p == "LB" else "Perm",
            origin="Assigned",
        ),
        _v(f"{p}ORRES", "Result or Finding in Original Units", core="Exp"),
        _v(f"{p}ORRESU", "Original Units", core="Exp", origin="Protocol"),
    ]
    if ranges:
        variables.append(_v(f"{p}ORNRHI", "Reference Range Upper Limit in Orig Unit", core="Exp"))
    variables += [
        _v(f"{p}STRESC", "Character Result/Finding in Std Format", core="Exp", origin="Derived"),
        _v(f"{p}STRESN", "Numeric Result/Finding in Standard Units", "double", "Exp", "Derived"),
        _v(f"{p}STRESU", "Standard Units", core="Exp", origin="Protocol"),
    ]
    if ranges:
        variables.append(
            _v(f"{p}STNRHI", "Reference Range Upper Limit-Std Units", "double", "Exp", "Derived")
        )
    variables += extra
    variables += [
        _v(f"{p}LOBXFL", "Last Observation Before Exposure Flag", core="Exp", origin="Derived"),
        *_visit(),
        _v(
            f"{p}DTC", f"Date/Time of {'Specimen Collection' if p == 'LB' else 'Measurements'}", "date", "Exp"
        ),
        _v(
            f"{p}DY",
            f"Study Day of {'Specimen Collection' if p == 'LB' else 'Measurements'}"[:LABEL_MAX],
            "integer",
            "Perm",
            "Derived",
        ),
    ]
    return tuple(variables)


def _interventions(
    p: str, treatment: str, extra: list[Var], *, dates_core: Core = "Perm", dates: Kind = "date"
) -> tuple[Var, ...]:
    return (
        *_ids(p),
        _v(f"{p}TRT", f"Name of {treatment}"[:LABEL_MAX], core="Req"),
        *extra,
        _v(f"{p}STDTC", f"Start Date/Time of {treatment}"[:LABEL_MAX], dates, dates_core),
        _v(f"{p}ENDTC", f"End Date/Time of {treatment}"[:LABEL_MAX], dates, dates_core),
        _v(f"{p}STDY", f"Study Day of Start of {treatment}"[:LABEL_MAX], "integer", "Perm", "Derived"),
        _v(f"{p}ENDY", f"Study Day of End of {treatment}"[:LABEL_MAX], "integer", "Perm", "Derived"),
    )


DM = DatasetSpec(
    "DM",
    "Demographics",
    "One record per subject",
    "SPECIAL PURPOSE",
    (
        *_ids("DM", seq=False),
        _v("SUBJID", "Subject Identifier for the Study", core="Req"),
        _v("RFSTDTC", "Subject Reference Start Date/Time", "date", "Exp", "Derived"),
        _v("RFENDTC", "Subject Reference End Date/Time", "date", "Exp", "Derived"),
        _v("RFXSTDTC", "Date/Time of First Study Treatment", "date", "Exp", "Derived"),
        _v("RFXENDTC", "Date/Time of Last Study Treatment", "date", "Exp", "Derived"),
        _v("RFICDTC", "Date/Time of Informed Consent", "date", "Exp"),
        _v("RFPENDTC", "Date/Time of End of Participation", "date", "Exp", "Derived"),
        _v("DTHDTC", "Date/Time of Death", "date", "Exp"),
        _v("DTHFL", "Subject Death Flag", core="Exp", origin="Derived"),
        _v("SITEID", "Study Site Identifier", core="Req", origin="Assigned"),
        _v("BRTHDTC", "Date/Time of Birth", "string"),
        _v("AGE", "Age", "integer", "Exp"),
        _v("AGEU", "Age Units", core="Exp", origin="Assigned"),
        _v("SEX", "Sex", core="Req"),
        _v("RACE", "Race", core="Exp"),
        _v("ARMCD", "Planned Arm Code", core="Exp", origin="Assigned"),
        _v("ARM", "Description of Planned Arm", core="Exp", origin="Assigned"),
        _v("ACTARMCD", "Actual Arm Code", core="Exp", origin="Derived"),
        _v("ACTARM", "Description of Actual Arm", core="Exp", origin="Derived"),
        _v("ARMNRS", "Reason Arm and/or Actual Arm is Null", core="Exp", origin="Derived"),
        _v("COUNTRY", "Country", core="Req", origin="Assigned"),
        _v("DMDTC", "Date/Time of Collection", "date"),
        _v("DMDY", "Study Day of Collection", "integer", origin="Derived"),
    ),
    ("STUDYID", "USUBJID"),
)

DS = DatasetSpec(
    "DS",
    "Disposition",
    "One record per disposition status or protocol milestone per subject",
    "EVENTS",
    (
        *_ids("DS"),
        _v("DSTERM", "Reported Term for the Disposition Event", core="Req"),
        _v("DSDECOD", "Standardized Disposition Term", core="Req", origin="Assigned"),
        _v("DSCAT", "Category for Disposition Event", origin="Assigned"),
        _v("EPOCH", "Epoch", origin="Derived"),
        _v("DSSTDTC", "Start Date/Time of Disposition Event", "date", "Exp"),
        _v("DSSTDY", "Study Day of Start of Disposition Event", "integer", origin="Derived"),
    ),
    ("STUDYID", "USUBJID", "DSSEQ"),
)

EX = DatasetSpec(
    "EX",
    "Exposure",
    "One record per constant dosing interval per subject",
    "INTERVENTIONS",
    _interventions(
        "EX",
        "Treatment",
        [
            _v("EXDOSE", "Dose", "double", "Exp"),
            _v("EXDOSU", "Dose Units", core="Exp", origin="Protocol"),
            _v("EXDOSFRM", "Dose Form", core="Exp", origin="Protocol"),
            _v("EXDOSFRQ", "Dosing Frequency per Interval", origin="Derived"),
            _v("EXROUTE", "Route of Administration", origin="Protocol"),
            _v("EXLOT", "Lot Number"),
            _v("EXADJ", "Reason for Dose Adjustment"),
        ],
        dates_core="Exp",
        dates="datetime",
    ),
    ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC"),
)

AE = DatasetSpec(
    "AE",
    "Adverse Events",
    "One record per adverse event per subject",
    "EVENTS",
    (
        *_ids("AE"),
        _v("AESPID", "Sponsor-Defined Identifier", origin="Assigned"),
        _v("AETERM", "Reported Term for the Adverse Event", core="Req"),
        _v("AEDECOD", "Dictionary-Derived Term", core="Req", origin="Assigned"),
        _v("AEPTCD", "Preferred Term Code", "integer", origin="Assigned"),
        _v("AEBODSYS", "Body System or Organ Class", core="Exp", origin="Assigned"),
        _v("AESOC", "Primary System Organ Class", core="Exp", origin="Assigned"),
        _v("AESER", "Serious Event", core="Exp"),
        _v("AEACN", "Action Taken with Study Treatment", core="Exp"),
        _v("AEREL", "Causality", core="Exp"),
        _v("AEOUT", "Outcome of Adverse Event"),
        _v("AESCONG", "Congenital Anomaly or Birth Defect"),
        _v("AESDISAB", "Persist or Signif Disability/Incapacity"),
        _v("AESDTH", "Results in Death"),
        _v("AESHOSP", "Requires or Prolongs Hospitalization"),
        _v("AESLIFE", "Is Life Threatening"),
        _v("AESMIE", "Other Medically Important Serious Event"),
        _v("AETOXGR", "Standard Toxicity Grade"),
        _v("AESTDTC", "Start Date/Time of Adverse Event", "date", "Exp"),
        _v("AEENDTC", "End Date/Time of Adverse Event", "date", "Exp"),
        _v("AESTDY", "Study Day of Start of Adverse Event", "integer", origin="Derived"),
        _v("AEENDY", "Study Day of End of Adverse Event", "integer", origin="Derived"),
        _v("AEENRTPT", "End Relative to Reference Time Point", origin="Derived"),
        _v("AEENTPT", "End Reference Time Point", origin="Derived"),
    ),
    ("STUDYID", "USUBJID", "AEDECOD", "AESTDTC"),
)

MH = DatasetSpec(
    "MH",
    "Medical History",
    "One record per medical history event per subject",
    "EVENTS",
    (
        *_ids("MH"),
        _v("MHTERM", "Reported Term for the Medical History", core="Req"),
        _v("MHSTDTC", "Start Date/Time of Medical History Event", "date"),
        _v("MHENDTC", "End Date/Time of Medical History Event", "date"),
        _v("MHENRTPT", "End Relative to Reference Time Point", origin="Derived"),
        _v("MHENTPT", "End Reference Time Point", origin="Derived"),
    ),
    ("STUDYID", "USUBJID", "MHTERM", "MHSTDTC"),
)

CM = DatasetSpec(
    "CM",
    "Concomitant/Prior Medications",
    "One record per recorded medication occurrence per subject",
    "INTERVENTIONS",
    _interventions(
        "CM",
        "Medication",
        [
            _v("CMINDC", "Indication"),
            _v("CMROUTE", "Route of Administration"),
            _v("CMENRTPT", "End Relative to Reference Time Point", origin="Derived"),
            _v("CMENTPT", "End Reference Time Point", origin="Derived"),
        ],
    ),
    ("STUDYID", "USUBJID", "CMTRT", "CMSTDTC"),
)

LB = DatasetSpec(
    "LB",
    "Laboratory Test Results",
    "One record per lab test per time point per visit per subject",
    "FINDINGS",
    _findings(
        "LB", "Lab Test or Examination", [_v("LBSPEC", "Specimen Type", origin="Assigned")], ranges=True
    ),
    ("STUDYID", "USUBJID", "LBTESTCD", "LBSPEC", "VISITNUM", "LBDTC"),
)

VS = DatasetSpec(
    "VS",
    "Vital Signs",
    "One record per vital sign measurement per time point per visit per subject",
    "FINDINGS",
    _findings("VS", "Vital Signs Test", []),
    ("STUDYID", "USUBJID", "VSTESTCD", "VISITNUM", "VSDTC"),
)

CV = DatasetSpec(
    "CV",
    "Cardiovascular System Findings",
    "One record per finding or result per time point per visit per subject",
    "FINDINGS",
    _findings("CV", "Test or Examination", [_v("CVMETHOD", "Method of Test or Examination")]),
    ("STUDYID", "USUBJID", "CVTESTCD", "VISITNUM", "CVDTC"),
)

PR = DatasetSpec(
    name="PR",  # keywords: "PR" is also a response category, a choice value of the seed protocol
    label="Procedures",
    structure="One record per recorded procedure per occurrence per subject",
    klass="INTERVENTIONS",
    variables=_interventions(
        p="PR",
        treatment="Procedure",
        extra=[
            _v("PRCAT", "Category", origin="Assigned"),
            _v("PRDOSE", "Dose", "double"),
            _v("PRDOSU", "Dose Units", origin="Assigned"),
        ],
    ),
    keys=("STUDYID", "USUBJID", "PRTRT", "PRSTDTC"),
)

RS = DatasetSpec(
    "RS",
    "Disease Response and Clin Classification",
    "One record per response assessment per evaluator per time point per visit per subject",
    "FINDINGS",
    (
        *_ids("RS"),
        _v("RSGRPID", "Group ID", origin="Derived"),
        _v("RSTESTCD", "Assessment Short Name", core="Req", origin="Assigned"),
        _v("RSTEST", "Assessment Name", core="Req", origin="Assigned"),
        _v("RSCAT", "Category for Assessment", core="Exp", origin="Protocol"),
        _v("RSORRES", "Result or Finding in Original Units", core="Exp"),
        _v("RSSTRESC", "Character Result/Finding in Std Format", core="Exp", origin="Derived"),
        _v("RSEVAL", "Evaluator", core="Exp", origin="Assigned"),
        _v("RSEVALID", "Evaluator Identifier", origin="Assigned"),
        _v("RSACPTFL", "Accepted Record Flag", origin="Derived"),
        *_visit(),
        _v("RSDTC", "Date/Time of Assessment", "date", "Exp"),
        _v("RSDY", "Study Day of Assessment", "integer", origin="Derived"),
    ),
    ("STUDYID", "USUBJID", "RSTESTCD", "RSEVAL", "RSEVALID", "VISITNUM"),
)

IE = DatasetSpec(
    "IE",
    "Inclusion/Exclusion Criteria Not Met",
    "One record per inclusion/exclusion criterion not met per subject",
    "FINDINGS",
    (
        *_ids("IE"),
        _v("IETESTCD", "Inclusion/Exclusion Criterion Short Name", core="Req", origin="Protocol"),
        _v("IETEST", "Inclusion/Exclusion Criterion", core="Req", origin="Protocol"),
        _v("IECAT", "Inclusion/Exclusion Category", core="Req", origin="Protocol"),
        _v("IEORRES", "I/E Criterion Original Result", core="Req", origin="Derived"),
        _v("IESTRESC", "I/E Criterion Result in Std Format", core="Req", origin="Derived"),
        *_visit(),
        _v("IEDTC", "Date/Time of Collection", "date"),
        _v("IEDY", "Study Day of Collection", "integer", origin="Derived"),
    ),
    ("STUDYID", "USUBJID", "IETESTCD"),
)

DV = DatasetSpec(
    "DV",
    "Protocol Deviations",
    "One record per protocol deviation per subject",
    "EVENTS",
    (
        *_ids("DV"),
        _v("DVSPID", "Sponsor-Defined Identifier", origin="Derived"),
        _v("DVTERM", "Protocol Deviation Term", core="Req", origin="Derived"),
        _v("DVDECOD", "Protocol Deviation Coded Term", origin="Derived"),
        _v("DVCAT", "Category for Protocol Deviation", origin="Derived"),
        _v("DVSTDTC", "Start Date/Time of Deviation", "date", "Exp", "Derived"),
        _v("DVSTDY", "Study Day of Start of Deviation", "integer", origin="Derived"),
    ),
    ("STUDYID", "USUBJID", "DVSPID"),
)

SV = DatasetSpec(
    "SV",
    "Subject Visits",
    "One record per actual visit per subject",
    "SPECIAL PURPOSE",
    (
        *_ids("SV", seq=False),
        _v("VISITNUM", "Visit Number", "integer", "Req", "Derived"),
        _v("VISIT", "Visit Name", origin="Protocol"),
        _v("VISITDY", "Planned Study Day of Visit", "integer", origin="Protocol"),
        _v("SVSTDTC", "Start Date/Time of Visit", "date", "Exp"),
        _v("SVENDTC", "End Date/Time of Visit", "date", "Exp"),
        _v("SVSTDY", "Study Day of Start of Visit", "integer", origin="Derived"),
        _v("SVENDY", "Study Day of End of Visit", "integer", origin="Derived"),
    ),
    ("STUDYID", "USUBJID", "VISITNUM"),
)

# ---------------------------------------------------------------- trial design (from the protocol)

TS = DatasetSpec(
    "TS",
    "Trial Summary",
    "One record per trial summary parameter value",
    "TRIAL DESIGN",
    (
        _v("STUDYID", "Study Identifier", core="Req", origin="Protocol"),
        _v("DOMAIN", "Domain Abbreviation", core="Req", origin="Assigned"),
        _v("TSSEQ", "Sequence Number", "integer", "Req", "Derived"),
        _v("TSPARMCD", "Trial Summary Parameter Short Name", core="Req", origin="Assigned"),
        _v("TSPARM", "Trial Summary Parameter", core="Req", origin="Assigned"),
        _v("TSVAL", "Parameter Value", core="Exp", origin="Protocol"),
        _v("TSVALNF", "Parameter Null Flavor", origin="Assigned"),
        _v("TSVALCD", "Parameter Value Code", core="Exp", origin="Assigned"),
        _v("TSVCDREF", "Name of the Reference Terminology", core="Exp", origin="Assigned"),
        _v("TSVCDVER", "Version of the Reference Terminology", core="Exp", origin="Assigned"),
    ),
    ("STUDYID", "TSPARMCD", "TSSEQ"),
)

TA = DatasetSpec(
    "TA",
    "Trial Arms",
    "One record per planned Element per Arm",
    "TRIAL DESIGN",
    (
        _v("STUDYID", "Study Identifier", core="Req", origin="Protocol"),
        _v("DOMAIN", "Domain Abbreviation", core="Req", origin="Assigned"),
        _v("ARMCD", "Planned Arm Code", core="Req", origin="Protocol"),
        _v("ARM", "Description of Planned Arm", core="Req", origin="Protocol"),
        _v("TAETORD", "Planned Order of Element within Arm", "integer", "Req", "Protocol"),
        _v("ETCD", "Element Code", core="Req", origin="Protocol"),
        _v("ELEMENT", "Description of Element", origin="Protocol"),
        _v("TABRANCH", "Branch", core="Exp", origin="Protocol"),
        _v("TATRANS", "Transition Rule", core="Exp", origin="Protocol"),
        _v("EPOCH", "Epoch", core="Req", origin="Protocol"),
    ),
    ("STUDYID", "ARMCD", "TAETORD"),
)

TE = DatasetSpec(
    "TE",
    "Trial Elements",
    "One record per planned Element",
    "TRIAL DESIGN",
    (
        _v("STUDYID", "Study Identifier", core="Req", origin="Protocol"),
        _v("DOMAIN", "Domain Abbreviation", core="Req", origin="Assigned"),
        _v("ETCD", "Element Code", core="Req", origin="Protocol"),
        _v("ELEMENT", "Description of Element", core="Req", origin="Protocol"),
        _v("TESTRL", "Rule for Start of Element", core="Req", origin="Protocol"),
        _v("TEENRL", "Rule for End of Element", core="Perm", origin="Protocol"),
        _v("TEDUR", "Planned Duration of Element", core="Perm", origin="Protocol"),
    ),
    ("STUDYID", "ETCD"),
)

TV = DatasetSpec(
    "TV",
    "Trial Visits",
    "One record per planned Visit per Arm",
    "TRIAL DESIGN",
    (
        _v("STUDYID", "Study Identifier", core="Req", origin="Protocol"),
        _v("DOMAIN", "Domain Abbreviation", core="Req", origin="Assigned"),
        _v("VISITNUM", "Visit Number", "integer", "Req", "Protocol"),
        _v("VISIT", "Visit Name", origin="Protocol"),
        _v("VISITDY", "Planned Study Day of Visit", "integer", origin="Protocol"),
        _v("ARMCD", "Planned Arm Code", core="Exp", origin="Protocol"),
        _v("TVSTRL", "Visit Start Rule", core="Req", origin="Protocol"),
        _v("TVENRL", "Visit End Rule", origin="Protocol"),
    ),
    ("STUDYID", "VISITNUM"),
)

TI = DatasetSpec(
    "TI",
    "Trial Inclusion/Exclusion Criteria",
    "One record per I/E criterion",
    "TRIAL DESIGN",
    (
        _v("STUDYID", "Study Identifier", core="Req", origin="Protocol"),
        _v("DOMAIN", "Domain Abbreviation", core="Req", origin="Assigned"),
        _v("IETESTCD", "Incl/Excl Criterion Short Name", core="Req", origin="Protocol"),
        _v("IETEST", "Inclusion/Exclusion Criterion", core="Req", origin="Protocol"),
        _v("IECAT", "Inclusion/Exclusion Category", core="Req", origin="Protocol"),
        _v("TIRL", "Inclusion/Exclusion Criterion Rule", origin="Protocol"),
        _v("TIVERS", "Protocol Criteria Versions", origin="Protocol"),
    ),
    ("STUDYID", "IETESTCD"),
)

#: every dataset, in the order they are written (the subject domains, then the trial design)
SUBJECT_DATASETS: tuple[DatasetSpec, ...] = (DM, DS, EX, AE, MH, CM, LB, VS, CV, PR, RS, IE, DV, SV)
DESIGN_DATASETS: tuple[DatasetSpec, ...] = (TS, TA, TE, TV, TI)
DATASETS: dict[str, DatasetSpec] = {d.name: d for d in (*SUBJECT_DATASETS, *DESIGN_DATASETS)}

for _dataset in DATASETS.values():
    for _var in _dataset.variables:
        assert len(_var.name) <= NAME_MAX, _var.name
        assert len(_var.label) <= LABEL_MAX, (_var.name, _var.label)
    assert len(_dataset.label) <= LABEL_MAX, _dataset.name
