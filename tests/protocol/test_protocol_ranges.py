"""The two ranges of a numeric field: the possible one (min/max, refused outside) and the
physiological one (expected_min/expected_max, queried outside), which lies within it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from tests.protocol.helpers import corrupt, line_of, problem_at, problems_of

from trialdesk.protocol import load_default_protocol
from trialdesk.protocol.model import Field

AGE_LINE = "{code: age_years, label: Age at screening, label_fr: Âge à la sélection, type: integer, unit: years, unit_fr: ans, min: 0, max: 120, expected_min: 10, expected_max: 100"


def _field(**kwargs) -> Field:
    return Field(code="weight_kg", label="Weight", type="decimal", **kwargs)


def test_a_field_holds_a_physiological_range_within_its_possible_range():
    field = _field(min=25, max=250, expected_min=35, expected_max=160)
    assert (field.min, field.expected_min, field.expected_max, field.max) == (25, 35, 160, 250)


def test_an_expected_range_equal_to_the_possible_range_is_accepted():
    """Scales where every value is plausible (ECOG 0-4) repeat their bounds."""
    field = Field(code="ecog", label="ECOG", type="integer", min=0, max=4, expected_min=0, expected_max=4)
    assert (field.expected_min, field.expected_max) == (0, 4)


def test_it_refuses_an_expected_minimum_below_the_possible_minimum():
    with pytest.raises(ValidationError, match=r"expected_min 20 is below min 25"):
        _field(min=25, max=250, expected_min=20, expected_max=160)


def test_it_refuses_an_expected_maximum_above_the_possible_maximum():
    with pytest.raises(ValidationError, match=r"expected_max 260 is above max 250"):
        _field(min=25, max=250, expected_min=35, expected_max=260)


def test_it_refuses_an_expected_minimum_above_the_expected_maximum():
    with pytest.raises(ValidationError, match=r"expected_min 160 is above expected_max 35"):
        _field(min=25, max=250, expected_min=160, expected_max=35)


def test_it_refuses_an_expected_range_on_a_field_that_is_not_a_number():
    with pytest.raises(ValidationError, match=r"apply to integer and decimal fields only"):
        Field(code="note", label="Note", type="text", expected_min=1)


def test_the_validator_names_the_line_of_a_soft_range_outside_the_hard_one():
    text = corrupt(AGE_LINE, AGE_LINE.replace("expected_max: 100", "expected_max: 130"))
    problem_at(problems_of(text), line_of(text, "code: age_years"), "expected_max 130 is above max 120")


def test_every_numeric_field_of_the_seed_protocol_has_both_ranges():
    protocol = load_default_protocol()
    missing = [
        f"{form.code}.{field.code}"
        for form in protocol.forms
        for field in form.fields
        if field.type in ("integer", "decimal")
        and None in (field.min, field.max, field.expected_min, field.expected_max)
    ]
    assert missing == []
