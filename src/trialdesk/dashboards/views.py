"""The dashboard page and its charts (SVG images served here, with their own content type)."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from trialdesk.dashboards import charts, presentation, services
from trialdesk.studies.access import study_access
from trialdesk.studies.services import request_study

#: the policy of an SVG image document: its own inline styles (matplotlib's), nothing else
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


def _as_of(request, *, quiet: bool) -> dt.date:
    today = services.default_as_of()
    raw = request.GET.get("as_of", "").strip()
    if not raw:
        return today
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        if not quiet:
            messages.warning(request, _("Not a date: %(value)s. Showing today.") % {"value": raw[:20]})
        return today
    if day > today:
        if not quiet:
            messages.warning(request, _("The figures cannot be dated in the future. Showing today."))
        return today
    return day


def _site(request) -> str | None:
    return request.GET.get("site", "").strip()[:8] or None


def _dashboard(request, *, quiet: bool):
    study = request_study(request)
    site_code = _site(request)
    as_of = _as_of(request, quiet=quiet)
    try:
        data, key = services.dashboard(request.user, study, site_code=site_code, as_of=as_of)
    except services.NotVisible:
        raise Http404 from None
    return study, site_code, as_of, data, key


def _version(key: str) -> str:
    return hashlib.sha256(f"{key}|{get_language()}".encode()).hexdigest()[:16]


@login_required
def page(request):
    study, site_code, as_of, data, key = _dashboard(request, quiet=False)
    access = study_access(request.user, study)
    sites = list(study.sites.filter(pk__in=access.site_ids).order_by("code"))
    query = {"as_of": as_of.isoformat(), "v": _version(key)}
    if site_code:
        query["site"] = site_code
    sections = presentation.sections(data, study.protocol, {s.code: s.name for s in sites})
    for section in sections:
        section.src = f"chart.svg?{urlencode({'name': section.name, **query})}"
    context = {
        "data": data,
        "sections": sections,
        "sites": sites,
        "site_code": site_code or "",
        "as_of": as_of,
        "today": services.default_as_of(),
    }
    return render(request, "dashboards/page.html", context)


@login_required
def chart_svg(request):
    name = request.GET.get("name", "")
    if name not in charts.CHART_NAMES:
        raise Http404
    _study, _site_code, _as_of_day, data, key = _dashboard(request, quiet=True)
    cache_key = f"{key}:{name}:{get_language()}"
    svg = cache.get(cache_key)
    if svg is None:
        chart = charts.chart(name, data)
        if chart is None:
            raise Http404
        svg = chart.svg
        cache.set(cache_key, svg, services.CACHE_SECONDS)
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    response["Content-Security-Policy"] = SVG_POLICY
    response["Cache-Control"] = "private, max-age=600"
    response["Content-Language"] = get_language()
    return response
