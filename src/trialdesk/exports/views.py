"""The exports page: who may export downloads the study's ODM file or its tidy CSV (zipped),
up to a cut-off, as they may see the data. Parse the request, call the service, send the file."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import zipfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trialdesk.datacut import trial_today
from trialdesk.exports.services import KINDS, ExportRefused, default_name, export_role, run_export
from trialdesk.studies.access import study_access
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
    study = _exporter(request)
    if kind not in KINDS:
        raise Http404
    cutoff = _cutoff(request)
    if cutoff is None:
        return redirect(reverse("exports:page"))
    work = Path(tempfile.mkdtemp(prefix="trialdesk-export-"))
    try:
        name = default_name(study, kind, cutoff)
        result = run_export(study, kind, work / name, viewer=request.user, cutoff=cutoff)
        if kind == "odm":
            sent, content_type = result.path, "application/xml"
        else:
            sent, content_type = work / f"{name}.zip", "application/zip"
            with zipfile.ZipFile(sent, "w", zipfile.ZIP_DEFLATED) as archive:
                for file in result.files:
                    archive.write(result.path / file, f"{name}/{file}")
        handle = sent.open("rb")
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the open file stays readable until sent
    response = FileResponse(handle, as_attachment=True, filename=Path(sent).name, content_type=content_type)
    response["X-Content-SHA256"] = result.sha256
    return response
