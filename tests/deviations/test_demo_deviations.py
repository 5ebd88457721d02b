"""The deviation listing and the worklist on the demo cohort (issue 9, "Done when")."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from tests.conftest import PASSWORD

TODAY = dt.date(2026, 12, 9)
NOW = dt.datetime(2026, 12, 9, 8, 0, tzinfo=dt.UTC)
SEED = 2012

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def built(demo_builds, django_db_blocker):
    """The demo built once for the module, in progress on TODAY (rolled back at the end)."""
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


def test_the_demo_listing_computes_every_subjects_deviations_each_linked_to_its_record(study):
    from trialdesk.deviations.services import deviation_rows

    rows = deviation_rows(_user("datamanager"), study, now=NOW)
    rules = Counter(r.deviation.rule for r in rows)
    assert {"late_dose", "missed_dose"} <= set(rules), rules  # the simulator's late dose and missed dose
    assert all(r.link or r.deviation.ref == "" for r in rows)
    keys = [(r.subject.pk, r.deviation.key) for r in rows]
    assert len(keys) == len(set(keys))  # one row per deviation
    again = deviation_rows(_user("datamanager"), study, now=NOW)
    assert [(r.subject.pk, r.deviation.key) for r in again] == keys  # stable when computed again


def test_the_demo_exposure_is_plain_data_for_every_treated_subject(study):
    from trialdesk.deviations.services import treatment_data

    data = treatment_data(_user("datamanager"), study, now=NOW)
    treated = [d for d in data if d["exposure"]["doses"]]
    assert len(treated) == 15
    assert all(0.5 < d["exposure"]["dose_intensity"] <= 1.2 for d in treated)


def test_the_demo_worklist_of_a_site_on_treatment_lists_the_next_infusions(study):
    from trialdesk.deviations.services import worklist
    from trialdesk.subjects.models import Subject

    on_treatment = (
        Subject.objects.system("test")
        .filter(study=study, status="enrolled", first_dose_on__isnull=False, treatment_ended_on__isnull=True)
        .select_related("site")
    )
    subject = on_treatment.first()
    work = worklist(_user("datamanager"), study, subject.site, now=NOW)
    listed = [s.pk for s, _i in work.overdue + work.due_today + work.this_week]
    assert subject.pk in listed


def test_the_demo_pages_answer_for_the_monitor_and_the_sponsor(client, study):
    for name in ("monitor", "sponsor", "datamanager"):
        client.login(username=name, password=PASSWORD)
        page = client.get("/deviations/")
        assert page.status_code == 200


@pytest.mark.parametrize(
    ("username", "language"),
    [("datamanager", "en"), ("datamanager", "fr"), ("monitor", "en"), ("coordinator.nantes", "fr")],
)
def test_the_deviation_worklist_and_casebook_pages_show_no_raw_code(client, study, username, language):
    """The check of tests/web/test_no_raw_codes.py on this app's pages of the demo."""
    from tests.web.test_no_raw_codes import WORD, _VisibleText, choice_labels, forbidden_words

    from trialdesk.deviations.services import deviation_rows
    from trialdesk.studies.access import study_access

    user = _user(username)
    client.force_login(user)
    sites = [s.code for s in study.sites.filter(pk__in=study_access(user, study).site_ids)]
    subjects = {r.subject.pk for r in deviation_rows(user, study, now=NOW)}
    paths = [
        "/deviations/",
        *(f"/deviations/sites/{c}/" for c in sites),
        *(f"/deviations/sites/{c}/worklist/" for c in sites),
        *(f"/subjects/{pk}/" for pk in sorted(subjects)),
    ]
    forbidden = forbidden_words(study.protocol, language)
    labels = choice_labels(study.protocol, language)
    failures = []
    for path in paths:
        response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, path
        parser = _VisibleText()
        parser.feed(response.content.decode())
        text = " ".join(parser.parts)
        leaked = {word for word in WORD.findall(text) if word in forbidden}
        leaked |= {w for w in ("True", "False") if w in WORD.findall(text)}
        if language == "en":
            leaked |= {"None" for part in parser.parts if part.strip() == "None" and "None" not in labels}
        if leaked:
            failures.append(f"{path}: {', '.join(sorted(leaked))}")
    assert len(paths) > 3 and not failures, "\n".join(failures)
