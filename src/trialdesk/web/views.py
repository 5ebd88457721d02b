"""The list of a user's studies, and a study's home page: the sites the user sees, with their counts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render

from trialdesk.queries.services import open_query_counts, sdv_progress_by_site
from trialdesk.studies.access import Permission, study_access
from trialdesk.studies.models import Role, Site
from trialdesk.studies.services import request_study, studies_of
from trialdesk.subjects.models import ON_STUDY, Subject, SubjectStatus


def _subject_counts(user, study) -> dict[int, dict[str, int]]:
    """Screened, enrolled and screen-failed subjects per site id: one aggregate query, read
    through the read layer (the user's sites only)."""
    rows = (
        Subject.objects.for_user(user, study)
        .filter(study=study)
        .order_by()
        .values("site_id")
        .annotate(
            screened=Count("pk"),
            enrolled=Count("pk", filter=Q(status__in=ON_STUDY)),
            screen_failed=Count("pk", filter=Q(status=SubjectStatus.SCREEN_FAILED)),
        )
    )
    return {row.pop("site_id"): row for row in rows}


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
    if not access.can(Permission.VIEW_CLINICAL_DATA) and access.can(Permission.VIEW_SAFETY_DATA):
        return redirect("safety:sae-list")  # the safety officer: safety data only, their SAE list
    # A constant number of queries whatever the study's size: the sites, their subjects'
    # counts, their open queries and their SDV progress, each aggregated in SQL.
    sites = list(Site.objects.filter(study=study, pk__in=access.site_ids).order_by("code"))
    counts = _subject_counts(request.user, study)
    open_queries = open_query_counts(request.user, study)
    sdv = sdv_progress_by_site(request.user, study)
    none = {"screened": 0, "enrolled": 0, "screen_failed": 0}
    for site in sites:
        for name, value in counts.get(site.pk, none).items():
            setattr(site, name, value)
        site.open_queries = open_queries.get(site.code, 0)
        site.sdv = sdv.get(site.code)
    return render(request, "studies/home.html", {"sites": sites, "protocol": study.protocol})


@login_required
def site_page(request, site_code: str):
    study = request_study(request)
    access = study_access(request.user, study)
    site = Site.objects.filter(study=study, code=site_code, pk__in=access.site_ids).first()
    if site is None or not access.can(Permission.VIEW_CLINICAL_DATA, site.pk):
        raise Http404
    subjects = Subject.objects.for_user(request.user, study).filter(site=site).order_by("screening_number")
    return render(request, "studies/site.html", {"site": site, "subjects": subjects})

