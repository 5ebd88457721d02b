"""Pages of locks: lock and unlock a record, subject, site or the study, and the list of locks.
Thin: parse the request, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from trialdesk.crf.models import FormRecord
from trialdesk.locks import services as lock_services
from trialdesk.studies.access import Permission, get_visible_or_404, require, study_access
from trialdesk.studies.models import Site
from trialdesk.studies.services import request_study
from trialdesk.subjects.models import Subject

# --------------------------------------------------------------------------- locks


def _lock_target(request, level: str, pk: int):
    study = request_study(request)
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


# A study or site lock freezes many casebooks at once: it asks for confirmation and a reason.
CONFIRMED_LEVELS = ("study", "site")


def _confirm_page(request, level: str, target, reason: str, *, missing_reason: bool):
    study = request_study(request)
    access = study_access(request.user, study)
    require(access, Permission.LOCK, target.pk if level == "site" else None)
    if level == "study" and access.site_ids != access.all_site_ids:
        raise PermissionDenied
    subjects = Subject.objects.for_user(request.user, study)
    records = FormRecord.objects.for_user(request.user, study)
    if level == "site":
        subjects, records = subjects.filter(site=target), records.filter(subject__site=target)
    if missing_reason:
        messages.error(request, _("Give the reason for this lock; nothing was locked."))
    context = {
        "level": level,
        "target": target,
        "what": lock_services.label_of(target),
        "subject_count": subjects.count(),
        "record_count": records.count(),
        "reason": reason,
        "next": request.POST.get("next", ""),
    }
    return render(request, "locks/confirm.html", context, status=400 if missing_reason else 200)


@require_POST
@login_required
def lock_action(request, level: str, pk: int):
    target = _lock_target(request, level, pk)
    action = request.POST.get("action")
    if action not in ("lock", "unlock"):
        raise Http404
    if action == "lock" and level in CONFIRMED_LEVELS:
        reason = request.POST.get("reason", "").strip()
        if not request.POST.get("confirmed") or not reason:
            return _confirm_page(request, level, target, reason, missing_reason=bool(request.POST.get("confirmed")))
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
    study = request_study(request)
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
    return render(request, "locks/locks.html", context)

