"""The user's background jobs: their list (the fragment a page polls while one runs) and the
download of a finished one's file (its owner only; 404 for anyone else, as for a job that
does not exist)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from trialdesk.jobs.services import jobs_of, open_result
from trialdesk.studies.access import study_access
from trialdesk.studies.services import request_study


def jobs_context(user, study) -> dict:
    """What ``jobs/_jobs.html`` shows: the user's jobs, and whether the page polls for news."""
    jobs = jobs_of(user, study)
    return {
        "jobs": jobs,
        "jobs_polling": any(job.unfinished for job in jobs),
        "keep_days": settings.TRIALDESK_JOB_KEEP_DAYS,
    }


@login_required
@require_GET
def rows(request):
    study = request_study(request)
    if not study_access(request.user, study).roles:
        raise Http404
    return render(request, "jobs/_jobs.html", jobs_context(request.user, study))


@login_required
@require_POST
def download(request, job_id):
    study = request_study(request)
    opened = open_result(request.user, study, job_id)
    if opened is None:
        raise Http404
    job, handle = opened
    response = FileResponse(
        handle, as_attachment=True, filename=job.result_name, content_type=job.result_content_type
    )
    response["X-Content-SHA256"] = job.result_sha256
    return response
