"""Monitoring visit reports: the list per site, a draft's editing, signing, the signed report,
its PDF and its findings and follow-ups as CSV and JSON. Thin: ``services`` decides who may do
what; a report outside the user's scope is not found (404)."""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trialdesk.monitoring import services
from trialdesk.monitoring.models import (
    Finding,
    FindingCategory,
    FollowUp,
    FollowUpState,
    ReportStatus,
    Severity,
    VisitKind,
)
from trialdesk.studies.access import study_access
from trialdesk.studies.models import Site
from trialdesk.studies.services import request_study


def _date(value: str | None, what: str) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise services.MonitoringRefused(
            _("The %(what)s is not a date (YYYY-MM-DD).") % {"what": what}
        ) from None


def _study(request):
    study = request_study(request)
    access = study_access(request.user, study)
    if not access.site_ids:
        raise Http404
    if not services.readable_site_ids(access):
        raise PermissionDenied
    return study, access


@login_required
def visit_list(request):
    study, access = _study(request)
    site_ids = services.readable_site_ids(access)
    sites = list(Site.objects.filter(study=study, pk__in=site_ids).order_by("code"))
    site_code = request.GET.get("site", "")
    if site_code and site_code not in {s.code for s in sites}:
        raise Http404
    status = request.GET.get("status", "")
    if status not in ReportStatus.values:
        status = ""
    error = ""
    try:
        date_from = _date(request.GET.get("from"), _("first date"))
        date_to = _date(request.GET.get("to"), _("last date"))
    except services.MonitoringRefused as refused:
        error, date_from, date_to = refused.message, None, None
    visits = services.list_visits(
        request.user, study, site_code=site_code, status=status, date_from=date_from, date_to=date_to
    )
    page = Paginator(visits, 25).get_page(request.GET.get("page"))
    writable = [s for s in sites if services.may_write(access, s.pk)]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "monitoring/list.html",
        {
            "study": study,
            "sites": sites,
            "writable_sites": writable,
            "site_code": site_code,
            "status": status,
            "statuses": ReportStatus.choices,
            "kinds": VisitKind.choices,
            "date_from": date_from,
            "date_to": date_to,
            "error": error,
            "page": page,
            "query": query.urlencode(),
            "today": dt.date.today(),
        },
    )


@login_required
@require_POST
def visit_create(request):
    study = request_study(request)
    access = study_access(request.user, study)
    site = Site.objects.filter(study=study, code=request.POST.get("site", ""), pk__in=access.site_ids).first()
    if site is None:
        raise Http404
    try:
        visit = services.create_visit(
            request.user,
            site,
            visit_date=_date(request.POST.get("visit_date"), _("date of the visit")),
            kind=request.POST.get("kind", ""),
            attendees=request.POST.get("attendees", ""),
        )
    except services.MonitoringRefused as refused:
        messages.error(request, refused.message)
        return redirect(f"{reverse('monitoring:list')}?site={site.code}")
    messages.success(request, _("The draft report is saved."))
    return redirect("monitoring:visit", monitoring_visit_id=visit.pk)


def _context(request, study, visit):
    access = study_access(request.user, study)
    editable = (
        visit.is_draft and visit.monitor_id == request.user.pk and services.may_write(access, visit.site_id)
    )
    return {
        "study": study,
        "visit": visit,
        "editable": editable,
        "can_amend": not visit.is_draft
        and visit.monitor_id == request.user.pk
        and services.may_write(access, visit.site_id),
        "can_download": services.may_download(access, visit),
        "findings": list(Finding.objects.read_as(visit).filter(visit=visit).order_by("pk")),
        "follow_ups": list(
            FollowUp.objects.read_as(visit).filter(visit=visit).select_related("completion").order_by("pk")
        ),
        "can_complete": services.may_complete(access, visit) and services.latest_version(visit) is None,
        "site_today": visit.site.today(),
        "verified": services.verified_lines(visit),
        "earlier_follow_ups": services.earlier_open_follow_ups(visit),
        "queries": services.query_lines(visit),
        "period_start": services.period_start(visit),
        "live": services.is_live(visit),
        "superseded_by": services.latest_version(visit),
        "intact": services.signature_intact(visit),
        # the meaning is fixed in code: shown in the reader's language (the stored text in the JSON)
        "meaning": str(services.SIGNATURE_MEANING),
        "kinds": VisitKind.choices,
        "categories": FindingCategory.choices,
        "severities": Severity.choices,
        "states": FollowUpState.choices,
    }


@login_required
def visit_page(request, monitoring_visit_id: int):
    study = request_study(request)
    visit = services.get_visit(request.user, study, monitoring_visit_id)
    return render(request, "monitoring/visit.html", _context(request, study, visit))


def _act(request, monitoring_visit_id: int, action, success: str, anchor: str = ""):
    """Run one change of a draft; its refusal is shown on the page, nothing changed."""
    study = request_study(request)
    visit = services.get_visit(request.user, study, monitoring_visit_id)
    try:
        result = action(visit)
    except services.MonitoringRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, success)
        if result is not None and getattr(result, "pk", None) and result.__class__ is visit.__class__:
            visit = result
    return redirect(reverse("monitoring:visit", args=[visit.pk]) + anchor)


def _item(request) -> int:
    try:
        return int(request.POST.get("item", ""))
    except ValueError:
        raise Http404 from None


@login_required
@require_POST
def visit_edit(request, monitoring_visit_id: int):
    def change(visit):
        services.update_visit(
            request.user,
            visit,
            visit_date=_date(request.POST.get("visit_date"), _("date of the visit")),
            kind=request.POST.get("kind", ""),
            attendees=request.POST.get("attendees", ""),
            summary=request.POST.get("summary", ""),
        )

    return _act(request, monitoring_visit_id, change, _("The draft report is saved."))


@login_required
@require_POST
def finding_add(request, monitoring_visit_id: int):
    def change(visit):
        services.add_finding(
            request.user,
            visit,
            category=request.POST.get("category", ""),
            severity=request.POST.get("severity", ""),
            text=request.POST.get("text", ""),
        )

    return _act(request, monitoring_visit_id, change, _("The finding is added."), "#findings")


@login_required
@require_POST
def finding_remove(request, monitoring_visit_id: int):
    return _act(
        request,
        monitoring_visit_id,
        lambda visit: services.remove_finding(request.user, visit, _item(request)),
        _("The finding is removed from the draft."),
        "#findings",
    )


@login_required
@require_POST
def follow_up_add(request, monitoring_visit_id: int):
    def change(visit):
        services.add_follow_up(
            request.user,
            visit,
            text=request.POST.get("text", ""),
            responsible=request.POST.get("responsible", ""),
            due_on=_date(request.POST.get("due_on"), _("due date")),
            state=request.POST.get("state", FollowUpState.OPEN),
        )

    return _act(request, monitoring_visit_id, change, _("The follow-up action is added."), "#follow-ups")


@login_required
@require_POST
def follow_up_state(request, monitoring_visit_id: int):
    return _act(
        request,
        monitoring_visit_id,
        lambda visit: services.set_follow_up_state(
            request.user, visit, _item(request), request.POST.get("state", "")
        ),
        _("The follow-up action is updated."),
        "#follow-ups",
    )


def _back(request, default: str) -> str:
    """Where a form posted from another page (the monitor's home) goes back: a path of this site."""
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@login_required
@require_POST
def follow_up_done(request, monitoring_visit_id: int):
    """A follow-up of a signed report marked done (by a monitor of the site or its staff), dated."""
    study = request_study(request)
    visit = services.get_visit(request.user, study, monitoring_visit_id)
    back = _back(request, reverse("monitoring:visit", args=[visit.pk]) + "#follow-ups")
    try:
        done_on = _date(request.POST.get("done_on"), _("date it was done"))
        services.complete_follow_up(
            request.user, visit, _item(request), done_on=done_on, note=request.POST.get("note", "")
        )
    except services.MonitoringRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("The follow-up action is marked done."))
    return redirect(back)


@login_required
@require_POST
def follow_up_remove(request, monitoring_visit_id: int):
    return _act(
        request,
        monitoring_visit_id,
        lambda visit: services.remove_follow_up(request.user, visit, _item(request)),
        _("The follow-up action is removed from the draft."),
        "#follow-ups",
    )


@login_required
@require_POST
def visit_sign(request, monitoring_visit_id: int):
    return _act(
        request,
        monitoring_visit_id,
        lambda visit: services.sign_visit(request.user, visit, password=request.POST.get("password", "")),
        _("The report is signed."),
    )


@login_required
@require_POST
def visit_addendum(request, monitoring_visit_id: int):
    return _act(
        request,
        monitoring_visit_id,
        lambda visit: services.start_addendum(request.user, visit, reason=request.POST.get("reason", "")),
        _("An addendum is drafted from the signed report: correct it and sign it."),
    )


def _signed(request, monitoring_visit_id: int, *, download: bool = False):
    study = request_study(request)
    visit = services.get_visit(request.user, study, monitoring_visit_id)
    if visit.is_draft:
        raise Http404  # a draft has no document yet
    if download and not services.may_download(study_access(request.user, study), visit):
        raise PermissionDenied
    return study, visit


def _filename(study, visit, ext: str) -> str:
    return f"monitoring-visit-{study.nct_id}-{visit.site.code}-{visit.visit_date.isoformat()}-v{visit.version}.{ext}"


def document_html(request, study, visit) -> str:
    """The signed report as the standalone page WeasyPrint lays out (no script, its own style)."""
    context = _context(request, study, visit)
    context["sponsor"] = study.protocol.identification.sponsor
    return render_to_string("monitoring/document.html", context, request=request)


@login_required
def visit_pdf(request, monitoring_visit_id: int):
    from weasyprint import HTML

    study, visit = _signed(request, monitoring_visit_id)
    html = document_html(request, study, visit)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    services.record_download(request.user, visit, "pdf", pdf)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{_filename(study, visit, "pdf")}"'
    return response


@login_required
def visit_csv(request, monitoring_visit_id: int):
    study, visit = _signed(request, monitoring_visit_id, download=True)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=services.EXPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(services.export_rows(visit))
    data = out.getvalue().encode()
    services.record_download(request.user, visit, "csv", data)
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(study, visit, "csv")}"'
    return response


@login_required
def visit_json(request, monitoring_visit_id: int):
    study, visit = _signed(request, monitoring_visit_id, download=True)
    content = services.report_content(visit)
    content["signature"] = {
        "printed_name": visit.printed_name,
        "signed_at": visit.signed_at.isoformat(),
        "meaning": visit.meaning_text,
        "content_sha256": visit.content_sha256,
    }
    response = JsonResponse(content, json_dumps_params={"ensure_ascii": False, "indent": 2})
    services.record_download(request.user, visit, "json", response.content)
    response["Content-Disposition"] = f'attachment; filename="{_filename(study, visit, "json")}"'
    return response
