"""What a worker runs: one attempt at a job, from scratch, and its outcome on the job's row.

``run_job(job_id)`` is the task of the queue (django-q2 calls it in a worker process):

0. it removes the files of jobs finished long ago (``remove_old_files``);
1. it claims the job for this attempt (a new ``run_token``; ``attempts`` + 1), unless the job
   is finished (a task delivered again after it finished does nothing) or was interrupted
   ``MAX_ATTEMPTS`` times already (then it fails, with a message saying so);
2. it empties the job's folder: an attempt killed mid-way left at most a partial file
   under a temporary name there, never delivered;
3. it calls the job's task, ``callable(job, progress) -> JobOutput``, in the user's language;
   ``progress(n)`` records the subjects written so far (``progress.total(n)`` how many there
   will be, ``progress.folder`` where to write), at most twice a second;
4. the file the task made becomes the job's result (its SHA-256 and size), or its
   ``JobFailed`` message (already in the user's language) the job's error.

A worker killed during step 3 never acknowledges its task: the queue gives it to a worker
again after ``Q_CLUSTER["retry"]`` seconds, and the job starts again at step 1. Only the
attempt holding the current ``run_token`` may write the job: a stale one stops at its next
progress report.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from trialdesk.audit.services import audited
from trialdesk.jobs.models import UNFINISHED, Job, JobState
from trialdesk.jobs.services import job_folder, remove_old_files

log = logging.getLogger("trialdesk.jobs")
MAX_ATTEMPTS = 3
PROGRESS_EVERY_SECONDS = 0.5


class JobFailed(Exception):
    """Raised by a task: the job fails with this message (in the user's language)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Superseded(Exception):
    """Another attempt holds the job now: this one stops."""


@dataclass(frozen=True)
class JobOutput:
    """The file a task made, inside its job's folder, and how to send it."""

    path: Path
    name: str
    content_type: str


class Progress:
    """The progress callback a task reports to: ``progress(done)``, ``progress.total(n)``."""

    def __init__(self, job: Job, token: uuid.UUID, folder: Path):
        self.job_id = job.pk
        self.token = token
        self.folder = folder
        self._total: int | None = None
        self.done = 0  # the last count reported, written or not yet
        self._last = 0.0

    def total(self, count: int) -> None:
        self._total = count
        self._write(total_count=count, done_count=0)

    def __call__(self, done: int) -> None:
        self.done = done if self._total is None else min(done, self._total)
        now = time.monotonic()
        if now - self._last < PROGRESS_EVERY_SECONDS and done != self._total:
            return
        self._last = now
        self._write(done_count=self.done)

    def _write(self, **values) -> None:
        with audited():
            if not Job.objects.filter(pk=self.job_id, run_token=self.token).update(**values):
                raise Superseded


def _interrupted_message(attempts: int) -> str:
    minutes = max(1, round(settings.Q_CLUSTER["timeout"] / 60))
    return _(
        "The job was interrupted %(count)s times (a worker stopped, or it ran longer than %(minutes)s "
        "minutes): nothing was delivered. Ask for it again; if it fails again, tell the study's data manager."
    ) % {"count": attempts, "minutes": minutes}


def _claim(job_id, token: uuid.UUID) -> Job | None:
    with audited():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state not in UNFINISHED:
            return None
        if job.attempts >= MAX_ATTEMPTS:
            with translation.override(job.language):
                _finish(job, state=JobState.FAILED, error=_interrupted_message(job.attempts))
            return None
        job.state = JobState.RUNNING
        job.attempts += 1
        job.run_token = token
        job.done_count = 0
        job.started_at = timezone.now()
        job.save(update_fields=["state", "attempts", "run_token", "done_count", "started_at"])
    return job


def _finish(job: Job, **values) -> None:
    values.setdefault("finished_at", timezone.now())
    for name, value in values.items():
        setattr(job, name, value)
    job.save(update_fields=list(values))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _settle(job_id, token: uuid.UUID, **values) -> bool:
    with audited():
        job = Job.objects.select_for_update().filter(pk=job_id, run_token=token).first()
        if job is None or job.state != JobState.RUNNING:
            return False
        _finish(job, **values)
    return True


def run_job(job_id: str) -> str:
    """One attempt at the job ``job_id``; what happened, for the queue's own log."""
    remove_old_files()
    token = uuid.uuid4()
    job = _claim(job_id, token)
    if job is None:
        return "nothing to do"
    folder = job_folder(job)
    shutil.rmtree(folder, ignore_errors=True)  # what an interrupted attempt left
    folder.mkdir(parents=True, exist_ok=True)
    progress = Progress(job, token, folder)
    with translation.override(job.language):
        try:
            output = import_string(job.task)(job, progress)
            path = Path(output.path).resolve()
            if folder.resolve() not in path.parents or not path.is_file():
                raise RuntimeError(f"the task {job.task} made no file in its job's folder: {path}")
        except Superseded:
            return "superseded by another attempt"
        except JobFailed as failure:
            _settle(job_id, token, state=JobState.FAILED, error=failure.message)
            shutil.rmtree(folder, ignore_errors=True)
            return "failed"
        except Exception:
            log.exception("job %s (%s) failed", job_id, job.task)
            _settle(
                job_id,
                token,
                state=JobState.FAILED,
                error=_(
                    "The job stopped on an error of trialdesk: nothing was delivered. The error was "
                    "logged; tell the study's data manager."
                ),
            )
            shutil.rmtree(folder, ignore_errors=True)
            return "failed"
    done = _settle(
        job_id,
        token,
        state=JobState.DONE,
        done_count=progress.done,
        result_path=str(path),
        result_name=output.name,
        result_content_type=output.content_type,
        result_sha256=_sha256(path),
        result_size=path.stat().st_size,
    )
    return "done" if done else "superseded by another attempt"
