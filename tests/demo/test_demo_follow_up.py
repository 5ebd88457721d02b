"""The demo's follow-up: calls after treatment, each death stated with one date on every
form that reports it, nothing dated after a death, a transplant after the partial
response; the demo's data raise no query of the ranges or of the death rules."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.protocol.crossrecord import AFTER_DEATH, DEATH_MISMATCH, death_fields
from trialdesk.protocol.formdata import RANGE_PREFIX

TODAY = dt.date(2026, 12, 9)
pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def built(demo_builds, django_db_blocker):
    from django.db import transaction
    from django.test import override_settings

    from trialdesk.studies.models import Study

    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        with transaction.atomic():
            demo_builds.load(seed=2012, today=TODAY)
            yield Study.objects.get()
            transaction.set_rollback(True)


@pytest.fixture
def study(built, db):
    return built


def test_the_demo_raises_no_query_of_the_ranges_or_the_death_rules(study):
    from trialdesk.queries.models import Query

    codes = set(
        Query.objects.system("test").filter(record__subject__study=study).values_list("check_code", flat=True)
    )
    assert not {
        code for code in codes if code.startswith(RANGE_PREFIX) or code in (DEATH_MISMATCH, AFTER_DEATH)
    }


def test_every_death_of_the_demo_is_stated_with_one_date(study):
    from trialdesk.crf.models import FormRecord

    fields = death_fields(study.protocol)
    dates: dict[int, set[str]] = {}
    for record in FormRecord.objects.system("test").filter(subject__study=study, form_code__in=list(fields)):
        stated = record.data.get(fields[record.form_code])
        if stated:
            dates.setdefault(record.subject_id, set()).add(stated)
    assert dates, "the demo holds no death"
    assert all(len(stated) == 1 for stated in dates.values()), dates


def test_the_demo_has_follow_up_calls_and_a_transplant(study):
    from trialdesk.crf.models import FormRecord

    protocol = study.protocol
    form = protocol.concept_form("contacted_on")
    records = list(FormRecord.objects.system("test").filter(subject__study=study, form_code=form))
    assert len(records) >= 3
    assert any(protocol.read_concept("subsequent_allogeneic_transplant", form, r.data) for r in records)
