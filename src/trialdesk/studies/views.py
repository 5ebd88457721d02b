"""The study's operational status: its history and, for the sponsor administrator, a change
with its date and reason. Thin: parse the request, call ``studies.services``, render."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from trialdesk.studies.access import Permission, study_access
from trialdesk.studies.models import STATUS_TRANSITIONS, OperationalStatus
from trialdesk.studies.services import (
    REASON_MAX,
    StudyStatusRefused,
    operational_status,
    request_study,
    set_operational_status,
    status_history,
)


class StatusChangeForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("New status"))
    effective_on = forms.DateField(
        label=gettext_lazy("Effective from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, current: str, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = STATUS_TRANSITIONS[current]
        # no answer chosen in advance: the first option is empty
        self.fields["status"].choices = [("", "—")] + [
            (value, label) for value, label in OperationalStatus.choices if value in allowed
        ]


@login_required
@require_http_methods(["GET", "POST"])
def status_page(request):
    study = request_study(request)
    access = study_access(request.user, study)
    if not access.can(Permission.VIEW_CLINICAL_DATA) and not access.can(Permission.MANAGE_STUDY):
        raise PermissionDenied
    today = timezone.localdate()
    current = operational_status(study, today)
    can_change = access.can(Permission.MANAGE_STUDY)
    form = StatusChangeForm(current=current) if can_change else None
    status = 200
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        form = StatusChangeForm(request.POST, current=current)
        if form.is_valid():
            data = form.cleaned_data
            try:
                change = set_operational_status(
                    request.user,
                    study,
                    data["status"],
                    effective_on=data["effective_on"],
                    reason=data["reason"],
                    today=today,
                )
            except StudyStatusRefused as refusal:
                messages.error(request, refusal.message)
            else:
                messages.success(
                    request,
                    _("Status changed to “%(status)s” from %(date)s.")
                    % {"status": change.get_status_display(), "date": change.effective_on.isoformat()},
                )
                return redirect("study-status")
        status = 400
    context = {
        "current": OperationalStatus(current),
        "history": status_history(study),
        "form": form,
        "registry_status": study.protocol.identification.overall_status,
        "target": study.protocol.identification.enrollment.count,
    }
    return render(request, "studies/operational_status.html", context, status=status)
