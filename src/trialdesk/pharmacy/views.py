"""Drug accountability pages: per site (stock by lot, movements, verifications, its CSV), the
forms of a shipment and of a return or destruction, the monitor's verification, and the
study-wide summary. A site outside the user's scope is not found (404)."""

from __future__ import annotations

import csv
import datetime as dt
import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from trialdesk.audit.services import Actor, audited, record
from trialdesk.pharmacy.accountability import (
    EXPORT_COLUMNS,
    accountability_data,
    dose_fields,
    export_rows,
)
from trialdesk.pharmacy.models import DisposalKind
from trialdesk.pharmacy.services import (
    COMMENT_MAX,
    LOT_MAX,
    TEXT_MAX,
    VIALS_MAX,
    SupplyRefused,
    record_disposal,
    record_shipment,
    verify_accountability,
)
from trialdesk.studies.access import Permission, require, study_access
from trialdesk.studies.listing import ListFilter
from trialdesk.studies.models import Site
from trialdesk.studies.services import request_study


def _site(request, site_code: str):
    """The site of the URL if the user sees it (404 otherwise), with the user's access."""
    study = request_study(request)
    access = study_access(request.user, study)
    site = (
        Site.objects.filter(study=study, code=site_code, pk__in=access.site_ids)
        .select_related("study")
        .first()
    )
    if site is None:
        raise Http404
    require(access, Permission.VIEW_CLINICAL_DATA, site.pk)
    return study, access, site


class _DateInput(forms.DateInput):
    input_type = "date"

    def format_value(self, value):
        return value.isoformat() if hasattr(value, "isoformat") else value


class ShipmentForm(forms.Form):
    received_on = forms.DateField(label=_("Date received"), widget=_DateInput)
    lot_number = forms.CharField(label=_("Lot number"), max_length=LOT_MAX)
    vials = forms.IntegerField(label=_("Vials received"), min_value=1, max_value=VIALS_MAX)
    expires_on = forms.DateField(label=_("Expiry date"), widget=_DateInput)
    comment = forms.CharField(
        label=_("Comment"), max_length=TEXT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class DisposalForm(forms.Form):
    on = forms.DateField(label=_("Date"), widget=_DateInput)
    kind = forms.ChoiceField(label=_("Movement"), choices=DisposalKind.choices)
    lot_number = forms.ChoiceField(label=_("Lot number"))
    vials = forms.IntegerField(label=_("Vials"), min_value=1, max_value=VIALS_MAX)
    reason = forms.CharField(label=_("Reason"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, lots: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lot_number"].choices = [(lot, lot) for lot in lots]


class VerificationForm(forms.Form):
    verified_on = forms.DateField(label=_("Date of the verification"), widget=_DateInput)
    seen_balance = forms.IntegerField(widget=forms.HiddenInput)
    comment = forms.CharField(
        label=_("Comment"), max_length=COMMENT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


def _site_context(request, study, access, site, **extra):
    (data,) = accountability_data(study, [site.pk], pseudonymised=access.pseudonymised)
    can_manage = access.can(Permission.MANAGE_DRUG_SUPPLY, site.pk)
    can_verify = access.can(Permission.VERIFY_DRUG_ACCOUNTABILITY, site.pk)
    verify_form = extra.pop("verify_form", None)
    if verify_form is None and can_verify:
        verify_form = VerificationForm(initial={"verified_on": site.today(), "seen_balance": data.balance})
    dispensed: dict[str, list] = {}
    for row in data.dispensings:
        dispensed.setdefault(row.lot, []).append(row)
    # lot by lot in the order they were received, each lot's doses in the order given
    dispensed_by_lot = [
        (
            lot.lot,
            sorted(dispensed[lot.lot], key=lambda r: (r.on or dt.date.min, r.subject, r.repeat)),
            sum(r.vials for r in dispensed[lot.lot]),
        )
        for lot in data.lots
        if lot.lot in dispensed
    ]
    fields = dose_fields(study.protocol)
    return {
        "site": site,
        "data": data,
        "dispensed_by_lot": dispensed_by_lot,
        "dose_form": fields[0] if fields else "",
        "kinds": dict(DisposalKind.choices),
        "can_manage": can_manage,
        "can_verify": can_verify,
        "verify_form": verify_form,
        "show_names": not access.pseudonymised,
        **extra,
    }


@login_required
def site_accountability(request, site_code: str):
    study, access, site = _site(request, site_code)
    return render(request, "pharmacy/site.html", _site_context(request, study, access, site))


@login_required
def shipment_new(request, site_code: str):
    study, access, site = _site(request, site_code)
    require(access, Permission.MANAGE_DRUG_SUPPLY, site.pk)
    form = ShipmentForm(request.POST or None, initial={"received_on": site.today()})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                record_shipment(request.user, site, **form.cleaned_data)
            except SupplyRefused as refusal:
                form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
            else:
                messages.success(request, _("The shipment is recorded."))
                return redirect("pharmacy:site", site_code=site.code)
        status = 400
    return render(request, "pharmacy/shipment_form.html", {"site": site, "form": form}, status=status)


@login_required
def disposal_new(request, site_code: str):
    study, access, site = _site(request, site_code)
    require(access, Permission.MANAGE_DRUG_SUPPLY, site.pk)
    (data,) = accountability_data(study, [site.pk])
    lots = [lot.lot for lot in data.lots if lot.received and lot.balance > 0]  # what can still leave
    form = DisposalForm(request.POST or None, lots=lots, initial={"on": site.today()})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                record_disposal(request.user, site, **form.cleaned_data)
            except SupplyRefused as refusal:
                form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
            else:
                messages.success(request, _("The return or destruction is recorded."))
                return redirect("pharmacy:site", site_code=site.code)
        status = 400
    return render(
        request, "pharmacy/disposal_form.html", {"site": site, "form": form, "data": data}, status=status
    )


@login_required
@require_POST
def verify(request, site_code: str):
    study, access, site = _site(request, site_code)
    require(access, Permission.VERIFY_DRUG_ACCOUNTABILITY, site.pk)
    form = VerificationForm(request.POST)
    if form.is_valid():
        try:
            verify_accountability(request.user, site, **form.cleaned_data)
        except SupplyRefused as refusal:
            form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
        else:
            messages.success(request, _("The accountability of this site is verified."))
            return redirect("pharmacy:site", site_code=site.code)
    messages.error(request, _("The verification was not recorded."))
    context = _site_context(request, study, access, site, verify_form=form)
    return render(request, "pharmacy/site.html", context, status=400)


def _csv(request, study, access, sites, slug: str) -> HttpResponse:
    data = accountability_data(study, [s.pk for s in sites], pseudonymised=access.pseudonymised)
    rows = export_rows(data)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    with audited():
        site = sites[0] if len(sites) == 1 else None
        record(
            Actor.for_user(
                request.user, access.role_for(Permission.VIEW_CLINICAL_DATA, site.pk if site else None)
            ),
            "export",
            study_id=study.pk,
            site=site,
            object_type="drug_accountability",
            object_id=slug,
            object_label=f"drug accountability {slug} (CSV)",
            new_value={"rows": len(rows)},
        )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="accountability-{slug}-{stamp}.csv"'
    return response


@login_required
def site_accountability_csv(request, site_code: str):
    study, access, site = _site(request, site_code)
    return _csv(request, study, access, [site], site.code)


def _summary_sites(request):
    study = request_study(request)
    access = study_access(request.user, study)
    sites = [
        s
        for s in Site.objects.filter(study=study, pk__in=access.site_ids).order_by("code")
        if access.can(Permission.VIEW_CLINICAL_DATA, s.pk)
    ]
    if not sites:
        raise Http404
    return study, access, sites


@login_required
def summary(request):
    study, access, sites = _summary_sites(request)
    listing = ListFilter(
        request,
        sites=sites,
        statuses=[
            ("never", _("Never verified")),
            ("moved", _("Moved since the last verification")),
            ("verified", _("Verified, no movement since")),
        ],
    )
    sites = listing.apply(sites, site=lambda s: s.code)
    data = accountability_data(study, [s.pk for s in sites], pseudonymised=access.pseudonymised)
    data = listing.apply(data, status=_verification_state)
    totals = {
        name: sum(getattr(site, name) for site in data)
        for name in ("received", "dispensed", "returned", "destroyed", "balance", "usable")
    }
    context = {"sites": listing.paginate(data), "totals": totals, "listing": listing}
    return render(request, "pharmacy/summary.html", context)


def _verification_state(site) -> str:
    if site.last_verification is None:
        return "never"
    return "moved" if site.moved_since_verification else "verified"


@login_required
def summary_csv(request):
    study, access, sites = _summary_sites(request)
    return _csv(request, study, access, sites, "study")
