"""Subject search from every page (issue 15): the top bar's box and its results page.

By subject code, screening number or initials — case-insensitive, any part of them — among
the subjects of the sites the user sees (``Subject.objects.for_user``). A pseudonymised
reader (the statistician) finds by subject code only: the screening number and the initials
are neither matched nor shown to them. One exact hit (the whole code, number or initials)
goes straight to its casebook; otherwise the results are paginated, each with its site,
status and enrollment date.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from trialdesk.studies.access import Permission, study_access
from trialdesk.studies.listing import ListFilter
from trialdesk.studies.models import Site
from trialdesk.studies.services import request_study
from trialdesk.subjects.models import Subject

MIN_LENGTH = 2
MAX_LENGTH = 40


def search_subjects(user, study, text: str, *, pseudonymised: bool, site_ids):
    """The subjects ``user`` sees whose identifiers contain ``text`` (a queryset, ordered)."""
    readable = (
        Subject.objects.for_user(user, study)
        .filter(site_id__in=site_ids)
        .select_related("site")
        .order_by("site__code", "subject_code", "screening_number", "pk")
    )
    if pseudonymised:
        return readable.filter(subject_code__icontains=text)
    return readable.filter(
        Q(subject_code__icontains=text) | Q(screening_number__icontains=text) | Q(initials__icontains=text)
    )


def exact_hit(subjects, text: str, *, pseudonymised: bool):
    """The one subject the text names whole, if exactly one of ``subjects`` does."""
    wanted = text.casefold()
    hits = []
    for subject in subjects:
        names = [subject.subject_code or ""]
        if not pseudonymised:
            names += [subject.screening_number, subject.initials]
        if any(name and name.casefold() == wanted for name in names):
            hits.append(subject)
    return hits[0] if len(hits) == 1 else None


@login_required
def subject_search(request):
    study = request_study(request)
    access = study_access(request.user, study)
    site_ids = [site_id for site_id in access.site_ids if access.can(Permission.VIEW_CLINICAL_DATA, site_id)]
    if not site_ids:
        raise Http404
    text = " ".join(request.GET.get("q", "").split())
    pseudonymised = access.pseudonymised
    context = {"q": text, "pseudonymised": pseudonymised, "page": None, "problem": ""}
    sites = list(Site.objects.filter(pk__in=site_ids).order_by("code"))
    if not text:
        context["problem"] = (
            _("Type a subject code to search.")
            if pseudonymised
            else _("Type a subject code, a screening number or initials to search.")
        )
    elif len(text) < MIN_LENGTH:
        context["problem"] = _("Type at least %(n)d characters to search.") % {"n": MIN_LENGTH}
    elif len(text) > MAX_LENGTH:
        context["problem"] = _("The search is too long (at most %(n)d characters).") % {"n": MAX_LENGTH}
    else:
        found = search_subjects(request.user, study, text, pseudonymised=pseudonymised, site_ids=site_ids)
        # An exact hit is among the first few rows or nowhere: names are unique per study.
        exact = exact_hit(
            found.filter(
                Q(subject_code__iexact=text)
                if pseudonymised
                else Q(subject_code__iexact=text)
                | Q(screening_number__iexact=text)
                | Q(initials__iexact=text)
            )[:2],
            text,
            pseudonymised=pseudonymised,
        )
        if exact is not None and not request.GET.get("page"):
            return redirect(reverse("subject-casebook", args=[exact.pk]))
        listing = ListFilter(request, sites=sites, keep={"q": text})
        page = listing.paginate(listing.apply(found, site="site__code"))
        context.update({"listing": listing, "page": page})
    return render(request, "subjects/search.html", context)
