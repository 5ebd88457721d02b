"""The snapshot reads the database in a constant number of queries per chunk of subjects."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.conftest import ELIGIBLE_SCREENING

from trialdesk.datacut import build_snapshot


@pytest.fixture
def screened(cast, study):
    """Screen ``n`` patients at Nantes and Rennes, each with a screening form and a log entry."""
    from trialdesk.crf.services import save_form
    from trialdesk.subjects.services import register_screening

    made = []

    def screen(n: int):
        for i in range(n - len(made)):
            site_code, investigator = (
                ("NTE", cast.investigator_nantes) if i % 2 == 0 else ("RNS", cast.investigator_rennes)
            )
            subject = register_screening(
                investigator, study.sites.get(code=site_code), screened_on=dt.date(2026, 11, 20), sex="M",
                year_of_birth=1964, today=dt.date(2026, 11, 25),
            )
            save_form(investigator, subject, "screening", dict(ELIGIBLE_SCREENING), visit=subject.visits.get())
            save_form(investigator, subject, "concomitant_medication",
                      {"medication": "paracetamol", "indication": "fever", "start_date": "2026-11-18",
                       "ongoing": True})
            made.append(subject)
        return made

    return screen


def _queries(study, viewer, chunk_size: int) -> tuple[int, int]:
    """(queries, subjects) of building a snapshot and reading all its subjects."""
    if viewer is not None:
        from django.contrib.auth import get_user_model

        viewer = get_user_model().objects.get(pk=viewer.pk)  # no access cached on it
    with CaptureQueriesContext(connection) as captured:
        subjects = list(build_snapshot(study, viewer=viewer, chunk_size=chunk_size).subjects())
    return len(captured.captured_queries), len(subjects)


@pytest.mark.parametrize("who", ["operator", "statistician", "monitor"])
def test_the_snapshot_reads_as_many_queries_for_3_subjects_as_for_30(who, study, cast, screened):
    viewer = None if who == "operator" else getattr(cast, who)
    screened(3)
    few, n_few = _queries(study, viewer, chunk_size=50)
    screened(30)
    many, n_many = _queries(study, viewer, chunk_size=50)
    assert (n_few, n_many) == (3, 30)
    assert few == many


def test_the_snapshot_reads_a_constant_number_of_queries_more_per_chunk(study, cast, screened):
    screened(30)
    one, _ = _queries(study, cast.statistician, chunk_size=50)  # 1 chunk
    three, _ = _queries(study, cast.statistician, chunk_size=13)  # 13 + 13 + 4
    five, n = _queries(study, cast.statistician, chunk_size=7)  # 7 × 4 + 2
    assert n == 30
    per_chunk = (three - one) // 2
    assert per_chunk > 0
    assert three - one == 2 * per_chunk and five - three == 2 * per_chunk


def test_the_chunks_hold_every_subject_once_in_order(study, cast, screened):
    subjects = screened(30)
    numbers = [s.screening_number for s in build_snapshot(study, chunk_size=4).subjects()]
    assert numbers == [s.screening_number for s in sorted(subjects, key=lambda s: s.pk)]


def test_the_snapshot_holds_the_records_queries_signatures_and_locks(study, cast, screened):
    from trialdesk.crf.models import FormRecord
    from trialdesk.locks.services import lock
    from trialdesk.queries.services import raise_query

    subject = screened(1)[0]

    record = FormRecord.objects.system("test").get(subject=subject, form_code="screening")
    raise_query(cast.monitor, record, "ecog", "Please check the ECOG score against the source.")
    lock(cast.data_manager, record)
    (snap,) = build_snapshot(study).subjects()
    assert {(r.form, r.visit, r.repeat) for r in snap.records} == {
        ("screening", "SCR", 1), ("concomitant_medication", None, 1)
    }
    (query,) = snap.queries
    assert (query.record.form, query.record.visit, query.field, query.status, query.origin) == (
        "screening", "SCR", "ecog", "open", "manual"
    )
    assert [(lk.level, lk.target) for lk in snap.locks] == [("record", "screening@SCR#1")]
