"""Safety pages: the SAE list (every site for the safety officer, pseudonymised), one SAE
(acknowledgement, expectedness, the CIOMS I PDF), the study's adverse events with the
infusion reactions and cardiac events marked. Parse the request, call a service, render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.translation import gettext as _

from trialdesk.crf import display
from trialdesk.crf.models import FormRecord
from trialdesk.crf.rendering import localised
from trialdesk.safety import services
from trialdesk.safety.models import Expectedness
from trialdesk.studies.access import Permission, study_access
from trialdesk.studies.listing import ListFilter
from trialdesk.studies.models import Site
from trialdesk.studies.services import request_study

FILTERS = ("all", "unacknowledged", "susar")


def _highlight_labels(protocol) -> dict[str, str]:
    safety = protocol.safety
    return {h.code: localised(h, "label") for h in (safety.highlights if safety else [])}


@login_required
def sae_list(request):
    study = request_study(request)
    rows = services.sae_rows(request.user, study)
    shown = request.GET.get("show", "all")
    if shown not in FILTERS:
        shown = "all"
    if shown == "unacknowledged":
        rows = [r for r in rows if r.report.acknowledged_at is None]
    elif shown == "susar":
        rows = [r for r in rows if r.susar]
    access = study_access(request.user, study)
    listing = ListFilter(
        request,
        sites=Site.objects.filter(study=study, pk__in=access.site_ids).order_by("code"),
        date_label=_("Start date"),
        keep={"show": shown} if shown != "all" else {},
    )
    rows = listing.paginate(listing.apply(rows, site=lambda r: r.subject.site.code, date=lambda r: r.onset))
    return render(
        request,
        "safety/sae_list.html",
        {
            "study": study,
            "rows": rows,
            "listing": listing,
            "shown": shown,
            "filters": [
                ("all", _("All")),
                ("unacknowledged", _("Not acknowledged")),
                ("susar", _("SUSARs")),
            ],
            "highlight_labels": _highlight_labels(study.protocol),
            "can_assess": access.can(Permission.ASSESS_SAE),
            "pseudonymised": access.pseudonymised,
        },
    )


@login_required
def sae_detail(request, report_id: int):
    study = request_study(request)
    row = services.sae_row(request.user, study, report_id)
    access = study_access(request.user, study)
    can_assess = access.can(Permission.ASSESS_SAE, row.subject.site_id)
    status = 200
    if request.method == "POST":
        if not can_assess:
            raise Http404
        action = request.POST.get("action", "")
        try:
            if action == "acknowledge":
                services.acknowledge(request.user, row.report)
                messages.success(
                    request, _("Acknowledged: the sponsor is aware of this serious adverse event.")
                )
            elif action == "assess":
                services.assess_expectedness(
                    request.user,
                    row.report,
                    request.POST.get("expectedness", ""),
                    request.POST.get("note", ""),
                )
                messages.success(request, _("Expectedness recorded."))
            else:
                raise services.SafetyActionRefused(_("Unknown action."))
        except services.SafetyActionRefused as refusal:
            messages.error(request, refusal.message)
            status = 400
        else:
            return redirect("safety:sae", report_id=row.report.pk)
    protocol = study.protocol
    form = protocol.form(row.record.form_code)
    fields = _described_fields(form, row.record.data)
    return render(
        request,
        "safety/sae_detail.html",
        {
            "study": study,
            "row": row,
            "form": form,
            "fields": fields,
            "data": row.record.data,
            "can_assess": can_assess,
            "expectedness_choices": Expectedness.choices,
            "highlight_labels": _highlight_labels(protocol),
            # a verbatim title (the product's SmPC), inside a translated sentence
            "reference": format_html(
                '<cite lang="en" translate="no">{}</cite>', protocol.safety.reference_document
            ),
            "pseudonymised": access.pseudonymised,
            "can_open_record": access.can(Permission.VIEW_CLINICAL_DATA, row.subject.site_id),
        },
        status=status,
    )


def _described_fields(form, data) -> list:
    """The event's fields with a value, less the term and what it filled from the CTCAE list
    (shown once, from the list, at the top)."""
    from_list = {c for f in form.fields if f.ctcae for c in (f.ctcae.meddra_field, f.ctcae.soc_field) if c}
    return [
        f
        for f in form.fields
        if data.get(f.code) not in (None, "") and f.type != "ctcae_term" and f.code not in from_list
    ]


def cioms_context(request, row) -> dict:
    """What the CIOMS I form shows (also what a test reads: the PDF is made from it)."""
    study = request_study(request)
    protocol = study.protocol
    access = study_access(request.user, study)
    subject = row.subject
    form = protocol.form(row.record.form_code)
    data = row.record.data
    reads = FormRecord.objects.for_user(request.user, study).filter(
        subject=subject, visit=None, voided_at__isnull=True
    )

    def log(concept: str) -> list:
        if not protocol.has_concept(concept):
            return []
        code = protocol.concept_form(concept)
        return [r for r in reads if r.form_code == code]

    meds = [
        {
            "name": r.data.get(protocol.concept_field("medication_name", r.form_code)),
            "start": r.data.get(protocol.concept_field("medication_started_on", r.form_code)),
            "stop": r.data.get(protocol.concept_field("medication_stopped_on", r.form_code)),
        }
        for r in log("medication_started_on")
    ]
    history = [
        {
            "name": r.data.get(protocol.concept_field("history_condition", r.form_code)),
            "start": r.data.get(protocol.concept_field("history_started_on", r.form_code)),
            "current": r.data.get(protocol.concept_field("history_ongoing", r.form_code)),
        }
        for r in log("history_started_on")
    ]
    doses = sorted(
        d
        for d in (r.data.get(protocol.concept_field("dose_date", r.form_code)) for r in log("dose_date"))
        if d
    )
    intervention = next((i for i in protocol.interventions if i.dose_rules is not None), None)

    def criterion(concept: str) -> bool:
        return protocol.has_concept(concept) and protocol.read_concept(concept, form.code, data) is True

    described = [
        (display.field_label(form, f.code), display.display_value(form, f.code, data.get(f.code)))
        for f in _described_fields(form, data)
    ]
    return {
        "study": study,
        "row": row,
        "form": form,
        "data": data,
        "described": described,
        "pseudonymised": access.pseudonymised,
        "initials": "" if access.pseudonymised else subject.initials,
        "country": next((s.country for s in protocol.sites if s.code == subject.site.code), ""),
        "criteria": {
            "died": criterion("seriousness_death"),
            "hospitalisation": criterion("seriousness_hospitalisation"),
            "disability": criterion("seriousness_disability"),
            "life_threatening": criterion("seriousness_life_threatening"),
            "congenital": criterion("seriousness_congenital_anomaly"),
            "medically_important": criterion("seriousness_medically_important"),
        },
        "intervention": intervention,
        "first_dose": doses[0] if doses else None,
        "last_dose": doses[-1] if doses else None,
        "meds": meds,
        "history": history,
        "today": dt.date.today(),
        "sponsor": protocol.identification.sponsor,
        "highlight_labels": _highlight_labels(protocol),
    }


def cioms_html(request, row) -> str:
    return render_to_string("safety/cioms.html", cioms_context(request, row), request=request)


@login_required
def cioms_pdf(request, report_id: int):
    from weasyprint import HTML

    study = request_study(request)
    row = services.sae_row(request.user, study, report_id)
    html = cioms_html(request, row)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="CIOMS-{study.nct_id}-SAE{row.report.pk}.pdf"'
    return response


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@login_required
def ae_list(request):
    study = request_study(request)
    access = study_access(request.user, study)
    site_code = request.GET.get("site", "")
    if site_code and not Site.objects.filter(study=study, code=site_code, pk__in=access.site_ids).exists():
        raise Http404
    protocol = study.protocol
    form = protocol.form(services.ae_form_code(protocol))
    onset_field = protocol.concept_field("adverse_event_onset", form.code)
    sites = Site.objects.filter(study=study, pk__in=access.site_ids).order_by("code")
    listing = ListFilter(request, sites=sites, date_label=display.field_label(form, onset_field))
    rows = services.ae_rows(request.user, study, site_code or listing.site or "")
    rows = listing.apply(rows, date=lambda r: _as_date(r.data.get(onset_field)))
    labels = _highlight_labels(protocol)
    counts = {code: sum(1 for r in rows if code in r.highlights) for code in labels}
    return render(
        request,
        "safety/ae_list.html",
        {
            "study": study,
            "rows": rows,
            "page": listing.paginate(rows),
            "listing": listing,
            "form": form,
            "highlight_labels": labels,
            "highlight_counts": [(code, labels[code], counts[code]) for code in labels],
            "serious_count": sum(1 for r in rows if r.serious),
            "sites": sites,
            "site_code": site_code,
            "can_open_record": access.can(Permission.VIEW_CLINICAL_DATA),
            "onset_field": onset_field,
            "related_field": protocol.choice_concept(protocol.safety.related_causalities[0]).field
            if protocol.safety.related_causalities
            else None,
        },
    )
