"""Screening input: strict typing of JSON values against the eligibility form."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.clinical.eligibility import (
    ScreeningInputError,
    coerce_screening_input,
    coerce_screening_values,
)
from trialdesk.protocol import load_default_protocol

PROTOCOL = load_default_protocol()


def refused(raw) -> ScreeningInputError:
    with pytest.raises(ScreeningInputError) as info:
        coerce_screening_values(PROTOCOL, raw)
    return info.value


def test_well_typed_values_pass_unchanged():
    raw = {"age_years": 40, "ast": 80.5, "diagnosis": "b_all", "prior_trastuzumab": False, "lvef_pct": 60}
    assert coerce_screening_values(PROTOCOL, raw) == raw


def test_a_whole_decimal_is_accepted_for_an_integer_field():
    assert coerce_screening_values(PROTOCOL, {"ecog": 2.0}) == {"ecog": 2}
    assert type(coerce_screening_values(PROTOCOL, {"ecog": 2.0})["ecog"]) is int


def test_null_means_missing():
    assert coerce_screening_values(PROTOCOL, {"ast": None}) == {"ast": None}


def test_dates_are_read_from_iso_text():
    assert coerce_screening_values(PROTOCOL, {"screening_date": "2024-01-31"}) == {
        "screening_date": dt.date(2024, 1, 31)
    }


def test_an_unknown_field_code_is_named_with_a_suggestion():
    error = refused({"ecgo": 1})
    assert error.field == "ecgo"
    assert "unknown field code 'ecgo'" in error.message
    assert "did you mean 'ecog'" in error.message


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"age_years": "40"}, "age_years", "expected a whole number, got the text '40'"),
        ({"ast": "80"}, "ast", "expected a number, got the text '80'"),
        ({"ast": True}, "ast", "expected a number, got true/false"),
        ({"ecog": 2.5}, "ecog", "expected a whole number, got 2.5"),
        ({"prior_trastuzumab": 0}, "prior_trastuzumab", "expected true or false"),
        ({"prior_trastuzumab": "no"}, "prior_trastuzumab", "expected true or false"),
        ({"diagnosis": "B-ALL"}, "diagnosis", "'B-ALL' is not one of b_all, t_all, other"),
        ({"diagnosis": 1}, "diagnosis", "expected one of b_all, t_all, other"),
        ({"screening_date": "2024-02-30"}, "screening_date", "is not a date written YYYY-MM-DD"),
        ({"screening_date": 20240101}, "screening_date", "expected a date"),
        ({"karyotype": ["46,XY"]}, "karyotype", "expected a text, got a list"),
        ({"lvef_pct": float("nan")}, "lvef_pct", "not a usable number"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_the_field(raw, field, words):
    error = refused(raw)
    assert error.field == field
    assert words in error.message
    assert str(error).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        (
            {"marrow_blasts_pct": 140},
            "marrow_blasts_pct",
            "140 % is impossible (Bone marrow blasts must be between 0 and 100 %)",
        ),
        ({"her2_positive_blasts_pct": -1}, "her2_positive_blasts_pct", "-1 % is impossible"),
        ({"ecog": 5}, "ecog", "5 is impossible (ECOG performance status must be between 0 and 4)"),
        ({"lvef_pct": 3}, "lvef_pct", "3 % is impossible"),
        ({"age_years": 121}, "age_years", "121 years is impossible"),
    ],
)
def test_an_impossible_value_is_refused_naming_the_field(raw, field, words):
    error = refused(raw)
    assert error.field == field
    assert words in error.message


def test_values_at_the_edges_of_the_range_are_possible():
    assert coerce_screening_values(PROTOCOL, {"marrow_blasts_pct": 100, "ecog": 0}) == {
        "marrow_blasts_pct": 100,
        "ecog": 0,
    }


def test_input_that_is_not_an_object_is_refused():
    assert "expected an object" in refused([1, 2]).message


def test_a_document_with_values_dates_and_reference_day():
    screening = coerce_screening_input(
        PROTOCOL, {"values": {"ast": 80.0}, "value_dates": {"ast": "2024-01-02"}, "as_of": "2024-01-15"}
    )
    assert screening.values == {"ast": 80.0}
    assert screening.value_dates == {"ast": dt.date(2024, 1, 2)}
    assert screening.as_of == dt.date(2024, 1, 15)


def test_a_plain_object_is_read_as_the_values():
    screening = coerce_screening_input(PROTOCOL, {"ast": 80.0})
    assert (screening.values, screening.value_dates, screening.as_of) == ({"ast": 80.0}, {}, None)


def test_a_date_for_an_unknown_field_or_a_bad_reference_day_is_refused():
    with pytest.raises(ScreeningInputError) as info:
        coerce_screening_input(PROTOCOL, {"values": {}, "value_dates": {"asat": "2024-01-02"}})
    assert info.value.field == "asat"
    with pytest.raises(ScreeningInputError) as info:
        coerce_screening_input(PROTOCOL, {"values": {}, "as_of": "15/01/2024"})
    assert info.value.field == "as_of"
