"""The write path's statements compiled once (``studies.scoping.prepared_rows``, issue 7: a
form save at most 5 times bare commits): what they read is what the ORM reads, with each
call's arguments, from the database at each call, through the scoped read layer."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from trialdesk.crf.models import FormRecord
from trialdesk.studies.scoping import prepared_rows, read_scope_of

pytestmark = pytest.mark.django_db


def _records(subject_id: int, forms: list[str], visit_id: int | None = None):
    found = FormRecord.objects.system("test").filter(subject_id=subject_id, form_code__in=forms)
    if visit_id is not None:
        found = found.filter(visit_id=visit_id)
    return found.order_by("visit__sequence", "form_code", "repeat")


def _at(subject_id: int, visit_id: int | None):
    return FormRecord.objects.system("test").filter(subject_id=subject_id, visit_id=visit_id).order_by("pk")


def _fields(record: FormRecord) -> dict:
    return {f.attname: getattr(record, f.attname) for f in FormRecord._meta.concrete_fields}


def test_it_reads_what_the_orm_reads(enrolled_subject):
    forms = ["screening"]
    prepared = prepared_rows("test.records", _records, enrolled_subject.pk, forms)
    plain = list(_records(enrolled_subject.pk, forms))
    assert [_fields(r) for r in prepared] == [_fields(r) for r in plain]
    assert isinstance(prepared[0].data, dict) and prepared[0].created_at.tzinfo is not None
    assert read_scope_of(prepared[0]).is_system


def test_each_call_reads_with_its_own_arguments(cast, enrolled_subject):
    first = prepared_rows("test.records", _records, enrolled_subject.pk, ["screening"])
    none = prepared_rows("test.records", _records, enrolled_subject.pk + 1000, ["screening"])
    other_form = prepared_rows("test.records", _records, enrolled_subject.pk, ["follow_up"])
    two_forms = prepared_rows("test.records", _records, enrolled_subject.pk, ["follow_up", "screening"])
    assert [r.form_code for r in first] == ["screening"]
    assert none == [] and other_form == []
    assert [r.pk for r in two_forms] == [r.pk for r in first]


def test_a_none_argument_reads_what_is_null(cast, enrolled_subject):
    from trialdesk.crf.services import save_form

    visit = enrolled_subject.visits.get(code="SCR")
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "transfusion",
        {"transfusion_date": "2026-11-24", "product": "red_cells", "units": 2},
    )
    at_visit = prepared_rows("test.at", _at, enrolled_subject.pk, visit.pk)
    logged = prepared_rows("test.at", _at, enrolled_subject.pk, None)
    assert [r.form_code for r in at_visit] == ["screening"]
    assert [r.form_code for r in logged] == ["transfusion"]


def test_it_reads_the_database_at_each_call(enrolled_subject):
    before = prepared_rows("test.records", _records, enrolled_subject.pk, ["screening"])
    FormRecord.objects.system("test").filter(pk=before[0].pk).update(version=before[0].version + 7)
    after = prepared_rows("test.records", _records, enrolled_subject.pk, ["screening"])
    assert after[0].version == before[0].version + 7


def test_it_sends_one_statement(enrolled_subject):
    prepared_rows("test.records", _records, enrolled_subject.pk, ["screening"])
    with CaptureQueriesContext(connection) as captured:
        prepared_rows("test.records", _records, enrolled_subject.pk, ["screening"])
    assert len(captured.captured_queries) == 1


def test_it_keeps_the_row_locks_of_the_queryset(enrolled_subject):
    def locked(subject_id: int):
        return FormRecord.objects.system("test").select_for_update(of=("self",)).filter(subject_id=subject_id)

    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        prepared_rows("test.locked", locked, enrolled_subject.pk)
    sql = captured.captured_queries[-1]["sql"]
    assert ("FOR UPDATE" in sql) == connection.features.has_select_for_update


def _subject_with_site_and_study(subject_id: int):
    from trialdesk.subjects.models import Subject

    return (
        Subject.objects.system("test")
        .filter(pk=subject_id)
        .select_related("site", "study")
        .defer("study__protocol_yaml")
    )


def test_a_queryset_with_joins_comes_back_as_the_orm_makes_it_in_one_statement(enrolled_subject):
    prepared_rows("test.joined", _subject_with_site_and_study, enrolled_subject.pk)
    with CaptureQueriesContext(connection) as captured:
        (found,) = prepared_rows("test.joined", _subject_with_site_and_study, enrolled_subject.pk)
        site, study = found.site, found.study  # from the join, not read again
    assert len(captured.captured_queries) == 1
    (plain,) = _subject_with_site_and_study(enrolled_subject.pk)
    assert found.__dict__.keys() == plain.__dict__.keys()  # protocol_yaml deferred in both
    assert {k: v for k, v in found.__dict__.items() if k != "_state"} == {
        k: v for k, v in plain.__dict__.items() if k != "_state"
    }
    assert (site.code, study.nct_id) == (plain.site.code, plain.study.nct_id)
    assert site.locked_at is None and study.get_deferred_fields() == {"protocol_yaml"}
    assert read_scope_of(found).is_system


def test_a_join_reads_what_changed_since_the_last_call(enrolled_subject):
    from django.utils import timezone

    from trialdesk.studies.models import Site

    prepared_rows("test.joined", _subject_with_site_and_study, enrolled_subject.pk)
    Site.objects.filter(pk=enrolled_subject.site_id).update(locked_at=timezone.now())
    (found,) = prepared_rows("test.joined", _subject_with_site_and_study, enrolled_subject.pk)
    assert found.site.locked_at is not None


def test_it_refuses_a_read_for_a_user(cast, enrolled_subject):
    def for_user(subject_id: int):
        return FormRecord.objects.for_user(cast.investigator_nantes, enrolled_subject.study).filter(
            subject_id=subject_id
        )

    with pytest.raises(ValueError, match="system-level"):
        prepared_rows("test.for_user", for_user, enrolled_subject.pk)


def test_it_refuses_an_argument_the_orm_transforms(enrolled_subject):
    def contains(code: str):
        return FormRecord.objects.system("test").filter(form_code__contains=code)

    with pytest.raises(ValueError, match="not plain parameters"):
        prepared_rows("test.contains", contains, "screen")


def test_a_saved_field_list_writes_as_the_orm_save_does(enrolled_subject):
    from trialdesk.studies.scoping import saved_fields

    (record,) = prepared_rows("test.records", _records, enrolled_subject.pk, ["screening"])
    before = record.updated_at
    record.version += 1
    record.data = dict(record.data, ecog=1)
    saved_fields(record, ["data", "version", "updated_at"])
    fresh = FormRecord.objects.system("test").get(pk=record.pk)
    assert (fresh.version, fresh.data["ecog"]) == (record.version, 1)
    assert fresh.updated_at > before  # auto_now stamped, as save() stamps it
    assert fresh.updated_at == record.updated_at


def test_a_saved_field_list_refuses_what_save_refuses(cast, enrolled_subject):
    from django.db import DatabaseError

    from trialdesk.studies.scoping import PseudonymisedWrite, saved_fields

    masked = FormRecord.objects.for_user(cast.statistician, enrolled_subject.study).get(
        subject=enrolled_subject, form_code="screening"
    )
    with pytest.raises(PseudonymisedWrite):
        saved_fields(masked, ["data"])
    (record,) = prepared_rows("test.records", _records, enrolled_subject.pk, ["screening"])
    record.pk = record.pk + 10_000
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        saved_fields(record, ["version"])
