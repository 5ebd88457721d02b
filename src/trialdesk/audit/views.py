"""Pages of the audit app: the audit viewer and its CSV export, signing, the casebooks
to sign, and locks. Thin: parse the request, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from trialdesk.audit import locks as lock_services
from trialdesk.audit import viewer
from trialdesk.audit.signatures import (
    SignatureRefused,
    casebooks_to_sign,
    meaning_for,
    printed_name,
    records_to_sign,
    sign,
)
from trialdesk.crf.models import FormRecord
from trialdesk.studies.access import Permission, get_visible_or_404, require, study_access
from trialdesk.studies.models import Site, Study
from trialdesk.studies.services import current_study
from trialdesk.subjects.models import Subject

# --------------------------------------------------------------------------- audit viewer


def _study() -> Study:
    study = current_study()
    if study is None:
        raise Http404
    return study


def _scope(request, kind: str, key) -> viewer.TrailScope:
    study = _study()
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
        "rows": [viewer.present(event, masker) for event in page.object_list],
        "users": viewer.choices_in(scope.events, "username"),
        "fields": viewer.choices_in(scope.events, "field"),
        "actions": viewer.choices_in(scope.events, "action"),
        "query": query.urlencode(),
        "csv_url": _csv_url(scope) + (f"?{query.urlencode()}" if query else ""),
    }
    return render(request, "audit/trail.html", context)


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


# --------------------------------------------------------------------------- signatures


def _casebook(subject: Subject):
    return redirect("subject-casebook", subject_id=subject.pk)


@require_http_methods(["GET", "POST"])
@login_required
def sign_page(request, subject_id: int):
    study = _study()
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
    if request.method == "POST":
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
        "records": records_to_sign(request.user, subject, visit),
    }
    return render(request, "audit/sign.html", context, status=status)


@require_GET
@login_required
def to_sign_page(request):
    study = _study()
    access = study_access(request.user, study)
    if not access.can(Permission.SIGN):
        raise PermissionDenied
    return render(request, "audit/to_sign.html", {"items": casebooks_to_sign(request.user, study)})


# --------------------------------------------------------------------------- locks


def _lock_target(request, level: str, pk: int):
    study = _study()
    user = request.user
    if level == "record":
        return get_visible_or_404(
            FormRecord.objects.select_related("subject__site", "subject__study", "visit"), user, study, pk=pk
        )
    if level == "subject":
        return get_visible_or_404(Subject.objects.select_related("site", "study"), user, study, pk=pk)
    if level == "site":
        site = Site.objects.filter(study=study, pk=pk, pk__in=study_access(user, study).site_ids).first()
        if site is None:
            raise Http404
        return site
    if level == "study" and pk == study.pk:
        return study
    raise Http404


def _back(request, fallback: str):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(fallback)


@require_POST
@login_required
def lock_action(request, level: str, pk: int):
    target = _lock_target(request, level, pk)
    action = request.POST.get("action")
    if action not in ("lock", "unlock"):
        raise Http404
    try:
        if action == "lock":
            lock_services.lock(request.user, target, reason=request.POST.get("reason", ""))
            messages.success(request, _("Locked: %(what)s.") % {"what": lock_services.label_of(target)})
        else:
            lock_services.unlock(request.user, target, reason=request.POST.get("reason", ""))
            messages.success(request, _("Unlocked: %(what)s.") % {"what": lock_services.label_of(target)})
    except lock_services.LockRefused as refusal:
        messages.error(request, refusal.message)
    return _back(request, reverse("locks"))


@require_GET
@login_required
def locks_page(request):
    study = _study()
    access = study_access(request.user, study)
    require(access, Permission.LOCK)
    sites = list(Site.objects.filter(study=study, pk__in=access.site_ids).order_by("code"))
    subjects = list(
        Subject.objects.for_user(request.user, study).filter(locked_at__isnull=False).select_related("site")
    )
    records = list(
        FormRecord.objects.for_user(request.user, study)
        .filter(locked_at__isnull=False)
        .select_related("subject__site", "visit")
    )
    study_lock, *infos = lock_services.lock_infos([study, *sites, *subjects, *records])
    site_infos, infos = infos[: len(sites)], infos[len(sites) :]
    subject_infos, record_infos = infos[: len(subjects)], infos[len(subjects) :]
    context = {
        "study_lock": study_lock,
        "can_lock_study": access.site_ids == access.all_site_ids,
        "sites": list(zip(sites, site_infos, strict=True)),
        "subjects": list(zip(subjects, subject_infos, strict=True)),
        "records": list(zip(records, record_infos, strict=True)),
    }
    return render(request, "audit/locks.html", context)
