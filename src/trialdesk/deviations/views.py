"""Deviation listings (per site and overall, with their CSV), a deviation's acknowledgement,
and the site's morning worklist. A site or subject outside the user's scope is not found (404)."""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from trialdesk.deviations.labels import KIND_LABELS, STATUS_LABELS, item_title, rule_label, translated
from trialdesk.deviations.services import (
    AcknowledgementRefused,
    acknowledge,
    deviation_rows,
    exposure_summary,
    treated_subjects,
    treatments,
    worklist,
)
from trialdesk.studies.access import Permission, get_visible_or_404, require, study_access
from trialdesk.studies.listing import ListFilter
from trialdesk.studies.models import Site
from trialdesk.studies.services import request_study
from trialdesk.subjects.models import Subject


def _site(request, site_code: str):
    study = request_study(request)
    access = study_access(request.user, study)
    site = Site.objects.filter(study=study, code=site_code, pk__in=access.site_ids).first()
    if site is None:
        raise Http404
    require(access, Permission.VIEW_CLINICAL_DATA, site.pk)
    return study, access, site


def _study(request):
    study = request_study(request)
    access = study_access(request.user, study)
    if not access.site_ids:
        raise Http404
    require(access, Permission.VIEW_CLINICAL_DATA)
    return study, access


def _rows(rows, access):
    shown = []
    for row in rows:
        d = row.deviation
        shown.append(
            {
                "subject": row.subject,
                "key": d.key,
                "rule": rule_label(d.rule),
                "on": d.on,
                "explanation": translated(d.explanation),
                "link": row.link,
                "ack": row.acknowledgement,
                "can_acknowledge": access.can(Permission.ACKNOWLEDGE_DEVIATION, row.subject.site_id),
            }
        )
    return shown


def _listing(request, study, access, site):
    computed = treatments(request.user, study, treated_subjects(request.user, study, site))
    rows = _rows(deviation_rows(request.user, study, site, computed=computed), access)
    listing = ListFilter(
        request,
        sites=[] if site else Site.objects.filter(study=study, pk__in=access.site_ids).order_by("code"),
        statuses=[("open", _("Deviations to acknowledge")), ("acknowledged", _("Acknowledged deviations"))],
        date_label=_("Date"),
    )
    rows = listing.apply(
        rows,
        site=lambda r: r["subject"].site.code,
        status=lambda r: "open" if r["ack"] is None else "acknowledged",
        date=lambda r: r["on"],
    )
    summary = exposure_summary(computed)
    context = {
        "summary": summary,
        "median_intensity_pct": None
        if summary.median_dose_intensity is None
        else round(100 * summary.median_dose_intensity),
        "site": site,
        "rows": rows,
        "listing": listing,
        "page": listing.paginate(rows),
        "open_count": sum(1 for r in rows if r["ack"] is None),
        "csv_url": reverse("deviations:site-csv", args=[site.code]) if site else reverse("deviations:csv"),
        "next": request.get_full_path(),
    }
    return render(request, "deviations/list.html", context)


@require_GET
@login_required
def study_deviations(request):
    study, access = _study(request)
    return _listing(request, study, access, None)


@require_GET
@login_required
def site_deviations(request, site_code: str):
    study, access, site = _site(request, site_code)
    return _listing(request, study, access, site)


CSV_COLUMNS = [
    "site",
    "subject",
    "key",
    "rule",
    "date",
    "explanation",
    "acknowledged_at",
    "acknowledged_by",
    "acknowledged_role",
    "comment",
]


def _csv(request, study, access, site, filename: str):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in deviation_rows(request.user, study, site):
        d, ack = row.deviation, row.acknowledgement
        writer.writerow(
            [
                row.subject.site.code,
                row.subject.label,
                d.key,
                d.rule,
                d.on.isoformat() if d.on else "",
                str(d.explanation),
                ack.acknowledged_at.isoformat() if ack else "",
                ack.acknowledged_by.username if ack else "",
                ack.acknowledged_role if ack else "",
                ack.comment if ack else "",
            ]
        )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@login_required
def study_deviations_csv(request):
    study, access = _study(request)
    return _csv(request, study, access, None, f"{study.nct_id}-deviations.csv")


@require_GET
@login_required
def site_deviations_csv(request, site_code: str):
    study, access, site = _site(request, site_code)
    return _csv(request, study, access, site, f"{study.nct_id}-{site.code}-deviations.csv")


@require_POST
@login_required
def acknowledge_deviation(request, subject_id: int):
    study = request_study(request)
    subject = get_visible_or_404(
        Subject.objects.select_related("site", "study"), request.user, study, pk=subject_id
    )
    access = study_access(request.user, study)
    require(access, Permission.ACKNOWLEDGE_DEVIATION, subject.site_id)
    key = request.POST.get("key", "")
    try:
        acknowledge(request.user, subject, key, request.POST.get("comment", ""))
    except AcknowledgementRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("Deviation acknowledged."))
    target = request.POST.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = reverse("deviations:site", args=[subject.site.code])
    return redirect(target)


@require_GET
@login_required
def site_worklist(request, site_code: str):
    study, access, site = _site(request, site_code)
    work = worklist(request.user, study, site)

    def shown(entries):
        return [
            {
                "subject": s,
                "kind": KIND_LABELS.get(i.kind, ""),
                "title": item_title(study.protocol, i),
                "due_on": i.due_on,
                "window_start": i.window_start,
                "window_end": i.window_end,
                "status": STATUS_LABELS.get(i.status, ""),
                "explanation": translated(i.explanation),
                "overdue": i.status == "overdue",
            }
            for s, i in entries
        ]

    context = {
        "site": site,
        "today": work.today,
        "sections": [
            ("overdue", _("Overdue"), shown(work.overdue)),
            ("today", _("Due today"), shown(work.due_today)),
            ("week", _("This week"), shown(work.this_week)),
        ],
    }
    return render(request, "deviations/worklist.html", context)
