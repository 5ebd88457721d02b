"""Real writers at once, each in its own thread and database connection (PostgreSQL): no lost
update, no deadlock between any two services, and the chain intact afterwards."""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection, connections

from trialdesk.audit.services import verify
from trialdesk.crf.models import FormRecord
from trialdesk.crf.services import FormSaveRefused, StaleVersion, save_form
from trialdesk.queries import services as queries
from trialdesk.queries.models import Query

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


def test_two_simultaneous_corrections_of_one_version_apply_exactly_one(committed_db, cast, screened_subject):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers at BEGIN; the real race runs on PostgreSQL")
    record = FormRecord.objects.system("test").get(subject=screened_subject, form_code="screening")

    def correction(user, ecog):
        return lambda: save_form(user, screened_subject, "screening", dict(record.data, ecog=ecog), visit=record.visit,
                                 expected_version=1, reason="source_updated")

    outcomes = _race([correction(cast.investigator_nantes, 2), correction(cast.coordinator_nantes, 0)])
    saved = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, StaleVersion)]
    assert len(saved) == 1 and len(refused) == 1, outcomes
    current = FormRecord.objects.system("test").get(pk=record.pk)
    assert current.version == 2
    assert current.data["ecog"] == saved[0].record.data["ecog"]
    assert verify().intact


def test_many_simultaneous_log_entries_each_get_their_own_repeat(committed_db, cast, enrolled_subject):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers at BEGIN; the real race runs on PostgreSQL")

    def entry(day):
        return lambda: save_form(cast.investigator_nantes, enrolled_subject, "transfusion",
                                 {"transfusion_date": f"2026-11-{day:02d}", "product": "red_cells", "units": 1})

    outcomes = _race([entry(day) for day in range(10, 16)])
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    repeats = sorted(FormRecord.objects.system("test").filter(subject=enrolled_subject, form_code="transfusion")
                     .values_list("repeat", flat=True))
    # Saves of one casebook queue on the subject's row: every new entry gets the next number.
    assert repeats == [1, 2, 3, 4, 5, 6]
    assert verify().intact


def test_answering_a_query_while_the_record_is_saved_never_deadlocks(committed_db, cast, screened_subject):
    """answer_query locks the query, save_form locks the subject and then the record's
    queries; the chain head is locked last by both, briefly: neither waits on the other's
    head lock, so there is no deadlock (it was "deadlock detected" and a 500 before)."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers at BEGIN; the real race runs on PostgreSQL")
    record = FormRecord.objects.system("test").get(subject=screened_subject, form_code="screening")
    for attempt in range(4):
        record.refresh_from_db()
        query = queries.raise_query(cast.monitor, record, "ecog", f"ECOG? ({attempt})")
        version = record.version

        def answer(query=query):
            return queries.answer_query(cast.investigator_nantes, query, "Checked: see the clinic letter.")

        def correct(version=version, ecog=attempt % 3):
            return save_form(cast.coordinator_nantes, screened_subject, "screening", dict(record.data, ecog=ecog),
                             visit=record.visit, expected_version=version, reason="query_response")

        outcomes = _race([answer, correct])
        errors = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, queries.QueryActionRefused)]
        assert not errors, outcomes
    assert verify().intact


def test_a_random_mix_of_services_from_several_threads_loses_nothing(committed_db, cast, enrolled_subject):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers at BEGIN; the real race runs on PostgreSQL")
    screening = FormRecord.objects.system("test").get(subject=enrolled_subject, form_code="screening")
    seeded = queries.raise_query(cast.monitor, screening, "lvef_pct", "LVEF source?")
    expected_refusals = (FormSaveRefused, queries.ActionRefused)
    log_saves: list[int] = []

    def worker(seed: int):
        chooser = random.Random(seed)
        results = []
        for step in range(6):
            action = chooser.choice(["log", "correct", "raise", "answer", "comment", "verify"])
            try:
                if action == "log":
                    outcome = save_form(cast.investigator_nantes, enrolled_subject, "transfusion",
                                        {"transfusion_date": f"2026-11-{10 + step:02d}", "product": "red_cells", "units": 1})
                    log_saves.append(outcome.record.pk)
                elif action == "correct":
                    current = FormRecord.objects.system("test").get(pk=screening.pk)
                    save_form(cast.coordinator_nantes, enrolled_subject, "screening",
                              dict(current.data, ecog=chooser.choice([0, 1])), visit=current.visit,
                              expected_version=current.version, reason="source_updated", reason_detail=f"w{seed}")
                elif action == "raise":
                    queries.raise_query(cast.monitor, FormRecord.objects.system("test").get(pk=screening.pk), "ecog", f"ECOG? w{seed}")
                elif action == "answer":
                    open_query = Query.objects.system("test").filter(record=screening, status="open").order_by("?").first()
                    if open_query:
                        queries.answer_query(cast.investigator_nantes, open_query, f"Answer w{seed}")
                elif action == "comment":
                    queries.comment_query(cast.data_manager, Query.objects.system("test").get(pk=seeded.pk), f"Comment w{seed}")
                else:
                    current = FormRecord.objects.system("test").get(pk=screening.pk)
                    queries.verify_source(cast.monitor, current, "age_years", expected_version=current.version)
                results.append(action)
            except expected_refusals as refusal:  # stale version, already verified, closed query...
                results.append(type(refusal).__name__)
        return results

    outcomes = _race([lambda seed=seed: worker(seed) for seed in range(4)])
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sorted(FormRecord.objects.system("test").filter(subject=enrolled_subject, form_code="transfusion")
                  .values_list("pk", flat=True)) == sorted(log_saves)
    assert verify().intact
