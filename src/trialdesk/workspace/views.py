"""Each role's home and the lists behind its counts that no other app lists (``/work/…``).
Parse the request, call ``homes``/``services``, render. A site outside the user's scope is
not found (404); a page of clinical data is not found for a role that reads none."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from trialdesk.assessments.services import DISCORDANCE_QUERY
from trialdesk.studies.access import Permission, study_access
from trialdesk.studies.models import Site
from trialdesk.studies.services import request_study
from trialdesk.subjects.models import ON_STUDY, Subject, SubjectStatus
from trialdesk.workspace import services
from trialdesk.workspace.homes import SEVERE_GRADE, Builder

PAGE_SIZE = 50


def _site_filter(request, study, access) -> Site | None:
    code = request.GET.get("site", "").strip()
    if not code:
        return None
    site = Site.objects.filter(study=study, code=code, pk__in=access.site_ids).first()
    if site is None:
        raise Http404
    return site


def _visible_sites(study, access) -> list[Site]:
    return [s for s in Site.objects.filter(study=study).order_by("code") if s.pk in access.site_ids]


def _clinical(request):
    study = request_study(request)
    access = study_access(request.user, study)
    if not access.site_ids or not access.can(Permission.VIEW_CLINICAL_DATA):
        raise Http404
    return study, access


# --------------------------------------------------------------------------- the home


def site_table(user, study, access, sites) -> list[Site]:
    """The sites' figures (subjects screened, enrolled, screen-failed; open queries; SDV),
    each aggregated in SQL: the sponsor's and data manager's view of the sites."""
    from trialdesk.queries.services import open_query_counts, sdv_progress_by_site

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
    counts = {row.pop("site_id"): row for row in rows}
    open_queries = open_query_counts(user, study)
    sdv = sdv_progress_by_site(user, study)
    none = {"screened": 0, "enrolled": 0, "screen_failed": 0}
    for site in sites:
        for name, value in counts.get(site.pk, none).items():
            setattr(site, name, value)
        site.open_queries = open_queries.get(site.code, 0)
        site.sdv = sdv.get(site.code)
    return sites


@require_GET
@login_required
def home(request):
    """The study's home for the signed-in user (``web.views.home`` hands it the request)."""
    study = request_study(request)
    access = study_access(request.user, study)
    sites = _visible_sites(study, access)
    site = _site_filter(request, study, access)
    builder = Builder(request.user, study, access, site=site)
    homes = builder.homes()
    table = None
    if access.can(Permission.VIEW_CLINICAL_DATA) and sites:
        shown = [site] if site else sites
        table = site_table(request.user, study, access, shown)
    context = {
        "homes": homes,
        "sites": sites,
        "site": site,
        "site_table": table,
        "protocol": study.protocol,
        "several_sites": len(sites) > 1,
        "several_roles": len(homes) > 1,
    }
    return render(request, "workspace/home.html", context)


# --------------------------------------------------------------------------- lists behind the counts


@require_GET
@login_required
def query_list(request):
    """Unresolved queries of the user's sites, by the rule that raised them or by age."""
    study, access = _clinical(request)
    site = _site_filter(request, study, access)
    sites = [site] if site else _visible_sites(study, access)
    check = request.GET.get("check", "").strip()
    rule = request.GET.get("rule", "").strip()
    age_key = request.GET.get("age", "").strip()
    queries = services.system_queries(request.user, study, sites) if (check or rule) else None
    title = _("Open or answered queries")
    if rule == "discordance":
        queries = queries.filter(check_code=DISCORDANCE_QUERY)
        title = _("Discordant responses to confirm")
    elif rule:
        messages.error(request, _("Unknown list: showing every open or answered query."))
        queries = None
    if check and queries is not None:
        queries = queries.filter(check_code=check)
        title = services.check_label(study.protocol, check)
    if queries is None:
        from trialdesk.queries.models import UNRESOLVED, Query

        queries = Query.objects.for_user(request.user, study).filter(
            record__subject__site_id__in=[s.pk for s in sites], status__in=UNRESOLVED
        )
    now = timezone.now()
    age = None
    if age_key:
        age = services.band(age_key)
        if age is None:
            messages.error(request, _("Unknown age band: showing every age."))
        else:
            queries = queries.filter(services.age_condition(age, now))
    from trialdesk.queries.services import age_days

    page = Paginator(
        queries.select_related("record__subject__site", "record__visit", "raised_by").order_by(
            "raised_at", "pk"
        ),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    rows = []
    for q in page:
        confirm = ""
        if q.check_code == DISCORDANCE_QUERY and access.can(
            Permission.CONFIRM_RESPONSE, q.record.subject.site_id
        ):
            confirm = reverse("assessments:confirm", args=[q.record_id])
        rows.append(
            {
                "query": q,
                "age": age_days(q, now),
                "url": reverse("queries:detail", args=[q.pk]),
                "confirm": confirm,
                "rule": services.check_label(study.protocol, q.check_code) if q.is_system else "",
            }
        )
    context = {
        "title": title,
        "rows": rows,
        "page": page,
        "site": site,
        "age": age,
        "sites": _visible_sites(study, access),
    }
    return render(request, "workspace/queries.html", context)


def _record_url(record) -> str:
    if record.visit_id:
        return reverse("visit-form", args=[record.subject_id, record.visit.code, record.form_code])
    return reverse("log-form", args=[record.subject_id, record.form_code, record.repeat])


def _record_page(request, title: str, intro: str, records, site, sites, *, extra=None):
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"record": r, "url": _record_url(r)} for r in page]
    context = {"title": title, "intro": intro, "rows": rows, "page": page, "site": site, "sites": sites}
    context.update(extra or {})
    return render(request, "workspace/records.html", context)


@require_GET
@login_required
def incomplete_forms(request):
    study, access = _clinical(request)
    site = _site_filter(request, study, access)
    sites = _visible_sites(study, access)
    records = (
        services.incomplete_forms(request.user, study, [site] if site else sites)
        .select_related("subject__site", "visit", "updated_by")
        .order_by("subject__site__code", "updated_at", "pk")
    )
    intro = _("Forms saved with required answers missing, of subjects still followed.")
    return _record_page(request, _("Incomplete forms"), intro, records, site, sites)


@require_GET
@login_required
def changed_forms(request):
    """The forms of a site saved since the user's last verification there (the monitor's
    "since the last visit")."""
    study, access = _clinical(request)
    if not access.can(Permission.VERIFY_SOURCE):
        raise Http404
    sites = [s for s in _visible_sites(study, access) if access.can(Permission.VERIFY_SOURCE, s.pk)]
    site = _site_filter(request, study, access)
    if site is None:
        if not sites:
            raise Http404
        site = sites[0]
    if not access.can(Permission.VERIFY_SOURCE, site.pk):
        raise Http404
    last = services.last_visits(request.user, study, [site]).get(site.pk)
    records = (
        services.changed_since(request.user, study, site, last.since if last else None)
        .select_related("subject__site", "visit", "updated_by")
        .order_by("-updated_at", "-pk")
    )
    if last is None:
        intro = _("You have not visited this site yet: every form is new to you.")
    elif last.signed_report:
        intro = _("Saved after your last signed visit report of the site, dated %(day)s.") % {
            "day": f"{last.on:%Y-%m-%d}"
        }
    else:
        intro = _("Saved after your last verification at the site, on %(day)s.") % {
            "day": f"{last.on:%Y-%m-%d}"
        }
    return _record_page(
        request,
        _("Forms saved since your last visit"),
        intro,
        records,
        site,
        sites,
        extra={"single_site": True},
    )


SAE_LISTS = ("all", "unacknowledged", "expectedness", "susar", "late")


@require_GET
@login_required
def sae_list(request):
    """The SAEs of the user's sites by what is left to do on them (each with its CIOMS form)."""
    from trialdesk.safety.services import sae_rows

    study = request_study(request)
    access = study_access(request.user, study)
    if not access.can(Permission.VIEW_SAFETY_DATA) or study.protocol.safety is None:
        raise Http404
    site = _site_filter(request, study, access)
    show = request.GET.get("show", "all")
    if show not in SAE_LISTS:
        messages.error(request, _("Unknown list: showing every serious adverse event."))
        show = "all"
    rows = sae_rows(request.user, study)
    if site is not None:
        rows = [r for r in rows if r.subject.site_id == site.pk]
    keep = {
        "all": lambda r: True,
        "unacknowledged": lambda r: r.report.acknowledged_at is None,
        "expectedness": lambda r: r.report.acknowledged_at is not None and not r.report.expectedness,
        "susar": lambda r: r.susar,
        "late": lambda r: r.susar and r.days_left is not None and r.days_left < 0,
    }[show]
    rows = [r for r in rows if keep(r)]
    titles = {
        "all": _("Serious adverse events and their CIOMS forms"),
        "unacknowledged": _("SAEs to acknowledge"),
        "expectedness": _("Expectedness to assess"),
        "susar": _("SUSARs"),
        "late": _("SUSARs past their reporting deadline"),
    }
    context = {
        "title": titles[show],
        "rows": rows,
        "show": show,
        "site": site,
        "sites": _visible_sites(study, access),
        "pseudonymised": access.pseudonymised,
        "can_open_record": access.can(Permission.VIEW_CLINICAL_DATA),
    }
    return render(request, "workspace/saes.html", context)


@require_GET
@login_required
def adverse_events(request):
    """The adverse events of grade 3 or more (CTCAE v5.0: severe and above) of the user's sites."""
    from trialdesk.safety.services import ae_rows

    study = request_study(request)
    access = study_access(request.user, study)
    if not access.can(Permission.VIEW_CLINICAL_DATA) or study.protocol.safety is None:
        raise Http404
    site = _site_filter(request, study, access)
    rows = [
        r
        for r in ae_rows(request.user, study, site.code if site else "")
        if r.grade is not None and r.grade >= SEVERE_GRADE
    ]
    context = {
        "title": _("Adverse events of grade %(g)d or more") % {"g": SEVERE_GRADE},
        "rows": rows,
        "site": site,
        "sites": _visible_sites(study, access),
    }
    return render(request, "workspace/adverse_events.html", context)


@require_GET
@login_required
def due_this_week(request):
    """The infusions, assessments and follow-up calls due in each site's week (its date and the 6
    days after it), from the sites' worklists (the treatment calendar): what the homes count."""
    from trialdesk.deviations.labels import KIND_LABELS, item_title
    from trialdesk.studies.listing import ListFilter
    from trialdesk.treatment.services import infusion_form
    from trialdesk.workspace.homes import kind_of, week_bounds, week_entries, week_labels

    study, access = _clinical(request)
    sites = _visible_sites(study, access)
    kinds = [(kind, label) for kind, label in week_labels()]
    listing = ListFilter(
        request, sites=sites, choices=[("kind", _("Kind of work"), kinds, _("Every kind of work"))]
    )
    shown = [s for s in sites if listing.site in (None, s.code)]
    builder = Builder(request.user, study, access)
    infusion = infusion_form(study.protocol)
    rows, weeks = [], []
    for site in shown:
        work = builder.worklist(site)
        weeks.append((site, *week_bounds(work)))
        for subject, item in week_entries(work):
            kind = kind_of(item)
            if not kind:
                continue
            links = [(_("Casebook"), reverse("subject-casebook", args=[subject.pk]))]
            if kind == "infusions" and infusion:
                links.insert(
                    0,
                    (
                        _("Infusion form, with the computed dose"),
                        reverse("log-form-new", args=[subject.pk, infusion]),
                    ),
                )
            rows.append(
                {
                    "subject": subject,
                    "site": site,
                    "kind": kind,
                    "kind_label": KIND_LABELS.get(item.kind, ""),
                    "title": item_title(study.protocol, item),
                    "due_on": item.due_on,
                    "window_start": item.window_start,
                    "window_end": item.window_end,
                    "today": item.due_on == work.today,
                    "links": links,
                }
            )
    rows = listing.apply(rows, extra={"kind": lambda r: r["kind"]})
    rows.sort(key=lambda r: (r["due_on"], r["site"].code, r["subject"].label))
    context = {
        "title": dict(kinds).get(listing.value("kind") or "", _("Due this week")),
        "listing": listing,
        "rows": listing.paginate(rows),
        "weeks": weeks,
        "several_sites": len(sites) > 1,
    }
    return render(request, "workspace/due.html", context)
