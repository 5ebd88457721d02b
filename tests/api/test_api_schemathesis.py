"""schemathesis over the whole REST API, from its OpenAPI 3.1 document: no 5xx, and every
response (its status, media type, headers and body) matches the document.

It runs once, on SQLite (marked ``api_fuzz``: ``dev.py test`` leaves it out of the
PostgreSQL pass, like the browser journeys), with a capped number of examples per
operation (MAX_EXAMPLES) so that it stays within the suite's budget."""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from tests.conftest import ELIGIBLE_SCREENING

from trialdesk.api.tokens import create_token

pytestmark = [pytest.mark.django_db, pytest.mark.api_fuzz]

MAX_EXAMPLES = 12


def _schema():
    """The document ``/api/openapi.json`` serves, requests sent in-process to Django (WSGI)."""
    from django.core.wsgi import get_wsgi_application

    from trialdesk.api.rest import api

    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/"))
    loaded.app = get_wsgi_application()
    # Requests the document allows (malformed ones are tests/api/test_rest_api.py's): each must
    # get a documented answer, never a 5xx.
    loaded.config.generation.update(modes=["positive"])
    return loaded


schema = _schema()


@pytest.fixture
def fuzz_world(cast, study, enrolled_subject):
    """Data to hit: an enrolled subject at Nantes with its screening record and a query,
    and a token of the Nantes investigator (writes) and of the data manager (reads, audit)."""
    from trialdesk.crf.models import FormRecord
    from trialdesk.crf.services import save_form
    from trialdesk.queries.services import raise_query
    from trialdesk.subjects.services import register_screening

    record = FormRecord.objects.system("test").get(subject=enrolled_subject, form_code="screening")
    raise_query(cast.data_manager, record, "ecog", "Please check.")
    rennes = register_screening(
        cast.investigator_rennes,
        study.sites.get(code="RNS"),
        screened_on=dt.date(2026, 11, 20),
        sex="F",
        year_of_birth=1970,
        today=dt.date(2026, 11, 25),
    )
    save_form(
        cast.investigator_rennes, rennes, "screening", dict(ELIGIBLE_SCREENING), visit=rennes.visits.get()
    )
    return {
        "investigator": create_token(cast.investigator_nantes, study).raw,
        "data_manager": create_token(cast.data_manager, study).raw,
        "base_url": f"http://testserver/studies/{study.nct_id}",
    }


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
    derandomize=True,
)
def test_the_whole_api_answers_within_its_document_and_never_fails(case, fuzz_world):
    for who in ("investigator", "data_manager"):
        case.call_and_validate(
            base_url=fuzz_world["base_url"],
            headers={"Authorization": f"Bearer {fuzz_world[who]}"},
            # A request the document allows may still be refused with a 422: the protocol's edit
            # checks (a form code, a value's range, a visit) are not expressible in OpenAPI.
            excluded_checks=[positive_data_acceptance],
        )
