"""The criteria patterns of `from_ctgov`: what each common wording proposes, the splitting
of the eligibility text, and (property tests) that every proposed rule is a rule of the language.

The wordings are quoted from registry records (ClinicalTrials.gov), the NCT number beside each.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialdesk.protocol import ProtocolIncomplete, load_protocol_text
from trialdesk.protocol.from_ctgov import NotAStudy, propose, skeleton, split_criteria
from trialdesk.rules import parse


@pytest.mark.parametrize(
    ("text", "kind", "rule"),
    [
        # a lab value against a multiple of its upper limit of normal
        ("AST or ALT <= 5 times the upper limit of normal", "inclusion", "ast <= 5 * ast_uln and alt <= 5 * alt_uln"),  # NCT00724360
        ("creatinine < 2 times the upper limit of normal)", "inclusion", "creatinine < 2 * creatinine_uln"),  # NCT00724360
        ("AST, ALT ≤ 3.0 x ULN unless due to underlying malignancy", "inclusion", "ast <= 3 * ast_uln and alt <= 3 * alt_uln"),  # NCT04806659
        ("Total bilirubin ≤ 2 × ULN (except in the setting of isolated Gilbert syndrome).", "inclusion", "bilirubin <= 2 * bilirubin_uln"),  # NCT04878432
        ("a total bilirubin level ≤ 1.5x of upper limit of normal (ULN)", "inclusion", "bilirubin <= 1.5 * bilirubin_uln"),  # NCT03468751
        ("Total serum bilirubin \\<1.5 x ULN", "inclusion", "bilirubin < 1.5 * bilirubin_uln"),  # NCT04355156, escaped
        # a lab value against a number in its unit
        ("Platelets ≥100,000/µL", "inclusion", "platelets >= 100000"),  # NCT04355156
        ("Neutrophil count ≥1.5×109/L", "inclusion", "anc >= 1.5"),  # NCT06970795
        ("a hemoglobin level ≥ 10 gm/dL", "inclusion", "hemoglobin >= 10"),  # NCT03468751
        ("creatinine clearance rate ≥ 50 mL/minute by Cockcroft-Gault formula", "inclusion", "creatinine_clearance >= 50"),  # NCT03468751
        # a percentage threshold
        ("> 20% blasts in bone marrow,", "inclusion", "marrow_blasts_pct > 20"),  # NCT00724360
        ("> 30% of bone marrow blast population HER2 positive as assessed by immunophenotyping", "inclusion", "her2_positive_blasts_pct > 30"),  # NCT00724360
        # an age bound
        ("age > 18 years", "inclusion", "age_years > 18"),  # NCT00724360, without the structured age
        ("Subjects aged ≥18 years.", "inclusion", "age_years >= 18"),  # NCT04806659
        ("18 years of age or older.", "inclusion", "age_years >= 18"),  # NCT04355156
        ("50-85 years of age;", "inclusion", "age_years >= 50 and age_years <= 85"),  # NCT05013879
        ("age less than 50 years or over 85 years;", "exclusion", "age_years >= 50 and age_years <= 85"),  # NCT05013879
        # a performance-status range
        ("performance status of 0-2 on the Eastern Cooperative Oncology Group scale", "inclusion", "ecog <= 2"),  # NCT00724360
        ("ECOG performance status of 0 or 1.", "inclusion", "ecog <= 1"),  # NCT04355156
        ("ECOG performance status score of ≤ 2 at study entry.", "inclusion", "ecog <= 2"),  # NCT03468751
        ("Eastern Cooperative Oncology Group (ECOG) performance status of 0, 1 or 2.", "inclusion", "ecog <= 2"),  # NCT04878432
        ("Karnofsky performance status >= 70%", "inclusion", "karnofsky >= 70"),
        # a prior-treatment exclusion
        ("Previous treatment by trastuzumab", "exclusion", "prior_trastuzumab == false"),  # NCT00724360
        ("Subjects who previously received IDH2 mutation inhibitor.", "exclusion", "prior_idh2_mutation_inhibitor == false"),  # NCT04806659
        ("No previous systemic therapy for metastatic colorectal cancer.", "inclusion", "prior_systemic_therapy == false"),  # NCT01490866
        # an ejection-fraction bound
        ("FEVG < 50%", "exclusion", "lvef_pct >= 50"),  # NCT00724360
        ("left ventricular ejection fraction \\< 50%", "exclusion", "lvef_pct >= 50"),  # NCT00043394, escaped
        ("Baseline LVEF ≥50% measured by echocardiography or MUGA scan.", "inclusion", "lvef_pct >= 50"),
        # alternatives
        ("Serum creatinine ≤1.5 x ULN or creatinine clearance \\> 40 mL/min", "inclusion",
         "creatinine <= 1.5 * creatinine_uln or creatinine_clearance > 40"),  # NCT04806659
    ],
)  # fmt: skip
def test_a_common_wording_gets_its_rule(text, kind, rule):
    proposal = propose(text, kind)
    assert proposal is not None
    assert proposal.rule == rule


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("B-ALL in relapse", "inclusion"),  # NCT00724360
        ("Life expectancy ≥3 months", "inclusion"),
        ("Signed and dated informed consent form.", "inclusion"),
        ("Resolution of all acute toxic effects of prior therapy e.g. radiotherapy to NCI CTCv4 grade ≤1.", "inclusion"),
        ("Failed at least 2 chemotherapy regimens in advanced disease.", "inclusion"),
    ],
)  # fmt: skip
def test_a_wording_without_a_common_pattern_gets_no_rule(text, kind):
    assert propose(text, kind) is None


def test_the_bounds_of_a_subgroup_are_said_not_proposed():
    proposal = propose("ALT and AST ≤2.5×ULN (In cases with liver metastases: ALT/AST ≤5×ULN)", "inclusion")
    assert proposal.rule == "ast <= 2.5 * ast_uln and alt <= 2.5 * alt_uln"
    assert "In cases with liver metastases" in proposal.note


def test_a_lab_and_its_upper_limit_of_normal_share_a_unit():
    proposal = propose("Serum creatinine ≤1.5 x ULN", "inclusion")
    units = {f.code: f.unit for f in proposal.fields}
    assert units["creatinine"] == units["creatinine_uln"] is not None


def test_the_structured_age_makes_a_strict_text_bound_inclusive():
    assert propose("age > 18 years", "inclusion", minimum_age=18).rule == "age_years >= 18"
    assert (
        propose("age > 21 years", "inclusion", minimum_age=18).rule == "age_years > 21"
    )  # another number: as written


# --------------------------------------------------------------------------- splitting the text


def test_each_bullet_is_a_criterion_of_its_section():
    text = "Inclusion Criteria:\n\n* age \\> 18 years\n* B-ALL in relapse\n\nExclusion Criteria:\n\n* FEVG \\< 50%"
    assert split_criteria(text) == [
        ("inclusion", "age > 18 years"),
        ("inclusion", "B-ALL in relapse"),
        ("exclusion", "FEVG < 50%"),
    ]


def test_a_sub_bullet_is_a_criterion_under_its_heading_and_a_wrapped_line_continues():
    text = (
        "Key Inclusion Criteria:\n\nPatients must meet all of the following:\n\n"
        "1. Adequate organ function:\n\n   * Platelets ≥100,000/µL\n   * Serum creatinine ≤1.5 x\n     ULN\n"
        "2. Signed consent\n\nKey Exclusion Criteria:\n\n1. Active brain metastasis."
    )
    assert split_criteria(text) == [
        ("inclusion", "Adequate organ function: Platelets ≥100,000/µL"),
        ("inclusion", "Adequate organ function: Serum creatinine ≤1.5 x ULN"),
        ("inclusion", "Signed consent"),
        ("exclusion", "Active brain metastasis."),
    ]


def test_text_without_headings_is_read_as_inclusion():
    assert split_criteria("- Adults\n- ECOG 0-1") == [("inclusion", "Adults"), ("inclusion", "ECOG 0-1")]


# --------------------------------------------------------------------------- properties

_ANALYTES = ["AST", "ALT", "SGPT", "total bilirubin", "serum creatinine", "alkaline phosphatase", "GGT"]
_COMPARATORS = [
    "<",
    "<=",
    ">",
    ">=",
    "≤",
    "≥",
    "\\<",
    "\\>",
    "less than",
    "at least",
    "at most",
    "within",
    "no more than",
]
_NUMBERS = st.decimals(min_value=0, max_value=200, places=1, allow_nan=False, allow_infinity=False)

_TEMPLATES = [
    "{a} {c} {n} x ULN",
    "{a} and {b} {c} {n} times the upper limit of normal",
    "{a} {c} {n} × the institutional upper limit of normal (ULN)",
    "ECOG performance status {c} {d}",
    "ECOG performance status of {d}-{e}",
    "age {c} {n} years",
    "{n} years of age or older",
    "LVEF {c} {n}%",
    "left ventricular ejection fraction {c} {n} %",
    "{c} {n}% blasts in bone marrow",
    "{c} {n}% of marrow blasts {m}-positive",
    "platelets {c} {n},000/µL",
    "Previous treatment with {m}",
    "Prior {m} therapy",
]


@settings(max_examples=300, deadline=None)
@given(
    template=st.sampled_from(_TEMPLATES),
    a=st.sampled_from(_ANALYTES),
    b=st.sampled_from(_ANALYTES),
    c=st.sampled_from(_COMPARATORS),
    n=_NUMBERS,
    d=st.integers(0, 4),
    e=st.integers(0, 4),
    m=st.from_regex(r"[A-Za-z][A-Za-z0-9]{1,10}", fullmatch=True),
    before=st.sampled_from(["", "Adequate function: ", "• ", "(", "Patients with "]),
    after=st.sampled_from(["", ".", ";", " unless due to Gilbert syndrome", ") or as assessed locally"]),
    kind=st.sampled_from(["inclusion", "exclusion"]),
)
def test_every_proposed_rule_parses_and_reads_only_its_proposed_fields(
    template, a, b, c, n, d, e, m, before, after, kind
):
    text = before + template.format(a=a, b=b, c=c, n=n, d=d, e=e, m=m) + after
    proposal = propose(text, kind)
    if proposal is None:
        return
    expression = parse(proposal.rule)  # raises RuleSyntaxError if it is not a rule of the language
    assert expression.fields <= {f.code for f in proposal.fields}
    for atom in proposal.atoms:
        assert parse(atom.rule).fields <= {f.code for f in atom.fields}


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200))
def test_any_text_proposes_nothing_or_a_rule_that_parses(text):
    for kind in ("inclusion", "exclusion"):
        proposal = propose(text, kind)
        if proposal is not None:
            parse(proposal.rule)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=400))
def test_splitting_any_text_keeps_each_criterion_non_empty(text):
    for kind, criterion in split_criteria(text):
        assert kind in ("inclusion", "exclusion")
        assert criterion.strip()


_CRITERION = st.builds(
    lambda template, a, b, c, n, d, e, m: template.format(a=a, b=b, c=c, n=n, d=d, e=e, m=m),
    st.sampled_from(_TEMPLATES),
    st.sampled_from(_ANALYTES),
    st.sampled_from(_ANALYTES),
    st.sampled_from(_COMPARATORS),
    _NUMBERS,
    st.integers(0, 4),
    st.integers(0, 4),
    st.from_regex(r"[A-Za-z][A-Za-z0-9]{1,10}", fullmatch=True),
)


@settings(max_examples=60, deadline=None)
@given(
    inclusion=st.lists(_CRITERION | st.text(min_size=1, max_size=60), min_size=1, max_size=6),
    exclusion=st.lists(_CRITERION, max_size=4),
)
def test_every_skeleton_is_incomplete_and_has_no_error(inclusion, exclusion):
    """Whatever the criteria, the skeleton's proposed rules name its proposed fields, of
    fitting types: validating it finds gaps only, never an error."""
    text = "Inclusion Criteria:\n\n" + "\n".join(f"* {c}" for c in inclusion)
    text += "\n\nExclusion Criteria:\n\n" + "\n".join(f"* {c}" for c in exclusion)
    study = {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT01234567", "briefTitle": "A study"},
            "eligibilityModule": {"eligibilityCriteria": text},
        }
    }
    try:
        result = skeleton(study)
    except NotAStudy:
        return  # the criteria were blank once split
    with pytest.raises(ProtocolIncomplete) as caught:
        load_protocol_text(result.yaml, "skeleton.yaml")
    assert caught.value.errors == []
