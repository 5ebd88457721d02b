"""The data manager's enrollment worklist: subjects whose eligibility changed after their
enrollment (the queries ``subjects.consistency`` raised) and patients waiting as pending
enrollment past the target. A page combining subjects and queries: it sits in the web layer."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from trialdesk.studies.access import Permission, study_access
from trialdesk.studies.services import request_study
from trialdesk.subjects.consistency import eligibility_changes
from trialdesk.subjects.models import Subject, SubjectStatus


@require_GET
@login_required
def eligibility_changed(request):
    study = request_study(request)
    access = study_access(request.user, study)
    if not access.can(Permission.CONFIRM_ENROLLMENT):
        raise PermissionDenied
    pending = list(
        Subject.objects.for_user(request.user, study)
        .filter(status=SubjectStatus.PENDING_ENROLLMENT)
        .select_related("site")
        .order_by("enrollment_requested_on", "pk")
    )
    context = {"rows": eligibility_changes(request.user, study), "pending": pending}
    return render(request, "worklists/eligibility_changed.html", context)
