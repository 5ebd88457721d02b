"""Every URL pattern × every role × own site / foreign site (issue 3, DESIGN §1).

The matrix enumerates the project's URL patterns itself: a new view is in it the day it
is added. A view whose URL takes a parameter this file cannot fill makes the test fail,
so nobody can add a view that escapes the matrix.

The rule: an object of a site outside the user's scope is always 404 — for GET and POST,
whatever the role — and a POST on it writes nothing (the audit trail does not grow). The one
other answer allowed is 405 from a view that takes only one method: Django gives it before
any lookup, the same for an object that does not exist, so it tells nothing (checked).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from tests.conftest import ELIGIBLE_SCREENING, PASSWORD
from tests.safety.conftest import SERIOUS_AE

from trialdesk.audit.models import AuditEvent

# a crawl of every page: run once, on SQLite (dev.py leaves it out of the PostgreSQL pass)
pytestmark = pytest.mark.crawl

ROLES = ["investigator_nantes", "coordinator_nantes", "investigator_rennes", "monitor", "data_manager",
         "statistician", "sponsor", "safety_officer"]
# The site each role cannot see (the monitor is assigned Nantes and Rennes only).
FOREIGN_SITE = {
    "investigator_nantes": "RNS",
    "coordinator_nantes": "RNS",
    "investigator_rennes": "NTE",
    "monitor": "CFD",
}
OWN_SITE = {"investigator_nantes": "NTE", "coordinator_nantes": "NTE", "investigator_rennes": "RNS", "monitor": "NTE",
            "data_manager": "NTE", "statistician": "NTE", "sponsor": "NTE", "safety_officer": "NTE"}
# The pages of the safety officer (who sees nothing else of the clinical data).
SAFETY_PAGES = ("/safety/",)
# URL patterns that name no site-scoped object (global pages) or belong to Django itself.
UNSCOPED_NAMES = {"home", "login", "logout", "set_language"}


# The REST API (issue 14) authenticates by token, never by the session these tests sign in
# with: its routes have their own matrix, every route x role x site, in tests/api/test_api_access_matrix.py.
TOKEN_ROUTES = ("api/",)


def all_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if (prefix + str(entry.pattern)).startswith(TOKEN_ROUTES):
                continue
            yield from all_patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _scoped_patterns():
    return [(route, p) for route, p in all_patterns() if p.pattern.regex.groupindex]


@pytest.fixture
def world(cast, study):
    """At each of NTE, RNS and CFD: an enrolled subject with a visit form record and a log entry."""
    from trialdesk.crf.services import save_form
    from trialdesk.exports.tasks import EXPORT_TASK
    from trialdesk.jobs.services import submit as submit_job
    from trialdesk.queries.services import raise_query
    from trialdesk.studies.models import Membership, Role
    from trialdesk.subjects.services import enroll, register_screening

    cfd_investigator = cast.investigator_rennes.__class__.objects.create_user("inv.cfd", password=PASSWORD)
    Membership.objects.create(user=cfd_investigator, study=study, role=Role.INVESTIGATOR, site=study.sites.get(code="CFD"))
    investigators = {"NTE": cast.investigator_nantes, "RNS": cast.investigator_rennes, "CFD": cfd_investigator}
    monitors = {"NTE": cast.monitor, "RNS": cast.monitor, "CFD": cast.data_manager}
    objects = {}
    for code, user in investigators.items():
        site = study.sites.get(code=code)
        subject = register_screening(user, site, screened_on=dt.date(2026, 11, 20), today=dt.date(2026, 11, 25))
        save_form(user, subject, "screening", dict(ELIGIBLE_SCREENING), visit=subject.visits.get())
        subject = enroll(user, subject, consent_date=dt.date(2026, 11, 19), enrolled_on=dt.date(2026, 11, 24),
                         today=dt.date(2026, 11, 25))
        log = save_form(user, subject, "transfusion", {"transfusion_date": "2026-11-24", "product": "red_cells", "units": 2})
        record = subject.form_records.get(form_code="screening")
        query = raise_query(monitors[code], record, "ecog", "Please confirm ECOG against the source.")
        sae = save_form(user, subject, "adverse_event", dict(SERIOUS_AE)).record.sae_report
        # a background export of the site's investigator (issue 12): only its owner reaches it
        job = submit_job(user, study, "odm", {}, task=EXPORT_TASK, title="CDISC ODM 1.3.2 (XML)", permission="export")
        objects[code] = {"site": site, "subject": subject, "visit": subject.visits.get(code="SCR"),
                         "record": record, "log": log.record, "query": query, "sae": sae, "job": job}
    # a signed monitoring visit report of each site (issue 15), by a monitor of that site
    from trialdesk.monitoring.services import create_visit, sign_visit
    cfd_monitor = cast.monitor.__class__.objects.create_user("monitor.cfd", password=PASSWORD)
    Membership.objects.create(user=cfd_monitor, study=study, role=Role.MONITOR, site=study.sites.get(code="CFD"))
    for code, monitor in (("NTE", cast.monitor), ("RNS", cast.monitor), ("CFD", cfd_monitor)):
        site = objects[code]["site"]
        report = create_visit(monitor, site, visit_date=site.today(), kind="on_site")
        objects[code]["monitoring_visit"] = sign_visit(monitor, report, password=PASSWORD)
    return objects


def url_variants(route: str, pattern: URLPattern, objects: dict) -> list[dict]:
    """Fill a pattern's parameters with the objects of one site: one dict per URL to try."""
    names = list(pattern.pattern.regex.groupindex)
    values = {
        "site_code": objects["site"].code,
        "subject_id": objects["subject"].pk,
        "visit_code": objects["visit"].code,
        "form_code": "screening" if "visit_code" in names else "transfusion",
        "record_id": objects["record"].pk,
        "repeat": objects["log"].repeat,
        "query_id": objects["query"].pk,
        "report_id": objects["sae"].pk,
        # a world without a job or a monitoring report (the safety tests' own): an id nothing has
        "job_id": objects["job"].pk if "job" in objects else 0,
        "monitoring_visit_id": objects["monitoring_visit"].pk if "monitoring_visit" in objects else 0,
    }
    # administration (issue 15): the site's investigator, and their role at the site
    from trialdesk.studies.models import Membership
    held = Membership.objects.filter(site=objects["site"], role="investigator").order_by("pk").first()
    values.update(user_id=held.user_id, membership_id=held.pk)
    # The audit viewer names its object `key`: a site code, a subject or a record, by route.
    for prefix, value in (("sites/<str:key>", objects["site"].code), ("subjects/<int:key>", objects["subject"].pk),
                          ("records/<int:key>", objects["record"].pk)):
        if prefix in route:
            values["key"] = value
    variants = [values]
    if "level" in names:  # locks: one URL per level of a site-scoped object
        variants = [dict(values, level=level, pk=pk) for level, pk in (
            ("record", objects["record"].pk), ("subject", objects["subject"].pk), ("site", objects["site"].pk))]
    unknown = [name for name in names if name not in variants[0]]
    assert not unknown, f"the access matrix cannot fill {unknown} of {route}: teach url_variants about it"
    return [{name: variant[name] for name in names} for variant in variants]


def _path(route: str, kwargs: dict) -> str:
    """The URL of a route (the pattern's text, includes joined) with its parameters filled."""
    path = "/" + route
    for name, value in kwargs.items():
        for converter in ("int", "str", "slug", "path", "uuid"):
            path = path.replace(f"<{converter}:{name}>", str(value))
    assert "<" not in path, path
    return path


def _status_for_a_missing_object(client, method: str, path: str) -> int:
    """The same request on ids and codes that exist nowhere."""
    import re

    missing = re.sub(r"/\d+/", "/987654/", path)
    missing = re.sub(r"/(sites|audit/sites)/[A-Z]{3}/", r"/\1/ZZZ/", missing)
    return getattr(client, method)(missing).status_code


def paths(route: str, pattern: URLPattern, objects: dict) -> list[str]:
    return [_path(route, kwargs) for kwargs in url_variants(route, pattern, objects)]


def test_the_matrix_knows_every_parameter_of_every_url(world):
    for route, pattern in _scoped_patterns():
        url_variants(route, pattern, world["NTE"])


@pytest.mark.parametrize("role", list(FOREIGN_SITE))
def test_a_foreign_site_object_is_404_at_every_url_for_every_role(client, cast, world, role):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    foreign = world[FOREIGN_SITE[role]]
    before = AuditEvent.objects.count()
    failures = []
    for route, pattern in _scoped_patterns():
        if pattern.name in UNSCOPED_NAMES:
            continue
        for path in paths(route, pattern, foreign):
            for method in ("get", "post"):
                response = getattr(client, method)(path)
                if response.status_code == 405 and _status_for_a_missing_object(client, method, path) == 405:
                    continue
                if response.status_code != 404:
                    failures.append(f"{method.upper()} {path} -> {response.status_code}")
    assert not failures, f"{role} reached foreign objects:\n" + "\n".join(failures)
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("role", ROLES)
def test_no_page_shows_a_foreign_site_subject(client, cast, world, role):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    foreign_code = FOREIGN_SITE.get(role)
    own = world[OWN_SITE[role]]
    for route, pattern in all_patterns():
        for path in paths(route, pattern, own) if pattern.pattern.regex.groupindex else ["/" + route]:
            response = client.get(path)
            assert response.status_code < 500, f"GET {path} -> {response.status_code}"
            if foreign_code and response.status_code == 200:
                raw = b"".join(response.streaming_content) if response.streaming else response.content
                body = raw.decode(errors="replace")
                foreign = world[foreign_code]["subject"]
                assert foreign.subject_code not in body, f"{role} sees {foreign.subject_code} on {path}"
                assert foreign.screening_number not in body, f"{role} sees {foreign.screening_number} on {path}"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reaches_its_own_sites_pages_without_error(client, cast, world, role):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    own = world[OWN_SITE[role]]
    for route, pattern in _scoped_patterns():
        for path in paths(route, pattern, own):
            response = client.get(path)
            if role == "safety_officer" and not path.startswith(SAFETY_PAGES):
                # safety data only: every clinical page is not found (tests/safety/test_safety_access.py)
                assert response.status_code in (403, 404, 405), f"{role} GET {path} -> {response.status_code}"
                continue
            assert response.status_code in (200, 302, 403, 405), f"{role} GET {path} -> {response.status_code}"


def test_an_anonymous_visitor_reaches_nothing(client, world):
    for route, pattern in all_patterns():
        if pattern.name in UNSCOPED_NAMES:
            continue
        for path in paths(route, pattern, world["NTE"]) if pattern.pattern.regex.groupindex else ["/" + route]:
            response = client.get(path)
            assert response.status_code in (302, 404, 405), f"GET {path} -> {response.status_code}"
            if response.status_code == 302:
                assert "/accounts/login/" in response["Location"]


@pytest.fixture
def other_study(tmp_path, study):
    """A second study of the same deployment, where the cast holds no role."""
    from trialdesk.protocol import default_protocol_path
    from trialdesk.studies.services import install_study

    path = tmp_path / "other.yaml"
    path.write_text(default_protocol_path().read_text(encoding="utf-8").replace("NCT00724360", "NCT09999999"))
    return install_study(path)


@pytest.mark.parametrize("role", ROLES)
def test_every_url_of_a_study_the_user_has_no_role_in_is_404(client, cast, world, other_study, role):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    before = AuditEvent.objects.count()
    failures = []
    for route, pattern in all_patterns():
        if pattern.name in UNSCOPED_NAMES:
            continue
        own = paths(route, pattern, world[OWN_SITE[role]]) if pattern.pattern.regex.groupindex else ["/" + route]
        for path in own:
            for method in ("get", "post"):
                foreign = f"/studies/{other_study.nct_id}{path}"
                status = getattr(client, method)(foreign).status_code
                if status != 404:
                    failures.append(f"{method.upper()} {foreign} -> {status}")
    assert not failures, f"{role} reached another study:\n" + "\n".join(failures)
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("role", ["investigator_nantes", "data_manager", "statistician"])
def test_every_page_answers_the_same_under_its_studys_prefix(client, cast, world, study, role):
    """The un-prefixed path (an old bookmark) is served for the user's one study: same answer."""
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    own = world[OWN_SITE[role]]
    for route, pattern in all_patterns():
        if pattern.name in UNSCOPED_NAMES:
            continue
        for path in paths(route, pattern, own) if pattern.pattern.regex.groupindex else ["/" + route]:
            prefixed = client.get(f"/studies/{study.nct_id}{path}").status_code
            assert prefixed == client.get(path).status_code and prefixed < 500, f"{role} GET {path} -> {prefixed}"
