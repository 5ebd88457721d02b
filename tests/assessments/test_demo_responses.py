"""The demo's responses come from the classifier: one partial response by the criteria, one
"partial remission cytolytic response" the investigator confirmed, so the confirmed rate is
the published 2 of 15 (Chevallier et al., Blood 2012;119:2474); and an abnormal karyotype
that normalises. Criteria: BBMT 2010;16:1187, Table 4a."""

from __future__ import annotations

import datetime as dt

import pytest

TODAY = dt.date(2026, 12, 9)
SEED = 2012
PASSWORD = "demo-password-of-the-tests-42"

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
            demo_builds.load(seed=SEED, today=TODAY, password=PASSWORD)
            yield Study.objects.get()
            transaction.set_rollback(True)


@pytest.fixture
def study(built, db):
    return built


def _user(name):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=name)


def test_the_demo_has_one_derived_and_one_confirmed_response_of_15(study):
    from trialdesk.assessments.services import study_responses

    data = study_responses(_user("statistician"), study)
    treated = [d for d in data.values() if d["first_dose_on"]]
    assert len(treated) == 15
    assert sum(d["derived"]["responder"] for d in treated) == 1
    assert sum(d["confirmed"]["responder"] for d in treated) == 2
    assert not any(d["confirmed"]["best"] in ("CR", "CRp") for d in treated)
    confirmed = [a for d in treated for a in d["assessments"] if a["confirmed_by_investigator"]]
    assert confirmed and all(a["derived"] == "NR" and a["confirmed"] == "PR" for a in confirmed)


def test_the_demo_confirmation_is_audited_and_answers_the_discordance_query(study):
    from trialdesk.assessments.models import ResponseConfirmation
    from trialdesk.assessments.services import DISCORDANCE_QUERY
    from trialdesk.audit.models import AuditEvent
    from trialdesk.queries.models import Query, QueryStatus

    confirmation = ResponseConfirmation.objects.system("test").get()
    assert "Cytolytic" in confirmation.justification and confirmation.confirmed_role == "investigator"
    assert AuditEvent.objects.filter(
        action="response_confirm", object_id=str(confirmation.record_id)
    ).exists()
    query = Query.objects.system("test").get(record=confirmation.record, check_code=DISCORDANCE_QUERY)
    assert query.status == QueryStatus.ANSWERED


def test_the_demo_has_an_abnormal_karyotype_that_normalises(study):
    from trialdesk.assessments.services import study_responses

    data = study_responses(_user("datamanager"), study)
    assert sum(1 for d in data.values() if d["cytogenetic"]["achieved"]) >= 1
