"""One read of the casebook per save (``crf.savereads``, issue 7: a form save at most 5 times
bare commits): the death rules and the course of disease read the subject's records once,
in the save's transaction, and never a state older than the save's own writes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trialdesk.crf.models import FormRecord
from trialdesk.crf.savereads import SaveReads
from trialdesk.crf.services import save_form

pytestmark = pytest.mark.django_db

#: a baseline marrow (BBMT 2010;16:1187 Table 4a: 60 % blasts is no remission)
MARROW = {
    "assessment_date": "2026-11-20",
    "marrow_blasts_pct": 60,
    "circulating_blasts_present": False,
    "anc": 0.4,
    "platelets": 20,
    "extramedullary_disease": False,
    "her2_positive_blasts_pct": 45,
    "karyotype_done": False,
    "investigator_response": "not_applicable",
}


def _marrow(cast, subject, visit_code="SCR", **changes):
    visit = subject.visits.get(code=visit_code)
    record = FormRecord.objects.system("test").filter(visit=visit, form_code="marrow_assessment").first()
    return save_form(
        cast.investigator_nantes,
        subject,
        "marrow_assessment",
        dict(MARROW, **changes),
        visit=visit,
        expected_version=record.version if record else None,
        reason="transcription_error" if record else None,
    )


def _correction_statements(cast, subject) -> list[str]:
    """A month-1 marrow corrected, as the bench does (bench/bench_form_save.py)."""
    first = _marrow(cast, subject, "M1", assessment_date="2026-12-01")
    visit = first.record.visit
    with CaptureQueriesContext(connection) as captured:
        save_form(
            cast.investigator_nantes,
            subject,
            "marrow_assessment",
            dict(MARROW, assessment_date="2026-12-01", marrow_blasts_pct=55),
            visit=visit,
            expected_version=first.record.version,
            reason="transcription_error",
        )
    return [q["sql"] for q in captured.captured_queries]


def test_a_marrow_correction_costs_at_most_thirteen_statements(cast, enrolled_subject):
    """Lock, record, casebook read, update, signatures, queries, SDV marks, the marrows
    questioned already (a course with an assessment to compare), the trail's head, insert
    and head, and the transaction's start and end (the bench's course, all its marrows of one
    date, has nothing to compare: 12; 15 before issue 7's last item)."""
    _marrow(cast, enrolled_subject)
    statements = _correction_statements(cast, enrolled_subject)
    assert len(statements) <= 13, "\n".join(statements)


def test_the_death_rules_and_the_course_of_disease_read_the_casebook_once(cast, enrolled_subject):
    _marrow(cast, enrolled_subject)
    statements = _correction_statements(cast, enrolled_subject)
    reads = [sql for sql in statements if sql.startswith("SELECT") and 'FROM "crf_formrecord"' in sql]
    assert len(reads) == 2, reads  # the record being saved (locked), and the casebook's read


def test_a_correction_still_sees_the_death_stated_elsewhere(cast, enrolled_subject):
    """The death rules read inside the save's transaction now: a marrow dated after the
    death a follow-up states is saved and queried."""
    from trialdesk.protocol.crossrecord import AFTER_DEATH
    from trialdesk.queries.models import Query
    from trialdesk.subjects.models import Visit

    visit = enrolled_subject.visits.filter(code="FU1").first() or Visit.objects.create(
        subject=enrolled_subject, code="FU1"
    )
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "follow_up",
        {
            "contact_date": "2026-11-25",
            "vital_status": "dead",
            "death_date": "2026-11-24",
            "death_cause": "leukemia",
            "new_treatment": "no",
        },
        visit=visit,
    )
    outcome = _marrow(cast, enrolled_subject, assessment_date="2026-11-25")
    assert Query.objects.system("test").filter(record=outcome.record, check_code=AFTER_DEATH).exists()


def test_the_records_are_read_once_for_every_reader(cast, enrolled_subject):
    reads = SaveReads(enrolled_subject, "screening")
    reads.records(["screening"])
    with CaptureQueriesContext(connection) as captured:
        again = reads.records(["screening"])
    assert captured.captured_queries == [] and [r.form_code for r in again] == ["screening"]


def test_a_form_no_reader_declared_is_read_when_asked(cast, enrolled_subject):
    reads = SaveReads(enrolled_subject, "screening")
    assert reads.records(["marrow_assessment"]) == []
    assert [r.form_code for r in reads.records(["screening"])] == ["screening"]


def test_a_record_written_since_the_read_is_read_again(cast, enrolled_subject):
    reads = SaveReads(enrolled_subject, "marrow_assessment")
    assert reads.records(["marrow_assessment"]) == []
    _marrow(cast, enrolled_subject)  # another write in this transaction (a subscriber's save)
    assert [r.form_code for r in reads.records(["marrow_assessment"])] == ["marrow_assessment"]


def test_the_record_the_save_wrote_stands_as_written(cast, enrolled_subject):
    record = FormRecord.objects.system("test").get(subject=enrolled_subject, form_code="screening")
    reads = SaveReads(enrolled_subject, "screening")
    reads.records(["screening"])
    record.data = dict(record.data, ecog=1)
    record.save(update_fields=["data"])
    reads.wrote(record)
    with CaptureQueriesContext(connection) as captured:
        (found,) = reads.records(["screening"])
    assert captured.captured_queries == [] and found is record


def test_a_new_record_takes_its_place_in_the_casebook(cast, enrolled_subject):
    reads = SaveReads(enrolled_subject, "screening")
    before = reads.records(["screening", "marrow_assessment"])
    outcome = _marrow(cast, enrolled_subject)  # a second write since: read again
    reads.wrote(outcome.record)
    ordered = list(
        FormRecord.objects.system("test").filter(
            subject=enrolled_subject, form_code__in=["screening", "marrow_assessment"]
        )
    )
    assert [r.pk for r in reads.records(["screening", "marrow_assessment"])] == [r.pk for r in ordered]
    assert len(before) == 1
