"""The one way to read clinical data (DESIGN §2; issue 7, finding 4): a queryset of a clinical
model refuses to read until it says for whom — ``for_user(user, study)`` — or that it is
system-level code — ``system("why")`` — and a pseudonymised viewer's instances come back
masked and cannot be saved."""

from __future__ import annotations

import pytest
from django.shortcuts import get_object_or_404

from trialdesk.crf.models import FormRecord
from trialdesk.queries.models import Query, QueryMessage, SourceVerification
from trialdesk.signatures.models import Signature
from trialdesk.studies.scoping import PseudonymisedWrite, UnscopedRead
from trialdesk.subjects.models import Subject, Visit

pytestmark = pytest.mark.django_db

CLINICAL_MODELS = [Subject, Visit, FormRecord, Query, QueryMessage, SourceVerification, Signature]
NAME = "Mme DURAND Jeanne"


@pytest.mark.parametrize("model", CLINICAL_MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize(
    "read",
    [
        lambda qs: qs.filter(pk__gt=0).count(),
        lambda qs: list(qs.all()),
        lambda qs: qs.exists(),
        lambda qs: qs.first(),
        lambda qs: qs.get(pk=1),
        lambda qs: list(qs.values_list("pk", flat=True)),
        lambda qs: list(qs.iterator()),
        lambda qs: qs.aggregate(n=__import__("django.db.models", fromlist=["Count"]).Count("pk")),
        lambda qs: qs.filter(pk=0).update(pk=0),
        lambda qs: qs.filter(pk=0).delete(),
    ],
    ids=["count", "list", "exists", "first", "get", "values_list", "iterator", "aggregate", "update", "delete"],
)
def test_a_new_unscoped_read_of_a_clinical_model_raises_naming_the_model(study, model, read):
    with pytest.raises(UnscopedRead, match=model.__name__):
        read(model.objects)


def test_a_related_manager_of_a_model_outside_the_read_layer_is_not_a_way_around_it(study, screened_subject):
    with pytest.raises(UnscopedRead):
        study.subjects.count()
    with pytest.raises(UnscopedRead):
        get_object_or_404(Subject, pk=screened_subject.pk)


def test_a_scoped_read_sees_only_the_users_sites(cast, study, screened_subject):
    assert Subject.objects.for_user(cast.investigator_nantes, study).count() == 1
    assert Subject.objects.for_user(cast.investigator_rennes, study).count() == 0
    assert FormRecord.objects.for_user(cast.investigator_rennes, study).count() == 0


def test_system_code_reads_when_it_says_why(screened_subject):
    assert Subject.objects.system("test").count() == 1
    with pytest.raises(ValueError):
        Subject.objects.system("")


def test_related_managers_of_an_object_read_in_scope_read_in_that_scope(cast, study, screened_subject):
    subject = Subject.objects.for_user(cast.investigator_nantes, study).get()
    assert subject.visits.count() == 1
    assert subject.form_records.get(form_code="screening").data["ecog"] == 1


def _typed(cast, study, subject):
    from trialdesk.crf.services import save_form
    from trialdesk.queries.services import raise_query

    save_form(cast.investigator_nantes, subject, "concomitant_medication",
              {"medication": NAME, "indication": NAME, "start_date": "2026-11-20", "ongoing": True})
    record = FormRecord.objects.system("test").get(subject=subject, form_code="screening")
    raise_query(cast.monitor, record, "ecog", f"Is this {NAME}?")
    Subject.objects.system("test").filter(pk=subject.pk).update(initials="QXZW", screen_failure_reason=NAME)


def test_a_pseudonymised_viewer_reads_masked_values_everywhere_the_layer_returns_them(cast, study, screened_subject):
    _typed(cast, study, screened_subject)
    statistician = cast.statistician
    subject = Subject.objects.for_user(statistician, study).get()
    assert subject.initials == "[pseudonymised]"
    assert subject.screen_failure_reason == "[pseudonymised]"
    assert subject.year_of_birth is None and subject.age == 62  # the age stays, the birth year goes
    medication = FormRecord.objects.for_user(statistician, study).get(form_code="concomitant_medication")
    assert medication.data["medication"] == "[pseudonymised]"
    assert medication.data["start_date"] == "2026-11-20"
    # Reached by a related manager, a foreign key or select_related: masked the same.
    assert subject.form_records.get(form_code="concomitant_medication").data["indication"] == "[pseudonymised]"
    assert medication.subject.initials == "[pseudonymised]"
    message = QueryMessage.objects.for_user(statistician, study).select_related("query__record__subject").get()
    assert message.text == "[pseudonymised]" and message.query.summary == "[pseudonymised]"
    assert message.query.record.subject.initials == "[pseudonymised]"
    assert list(QueryMessage.objects.for_user(statistician, study).values_list("text", flat=True)) == [
        "[pseudonymised]"
    ]
    assert FormRecord.objects.for_user(statistician, study).filter(
        form_code="concomitant_medication").values("data__medication")[0]["data__medication"] == "[pseudonymised]"
    # The data manager reads the values as typed.
    assert QueryMessage.objects.for_user(cast.data_manager, study).get().text == f"Is this {NAME}?"


def test_an_instance_read_pseudonymised_refuses_to_be_saved_or_deleted(cast, study, screened_subject):
    _typed(cast, study, screened_subject)
    subject = Subject.objects.for_user(cast.statistician, study).get()
    with pytest.raises(PseudonymisedWrite):
        subject.save()
    record = FormRecord.objects.for_user(cast.statistician, study).get(form_code="concomitant_medication")
    with pytest.raises(PseudonymisedWrite):
        record.save()
    with pytest.raises(PseudonymisedWrite):
        FormRecord.objects.for_user(cast.statistician, study).update(status="complete")
    assert Subject.objects.system("test").get().initials == "QXZW"
