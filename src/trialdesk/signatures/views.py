"""Pages of electronic signatures: signing a casebook or a visit, and the casebooks to sign.
Thin: parse the request, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from trialdesk.signatures.services import (
    SignatureRefused,
    casebooks_to_sign,
    meaning_for,
    printed_name,
    records_to_sign,
    sign,
)
from trialdesk.studies.access import Permission, get_visible_or_404, require, study_access
from trialdesk.studies.services import request_study
from trialdesk.subjects.models import Subject

# --------------------------------------------------------------------------- signatures


def _casebook(subject: Subject):
    return redirect("subject-casebook", subject_id=subject.pk)


@require_http_methods(["GET", "POST"])
@login_required
def sign_page(request, subject_id: int):
    study = request_study(request)
    subject = get_visible_or_404(
        Subject.objects.select_related("site", "study"), request.user, study, pk=subject_id
    )
    require(study_access(request.user, study), Permission.SIGN, subject.site_id)
    visit_code = (request.POST.get("visit") or request.GET.get("visit") or "").strip()
    visit = None
    if visit_code:
        visit = subject.visits.filter(code=visit_code).first()
        if visit is None:
            raise Http404
    if request.method == "POST":
        try:
            signature = sign(request.user, subject, password=request.POST.get("password", ""), visit=visit)
        except SignatureRefused as refusal:
            messages.error(request, refusal.message)
            status = 400
        else:
            messages.success(
                request,
                _("Signed by %(name)s: “%(meaning)s”.")
                % {"name": signature.printed_name, "meaning": signature.get_meaning_display()},
            )
            return _casebook(subject)
    else:
        status = 200
    context = {
        "subject": subject,
        "visit": visit,
        "meaning": meaning_for(visit).label,
        "printed_name": printed_name(request.user),
        "records": records_to_sign(request.user, subject, visit),
    }
    return render(request, "signatures/sign.html", context, status=status)


@require_GET
@login_required
def to_sign_page(request):
    study = request_study(request)
    access = study_access(request.user, study)
    if not access.can(Permission.SIGN):
        raise PermissionDenied
    return render(request, "signatures/to_sign.html", {"items": casebooks_to_sign(request.user, study)})


