"""Pages of the audit viewer: the trail per scope and its CSV export.
Thin: parse the request, call a service, render."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from trialdesk.audit_viewer import viewer
from trialdesk.audit_viewer.imported import imported_history
from trialdesk.studies.access import Permission
from trialdesk.studies.listing import ListFilter
from trialdesk.studies.models import Site
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


def _listing(request, scope: viewer.TrailScope) -> ListFilter:
    """The trail's filters, the shared list filters (studies.listing): the site (the study-wide
    trail only: a site's, a subject's or a record's trail is of one site), the user, the action,
    the field and the days (in the study's time zone). Their choices are what the scope's events
    hold: a value outside them (a user of a site out of scope) is named and not applied."""
    sites = []
    if scope.kind == "study":
        sites = [
            s
            for s in Site.objects.filter(study=scope.study).order_by("code")
            if s.pk in scope.access.site_ids
        ]
    users = viewer.choices_in(scope.events, "username")
    listing = ListFilter(
        request,
        sites=sites,
        date_label=_("Date of the event"),
        per_page=viewer.PAGE_SIZE,
        choices=[
            ("user", _("User"), [(u, u) for u in users], _("Every user")),
            (
                "action",
                _("Action"),
                viewer.action_choices(viewer.choices_in(scope.events, "action")),
                _("Every action"),
            ),
            (
                "field",
                _("Field"),
                viewer.field_choices(scope.study, viewer.choices_in(scope.events, "field")),
                _("Every field"),
            ),
        ],
    )
    if "user" in listing.form.fields:  # user names, never translated
        listing.form.fields["user"].widget.attrs["translate"] = "no"
    return listing


def _filtered(listing: ListFilter, scope: viewer.TrailScope) -> tuple[viewer.TrailScope, dict]:
    """The scope narrowed to the chosen site, and the viewer's filters (the CSV records them)."""
    filters = {
        "user": listing.value("user"),
        "action": listing.value("action"),
        "field": listing.value("field"),
        "date_from": listing.date_from,
        "date_to": listing.date_to,
    }
    if listing.site:
        site = Site.objects.get(study=scope.study, code=listing.site, pk__in=scope.access.site_ids)
        scope = replace(scope, events=scope.events.filter(site_id=site.pk))
        filters["site"] = site.code
    return scope, {k: v for k, v in filters.items() if v}


@require_GET
@login_required
def trail(request, kind: str, key=None):
    scope = _scope(request, kind, key)
    listing = _listing(request, scope)
    shown, filters = _filtered(listing, scope)
    events = viewer.apply_filters(shown.events, filters).order_by("-sequence")
    page = listing.paginate(events)
    masker = viewer.Masker(scope.study, scope.pseudonymised)
    query = urlencode(listing.params)
    context = {
        "scope": scope,
        "listing": listing,
        "page": page,
        "rows": viewer.present_page(page.object_list, masker, scope.study),
        "scope_label": viewer.readable_label(scope.label, scope.study.protocol),
        "csv_url": _csv_url(scope) + (f"?{query}" if query else ""),
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
    listing = _listing(request, scope)
    if listing.errors:  # named on the page, where the filters are corrected; nothing exported
        return redirect(f"{_url(scope)}?{request.GET.urlencode()}")
    shown, filters = _filtered(listing, scope)
    lines = viewer.start_export(request.user, shown, filters)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-{scope.slug}-{stamp}.csv"'
    return response
