"""Pages of queries and source data verification: parse the request, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from trialdesk.crf.display import display_value, marked_value, verbatim_english
from trialdesk.crf.models import FormRecord
from trialdesk.crf.rendering import localised, system_rule, system_rule_message
from trialdesk.queries import services, wording
from trialdesk.queries.models import Query, QueryStatus
from trialdesk.studies.access import Permission, get_visible_or_404, require, study_access
from trialdesk.studies.listing import ListFilter
from trialdesk.studies.models import Site
from trialdesk.studies.services import request_study
from trialdesk.subjects.models import Subject

PAGE_SIZE = 50


def _study_and_access(request):
    study = request_study(request)
    access = study_access(request.user, study)
    if not access.can(Permission.VIEW_CLINICAL_DATA):
        raise Http404
    return study, access


def record_url(form_record: FormRecord) -> str:
    if form_record.visit_id:
        return reverse(
            "visit-form", args=[form_record.subject_id, form_record.visit.code, form_record.form_code]
        )
    return reverse("log-form", args=[form_record.subject_id, form_record.form_code, form_record.repeat])


def _visible_site_or_404(study, access, code: str) -> Site | None:
    if not code:
        return None
    site = Site.objects.filter(study=study, code=code, pk__in=access.site_ids).first()
    if site is None:
        raise Http404
    return site


def _positive_int(text: str | None) -> int | None:
    try:
        value = int(text or "")
    except ValueError:
        return None
    return value if value >= 0 else None


@login_required
def query_list(request):
    study, access = _study_and_access(request)
    has_worklist = any(
        access.can(permission) for permission in (Permission.ANSWER_QUERY, Permission.CLOSE_QUERY)
    )
    mine = request.GET.get("view", "mine" if has_worklist else "all") == "mine" and has_worklist
    status = request.GET.get("status", "unresolved")
    if status not in services.STATUS_FILTERS:
        status = "unresolved"
    site = _visible_site_or_404(study, access, request.GET.get("site", ""))
    min_age = _positive_int(request.GET.get("min_age"))
    if request.GET.get("min_age") and min_age is None:
        messages.error(request, _("The age must be a whole number of days."))
    sort = "site" if request.GET.get("sort") == "site" else "age"
    now = timezone.now()
    queries = services.list_queries(
        request.user,
        study,
        mine=mine,
        status=status,
        site_code=site.code if site else None,
        min_age_days=min_age,
        sort=sort,
        now=now,
    )
    counts = services.open_query_counts(request.user, study)
    ages = services.unresolved_by_site_and_age(request.user, study, now)
    # the date raised: the shared list filter (studies.listing), inside this page's own form
    kept = ("view", "status", "site", "min_age", "sort")
    listing = ListFilter(
        request,
        date_label=_("Raised on"),
        per_page=PAGE_SIZE,
        keep={k: v for k, v in request.GET.items() if k in kept and v},
    )
    page = listing.paginate(listing.apply(queries, date="raised_at__date"))
    rows = [
        {"query": q, "age": services.age_days(q, now), "url": reverse("queries:detail", args=[q.pk])}
        for q in page
    ]
    context = {
        "rows": rows,
        "page": page,
        "listing": listing,
        "mine": mine,
        "has_worklist": has_worklist,
        "status": status,
        "statuses": [
            ("unresolved", _("Open or answered")),
            (QueryStatus.OPEN.value, QueryStatus.OPEN.label),
            (QueryStatus.ANSWERED.value, QueryStatus.ANSWERED.label),
            (QueryStatus.CLOSED.value, QueryStatus.CLOSED.label),
            ("all", _("All")),
        ],
        "site": site,
        "sites": Site.objects.filter(study=study, pk__in=access.site_ids).order_by("code"),
        "min_age": min_age,
        "sort": sort,
        "site_rows": [(code, counts.get(code, 0), bands) for code, bands in ages.items()],
        "age_bands": [name for _limit, name in services.AGE_BUCKETS],
    }
    return render(request, "queries/list.html", context)


ACTIONS = {
    "answer": services.answer_query,
    "close": services.close_query,
    "reopen": services.reopen_query,
    "comment": services.comment_query,
}
DONE = {
    "answer": gettext_lazy("Answer sent."),
    "close": gettext_lazy("Query closed."),
    "reopen": gettext_lazy("Query re-opened."),
    "comment": gettext_lazy("Comment added."),
}


@login_required
def query_detail(request, query_id: int):
    study, access = _study_and_access(request)
    queryset = Query.objects.select_related(
        "record__subject__site", "record__visit", "raised_by", "closed_by"
    )
    query = get_visible_or_404(queryset, request.user, study, pk=query_id)
    status = 200
    text = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        text = request.POST.get("text", "")
        if action not in ACTIONS:
            messages.error(request, _("Unknown action."))
            status = 400
        else:
            try:
                ACTIONS[action](request.user, query, text)
            except services.ActionRefused as refusal:
                messages.error(request, refusal.message)
                status = 400
                query = get_visible_or_404(queryset, request.user, study, pk=query_id)
            else:
                messages.success(request, DONE[action])
                return redirect("queries:detail", query_id=query.pk)
    form_record = query.record
    form = study.protocol.form(form_record.form_code)
    check = next((c for c in form.edit_checks if c.code == query.check_code), None)
    fields = []
    for code in query.all_fields:
        try:
            label = localised(form.field(code), "label")
        except KeyError:
            label = code
        fields.append(
            {"code": code, "label": label, "value": marked_value(form, code, form_record.data.get(code))}
        )
    context = {
        "query": query,
        "thread": query.messages.select_related("author"),
        "record": form_record,
        "record_url": record_url(form_record),
        "correct_url": f"{record_url(form_record)}?query={query.pk}",
        "form_title": localised(form, "title"),
        "fields": fields,
        "check_message": localised(check, "message")
        if check
        else system_rule_message(form_record, query.check_code),
        "system_rule": wording.rule_name(query.check_code) or system_rule(query.check_code),
        "age": services.age_days(query),
        "can_answer": services.may_answer(access, query),
        "can_correct": query.status != QueryStatus.CLOSED
        and access.can(Permission.ENTER_DATA, form_record.subject.site_id),
        "can_close": services.may_close(access, request.user, query),
        "can_reopen": services.may_reopen(access, request.user, query),
        "can_comment": services.may_comment(access, query),
        "text": text,
    }
    return render(request, "queries/detail.html", context, status=status)


@login_required
def raise_query_page(request, record_id: int):
    study, access = _study_and_access(request)
    queryset = FormRecord.objects.select_related("subject__site", "subject__study", "visit")
    form_record = get_visible_or_404(queryset, request.user, study, pk=record_id)
    require(access, Permission.RAISE_QUERY, form_record.subject.site_id)
    form = study.protocol.form(form_record.form_code)
    field_code = request.POST.get("field") or request.GET.get("field", "")
    text = request.POST.get("text", "")
    status = 200
    if request.method == "POST":
        try:
            query = services.raise_query(request.user, form_record, field_code, text)
        except services.ActionRefused as refusal:
            messages.error(request, refusal.message)
            status = 400
        else:
            messages.success(request, _("Query #%(number)s raised.") % {"number": query.pk})
            return redirect(record_url(form_record))
    context = {
        "record": form_record,
        "record_url": record_url(form_record),
        "form_title": localised(form, "title"),
        "choices": [
            (
                f.code,
                localised(f, "label"),
                display_value(form, f.code, form_record.data.get(f.code)),
                verbatim_english(form, f.code),
            )
            for f in form.fields
        ],
        "field_code": field_code,
        "text": text,
    }
    return render(request, "queries/raise.html", context, status=status)


@login_required
@require_POST
def sdv_mark(request, record_id: int):
    study, access = _study_and_access(request)
    queryset = FormRecord.objects.select_related("subject__site", "subject__study", "visit")
    form_record = get_visible_or_404(queryset, request.user, study, pk=record_id)
    field_code = request.POST.get("_sdv_field", "")
    version = _positive_int(request.POST.get("_version"))
    try:
        services.verify_source(request.user, form_record, field_code, expected_version=version)
    except services.ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        if field_code:
            messages.success(request, _("Field %(field)s verified against source.") % {"field": field_code})
        else:
            messages.success(request, _("Whole form verified against source."))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = record_url(form_record)
    return redirect(target)


SDV_PAGE_SIZE = 100  # subjects per page of the SDV progress table


@login_required
def sdv_progress_page(request):
    """The SDV progress of every visible site, and of one page of subjects (of the chosen
    site, else of all): a constant number of queries whatever the study's size."""
    study, access = _study_and_access(request)
    site = _visible_site_or_404(study, access, request.GET.get("site", ""))
    by_site = services.sdv_progress_by_site(request.user, study)
    subjects = Subject.objects.for_user(request.user, study).filter(study=study).select_related("site")
    if site:
        subjects = subjects.filter(site=site)
    page = Paginator(subjects.order_by("site__code", "screening_number"), SDV_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    by_subject = services.sdv_progress_of_subjects(request.user, study, [subject.pk for subject in page])
    context = {
        "site": site,
        "by_site": sorted(by_site.items()),
        "subjects": [(subject, by_subject[subject.pk]) for subject in page],
        "page": page,
    }
    return render(request, "queries/sdv_progress.html", context)
