"""What a data cut keeps (snapshot.cut): a record from its clinical date, a status as it was then."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.protocol import load_protocol
from trialdesk.protocol.loader import default_protocol_path
from trialdesk.snapshot.cut import ended_on, record_date, status_on

CUTOFF = dt.date(2026, 6, 30)
BEFORE, ON, AFTER = dt.date(2026, 6, 29), CUTOFF, dt.date(2026, 7, 1)


@pytest.fixture(scope="module")
def protocol():
    return load_protocol(default_protocol_path())


def _field(protocol, concept: str) -> tuple[str, str]:
    ref = protocol.concept(concept)[0]
    return ref.form, ref.field


def test_a_record_is_dated_by_its_forms_date_concept(protocol):
    form, field = _field(protocol, "dose_date")
    assert record_date(protocol, form, {field: "2026-07-01"}) == AFTER
    assert record_date(protocol, form, {}) is None


@pytest.mark.parametrize(
    ("status", "enrolled_on", "left_on", "then"),
    [
        ("died", BEFORE, AFTER, "enrolled"),  # died the day after the cut-off: on study in it
        ("died", BEFORE, ON, "died"),  # died on the cut-off day: dead in it
        ("completed", BEFORE, AFTER, "enrolled"),
        ("withdrawn", BEFORE, BEFORE, "withdrawn"),
        ("enrolled", AFTER, None, "screening"),  # enrolled after the cut-off: screening then
        ("enrolled", ON, None, "enrolled"),
        ("died", AFTER, AFTER, "screening"),
        ("screen_failed", None, None, "screen_failed"),
        ("died", BEFORE, None, "died"),  # no end date recorded: as it is
    ],
)
def test_a_status_is_rolled_back_to_the_cutoff_day(status, enrolled_on, left_on, then):
    assert status_on(status, enrolled_on=enrolled_on, left_on=left_on, cutoff=CUTOFF) == then


def test_without_a_cutoff_the_status_is_as_it_is():
    assert status_on("died", enrolled_on=AFTER, left_on=AFTER, cutoff=None) == "died"


def test_a_death_ends_on_the_death_date_and_a_completion_on_the_end_of_study(protocol):
    death_form, death_field = _field(protocol, "date_of_death")
    end_form, end_field = _field(protocol, "study_ended_on")
    records = [(end_form, {end_field: "2026-07-10", death_field: "2026-07-02"})]
    if death_form != end_form:
        records.append((death_form, {death_field: "2026-07-02"}))
    assert ended_on(protocol, "died", records) == dt.date(2026, 7, 2)
    assert ended_on(protocol, "completed", [(end_form, {end_field: "2026-07-10"})]) == dt.date(2026, 7, 10)
    assert ended_on(protocol, "completed", []) is None
