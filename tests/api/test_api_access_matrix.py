"""Every REST API route x every role x own and foreign site: the UI's permissions and
site scope (studies/access.py ROLE_PERMISSIONS). A foreign object is 404 and never in a
list; a role without the permission gets 403 at its own site.

The expectations are written out here (not recomputed from the access module), so that a
change of a grant or of a route's check shows up as a failing row."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import ELIGIBLE_SCREENING

from trialdesk.crf.models import FormRecord
from trialdesk.crf.services import save_form
from trialdesk.queries.services import raise_query
from trialdesk.subjects.services import register_screening

pytestmark = pytest.mark.django_db

# role of the cast -> the sites it sees (the monitor: NTE and RNS; "all": every site of the study)
SITES = {
    "investigator_nantes": {"NTE"},
    "investigator_rennes": {"RNS"},
    "coordinator_nantes": {"NTE"},
    "monitor": {"NTE", "RNS"},
    "data_manager": "all",
    "statistician": "all",
    "sponsor": "all",
    "safety_officer": "all",
}
READ = {
    "investigator_nantes",
    "investigator_rennes",
    "coordinator_nantes",
    "monitor",
    "data_manager",
    "statistician",
    "sponsor",
}  # VIEW_CLINICAL_DATA
ENTER = {"investigator_nantes", "investigator_rennes", "coordinator_nantes"}  # ENTER_DATA
RAISE = {"monitor", "data_manager"}  # RAISE_QUERY
ANSWER = {"investigator_nantes", "investigator_rennes", "coordinator_nantes"}  # ANSWER_QUERY
CLOSE = {"monitor", "data_manager"}  # CLOSE_QUERY
AUDIT = {"monitor", "data_manager", "statistician"}  # VIEW_AUDIT
EVERYONE = set(SITES)
# the whole study's analysis (studies.access.may_read_analysis): every site, one of these roles
ANALYSIS = {"data_manager", "statistician", "sponsor"}

# (method, path with {subject} {record} {query}, allowed roles, status when allowed, body maker)
OBJECT_ROUTES = [
    ("GET", "/subjects/{subject}", READ, 200, None),
    ("GET", "/subjects/{subject}/visits", READ, 200, None),
    ("GET", "/subjects/{subject}/eligibility", READ, 200, None),
    ("GET", "/records/{record}", READ, 200, None),
    ("GET", "/queries/{query}", READ, 200, None),
    ("GET", "/audit-events?subject={subject}", AUDIT, 200, None),
    ("GET", "/exposure?subject={subject}", READ, 200, None),
    ("PUT", "/records/{record}", ENTER, 200, "update"),
    ("POST", "/records", ENTER, 201, "create"),
    ("POST", "/queries", RAISE, 201, "raise"),
    ("POST", "/queries/{query}/answer", ANSWER, 200, "text"),
    ("POST", "/queries/{query}/close", CLOSE, 200, "text"),
]
# (path, allowed roles, how to read the site of an item)
LIST_ROUTES = [
    ("/sites", EVERYONE, lambda item: item["code"]),
    ("/subjects", READ, lambda item: item["site"]),
    ("/records", READ, lambda item: item["site"]),
    ("/queries", READ, lambda item: item["site"]),
    ("/responses", READ, lambda item: item["data"]["site"]),
    ("/exposure", READ, lambda item: item["site"]),
    ("/audit-events", AUDIT, lambda item: item["site"] or None),
]
# (path, allowed roles): one document about the whole study
STUDY_ROUTES = [("/endpoints", ANALYSIS)]


@pytest.fixture
def world(cast, study, screened_subject):
    """A subject at each site with its screening record and an open query on it."""
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
    objects = {}
    for code, subject in (("NTE", screened_subject), ("RNS", rennes)):
        record = FormRecord.objects.system("test").get(subject=subject, form_code="screening")
        query = raise_query(cast.monitor, record, "ecog", "Please check.")
        objects[code] = {"subject": subject.pk, "record": record.pk, "query": query.pk}
    return objects


def _body(kind, ids, study):
    if kind == "update":
        record = FormRecord.objects.system("test").get(pk=ids["record"])
        return {
            "data": {**record.data, "ecog": 2},
            "expected_version": record.version,
            "reason": "transcription_error",
        }
    if kind == "create":
        form = study.protocol.form("transfusion")
        product = next(f for f in form.fields if f.code == "product").choices[0].value
        return {
            "subject": ids["subject"],
            "form": "transfusion",
            "data": {"transfusion_date": "2026-11-21", "product": product, "units": 1},
        }
    if kind == "raise":
        return {"record": ids["record"], "field": "age_years", "text": "Age?"}
    return {"text": "Done."}


def _sites(role, study) -> set[str]:
    sites = SITES[role]
    return set(study.sites.values_list("code", flat=True)) if sites == "all" else sites


def _expected(role, site, allowed, success, study):
    if site not in _sites(role, study):
        return 404
    return success if role in allowed else 403


@pytest.mark.parametrize("role", sorted(SITES))
def test_every_route_answers_each_role_at_its_own_and_a_foreign_site_as_the_ui_does(
    role, api_as, world, study
):
    client = api_as(role)
    mine = _sites(role, study)
    wrong = []
    for method, template, allowed, success, body in OBJECT_ROUTES:
        for site in ("NTE", "RNS"):
            ids = world[site]
            path = template.format(**ids)
            if method == "GET":
                response = (
                    client.get(path)
                    if "?" not in path
                    else client.client.get(client.prefix + path, **client._headers())
                )
            elif method == "PUT":
                response = client.put(path, _body(body, ids, study))
            else:
                response = client.post(path, _body(body, ids, study))
            expected = _expected(role, site, allowed, success, study)
            if response.status_code != expected:
                wrong.append(f"{method} {template} at {site}: {response.status_code}, expected {expected}")
            elif expected >= 400 and response["Content-Type"] != "application/problem+json":
                wrong.append(f"{method} {template} at {site}: {response['Content-Type']}")
    for path, allowed, site_of in LIST_ROUTES:
        response = client.get(path)
        expected = 200 if role in allowed else 403
        if response.status_code != expected:
            wrong.append(f"GET {path}: {response.status_code}, expected {expected}")
            continue
        if expected != 200:
            continue
        body = response.json()
        items = body["items"] if isinstance(body, dict) else body
        seen = {site_of(item) for item in items} - {None}
        if not seen <= mine:
            wrong.append(f"GET {path} lists objects of {sorted(seen - mine)}")
        expected_sites = (
            mine if path == "/sites" else mine & {"NTE", "RNS"}
        )  # the sites of the world's subjects
        if path in ("/sites", "/subjects", "/records", "/queries", "/responses") and seen != expected_sites:
            wrong.append(f"GET {path} misses the objects of {sorted(expected_sites - seen)}")
    for path, allowed in STUDY_ROUTES:
        response = client.get(path)
        expected = 200 if role in allowed else 403
        if response.status_code != expected:
            wrong.append(f"GET {path}: {response.status_code}, expected {expected}")
        elif expected == 200 and response.json()["counts"]["subjects"] != 2:
            wrong.append(f"GET {path} counts {response.json()['counts']} subjects, expected the world's 2")
    assert not wrong, "\n".join(wrong)


def test_the_matrix_covers_every_route_of_the_openapi_document(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    documented = {
        (method.upper(), path.removeprefix("/api")) for path, ops in paths.items() for method in ops
    }
    covered = {
        (
            m,
            t.split("?")[0]
            .replace("{subject}", "{subject_id}")
            .replace("{record}", "{record_id}")
            .replace("{query}", "{query_id}"),
        )
        for m, t, *_ in OBJECT_ROUTES
    }
    covered |= {("GET", path) for path, *_ in LIST_ROUTES}
    covered |= {("GET", path) for path, _ in STUDY_ROUTES}
    assert documented <= covered, sorted(documented - covered)
