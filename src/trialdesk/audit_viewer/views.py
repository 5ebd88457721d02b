"""Pages of the audit viewer: the trail per scope and its CSV export.
Thin: parse the request, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from trialdesk.audit_viewer import viewer
from trialdesk.audit_viewer.imported import imported_history
from trialdesk.studies.access import Permission
from trialdesk.studies.services import request_study

# --------------------------------------------------------------------------- audit viewer


def _scope(request, kind: str, key) -> viewer.TrailScope:
    study = request_study(request)
    if kind == "study":
        return viewer.study_scope(request.user, study)
    if kind == "site":
        return viewer.site_scope(request.user, study, key)
    if kind == "subject":
        return viewer.subject_scope(request.user, study, key)
    return viewer.record_scope(request.user, study, key)


def _filters(request) -> tuple[viewer.TrailFilterForm, dict]:
    form = viewer.TrailFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        messages.error(request, _("Some filters are not valid and were ignored."))
        return form, {}
    return form, (form.cleaned_data if form.is_bound else {})


@require_GET
@login_required
def trail(request, kind: str, key=None):
    scope = _scope(request, kind, key)
    form, filters = _filters(request)
    events = viewer.apply_filters(scope.events, filters).order_by("-sequence")
    page = Paginator(events, viewer.PAGE_SIZE).get_page(request.GET.get("page"))
    masker = viewer.Masker(scope.study, scope.pseudonymised)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "scope": scope,
        "form": form,
        "page": page,
        "rows": viewer.present_page(page.object_list, masker, scope.study),
        "scope_label": viewer.readable_label(scope.label, scope.study.protocol),
        "users": viewer.choices_in(scope.events, "username"),
        "fields": viewer.field_choices(scope.study, viewer.choices_in(scope.events, "field")),
        "actions": viewer.action_choices(viewer.choices_in(scope.events, "action")),
        "query": query.urlencode(),
        "csv_url": _csv_url(scope) + (f"?{query.urlencode()}" if query else ""),
        "imported": imported_history(scope, request.GET.get("imported_page")),
        # site staff read their subjects' trails, not the whole site's: the crumb leads to the site
        "site_trail": scope.site is not None and scope.access.can(Permission.VIEW_AUDIT, scope.site.pk),
    }
    return render(request, "audit_viewer/trail.html", context)


def _url(scope: viewer.TrailScope, suffix: str = "") -> str:
    name = f"audit-{scope.kind}{suffix}"
    if scope.kind == "study":
        return reverse(name)
    if scope.kind == "site":
        return reverse(name, args=[scope.site.code])
    if scope.kind == "subject":
        return reverse(name, args=[scope.subject.pk])
    return reverse(name, args=[scope.record.pk])


def _csv_url(scope: viewer.TrailScope) -> str:
    return _url(scope, "-csv")


@require_GET
@login_required
def trail_csv(request, kind: str, key=None):
    scope = _scope(request, kind, key)
    form, filters = _filters(request)
    if form.is_bound and not form.is_valid():
        return redirect(f"{_url(scope)}?{request.GET.urlencode()}")
    lines = viewer.start_export(request.user, scope, filters)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-{scope.slug}-{stamp}.csv"'
    return response


