"""The PDF casebook's download (``casebook_pdf``): thin, the service builds and audits it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from trialdesk.exports.casebook_pdf import casebook_pdf
from trialdesk.studies.services import request_study


@require_GET
@login_required
def casebook_pdf_download(request, subject_id: int):
    study = request_study(request)
    made = casebook_pdf(request.user, study, subject_id, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(made.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{made.filename}"'
    response["X-Content-SHA256"] = made.content_sha256
    return response
