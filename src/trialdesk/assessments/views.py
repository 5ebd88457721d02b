"""The investigator confirms their assessment of a response against the derived one.
Thin: parse the request, call the service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from trialdesk.assessments import services
from trialdesk.crf.models import FormRecord
from trialdesk.crf.rendering import localised
from trialdesk.studies.access import Permission, get_visible_or_404, study_access
from trialdesk.studies.services import request_study


def _form_url(record: FormRecord) -> str:
    if record.visit_id:
        return reverse("visit-form", args=[record.subject_id, record.visit.code, record.form_code])
    return reverse("log-form", args=[record.subject_id, record.form_code, record.repeat])


@login_required
@require_http_methods(["GET", "POST"])
def confirm(request, record_id: int):
    study = request_study(request)
    record = get_visible_or_404(
        FormRecord.objects.select_related("subject__site", "subject__study", "visit"),
        request.user,
        study,
        pk=record_id,
    )
    access = study_access(request.user, study)
    if not access.can(Permission.CONFIRM_RESPONSE, record.subject.site_id):
        raise PermissionDenied
    protocol = study.protocol
    course = services.subject_course(request.user, study, record.subject)
    assessed = course.assessment_of(record.pk)
    if assessed is None or not assessed.discordant or record.voided_at is not None:
        messages.info(
            request,
            _("The investigator's assessment agrees with the derived response; there is nothing to confirm."),
        )
        return redirect(_form_url(record))
    justification = ""
    status = 200
    if request.method == "POST":
        justification = request.POST.get("justification", "")
        try:
            services.confirm_response(request.user, record, justification)
        except services.ConfirmationRefused as refusal:
            messages.error(request, refusal.message)
            status = 400
        else:
            messages.success(
                request, _("Your assessment is confirmed; it is the response that counts for the endpoints.")
            )
            return redirect("subject-casebook", subject_id=record.subject_id)
    context = {
        "record": record,
        "subject": record.subject,
        "form_title": localised(protocol.form(record.form_code), "title"),
        "form_url": _form_url(record),
        "date": assessed.record.on,
        "derived": services.category_label(assessed.derived.category),
        "explanation": services.explanation(assessed.derived),
        "investigator": services.category_label(assessed.record.investigator),
        "confirmed": assessed.confirmed_by_investigator,
        "justification": justification,
        "maximum": services.JUSTIFICATION_MAX,
    }
    return render(request, "assessments/confirm.html", context, status=status)
