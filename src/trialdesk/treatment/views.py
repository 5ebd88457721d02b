"""The investigator's validation of a computed dose. Parse the request, call the service,
send the user on: to the infusion to record once validated, back to the form if refused."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trialdesk.crf.models import FormRecord
from trialdesk.studies.access import Permission, get_visible_or_404, study_access
from trialdesk.studies.services import request_study
from trialdesk.subjects.models import Subject
from trialdesk.treatment import services
from trialdesk.treatment.pages import kind_label


@login_required
@require_POST
def validate(request, subject_id: int):
    study = request_study(request)
    subject = get_visible_or_404(
        Subject.objects.select_related("site", "study"), request.user, study, pk=subject_id
    )
    access = study_access(request.user, study)
    if not access.can(Permission.VIEW_CLINICAL_DATA, subject.site_id):
        raise Http404
    form_code = services.infusion_form(study.protocol)
    if form_code is None:
        raise Http404
    record = None
    repeat = request.POST.get("repeat", "").strip()
    if repeat:
        if not repeat.isdigit():
            raise Http404
        record = (
            FormRecord.objects.for_user(request.user, study)
            .filter(subject=subject, visit=None, form_code=form_code, repeat=int(repeat))
            .first()
        )
        if record is None:
            raise Http404
        record.subject = subject
    back = (
        redirect("log-form", subject_id=subject.pk, form_code=form_code, repeat=record.repeat)
        if record
        else redirect("log-form-new", subject_id=subject.pk, form_code=form_code)
    )
    try:
        on = dt.date.fromisoformat(request.POST.get("on", "").strip())
    except ValueError:
        messages.error(request, _("Enter the date of the infusion (YYYY-MM-DD)."))
        return back
    try:
        prescription = services.validate_prescription(
            request.user, subject, on=on, weight_kg=request.POST.get("weight", ""), record=record
        )
    except services.PrescriptionRefused as refused:
        messages.error(request, refused.message)
        return back
    messages.success(
        request,
        _("Prescription validated: %(kind)s, %(dose)s mg (%(vials)s vial(s)). Record what was given below.")
        % {
            "kind": kind_label(prescription.kind),
            "dose": f"{prescription.dose_mg:g}",
            "vials": prescription.vials,
        },
    )
    return redirect("log-form", subject_id=subject.pk, form_code=form_code, repeat=prescription.record.repeat)
