"""The study's home page: the sites the user sees, with their counts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import render

from trialdesk.queries.services import open_query_counts, sdv_progress_by_site
from trialdesk.studies.access import study_access
from trialdesk.studies.models import Site
from trialdesk.studies.services import current_study
from trialdesk.subjects.models import ON_STUDY, Subject, SubjectStatus


def _site_counts(queryset):
    return queryset.annotate(
        screened=Count("subjects"),
        enrolled=Count("subjects", filter=Q(subjects__status__in=ON_STUDY)),
        screen_failed=Count("subjects", filter=Q(subjects__status=SubjectStatus.SCREEN_FAILED)),
    )


@login_required
def home(request):
    study = current_study()
    if study is None:
        raise Http404
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
    study = current_study()
    if study is None:
        raise Http404
    access = study_access(request.user, study)
    site = Site.objects.filter(study=study, code=site_code, pk__in=access.site_ids).first()
    if site is None:
        raise Http404
    subjects = Subject.objects.for_user(request.user, study).filter(site=site).order_by("screening_number")
    return render(request, "studies/site.html", {"site": site, "subjects": subjects})

