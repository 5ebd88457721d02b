"""A job from its submission to its file: queued with its task in one transaction, run once
by the runner (what a worker calls), restarted from scratch after an interrupted attempt,
failed with a message in the user's language."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from lxml import etree
from tests.exchange.conftest import NS
from tests.exports.conftest import export_events, screen_one_subject_per_site
from tests.jobs.conftest import run_queued_jobs

from trialdesk.exports.tasks import EXPORT_TASK
from trialdesk.jobs.models import Job, JobState
from trialdesk.jobs.runner import MAX_ATTEMPTS, Progress, Superseded, run_job
from trialdesk.jobs.services import JobRefused, job_folder, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial(cast, study):
    return screen_one_subject_per_site(cast, study)


def ask(user, study, kind="odm", language="en", task=EXPORT_TASK) -> Job:
    return submit(
        user,
        study,
        kind,
        {"cutoff": "2026-11-30"},
        task=task,
        title="CDISC ODM 1.3.2 (XML)",
        permission="export",
        language=language,
    )


def sha256(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_a_job_is_queued_with_its_task_and_its_request_is_audited(cast, trial):
    from django_q.models import OrmQ

    from trialdesk.audit.models import AuditEvent

    job = ask(cast.data_manager, trial)
    assert job.state == JobState.QUEUED and job.attempts == 0
    assert OrmQ.objects.count() == 1 and job.queue_task_id
    (event,) = AuditEvent.objects.filter(action="job_submit")
    assert event.username == cast.data_manager.username and event.object_id == str(job.pk)
    assert export_events() == []  # nothing is exported until a worker runs it


def test_a_failed_submission_leaves_neither_a_job_nor_a_task(cast, trial, monkeypatch):
    from django_q.models import OrmQ

    import trialdesk.jobs.services as services

    def broken(*args, **kwargs):
        raise RuntimeError("the queue is broken")

    monkeypatch.setattr("django_q.tasks.async_task", broken)
    with pytest.raises(RuntimeError):
        services.submit(cast.data_manager, trial, "odm", {}, task=EXPORT_TASK, title="x", permission="export")
    assert Job.objects.count() == 0 and OrmQ.objects.count() == 0


def test_it_refuses_a_user_who_may_not_export(cast, trial):
    for user in (cast.monitor, cast.coordinator_nantes, cast.sponsor, cast.safety_officer):
        with pytest.raises(JobRefused):
            ask(user, trial)
    assert Job.objects.count() == 0


def test_the_runner_writes_the_file_with_its_progress_and_sha256(cast, trial):
    job = ask(cast.data_manager, trial)
    (job,) = run_queued_jobs()
    assert job.state == JobState.DONE and job.attempts == 1
    assert (job.done_count, job.total_count, job.percent) == (2, 2, 100)
    assert job.result_name == "NCT00724360_2026-11-30.xml" and job.result_content_type == "application/xml"
    assert job.result_sha256 == sha256(job.result_path) and job.result_size > 0
    subjects = etree.parse(job.result_path).findall(".//odm:SubjectData", NS)
    assert len(subjects) == 2
    (event,) = export_events()  # the export itself, audited as the user who asked
    assert event.username == cast.data_manager.username and event.new_value["sha256"] == job.result_sha256


def test_an_investigators_job_holds_their_site_only(cast, trial):
    ask(cast.investigator_nantes, trial)
    (job,) = run_queued_jobs()
    assert (job.state, job.done_count, job.total_count) == (JobState.DONE, 1, 1)
    sites = {
        s.find("odm:SiteRef", NS).get("LocationOID")
        for s in etree.parse(job.result_path).iterfind(".//odm:SubjectData", NS)
    }
    assert sites == {"LOC.NTE"}


def test_a_csv_job_delivers_one_zip_of_the_forms_and_the_data_dictionary(cast, trial):
    import zipfile

    ask(cast.statistician, trial, kind="csv")
    (job,) = run_queued_jobs()
    assert job.state == JobState.DONE and job.result_name.endswith("_csv.zip")
    names = {name.split("/", 1)[1] for name in zipfile.ZipFile(job.result_path).namelist()}
    assert {"data_dictionary.csv", "screening.csv"} <= names
    assert [p.name for p in job_folder(job).iterdir()] == [job.result_name]  # the folder itself is gone


def test_an_interrupted_attempt_is_restarted_from_scratch_and_its_partial_file_never_delivered(cast, trial):
    job = ask(cast.data_manager, trial)
    # what a worker killed mid-export leaves: the job running, a partial file under a temporary name
    Job.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING, attempts=1, run_token=uuid.uuid4(), done_count=1, total_count=2
    )
    folder = job_folder(job)
    folder.mkdir(parents=True)
    partial = folder / ".NCT00724360_2026-11-30.xml.abc.partial"
    partial.write_bytes(b"<?xml version='1.0'?><ODM")
    assert run_job(str(job.pk)) == "done"
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.attempts == 2 and not partial.exists()
    assert etree.parse(job.result_path).getroot() is not None and job.result_sha256 == sha256(job.result_path)


def test_a_task_delivered_again_after_its_job_finished_does_nothing(cast, trial):
    ask(cast.data_manager, trial)
    (job,) = run_queued_jobs()
    assert run_job(str(job.pk)) == "nothing to do"
    job.refresh_from_db()
    assert job.attempts == 1 and len(export_events()) == 1


def test_a_job_interrupted_as_often_as_allowed_fails_with_a_message_in_the_users_language(cast, trial):
    job = ask(cast.data_manager, trial, language="fr")
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, attempts=MAX_ATTEMPTS)
    assert run_job(str(job.pk)) == "nothing to do"
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.finished_at is not None
    assert f"interrompue {MAX_ATTEMPTS} fois" in job.error and "rien n'a été livré" in job.error
    assert export_events() == []


def test_an_attempt_that_lost_the_job_to_another_stops_at_its_next_report(cast, trial):
    job = ask(cast.data_manager, trial)
    Job.objects.filter(pk=job.pk).update(run_token=uuid.uuid4())  # another attempt holds it
    with pytest.raises(Superseded):
        Progress(job, uuid.uuid4(), job_folder(job))(1)


def test_a_program_error_fails_the_job_with_a_message_and_no_file(cast, trial):
    job = ask(cast.data_manager, trial, task="tests.jobs.conftest.failing_task")
    assert run_job(str(job.pk)) == "failed"
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "error of trialdesk" in job.error and "a bug" not in job.error
    assert not job.result_path and not job_folder(job).exists()


def test_a_user_who_lost_the_right_to_export_gets_a_failed_job_saying_so(cast, trial):
    from trialdesk.studies.models import Membership

    job = ask(cast.statistician, trial, language="fr")
    Membership.objects.filter(user=cast.statistician).update(active=False)
    assert run_job(str(job.pk)) == "failed"
    job.refresh_from_db()
    assert (
        job.state == JobState.FAILED
        and job.error == "Vous ne pouvez plus exporter les données de cette étude."
    )
    assert export_events() == []


def test_the_processes_running_jobs_ignore_ctrl_c_so_the_worker_stops_once_they_are_done():
    import signal

    from django_q.signals import post_spawn

    before = signal.getsignal(signal.SIGINT)
    try:
        post_spawn.send(sender="django_q", proc_name="Process-test")  # what each job process sends at start
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
