"""The list of a user's studies, and a study's home page: the sites the user sees, with their counts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from trialdesk.studies.access import Permission, study_access
from trialdesk.studies.listing import ListFilter
from trialdesk.studies.models import Role, Site
from trialdesk.studies.services import request_study, studies_of
from trialdesk.subjects.models import Subject, SubjectStatus
from trialdesk.workspace.views import home as role_home


@login_required
def study_list(request):
    """The studies the user works on, with their roles in each; one study goes straight to it."""
    studies = list(studies_of(request.user))
    if len(studies) == 1 and not request.GET.get("all"):
        return redirect(f"{request.root_prefix}studies/{studies[0].nct_id}/")
    rows = []
    for study in studies:
        roles = sorted(
            set(request.user.memberships.filter(study=study, active=True).values_list("role", flat=True))
        )
        rows.append(
            {
                "study": study,
                "roles": [Role(role).label for role in roles],
                "url": f"{request.root_prefix}studies/{study.nct_id}/",
            }
        )
    return render(request, "studies/list.html", {"rows": rows})


@login_required
def home(request):
    """Without a study: the user's studies. In a study: each role's home (trialdesk.workspace)."""
    if getattr(request, "study", None) is None:
        return study_list(request)
    return role_home(request)


@login_required
def site_page(request, site_code: str):
    study = request_study(request)
    access = study_access(request.user, study)
    site = Site.objects.filter(study=study, code=site_code, pk__in=access.site_ids).first()
    if site is None or not access.can(Permission.VIEW_CLINICAL_DATA, site.pk):
        raise Http404
    subjects = Subject.objects.for_user(request.user, study).filter(site=site).order_by("screening_number")
    listing = ListFilter(request, statuses=SubjectStatus.choices, date_label=_("Screening date"))
    page = listing.paginate(listing.apply(subjects, status="status", date="screened_on"))
    return render(request, "studies/site.html", {"site": site, "subjects": page, "listing": listing})
