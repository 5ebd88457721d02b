"""No lost update with two real writers at once (issue 3): each in its own thread and
database connection, both starting from version 1 of the same form record."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from trialdesk.audit.services import verify
from trialdesk.crf.models import FormRecord
from trialdesk.crf.services import StaleVersion, save_form

pytestmark = pytest.mark.django_db(transaction=True)


def _race(writers):
    """Run each writer in its own thread, released together; return what each one got."""
    barrier = threading.Barrier(len(writers))
    outcomes: list[object] = [None] * len(writers)

    def run(index, writer):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = writer()
        except Exception as exc:  # the refusal is the outcome under test
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_simultaneous_corrections_of_one_version_apply_exactly_one(cast, screened_subject):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers at BEGIN; the real race runs on PostgreSQL")
    record = FormRecord.objects.get(subject=screened_subject, form_code="screening")

    def correction(user, ecog):
        return lambda: save_form(user, screened_subject, "screening", dict(record.data, ecog=ecog), visit=record.visit,
                                 expected_version=1, reason="source_updated")

    outcomes = _race([correction(cast.investigator_nantes, 2), correction(cast.coordinator_nantes, 0)])
    saved = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, StaleVersion)]
    assert len(saved) == 1 and len(refused) == 1, outcomes
    current = FormRecord.objects.get(pk=record.pk)
    assert current.version == 2
    assert current.data["ecog"] == saved[0].record.data["ecog"]
    assert verify().intact


def test_many_simultaneous_log_entries_each_get_their_own_repeat(cast, enrolled_subject):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers at BEGIN; the real race runs on PostgreSQL")

    def entry(day):
        return lambda: save_form(cast.investigator_nantes, enrolled_subject, "transfusion",
                                 {"transfusion_date": f"2026-11-{day:02d}", "product": "red_cells", "units": 1})

    outcomes = _race([entry(day) for day in range(10, 16)])
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    repeats = sorted(FormRecord.objects.filter(subject=enrolled_subject, form_code="transfusion")
                     .values_list("repeat", flat=True))
    # Saves of one casebook queue on the subject's row: every new entry gets the next number.
    assert repeats == [1, 2, 3, 4, 5, 6]
    assert verify().intact
