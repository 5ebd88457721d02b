"""The exports page: who may export asks for the study's ODM file or its tidy CSV (zipped),
up to a cut-off, as they may see the data. Each export runs as a background job
(``trialdesk.jobs``, the task ``trialdesk.exports.tasks.run_export_job``): the page lists the
user's jobs with their progress (polled every 2 s while one runs), and a finished job's file
is downloaded from it by its owner. Parse the request, call the service, render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trialdesk.datacut import trial_today
from trialdesk.exports.services import KINDS, ExportRefused, export_role
from trialdesk.exports.tasks import EXPORT_TASK, kind_title
from trialdesk.jobs.services import submit
from trialdesk.jobs.views import jobs_context
from trialdesk.studies.access import Permission, study_access
from trialdesk.studies.models import Site
from trialdesk.studies.services import request_study


def _exporter(request):
    study = request_study(request)
    try:
        export_role(request.user, study)
    except ExportRefused:
        raise Http404 from None
    return study


@login_required
def export_page(request):
    study = _exporter(request)
    access = study_access(request.user, study)
    context = {
        "today": trial_today(),
        "sites": Site.objects.filter(study=study, pk__in=access.site_ids).order_by("code"),
        "all_sites": access.site_ids == access.all_site_ids,
        "pseudonymised": access.pseudonymised,
        **jobs_context(request.user, study),
    }
    return render(request, "exports/page.html", context)


def _cutoff(request) -> dt.date | None:
    raw = request.POST.get("cutoff", "").strip()
    today = trial_today()
    if not raw:
        return today
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        messages.error(request, _("Not a date: %(value)s.") % {"value": raw[:20]})
        return None
    if day > today:
        messages.error(request, _("The cut-off cannot be after today."))
        return None
    return day


@login_required
@require_POST
def download(request, kind: str):
    """Ask for the ``kind`` export up to the cut-off: a background job of the user's, listed
    on the page with its progress; its file is downloaded from there once written."""
    study = _exporter(request)
    if kind not in KINDS:
        raise Http404
    cutoff = _cutoff(request)
    if cutoff is None:
        return redirect(reverse("exports:page"))
    submit(
        request.user,
        study,
        kind,
        {"cutoff": cutoff.isoformat()},
        task=EXPORT_TASK,
        title=kind_title(kind),
        permission=Permission.EXPORT,
        language=get_language() or "en",
    )
    messages.success(
        request,
        _(
            "Your export is being written: it is listed below with its progress; download it from there once ready."
        ),
    )
    return redirect(reverse("exports:page"))
