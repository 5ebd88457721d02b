"""Background jobs: asking for one, reading one's own, downloading what it made.

    submit(user, study, kind, parameters, *, task, title, permission, language) -> Job
    jobs_of(user, study, limit=20)                 # the user's own, newest first
    owned_job(user, study, job_id) -> Job | None   # only the owner's (else None: the view's 404)
    open_result(user, study, job_id) -> (Job, file)  # the finished file, the download audited
    remove_old_files(now=None) -> int              # files of jobs finished TRIALDESK_JOB_KEEP_DAYS ago

A job is a row of ours (``Job``) and a task of the queue (django-q2, ORM broker) that runs
``trialdesk.jobs.runner.run_job`` with the job's id in a worker (``trialdesk worker``, or the
one ``trialdesk serve`` starts). Both are written in one audited transaction: the queue is a
table of the same database, so a job is never asked without its task, nor the reverse. The
work itself is the callable named by ``task`` (a dotted path handed over by the app that asks:
this app imports none of the apps above it).
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from trialdesk.audit.services import Actor, audited, record
from trialdesk.jobs.models import Job, JobState
from trialdesk.studies.access import Permission, study_access
from trialdesk.studies.models import Study

RUNNER = "trialdesk.jobs.runner.run_job"
SHOWN_JOBS = 20


class JobRefused(Exception):
    """The user may not ask for this job (or may no longer download what it made)."""


def job_folder(job: Job) -> Path:
    """The job's own folder: its files, partial ones of an interrupted attempt included."""
    return Path(settings.TRIALDESK_JOB_FILES) / str(job.pk)


def _role(user, study: Study, permission: str) -> str:
    access = study_access(user, study)
    try:
        needed = Permission(permission)
    except ValueError:
        raise JobRefused(f"no permission {permission!r}") from None
    if not access.can(needed):
        raise JobRefused(f"{user.get_username()} may not {permission} in {study.nct_id}")
    return access.role_for(needed)


def submit(
    user,
    study: Study,
    kind: str,
    parameters: dict,
    *,
    task: str,
    title: str,
    permission: str,
    language: str = "en",
) -> Job:
    """Queue a job of ``user``: ``task`` (dotted path of ``callable(job, progress) -> JobOutput``,
    see trialdesk.jobs.runner) runs in a worker; the user must hold ``permission`` now and
    when downloading. ``parameters`` are JSON values the task reads back."""
    from django_q.tasks import async_task

    role = _role(user, study, permission)
    import_string(task)  # a task that cannot be found is a program error, raised here, not in a worker
    with audited():
        job = Job.objects.create(
            study=study,
            user=user,
            kind=kind,
            title=title,
            task=task,
            permission=permission,
            parameters=parameters,
            language=language or "en",
        )
        job.queue_task_id = async_task(RUNNER, str(job.pk), task_name=f"job-{job.pk}", group=kind)
        job.save(update_fields=["queue_task_id"])
        record(
            Actor.for_user(user, role),
            "job_submit",
            study_id=study.pk,
            object_type=f"job.{kind}",
            object_id=str(job.pk),
            object_label=title,
            new_value={"kind": kind, "parameters": parameters},
        )
    return job


def jobs_of(user, study: Study, limit: int = SHOWN_JOBS) -> list[Job]:
    return list(Job.objects.filter(user=user, study=study).order_by("-created_at")[:limit])


def owned_job(user, study: Study, job_id) -> Job | None:
    try:
        key = uuid.UUID(str(job_id))
    except ValueError:
        return None
    return Job.objects.filter(pk=key, user=user, study=study).first()


def open_result(user, study: Study, job_id):
    """The finished file of the user's own job, opened, and its download recorded (who, the
    file, its SHA-256). None when there is nothing of theirs to download."""
    job = owned_job(user, study, job_id)
    if job is None or job.state != JobState.DONE or not job.result_path:
        return None
    try:
        role = _role(user, study, job.permission)
    except JobRefused:
        return None
    path = Path(job.result_path)
    if not path.is_file():
        return None
    handle = path.open("rb")
    try:
        with audited():
            record(
                Actor.for_user(user, role),
                "job_download",
                study_id=study.pk,
                object_type=f"job.{job.kind}",
                object_id=str(job.pk),
                object_label=job.result_name,
                new_value={"kind": job.kind, "file": job.result_name, "sha256": job.result_sha256},
            )
    except BaseException:
        handle.close()
        raise
    return job, handle


def remove_old_files(now: dt.datetime | None = None) -> int:
    """Remove the files of the jobs finished more than TRIALDESK_JOB_KEEP_DAYS days ago (the
    workers call it before each job); the jobs stay listed, their file no longer kept. How many."""
    before = (now or timezone.now()) - dt.timedelta(days=settings.TRIALDESK_JOB_KEEP_DAYS)
    old = Job.objects.filter(state=JobState.DONE, finished_at__lt=before).exclude(result_path="")
    removed = 0
    for job in old.only("pk"):
        shutil.rmtree(job_folder(job), ignore_errors=True)
        with audited():
            Job.objects.filter(pk=job.pk).update(result_path="")
        removed += 1
    return removed
