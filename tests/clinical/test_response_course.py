"""A subject's course of disease: best and confirmed response, first response, nadir,
relapse or progression, cytogenetic response, HER2 over time.

Response criteria: ASH criteria for ALL, BBMT 2010;16:1187, Table 4a (the protocol's
response_criteria: CR < 5 % blasts, ANC >= 1.0, platelets >= 100; PR 5-25 % and -50 %).
"""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.clinical.course_of_disease import MarrowRecord, course_of_disease, investigator_assessment
from trialdesk.clinical.response import MarrowAssessment, ResponseCategory
from trialdesk.protocol import load_default_protocol

CR, CRP, PR = ResponseCategory.CR, ResponseCategory.CRP, ResponseCategory.PR
NR, PD, RELAPSE = ResponseCategory.NO_RESPONSE, ResponseCategory.PROGRESSION, ResponseCategory.RELAPSE
D0 = dt.date(2026, 1, 10)


@pytest.fixture(scope="module")
def criteria():
    return load_default_protocol().response_criteria


def m(
    day,
    blasts,
    *,
    anc=1.5,
    platelets=150.0,
    circulating=0.0,
    investigator=None,
    confirmed=False,
    karyotype=None,
    her2=None,
    key=None,
):
    return MarrowRecord(
        on=D0 + dt.timedelta(days=day),
        assessment=MarrowAssessment(blasts, circulating, False, anc, platelets),
        investigator=investigator,
        confirmed=confirmed,
        her2_positive_blasts=her2,
        karyotype_performed=karyotype is not None,
        abnormal_karyotype=karyotype,
        key=key if key is not None else day,
    )


BASE = dict(anc=0.3, platelets=20.0, circulating=10.0)


def test_the_best_overall_response_is_the_best_category_reached(criteria):
    course = course_of_disease(
        [m(-3, 60.0, **BASE), m(28, 20.0), m(56, 2.0, platelets=60.0), m(84, 10.0, platelets=40.0)],
        criteria,
        first_dose=D0,
    )
    assert [a.derived.category for a in course.assessments] == [PR, CRP, RELAPSE]
    assert course.derived.best is CRP
    assert course.derived.first_response_on == D0 + dt.timedelta(days=28)
    assert course.derived.failure is RELAPSE and course.derived.failure_on == D0 + dt.timedelta(days=84)
    assert course.nadir_marrow_blasts == 2.0 and course.nadir_on == D0 + dt.timedelta(days=56)


def test_without_a_response_the_best_overall_response_is_no_response_before_progression(criteria):
    course = course_of_disease(
        [m(-3, 60.0, **BASE), m(28, 55.0, **BASE), m(56, 90.0, **BASE)], criteria, first_dose=D0
    )
    assert [a.derived.category for a in course.assessments] == [NR, PD]
    assert course.derived.best is NR and not course.derived.responder
    assert course.derived.first_response_on is None


def test_the_nadir_carries_from_one_marrow_to_the_next(criteria):
    # 60 -> 40 (NR, blood not recovered) -> 50: +25 % over the nadir of 40, a progression
    course = course_of_disease(
        [m(-3, 60.0, **BASE), m(28, 40.0, **BASE), m(56, 50.0, **BASE)], criteria, first_dose=D0
    )
    assert course.assessments[1].derived.category is PD


def test_a_confirmed_investigators_assessment_is_the_confirmed_response(criteria):
    # the published "partial remission cytolytic response": blasts 60 -> 20 % but no platelet
    # recovery, so NR by the criteria; the investigator says PR and confirms it
    marrows = [m(-3, 60.0, **BASE), m(28, 20.0, platelets=40.0, investigator=PR, confirmed=True)]
    course = course_of_disease(marrows, criteria, first_dose=D0)
    (a,) = course.assessments
    assert a.derived.category is NR and a.discordant and a.confirmed_by_investigator
    assert a.confirmed is PR
    assert course.derived.best is NR and course.confirmed.best is PR
    assert course.confirmed.responder and not course.derived.responder


def test_an_unconfirmed_discordance_keeps_the_derived_response(criteria):
    marrows = [m(-3, 60.0, **BASE), m(28, 20.0, platelets=40.0, investigator=PR)]
    (a,) = course_of_disease(marrows, criteria, first_dose=D0).assessments
    assert a.discordant and not a.confirmed_by_investigator and a.confirmed is NR


def test_an_agreeing_assessment_is_no_discordance(criteria):
    (a,) = course_of_disease(
        [m(-3, 60.0, **BASE), m(28, 20.0, investigator=PR)], criteria, first_dose=D0
    ).assessments
    assert not a.discordant and a.confirmed is PR


def test_the_baseline_is_the_last_marrow_before_the_first_dose(criteria):
    course = course_of_disease(
        [m(-20, 90.0, **BASE), m(-3, 60.0, **BASE), m(28, 20.0)], criteria, first_dose=D0
    )
    assert course.baseline.assessment.marrow_blasts == 60.0 and len(course.assessments) == 1
    # 60 -> 20 is a 67 % decrease
    assert "66.7 % decrease from 60 %" in course.assessments[0].derived.explanation


def test_an_abnormal_baseline_karyotype_that_becomes_normal_is_a_cytogenetic_response(criteria):
    course = course_of_disease(
        [m(-3, 60.0, karyotype=True, **BASE), m(28, 20.0, karyotype=True), m(56, 10.0, karyotype=False)],
        criteria,
        first_dose=D0,
    )
    assert course.cytogenetic.assessable and course.cytogenetic.achieved
    assert course.cytogenetic.normalised_on == D0 + dt.timedelta(days=56)


def test_an_abnormal_karyotype_that_stays_abnormal_is_no_cytogenetic_response(criteria):
    course = course_of_disease(
        [m(-3, 60.0, karyotype=True, **BASE), m(28, 20.0, karyotype=True)], criteria, first_dose=D0
    )
    assert course.cytogenetic.assessable and course.cytogenetic.achieved is False


def test_a_normal_baseline_karyotype_is_not_assessable_for_cytogenetic_response(criteria):
    course = course_of_disease(
        [m(-3, 60.0, karyotype=False, **BASE), m(28, 20.0, karyotype=False)], criteria, first_dose=D0
    )
    assert not course.cytogenetic.assessable and course.cytogenetic.achieved is None


def test_the_screening_karyotype_stands_in_when_the_baseline_marrow_has_none(criteria):
    course = course_of_disease(
        [m(-3, 60.0, **BASE), m(28, 20.0, karyotype=False)],
        criteria,
        first_dose=D0,
        baseline_abnormal_karyotype=True,
    )
    assert course.cytogenetic.achieved


def test_her2_positive_blasts_are_listed_over_time_from_the_baseline(criteria):
    course = course_of_disease(
        [m(-3, 60.0, her2=45.0, **BASE), m(28, 20.0), m(56, 10.0, her2=30.0)], criteria, first_dose=D0
    )
    assert course.her2 == ((D0 - dt.timedelta(days=3), 45.0), (D0 + dt.timedelta(days=56), 30.0))


def test_the_course_is_plain_data_for_the_report(criteria):
    marrows = [m(-3, 60.0, **BASE), m(28, 20.0, platelets=40.0, investigator=PR, confirmed=True)]
    data = course_of_disease(marrows, criteria, first_dose=D0).as_dict()
    assert data["derived"]["best"] == "NR" and data["confirmed"]["best"] == "PR"
    assert data["assessments"][0]["derived"] == "NR" and data["assessments"][0]["confirmed"] == "PR"


def test_the_investigators_assessment_is_read_through_the_concepts():
    protocol = load_default_protocol()
    assert investigator_assessment(protocol, "marrow_assessment", {"investigator_response": "PR"}) is PR
    assert (
        investigator_assessment(protocol, "marrow_assessment", {"investigator_response": "not_applicable"})
        is None
    )
