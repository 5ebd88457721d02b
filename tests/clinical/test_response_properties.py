"""Properties of the response classifier over any plausible marrow (hypothesis): each
category is what its definition says (ASH criteria for ALL, BBMT 2010;16:1187, Table 4a:
CR < 5 % blasts, no circulating blasts, ANC >= 1.0, platelets >= 100; CRp the same with
platelets < 100; PR 5-25 % and a decrease >= 50 % with the counts of a CR; a relapse only
after a CR or CRp)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from trialdesk.clinical.response import MarrowAssessment, Nadir, ResponseCategory, classify_response
from trialdesk.protocol import load_default_protocol

CRITERIA = load_default_protocol().response_criteria
pct = st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda v: round(v, 1))
count = st.floats(min_value=0, max_value=300, allow_nan=False).map(lambda v: round(v, 1))
circulating = st.one_of(
    st.just(0.0), st.none(), st.floats(min_value=0.1, max_value=90).map(lambda v: round(v, 1))
)
prior = st.sampled_from([None, *ResponseCategory])


@st.composite
def cases(draw):
    baseline = MarrowAssessment(draw(pct), draw(circulating), draw(st.booleans()), draw(count), draw(count))
    assessment = MarrowAssessment(draw(pct), draw(circulating), draw(st.booleans()), draw(count), draw(count))
    nadir_blasts = min(draw(pct), baseline.marrow_blasts)
    return assessment, baseline, Nadir(nadir_blasts, draw(st.one_of(st.none(), count))), draw(prior)


@settings(max_examples=400, deadline=None)
@given(cases())
def test_every_category_meets_its_definition(case):
    assessment, baseline, nadir, prior_best = case
    result = classify_response(assessment, baseline, nadir, prior_best, CRITERIA)
    category = result.category
    assert result.explanation.startswith(result.headline.text)
    if category in (ResponseCategory.CR, ResponseCategory.CRP, ResponseCategory.PR):
        assert not assessment.circulating_present and not assessment.extramedullary
        assert assessment.neutrophil_count >= CRITERIA.anc_min
    if category is ResponseCategory.CR:
        assert assessment.marrow_blasts < 5 and assessment.platelet_count >= CRITERIA.platelets_min
    if category is ResponseCategory.CRP:
        assert assessment.marrow_blasts < 5 and assessment.platelet_count < CRITERIA.platelets_min
    if category is ResponseCategory.PR:
        assert 5 <= assessment.marrow_blasts <= 25 and assessment.platelet_count >= CRITERIA.platelets_min
        assert assessment.marrow_blasts <= baseline.marrow_blasts / 2 + 1e-9
    if category is ResponseCategory.RELAPSE:
        assert prior_best in (ResponseCategory.CR, ResponseCategory.CRP)


@settings(max_examples=200, deadline=None)
@given(cases())
def test_in_complete_remission_a_marrow_with_5_percent_blasts_or_more_is_a_relapse(case):
    assessment, baseline, nadir, _ = case
    if assessment.marrow_blasts < 5:
        return
    result = classify_response(assessment, baseline, nadir, ResponseCategory.CR, CRITERIA)
    assert result.category is ResponseCategory.RELAPSE
