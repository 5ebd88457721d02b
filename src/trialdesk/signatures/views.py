"""Pages of electronic signatures: signing a casebook or a visit, and the casebooks to sign.
Thin: parse the request, call a service, render."""

from __future__ import annotations

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from trialdesk.signatures.services import (
    SignatureRefused,
    casebooks_to_sign,
    meaning_for,
    printed_name,
    records_to_sign,
    sign,
)
from trialdesk.studies.access import Permission, get_visible_or_404, require, study_access
from trialdesk.studies.listing import ListFilter
from trialdesk.studies.models import Site
from trialdesk.studies.services import request_study
from trialdesk.subjects.models import Subject

# --------------------------------------------------------------------------- signatures


def _form_title(protocol, code: str) -> str:
    try:
        form = protocol.form(code)
    except KeyError:
        return code
    return (form.title_fr if translation.get_language() == "fr" and form.title_fr else form.title) or code


def signing_warnings(user, subject: Subject, records) -> dict:
    """What the signer should see before signing: the forms not complete and the queries
    not resolved among the records signed. Queries are read through the app registry
    (signatures and queries are sibling layers: neither imports the other)."""
    protocol = subject.study.protocol
    incomplete = [
        {"record": r, "title": _form_title(protocol, r.form_code)} for r in records if r.status != "complete"
    ]
    by_id = {r.pk: r for r in records}
    Query = apps.get_model("queries", "Query")
    open_queries = [
        {"query": q, "record": by_id[q.record_id], "title": _form_title(protocol, by_id[q.record_id].form_code)}
        for q in Query.objects.for_user(user, subject.study)
        .filter(record_id__in=list(by_id), status__in=("open", "answered"))
        .order_by("raised_at", "pk")
    ]
    return {"incomplete": incomplete, "open_queries": open_queries}


def _casebook(subject: Subject):
    return redirect("subject-casebook", subject_id=subject.pk)


@require_http_methods(["GET", "POST"])
@login_required
def sign_page(request, subject_id: int):
    study = request_study(request)
    subject = get_visible_or_404(
        Subject.objects.select_related("site", "study"), request.user, study, pk=subject_id
    )
    require(study_access(request.user, study), Permission.SIGN, subject.site_id)
    visit_code = (request.POST.get("visit") or request.GET.get("visit") or "").strip()
    visit = None
    if visit_code:
        visit = subject.visits.filter(code=visit_code).first()
        if visit is None:
            raise Http404
    records = records_to_sign(request.user, subject, visit)
    warnings = signing_warnings(request.user, subject, records)
    if request.method == "POST" and (warnings["incomplete"] or warnings["open_queries"]) and not request.POST.get(
        "reviewed"
    ):
        messages.error(
            request,
            _("Some forms are incomplete or have open queries: tick “I have reviewed these” to sign anyway."),
        )
        status = 400
    elif request.method == "POST":
        try:
            signature = sign(request.user, subject, password=request.POST.get("password", ""), visit=visit)
        except SignatureRefused as refusal:
            messages.error(request, refusal.message)
            status = 400
        else:
            messages.success(
                request,
                _("Signed by %(name)s: “%(meaning)s”.")
                % {"name": signature.printed_name, "meaning": signature.get_meaning_display()},
            )
            return _casebook(subject)
    else:
        status = 200
    context = {
        "subject": subject,
        "visit": visit,
        "meaning": meaning_for(visit).label,
        "printed_name": printed_name(request.user),
        "records": records,
        "warnings": warnings,
    }
    return render(request, "signatures/sign.html", context, status=status)


@require_GET
@login_required
def to_sign_page(request):
    study = request_study(request)
    access = study_access(request.user, study)
    if not access.can(Permission.SIGN):
        raise PermissionDenied
    items = casebooks_to_sign(request.user, study)
    signing_sites = [
        site
        for site in Site.objects.filter(study=study, pk__in=access.site_ids).order_by("code")
        if access.can(Permission.SIGN, site.pk)
    ]
    listing = ListFilter(
        request,
        sites=signing_sites,
        statuses=[("voided", _("Signature voided")), ("never_signed", _("Never signed"))],
        date_label=_("Enrolled"),
    )
    items = listing.apply(
        items,
        site=lambda item: item.subject.site.code,
        status=lambda item: item.reason,
        date=lambda item: item.subject.enrolled_on,
    )
    context = {"items": listing.paginate(items), "count": len(items), "listing": listing}
    return render(request, "signatures/to_sign.html", context)
