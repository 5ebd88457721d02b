"""The user's jobs on the exports page: asked for there, listed with their progress (polled
while one runs), downloaded by their owner only (404 for anyone else), the download audited."""

from __future__ import annotations

import hashlib

import pytest
from tests.conftest import PASSWORD
from tests.exports.conftest import screen_one_subject_per_site
from tests.jobs.conftest import run_queued_jobs

from trialdesk.jobs.models import Job, JobState

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial(cast, study):
    return screen_one_subject_per_site(cast, study)


def _login(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


def _ask(client, kind="odm"):
    return client.post(f"/exports/{kind}/", {"cutoff": "2026-11-30"})


def test_asking_for_an_export_queues_a_job_and_comes_back_to_the_page(client, cast, trial):
    c = _login(client, cast.data_manager)
    response = _ask(c)
    assert response.status_code == 302 and response["Location"].endswith("/exports/")
    (job,) = Job.objects.all()
    assert (job.user, job.kind, job.parameters, job.state) == (
        cast.data_manager,
        "odm",
        {"cutoff": "2026-11-30"},
        JobState.QUEUED,
    )
    page = c.get("/exports/").content.decode()
    assert (
        f'data-job="{job.pk}"' in page and "Waiting for a worker" in page and 'hx-trigger="every 2s"' in page
    )


def test_the_list_polls_while_a_job_runs_and_stops_once_it_is_done(client, cast, trial):
    c = _login(client, cast.data_manager)
    _ask(c)
    Job.objects.update(state=JobState.RUNNING, done_count=1, total_count=2)
    fragment = c.get("/jobs/").content.decode()
    assert 'hx-trigger="every 2s"' in fragment and "1 of 2 subjects written" in fragment
    assert "<html" not in fragment  # a fragment, swapped into the page
    Job.objects.update(state=JobState.QUEUED, done_count=0, total_count=None)
    run_queued_jobs()
    fragment = c.get("/jobs/").content.decode()
    assert "hx-trigger" not in fragment and "2 of 2 subjects written" in fragment and "Download" in fragment


def test_the_owner_downloads_the_finished_file_and_the_download_is_audited(client, cast, trial):
    from trialdesk.audit.models import AuditEvent

    c = _login(client, cast.data_manager)
    _ask(c)
    (job,) = run_queued_jobs()
    response = c.post(f"/jobs/{job.pk}/download/")
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == job.result_sha256 == response["X-Content-SHA256"]
    assert f'filename="{job.result_name}"' in response["Content-Disposition"]
    (event,) = AuditEvent.objects.filter(action="job_download")
    assert event.username == cast.data_manager.username and event.new_value["sha256"] == job.result_sha256


def test_nobody_but_the_owner_reaches_a_job_not_even_another_data_manager(client, cast, trial):
    from django.contrib.auth import get_user_model

    from trialdesk.audit.models import AuditEvent
    from trialdesk.studies.models import Membership, Role

    _ask(_login(client, cast.investigator_nantes))
    (job,) = run_queued_jobs()
    other = get_user_model().objects.create_user("dm2", password=PASSWORD)
    Membership.objects.create(user=other, study=trial, role=Role.DATA_MANAGER)
    for user in (cast.data_manager, other, cast.investigator_rennes, cast.statistician, cast.monitor):
        client.logout()
        c = _login(client, user)
        assert c.post(f"/jobs/{job.pk}/download/").status_code == 404, user.username
        assert str(job.pk) not in c.get("/jobs/").content.decode()
    assert not AuditEvent.objects.filter(action="job_download").exists()


def test_an_unfinished_or_unknown_job_is_not_found_and_a_get_is_refused(client, cast, trial):
    c = _login(client, cast.data_manager)
    _ask(c)
    job = Job.objects.get()
    assert c.post(f"/jobs/{job.pk}/download/").status_code == 404
    assert c.post("/jobs/00000000-0000-0000-0000-000000000000/download/").status_code == 404
    assert c.get(f"/jobs/{job.pk}/download/").status_code == 405


def test_a_failed_job_shows_its_message_and_no_download(client, cast, trial):
    c = _login(client, cast.data_manager)
    _ask(c)
    Job.objects.update(state=JobState.FAILED, error="The job stopped on an error of trialdesk.")
    fragment = c.get("/jobs/").content.decode()
    assert "Failed" in fragment and "The job stopped on an error of trialdesk." in fragment
    assert "data-download-job" not in fragment


def test_the_list_speaks_french(client, cast, trial):
    c = _login(client, cast.data_manager)
    c.cookies["django_language"] = "fr"
    c.post("/exports/csv/", {"cutoff": "2026-11-30"})
    page = c.get("/exports/").content.decode()
    assert "Vos tâches de fond" in page and "En attente d&#x27;un processus" in page
    assert "CSV ordonnés avec leur dictionnaire de données (zip)" in page and "30/11/2026" in page
    run_queued_jobs()
    fragment = c.get("/jobs/").content.decode()
    assert "Prêt" in fragment and "Télécharger" in fragment and "2 patients écrits sur 2" in fragment


def test_an_anonymous_visitor_is_sent_to_sign_in(client, trial):
    response = client.get("/jobs/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_audit_trail_names_the_jobs_actions_in_french(cast, trial):
    from django.utils import translation

    from trialdesk.audit_viewer.viewer import action_label

    with translation.override("fr"):
        assert action_label("job_submit") == "Tâche de fond demandée"
        assert action_label("job_download") == "Fichier d'une tâche de fond téléchargé"


def test_a_file_older_than_the_days_kept_is_removed_and_the_list_says_so(client, cast, trial, settings):
    import datetime as dt
    from pathlib import Path

    from django.utils import timezone

    from trialdesk.jobs.services import remove_old_files

    settings.TRIALDESK_JOB_KEEP_DAYS = 7
    c = _login(client, cast.data_manager)
    _ask(c)
    (job,) = run_queued_jobs()
    written = Path(job.result_path)
    assert (
        remove_old_files(now=job.finished_at + dt.timedelta(days=7)) == 0 and written.is_file()
    )  # 7 days: kept
    assert remove_old_files(now=job.finished_at + dt.timedelta(days=7, seconds=1)) == 1
    assert not written.exists() and remove_old_files(now=timezone.now() + dt.timedelta(days=30)) == 0
    fragment = c.get("/jobs/").content.decode()
    assert "Its file was kept 7 days after it was written" in fragment and "data-download-job" not in fragment
    assert c.post(f"/jobs/{job.pk}/download/").status_code == 404
