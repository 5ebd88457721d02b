"""Property: every value a field may hold is written to ODM text and read back the same,
and writing it again gives the same text (the round trip of the values is lossless)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from trialdesk.exchange.odm import odm_value
from trialdesk.exchange.odm_reader import parse_value
from trialdesk.protocol import load_default_protocol

PROTOCOL = load_default_protocol()
FIELDS = [
    field
    for form in PROTOCOL.forms
    for field in form.fields
    if field.type in ("integer", "decimal", "boolean")
]


def _values(field):
    low = field.min if field.min is not None else -1e9
    high = field.max if field.max is not None else 1e9
    if field.type == "integer":
        return st.integers(int(low), int(high))
    if field.type == "decimal":
        return st.one_of(st.integers(int(low), int(high)), st.floats(low, high, allow_nan=False))
    return st.booleans()


@given(st.sampled_from(FIELDS).flatmap(lambda field: st.tuples(st.just(field), _values(field))))
def test_a_value_reads_back_as_it_was_written(field_and_value):
    field, value = field_and_value
    text = odm_value(value)
    back = parse_value(field, text, "test")
    assert back == value and type(back) is type(value)
    assert odm_value(back) == text
