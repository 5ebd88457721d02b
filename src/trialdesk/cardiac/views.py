"""Pages of the cardiac hold: the investigator's decision on a subject's hold, and the
study-wide list of subjects on hold. Parse the request, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from trialdesk.cardiac import services
from trialdesk.cardiac.models import CardiacHold, HoldStatus
from trialdesk.cardiac.pages import hold_row, number, series_rows
from trialdesk.studies.access import Permission, get_visible_or_404, study_access
from trialdesk.studies.listing import ListFilter
from trialdesk.studies.models import Site
from trialdesk.studies.services import request_study
from trialdesk.subjects.models import Subject

ACTIONS = {"lift": services.lift_hold, "stop": services.stop_treatment_for_hold}


@login_required
def decide(request, subject_id: int):
    study = request_study(request)
    subject = get_visible_or_404(
        Subject.objects.select_related("site", "study"), request.user, study, pk=subject_id
    )
    access = study_access(request.user, study)
    if not access.can(Permission.VIEW_CLINICAL_DATA, subject.site_id):
        raise Http404
    rules = services.hold_rules(study.protocol)
    hold = (
        CardiacHold.objects.for_user(request.user, study)
        .filter(subject_id=subject.pk, status="active")
        .first()
    )
    can_decide = access.can(Permission.LIFT_CARDIAC_HOLD, subject.site_id)
    reason = ""
    error = ""
    status = 200
    if request.method == "POST":
        if not can_decide:
            raise PermissionDenied
        action = ACTIONS.get(request.POST.get("action", ""))
        reason = request.POST.get("why", "")
        if hold is None:
            error = _("This subject has no cardiac hold in force.")
            status = 400
        elif action is None:
            error = _("Choose to resume or to stop treatment.")
            status = 400
        else:
            hold.subject = subject
            try:
                action(request.user, hold, reason)
            except services.HoldActionRefused as refused:
                error, status = refused.message, 400
            else:
                done = (
                    _("The cardiac hold is lifted.")
                    if action is services.lift_hold
                    else _("Treatment is stopped; the end-of-treatment visits are planned.")
                )
                messages.success(request, done)
                return redirect(reverse("subject-casebook", args=[subject.pk]))
    if hold is not None:
        hold.subject = subject
    context = {
        "subject": subject,
        "hold": hold_row(hold, rules, access) if hold else None,
        "repeat_due": services.repeat_lvef_due(subject) if hold else None,
        "series": series_rows(services.lvef_series(subject)),
        "baseline": number(services.baseline_lvef(subject)),
        "can_decide": can_decide and hold is not None,
        "typed_reason": reason,
        "error": error,
    }
    return render(request, "cardiac/decide.html", context, status=status)


@login_required
def hold_list(request):
    study = request_study(request)
    access = study_access(request.user, study)
    if not (access.can(Permission.VIEW_CLINICAL_DATA) or access.can(Permission.VIEW_SAFETY_DATA)):
        raise Http404
    rules = services.hold_rules(study.protocol)
    sites = Site.objects.filter(study=study, pk__in=access.site_ids).order_by("code")
    site_code = request.GET.get("site", "")
    if site_code and not any(s.code == site_code for s in sites):
        raise Http404
    listing = ListFilter(
        request,
        sites=sites,
        statuses=[("all", _("Every hold, ended ones too")), *HoldStatus.choices],
        status_blank=_("Holds in force"),
        date_label=_("Since"),
        keep={"show": "all"} if request.GET.get("show") == "all" else {},
    )
    show_all = request.GET.get("show") == "all" or listing.status == "all"
    rows = services.holds_for(request.user, study, active_only=not show_all and not listing.status)
    rows = listing.apply(
        rows,
        site="subject__site__code",
        status="status" if listing.status != "all" else None,
        date="started_on",
    )
    holds = []
    for hold in listing.paginate(rows):
        row = hold_row(hold, rules, access)
        row["repeat_due"] = services.repeat_lvef_due(hold.subject) if hold.is_active else None
        row["can_open_casebook"] = access.can(Permission.VIEW_CLINICAL_DATA, hold.subject.site_id)
        holds.append(row)
    context = {
        "rows": holds,
        "listing": listing,
        "show_all": show_all or bool(listing.status),
        "site": next((s for s in sites if s.code == listing.site), None),
        "sites": sites,
    }
    return render(request, "cardiac/list.html", context)
