"""Shared fixtures: the study of the default protocol and the standard cast of users (DESIGN §8).

Which fixture for which test (the suite must stay well under its time budget):

- ``study``, ``site``, ``cast``, ``screened_subject``, ``enrolled_subject``: a small world, built
  per test in the test's transaction. Prefer them: most tests need nothing more.
- ``demo_builds`` (session): the whole demo trial (``build_demo``: protocol, sites, users, the
  seeded cohort; 6-8 s) built ONCE per variant (protocol file, seed, ``today``) for the whole
  run and both xdist workers, then inserted into each module that asks in milliseconds. Use it
  from a module-scoped fixture, inside the module's own transaction, rolled back at its end::

      @pytest.fixture(scope="module")
      def built(demo_builds, django_db_blocker):
          from django.db import transaction
          from trialdesk.studies.models import Study

          with django_db_blocker.unblock(), transaction.atomic():
              demo_builds.load(seed=2012, today=TODAY)  # also: protocol_path=..., password=...
              yield Study.objects.get()
              transaction.set_rollback(True)

      @pytest.fixture
      def study(built, db):  # each test in a savepoint of the module's transaction
          return built

  Tests may write (their savepoint is rolled back); a module's writes in the module fixture
  itself are its own. ``load`` returns ``built_at`` (when the build started: the trail's
  times follow it). tests/datacut/conftest.py ``demo``/``demo_study`` are this, for seed 2012
  on the registry's calendar (``today=None``). Never call ``build_demo`` in a test module.
- ``committed_db``: real commits for tests with several connections (threads), see below.
- Passwords are hashed with MD5 in every database test (``_fast_password_hashing``), and in
  the demo builds.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

# The audit chain is keyed (HMAC); the tests sign with this key unless a test sets its own.
os.environ.setdefault("TRIALDESK_AUDIT_KEY", "test-audit-key-of-the-trialdesk-suite-0123456789")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
DB_FIXTURES = {
    "db",
    "transactional_db",
    "live_server",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_configure(config):
    """MD5 for every password the run hashes, module- and session-scoped fixtures included
    (Argon2 costs ~0.1 s a user, more under load). The production hashers are asserted from
    the settings module itself (tests/accounts/test_password_hashing.py); subprocesses (the
    `trialdesk` command) keep them."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = FAST_HASHERS
    config.pluginmanager.register(_SlowFilesFirst(), "trialdesk-slow-files-first")


#: The files that take longest (the sum of their tests' durations on SQLite, the slowest
#: first). `dev.py test` runs xdist with ``--no-loadscope-reorder``: files are handed to the
#: workers in collection order, so these start first and the run ends on short files on both
#: workers instead of one worker finishing a long file alone. Refresh from a run with
#: ``--durations=0`` (sum per file) when a file becomes long.
SLOW_FILES_FIRST: tuple[str, ...] = (  # measured 2026-12-02 (seconds summed, a loaded machine)
    "tests/cli/test_app_cli.py",  # 1097
    "tests/studies/test_access_matrix.py",  # 829
    "tests/dashboards/test_dashboard_demo.py",  # 546 (then 261 of it building the demo)
    "tests/subjects/test_casebook_pdf.py",  # 228
    "tests/web/test_no_raw_codes.py",  # 204
    "tests/reports/test_analysis_raw_codes.py",  # 160
    "tests/workspace/test_role_homes.py",  # 157
    "tests/reports/test_recruitment_dashboard.py",  # 90
    "tests/jobs/test_workers.py",  # 88
    "tests/rules/test_rules_properties.py",  # 83
)


class _SlowFilesFirst:
    """A plugin of its own: this module's pytest_collection_modifyitems marks the db tests first."""

    @pytest.hookimpl(trylast=True)  # after the other plugins' ordering (pytest-django's, kept within a file)
    def pytest_collection_modifyitems(self, items):
        rank = {path: position for position, path in enumerate(SLOW_FILES_FIRST)}
        items[:] = sorted(items, key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@pytest.hookimpl(tryfirst=True)  # before `-m db` deselects by marker
def pytest_collection_modifyitems(items):
    """Mark every test that touches the database: `dev.py test` runs those again on PostgreSQL."""
    for item in items:
        if item.get_closest_marker("django_db") or DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def demo_builds(django_db_setup, tmp_path_factory):
    """The demo trial's variants, each built once for the run (see the top of this file)."""
    from tests.demo_database import DemoBuilds

    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")  # set by xdist in each worker of one run
    shared = tmp_path_factory.getbasetemp().parent / f"demo-builds-{run}" if run else None
    return DemoBuilds(shared)


@pytest.fixture(autouse=True)
def _each_test_starts_in_the_default_language():
    """LocaleMiddleware leaves the language of a request active in the thread after it: a test
    that asks a page in French would make the next test of the worker speak French."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts and ends with an empty cache. The viewer cache (datacut.cache) is keyed
    by the audit chain's head, unique in a real database; here the shared study's rows are
    inserted alike into every test, so two tests' heads can be equal and one would read the
    other's entry."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(request):
    """Argon2 is the production hasher (asserted in its own test); tests use a fast one."""
    if "db" not in request.keywords:
        yield
        return
    settings = request.getfixturevalue("settings")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield


@pytest.fixture(autouse=True)
def _login_hardening_off(request):
    """Tests elsewhere sign in with ``client.login`` (no request: django-axes refuses it) and
    as investigators (two-factor required). Lockout and 2FA are off for them; tests/accounts
    turns both back on and tests them."""
    if "db" not in request.keywords:
        yield
        return
    settings = request.getfixturevalue("settings")
    settings.AXES_ENABLED = False
    settings.TRIALDESK_REQUIRE_2FA = False
    yield


@pytest.fixture
def committed_db(request, django_db_setup, django_db_blocker):
    """A database whose writes really commit, for tests with several connections at once
    (threads). Use with ``@pytest.mark.django_db(transaction=True)``.

    Django resets a transactional test's database by ``flush`` (TRUNCATE on PostgreSQL),
    which the audit trail refuses. On PostgreSQL each such test therefore gets a fresh
    database cloned from the migrated test database, dropped afterwards; it is never
    flushed. SQLite has no triggers: it uses Django's ordinary transactional test.
    """
    from django.db import connection, connections
    from django.test import TransactionTestCase

    if connection.vendor != "postgresql":
        yield
        return
    import uuid

    settings_dict = connections["default"].settings_dict
    template = settings_dict["NAME"]
    clone = f"{template}_fresh_{uuid.uuid4().hex[:8]}"
    original_teardown = TransactionTestCase._fixture_teardown

    def drop_the_clone(testcase) -> None:
        # Runs where Django would flush: after every fixture of the test is torn down.
        TransactionTestCase._fixture_teardown = original_teardown
        with django_db_blocker.unblock():
            connections.close_all()
            settings_dict["NAME"] = template
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE "{clone}" WITH (FORCE)')

    with django_db_blocker.unblock():
        connections.close_all()
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{clone}" TEMPLATE "{template}"')
    settings_dict["NAME"] = clone
    TransactionTestCase._fixture_teardown = drop_the_clone
    yield


PASSWORD = "correct-horse-battery-42"


@pytest.fixture(scope="session")
def _installed_studies():
    from tests.demo_database import InstalledStudies

    return InstalledStudies()


@pytest.fixture
def study(db, _installed_studies):
    """The default protocol's study, recruiting since 2020-01-01: installed once per process
    (tests/demo_database.py ``InstalledStudies``), its rows inserted into each test's transaction."""
    from trialdesk.protocol import default_protocol_path
    from trialdesk.studies.services import install_study

    return _installed_studies.install(lambda: recruiting(install_study(default_protocol_path())))


def recruiting(study, since: dt.date = dt.date(2020, 1, 1)):
    """The study open to recruitment since ``since`` (enrollment needs it)."""
    from trialdesk.audit.services import Actor
    from trialdesk.studies.models import OperationalStatus
    from trialdesk.studies.services import change_status

    change_status(
        study,
        OperationalStatus.RECRUITING,
        effective_on=since,
        reason="recruitment opens",
        actor=Actor.system("tests"),
    )
    return study


@pytest.fixture
def site(study):
    return study.sites.get(code="NTE")


def _member(study, username: str, role: str, site_codes: list[str] | None):
    from django.contrib.auth import get_user_model

    from trialdesk.studies.models import Membership

    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, first_name=username.title()
    )
    for code in site_codes or [None]:
        site = study.sites.get(code=code) if code else None
        Membership.objects.create(user=user, study=study, role=role, site=site)
    return user


@pytest.fixture
def cast(study):
    """The standard cast: an investigator at Nantes, another at Rennes, a coordinator at
    Nantes, a monitor of both, a data manager, a statistician, a sponsor admin and a safety
    officer (sponsor vigilance: every site's safety data, pseudonymised, nothing else)."""
    from trialdesk.studies.models import Role

    class Cast:
        investigator_nantes = _member(study, "inv.nantes", Role.INVESTIGATOR, ["NTE"])
        investigator_rennes = _member(study, "inv.rennes", Role.INVESTIGATOR, ["RNS"])
        coordinator_nantes = _member(study, "coord.nantes", Role.COORDINATOR, ["NTE"])
        monitor = _member(study, "monitor", Role.MONITOR, ["NTE", "RNS"])
        data_manager = _member(study, "datamanager", Role.DATA_MANAGER, None)
        statistician = _member(study, "statistician", Role.STATISTICIAN, None)
        sponsor = _member(study, "sponsor", Role.SPONSOR_ADMIN, None)
        safety_officer = _member(study, "safety.officer", Role.SAFETY_OFFICER, None)

    return Cast


ELIGIBLE_SCREENING = {
    "screening_date": "2026-11-20",
    "consent_date": "2026-11-19",
    "age_years": 62,
    "sex": "male",
    "karyotype_abnormal": False,
    "diagnosis": "b_all",
    "disease_status": "relapsed",
    "ecog": 1,
    "ast": 40,
    "ast_uln": 40,
    "alt": 35,
    "alt_uln": 45,
    "creatinine": 80,
    "creatinine_uln": 110,
    "marrow_blasts_pct": 60,
    "her2_positive_blasts_pct": 45,
    "prior_trastuzumab": False,
    "lvef_pct": 62,
}


@pytest.fixture
def screened_subject(cast, site):
    """A patient screened at Nantes with a complete, eligible screening form."""
    from trialdesk.crf.services import save_form
    from trialdesk.subjects.services import register_screening

    subject = register_screening(
        cast.investigator_nantes,
        site,
        screened_on=dt.date(2026, 11, 20),
        sex="M",
        year_of_birth=1964,
        today=dt.date(2026, 11, 25),
    )
    save_form(
        cast.investigator_nantes, subject, "screening", dict(ELIGIBLE_SCREENING), visit=subject.visits.get()
    )
    return subject


@pytest.fixture
def enrolled_subject(cast, screened_subject):
    from trialdesk.subjects.services import enroll

    return enroll(
        cast.investigator_nantes,
        screened_subject,
        consent_date=dt.date(2026, 11, 19),
        enrolled_on=dt.date(2026, 11, 24),
        today=dt.date(2026, 11, 25),
    )
