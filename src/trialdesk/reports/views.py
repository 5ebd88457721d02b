"""The recruitment dashboard: figures of the user's sites, the plan and the forecast."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trialdesk.reports import charts
from trialdesk.reports.recruitment import recruitment_report, shows_warning, warning_probability
from trialdesk.studies.access import study_access
from trialdesk.studies.models import Site
from trialdesk.studies.services import request_study


def _as_of(request, today: dt.date) -> dt.date:
    raw = request.GET.get("as_of", "").strip()
    if not raw:
        return today
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        messages.warning(request, _("Not a date: %(value)s. Showing today.") % {"value": raw[:20]})
        return today
    if day > today:
        messages.warning(request, _("The figures cannot be dated in the future. Showing today."))
        return today
    return day


def _percent(probability: float | None) -> str | None:
    return None if probability is None else f"{probability * 100:.0f} %"


def _may_read_analysis(access) -> bool:
    from trialdesk.reports.analysis_report import may_read

    return may_read(access)


@login_required
def recruitment(request):
    study = request_study(request)
    access = study_access(request.user, study)
    if not access.site_ids:
        raise Http404
    today = timezone.localdate()
    as_of = _as_of(request, today)
    site_code = request.GET.get("site", "").strip() or None
    try:
        report = recruitment_report(request.user, study, as_of, site_code)
    except LookupError:
        raise Http404 from None
    threshold = warning_probability()
    forecast = report.forecast
    fan = charts.forecast_fan_chart(report)
    context = {
        "report": report,
        "forecast": forecast,
        "threshold": threshold,
        "warning": shows_warning(report, access, threshold),
        "probability_percent": _percent(forecast.probability_by_planned_end if forecast else None),
        "threshold_percent": _percent(threshold),
        "enrollment_chart": charts.cumulative_enrollment_chart(report).img_tag(),
        "fan_chart": fan.img_tag() if fan else None,
        "site_choices": Site.objects.filter(study=study, pk__in=access.site_ids).order_by("code"),
        "site_code": site_code or "",
        "today": today,
        "reads_analysis": _may_read_analysis(access),
    }
    return render(request, "reports/recruitment.html", context)


# --------------------------------------------------------------------------- the analysis report


def _reader_of(request, *, safety_only: bool) -> tuple:
    """The study and the user's access when they may read the report (404 otherwise)."""
    from trialdesk.reports.analysis_report import may_read

    study = request_study(request)
    access = study_access(request.user, study)
    if not may_read(access, safety_only=safety_only):
        raise Http404
    return study, access


def _analysis_page(request, *, safety_only: bool):
    from trialdesk.datacut import trial_today
    from trialdesk.datacut.cache import viewer_analysis
    from trialdesk.reports.analysis_report import may_read, report_context

    study, access = _reader_of(request, safety_only=safety_only)
    # the viewer's analysis, recomputed only after a write (the audit head is in its key)
    found, _key = viewer_analysis(study, request.user, cutoff=trial_today(), access=access)
    context = report_context(found.analysis, study.protocol, safety_only=safety_only)
    context["can_read_full"] = may_read(access)
    context["web"] = True  # counts open on the subjects they count
    from trialdesk.jobs.views import jobs_context
    from trialdesk.reports.tasks import REPORT_KIND, SAFETY_REPORT_KIND

    context["report_kind"] = SAFETY_REPORT_KIND if safety_only else REPORT_KIND
    context.update(jobs_context(request.user, study))
    return render(request, "reports/analysis/page.html", context)


@login_required
def analysis_report(request):
    return _analysis_page(request, safety_only=False)


@login_required
def safety_report(request):
    return _analysis_page(request, safety_only=True)


@login_required
@require_POST
def report_download(request, kind: str):
    """Ask for the report's files (HTML and PDF, zipped) up to today: a background job of the
    user's, listed on the report page with its progress, downloaded from there once written."""
    from trialdesk.jobs.services import submit
    from trialdesk.reports.tasks import REPORT_TASK, SAFETY_REPORT_KIND, permission_for

    safety_only = kind == SAFETY_REPORT_KIND
    study, _access = _reader_of(request, safety_only=safety_only)
    submit(
        request.user,
        study,
        kind,
        {},
        task=REPORT_TASK,
        title=_("Safety report (HTML and PDF, zip)")
        if safety_only
        else _("Analysis report (HTML and PDF, zip)"),
        permission=permission_for(safety_only),
        language=get_language() or "en",
    )
    messages.success(
        request,
        _(
            "The report is being written: it is listed below with its progress; download it from there once ready."
        ),
    )
    return redirect(reverse("safety_report" if safety_only else "analysis_report") + "#jobs")
