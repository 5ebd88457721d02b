"""Background jobs in the test process: each test's job files in its own folder, and the jobs
queued so far run here, one attempt each, as a worker would run them."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def job_files(request, tmp_path):
    if "db" not in request.keywords:
        yield None
        return
    settings = request.getfixturevalue("settings")
    settings.TRIALDESK_JOB_FILES = tmp_path / "job-files"
    yield settings.TRIALDESK_JOB_FILES


def run_queued_jobs() -> list:
    """Run every queued job once in this process (``trialdesk.jobs.runner.run_job``, what a
    worker calls), and take their tasks off the queue; the jobs, refreshed."""
    from django_q.models import OrmQ

    from trialdesk.jobs.models import Job, JobState
    from trialdesk.jobs.runner import run_job

    jobs = list(Job.objects.filter(state=JobState.QUEUED).order_by("created_at"))
    for job in jobs:
        run_job(str(job.pk))
        job.refresh_from_db()
    OrmQ.objects.all().delete()
    return jobs


def failing_task(job, progress):
    """A task with a bug in it (for the runner's tests)."""
    progress.total(3)
    progress(1)
    raise RuntimeError("a bug")
