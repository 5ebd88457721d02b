"""The list of a user's studies, and a study's home page: the sites the user sees, with their counts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render

from trialdesk.queries.services import open_query_counts, sdv_progress_by_site
from trialdesk.studies.access import study_access
from trialdesk.studies.models import Role, Site
from trialdesk.studies.services import request_study, studies_of
from trialdesk.subjects.models import ON_STUDY, Subject, SubjectStatus


def _site_counts(queryset):
    return queryset.annotate(
        screened=Count("subjects"),
        enrolled=Count("subjects", filter=Q(subjects__status__in=ON_STUDY)),
        screen_failed=Count("subjects", filter=Q(subjects__status=SubjectStatus.SCREEN_FAILED)),
    )


@login_required
def study_list(request):
    """The studies the user works on, with their roles in each; one study goes straight to it."""
    studies = list(studies_of(request.user))
    if len(studies) == 1 and not request.GET.get("all"):
        return redirect(f"{request.root_prefix}studies/{studies[0].nct_id}/")
    rows = []
    for study in studies:
        roles = sorted(set(request.user.memberships.filter(study=study, active=True).values_list("role", flat=True)))
        rows.append({"study": study, "roles": [Role(role).label for role in roles],
                     "url": f"{request.root_prefix}studies/{study.nct_id}/"})
    return render(request, "studies/list.html", {"rows": rows})


@login_required
def home(request):
    if getattr(request, "study", None) is None:
        return study_list(request)
    study = request_study(request)
    access = study_access(request.user, study)
    sites = list(_site_counts(Site.objects.filter(pk__in=access.site_ids)).order_by("code"))
    open_queries = open_query_counts(request.user, study)
    sdv = sdv_progress_by_site(request.user, study)
    for site in sites:
        site.open_queries = open_queries.get(site.code, 0)
        site.sdv = sdv.get(site.code)
    return render(request, "studies/home.html", {"sites": sites, "protocol": study.protocol})


@login_required
def site_page(request, site_code: str):
    study = request_study(request)
    access = study_access(request.user, study)
    site = Site.objects.filter(study=study, code=site_code, pk__in=access.site_ids).first()
    if site is None:
        raise Http404
    subjects = Subject.objects.for_user(request.user, study).filter(site=site).order_by("screening_number")
    return render(request, "studies/site.html", {"site": site, "subjects": subjects})

