"""The routes of the REST API (``trialdesk.api.rest``): reads through the scoped layer,
writes through the services the pages use, each under the token that made it."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Query, Schema, Status
from pydantic import BeforeValidator

from trialdesk.api.rest import Problem, api
from trialdesk.audit.services import acting_with_token
from trialdesk.crf.models import FormRecord, ReasonForChange
from trialdesk.crf.services import (
    FormInvalid,
    FormSaveRefused,
    Locked,
    ReasonRequired,
    StaleVersion,
    save_form,
)
from trialdesk.queries.models import Query as DataQuery
from trialdesk.queries.models import QueryStatus
from trialdesk.queries.services import ActionRefused, answer_query, close_query, raise_query
from trialdesk.studies.access import Permission, require
from trialdesk.studies.models import Site
from trialdesk.subjects.models import Subject, SubjectStatus, Visit

MAX_LIMIT = 500
DEFAULT_LIMIT = 100


def _iso_date(value):
    """A day written YYYY-MM-DD, and nothing else (not a timestamp, not a number)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("a date is written YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError("a date is written YYYY-MM-DD") from None


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


# --------------------------------------------------------------------------- common


class ProblemOut(Schema):
    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    errors: dict[str, list[str]] | None = None
    changes: dict[str, Any] | None = None
    current_version: int | None = None


def _problems(*codes: int) -> dict[int, type]:
    return {code: ProblemOut for code in (401, 404, 422, *codes)}


class Page(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="how many items at most")
    offset: int = Field(0, ge=0, le=10_000_000, description="how many items to skip")


class DateRange(Schema):
    date_from: IsoDate | None = Field(
        None, description="from this day (inclusive; days of the deployment's time zone)"
    )
    date_to: IsoDate | None = Field(None, description="up to this day (inclusive)")


def _paged(items, page: Page, present) -> dict:
    count = items.count() if hasattr(items, "count") and not isinstance(items, list) else len(items)
    window = items[page.offset : page.offset + page.limit]
    return {"count": count, "limit": page.limit, "offset": page.offset, "items": [present(i) for i in window]}


def _ctx(request):
    return request.api_user, request.api_study, request.api_access


def _zone():
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=_zone())


def _dated(queryset, column: str, dates: DateRange, *, is_date: bool = False):
    if dates.date_from and dates.date_to and dates.date_from > dates.date_to:
        return queryset.none()  # no day lies between them
    if is_date:
        if dates.date_from:
            queryset = queryset.filter(**{f"{column}__gte": dates.date_from})
        if dates.date_to:
            queryset = queryset.filter(**{f"{column}__lte": dates.date_to})
        return queryset
    if dates.date_from:
        queryset = queryset.filter(**{f"{column}__gte": _start_of(dates.date_from)})
    if dates.date_to and dates.date_to < dt.date.max:
        queryset = queryset.filter(**{f"{column}__lt": _start_of(dates.date_to + dt.timedelta(days=1))})
    return queryset


def _require_read(access) -> None:
    if not access.can(Permission.VIEW_CLINICAL_DATA):
        raise PermissionDenied


def _site_of(study, access, code: str | None) -> Site | None:
    """The site a filter names: one of the user's, else 404 (another site does not exist for them)."""
    if code is None:
        return None
    site = Site.objects.filter(study=study, code=code, pk__in=access.site_ids).first()
    if site is None:
        raise Http404
    return site


@contextmanager
def _as_token(request):
    """A write made with the request's token: its audit events carry the token's id."""
    with acting_with_token(request.api_user.pk, request.api_token.pk):
        yield


# --------------------------------------------------------------------------- sites


class SiteOut(Schema):
    code: str
    name: str
    city: str
    time_zone: str


@api.get(
    "/sites", response={200: list[SiteOut], **_problems(403)}, tags=["sites"], summary="The sites you see"
)
def list_sites(request):
    _user, study, access = _ctx(request)
    sites = Site.objects.filter(study=study, pk__in=access.site_ids).order_by("code")
    return [{"code": s.code, "name": s.name, "city": s.city, "time_zone": s.time_zone or ""} for s in sites]


# --------------------------------------------------------------------------- subjects and visits


class SubjectOut(Schema):
    id: int
    site: str
    screening_number: str
    subject_code: str | None
    status: str
    sex: str
    year_of_birth: int | None = Field(description="null when your role is pseudonymised")
    screened_on: dt.date
    consent_date: dt.date | None
    enrolled_on: dt.date | None
    first_dose_on: dt.date | None
    treatment_ended_on: dt.date | None
    locked: bool


class SubjectPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[SubjectOut]


SubjectStatusCode = Literal[tuple(SubjectStatus.values)]  # type: ignore[valid-type]


class SubjectFilter(DateRange):
    site: str | None = Field(None, max_length=8, description="a site code")
    status: SubjectStatusCode | None = None  # type: ignore[valid-type]


def _subject_out(subject: Subject, pseudonymised: bool) -> dict:
    return {
        "id": subject.pk,
        "site": subject.site.code,
        "screening_number": subject.screening_number,
        "subject_code": subject.subject_code,
        "status": subject.status,
        "sex": subject.sex,
        "year_of_birth": None if pseudonymised else subject.year_of_birth,
        "screened_on": subject.screened_on,
        "consent_date": subject.consent_date,
        "enrolled_on": subject.enrolled_on,
        "first_dose_on": subject.first_dose_on,
        "treatment_ended_on": subject.treatment_ended_on,
        "locked": subject.locked_at is not None,
    }


def _subject(request, subject_id: int) -> Subject:
    user, study, access = _ctx(request)
    _require_read(access)
    subject = Subject.objects.for_user(user, study).select_related("site").filter(pk=subject_id).first()
    if subject is None:
        raise Http404
    subject.study = study
    return subject


@api.get(
    "/subjects",
    response={200: SubjectPage, **_problems(403)},
    tags=["subjects"],
    summary="Subjects (filter by site, status, screening date)",
)
def list_subjects(request, filters: Query[SubjectFilter], page: Query[Page]):
    user, study, access = _ctx(request)
    _require_read(access)
    subjects = Subject.objects.for_user(user, study).select_related("site").order_by("pk")
    if (site := _site_of(study, access, filters.site)) is not None:
        subjects = subjects.filter(site=site)
    if filters.status:
        subjects = subjects.filter(status=filters.status)
    subjects = _dated(subjects, "screened_on", filters, is_date=True)
    return _paged(subjects, page, lambda s: _subject_out(s, access.pseudonymised))


@api.get("/subjects/{subject_id}", response={200: SubjectOut, **_problems(403)}, tags=["subjects"])
def get_subject(request, subject_id: int):
    subject = _subject(request, subject_id)
    return _subject_out(subject, request.api_access.pseudonymised)


class VisitOut(Schema):
    id: int
    code: str
    title: str
    sequence: int
    planned_date: dt.date | None
    window_start: dt.date | None
    window_end: dt.date | None
    actual_date: dt.date | None


@api.get(
    "/subjects/{subject_id}/visits",
    response={200: list[VisitOut], **_problems(403)},
    tags=["subjects"],
    summary="A subject's visits, in order",
)
def list_visits(request, subject_id: int):
    subject = _subject(request, subject_id)
    visits = (
        Visit.objects.for_user(request.api_user, request.api_study)
        .filter(subject=subject)
        .order_by("sequence")
    )
    return [
        {
            "id": v.pk,
            "code": v.code,
            "title": v.title,
            "sequence": v.sequence,
            "planned_date": v.planned_date,
            "window_start": v.window_start,
            "window_end": v.window_end,
            "actual_date": v.actual_date,
        }
        for v in visits
    ]


# --------------------------------------------------------------------------- eligibility


class CriterionOut(Schema):
    code: str
    kind: str
    text: str
    status: str
    explanation: str
    missing: list[str]


class EligibilityOut(Schema):
    subject: int
    as_of: dt.date
    verdict: str
    criteria: list[CriterionOut]
    missing: list[str]
    stale: dict[str, dt.date]


class EligibilityFilter(Schema):
    on: IsoDate | None = Field(
        None, description="assess on this day (in screening only; default: today at the site)"
    )


@api.get(
    "/subjects/{subject_id}/eligibility",
    response={200: EligibilityOut, **_problems(403)},
    tags=["subjects"],
    summary="The eligibility verdict, criterion by criterion (the screening page's)",
)
def get_eligibility(request, subject_id: int, filters: Query[EligibilityFilter]):
    from trialdesk.subjects import screening

    subject = _subject(request, subject_id)
    as_of = screening.assessment_date(subject, subject.site.today(), filters.on)
    result = screening.assess(subject, as_of, screening.screening_records([subject]).get(subject.pk))
    return {
        "subject": subject.pk,
        "as_of": as_of,
        "verdict": result.verdict,
        "criteria": [
            {
                "code": c.code,
                "kind": c.kind,
                "text": c.text,
                "status": c.status,
                "explanation": c.explanation,
                "missing": list(c.missing_fields),
            }
            for c in result.criteria
        ],
        "missing": result.missing,
        "stale": dict(result.stale),
    }


# --------------------------------------------------------------------------- form records


class RecordOut(Schema):
    id: int
    subject: int
    site: str
    form: str
    visit: str | None
    repeat: int
    status: str
    version: int
    data: dict[str, Any]
    locked: bool
    voided: bool
    updated_at: dt.datetime


class RecordPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[RecordOut]


class RecordFilter(DateRange):
    site: str | None = Field(None, max_length=8, description="a site code")
    subject: int | None = Field(None, ge=1, le=2**62, description="a subject id")
    form: str | None = Field(None, max_length=50, description="a form code")
    visit: str | None = Field(None, max_length=20, description="a visit code")


def _record_out(record: FormRecord) -> dict:
    return {
        "id": record.pk,
        "subject": record.subject_id,
        "site": record.subject.site.code,
        "form": record.form_code,
        "visit": record.visit.code if record.visit_id else None,
        "repeat": record.repeat,
        "status": record.status,
        "version": record.version,
        "data": record.data or {},
        "locked": record.locked_at is not None,
        "voided": record.voided_at is not None,
        "updated_at": record.updated_at,
    }


def _records(request):
    user, study, access = _ctx(request)
    _require_read(access)
    return FormRecord.objects.for_user(user, study).select_related("subject__site", "visit")


@api.get(
    "/records",
    response={200: RecordPage, **_problems(403)},
    tags=["records"],
    summary="Form records (filter by site, subject, form, visit, date of last change)",
)
def list_records(request, filters: Query[RecordFilter], page: Query[Page]):
    _user, study, access = _ctx(request)
    records = _records(request).order_by("pk")
    if (site := _site_of(study, access, filters.site)) is not None:
        records = records.filter(subject__site=site)
    if filters.subject is not None:
        records = records.filter(subject_id=filters.subject)
    if filters.form:
        records = records.filter(form_code=filters.form)
    if filters.visit:
        records = records.filter(visit__code=filters.visit)
    records = _dated(records, "updated_at", filters)
    return _paged(records, page, _record_out)


@api.get("/records/{record_id}", response={200: RecordOut, **_problems(403)}, tags=["records"])
def get_record(request, record_id: int):
    record = _records(request).filter(pk=record_id).first()
    if record is None:
        raise Http404
    return _record_out(record)


ReasonCode = Literal[tuple(ReasonForChange.values)]  # type: ignore[valid-type]


class RecordCreate(Schema):
    subject: int = Field(ge=1, le=2**62)
    form: str = Field(min_length=1, max_length=50)
    visit: str | None = Field(None, max_length=20, description="the visit code (none for a log form)")
    data: dict[str, Any]


class RecordUpdate(Schema):
    data: dict[str, Any]
    expected_version: int = Field(ge=1, le=2**31, description="the version you read (a stale one is 409)")
    reason: ReasonCode | None = Field(None, description="the reason for change, once the record was complete")  # type: ignore[valid-type]
    reason_detail: str = Field("", max_length=500)


def _save(request, subject: Subject, form_code: str, data: dict, **kwargs) -> FormRecord:
    """``save_form`` as the form page calls it; its refusals as problems."""
    try:
        with _as_token(request):
            outcome = save_form(request.api_user, subject, form_code, data, **kwargs)
    except StaleVersion as exc:
        changes = {
            code: {"yours": mine, "stored": theirs} for code, (mine, theirs) in exc.differences.items()
        }
        current = exc.current.version if exc.current else None
        raise Problem(
            409,
            _("Stale version"),
            _("The record was changed since the version you read (now version %(version)s): see changes.")
            % {"version": current},
            changes=changes,
            current_version=current,
        ) from None
    except Locked as exc:
        raise Problem(409, _("Locked"), str(exc.message)) from None
    except FormInvalid as exc:
        errors = {
            code: [str(m) for m in messages] for code, messages in (exc.validation.errors or {}).items()
        }
        raise Problem(422, _("Invalid data"), str(exc.message), errors=errors) from None
    except ReasonRequired as exc:
        raise Problem(
            422, _("Reason for change needed"), str(exc.message), errors={"reason": [str(exc.message)]}
        ) from None
    except FormSaveRefused as exc:
        raise Problem(422, _("Refused"), str(exc.message)) from None
    return outcome.record


@api.post(
    "/records",
    response={201: RecordOut, **_problems(403, 409)},
    tags=["records"],
    summary="Create a form record (validated as the form page validates it)",
)
def create_record(request, payload: RecordCreate):
    user, study, access = _ctx(request)
    subject = _subject(request, payload.subject)
    require(access, Permission.ENTER_DATA, subject.site_id)
    protocol = study.protocol
    if payload.form not in {f.code for f in protocol.forms}:
        raise Problem(422, _("Invalid request"), _("No such form."), errors={"form": [_("No such form.")]})
    visit = None
    if not protocol.is_log_form(payload.form):
        if not payload.visit:
            raise Problem(
                422,
                _("Invalid request"),
                _("A visit is needed."),
                errors={"visit": [_("A visit is needed.")]},
            )
        visit = Visit.objects.for_user(user, study).filter(subject=subject, code=payload.visit).first()
        if visit is None:
            raise Problem(
                422, _("Invalid request"), _("No such visit."), errors={"visit": [_("No such visit.")]}
            )
    elif payload.visit:
        raise Problem(
            422,
            _("Invalid request"),
            _("A log form has no visit."),
            errors={"visit": [_("A log form has no visit.")]},
        )
    record = _save(
        request, subject, payload.form, payload.data, visit=visit, repeat=None if visit is None else 1
    )
    return Status(201, _record_out(_records(request).get(pk=record.pk)))


@api.put(
    "/records/{record_id}",
    response={200: RecordOut, **_problems(403, 409)},
    tags=["records"],
    summary="Change a form record: its expected version, and a reason once it was complete",
)
def update_record(request, record_id: int, payload: RecordUpdate):
    _user, _study, access = _ctx(request)
    record = _records(request).filter(pk=record_id).first()
    if record is None:
        raise Http404
    require(access, Permission.ENTER_DATA, record.subject.site_id)
    subject = _subject(request, record.subject_id)
    saved = _save(
        request,
        subject,
        record.form_code,
        payload.data,
        visit=record.visit,
        repeat=record.repeat,
        expected_version=payload.expected_version,
        reason=payload.reason,
        reason_detail=payload.reason_detail,
    )
    return _record_out(_records(request).get(pk=saved.pk))


# --------------------------------------------------------------------------- queries


class QueryOut(Schema):
    id: int
    record: int
    subject: int
    site: str
    form: str
    field: str
    status: str
    origin: str
    summary: str
    raised_at: dt.datetime
    answered_at: dt.datetime | None
    closed_at: dt.datetime | None


class QueryPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[QueryOut]


QueryStatusCode = Literal[tuple(QueryStatus.values)]  # type: ignore[valid-type]


class QueryFilter(DateRange):
    site: str | None = Field(None, max_length=8)
    subject: int | None = Field(None, ge=1, le=2**62)
    form: str | None = Field(None, max_length=50)
    status: QueryStatusCode | None = None  # type: ignore[valid-type]


def _query_out(query: DataQuery) -> dict:
    return {
        "id": query.pk,
        "record": query.record_id,
        "subject": query.record.subject_id,
        "site": query.record.subject.site.code,
        "form": query.record.form_code,
        "field": query.field_code,
        "status": query.status,
        "origin": query.origin,
        "summary": query.summary,
        "raised_at": query.raised_at,
        "answered_at": query.answered_at,
        "closed_at": query.closed_at,
    }


def _queries(request):
    user, study, access = _ctx(request)
    _require_read(access)
    return DataQuery.objects.for_user(user, study).select_related("record__subject__site")


def _query(request, query_id: int) -> DataQuery:
    query = _queries(request).filter(pk=query_id).first()
    if query is None:
        raise Http404
    return query


@api.get("/queries", response={200: QueryPage, **_problems(403)}, tags=["queries"], summary="Queries")
def list_queries(request, filters: Query[QueryFilter], page: Query[Page]):
    _user, study, access = _ctx(request)
    queries = _queries(request).order_by("pk")
    if (site := _site_of(study, access, filters.site)) is not None:
        queries = queries.filter(record__subject__site=site)
    if filters.subject is not None:
        queries = queries.filter(record__subject_id=filters.subject)
    if filters.form:
        queries = queries.filter(record__form_code=filters.form)
    if filters.status:
        queries = queries.filter(status=filters.status)
    queries = _dated(queries, "raised_at", filters)
    return _paged(queries, page, _query_out)


@api.get("/queries/{query_id}", response={200: QueryOut, **_problems(403)}, tags=["queries"])
def get_query(request, query_id: int):
    return _query_out(_query(request, query_id))


class QueryRaise(Schema):
    record: int = Field(ge=1, le=2**62)
    field: str = Field(min_length=1, max_length=100)
    text: str = Field(min_length=1, max_length=4000)


class QueryText(Schema):
    text: str = Field("", max_length=4000)


def _query_action(request, action, *args):
    try:
        with _as_token(request):
            return action(request.api_user, *args)
    except ActionRefused as exc:
        raise Problem(409, _("Refused"), str(exc)) from None


@api.post(
    "/queries", response={201: QueryOut, **_problems(403, 409)}, tags=["queries"], summary="Raise a query"
)
def create_query(request, payload: QueryRaise):
    record = _records(request).filter(pk=payload.record).first()
    if record is None:
        raise Http404
    require(request.api_access, Permission.RAISE_QUERY, record.subject.site_id)
    query = _query_action(request, raise_query, record, payload.field, payload.text)
    return Status(201, _query_out(_query(request, query.pk)))


@api.post(
    "/queries/{query_id}/answer",
    response={200: QueryOut, **_problems(403, 409)},
    tags=["queries"],
    summary="Answer a query (site staff)",
)
def answer(request, query_id: int, payload: QueryText):
    query = _query(request, query_id)
    require(request.api_access, Permission.ANSWER_QUERY, query.record.subject.site_id)
    _query_action(request, answer_query, query, payload.text)
    return _query_out(_query(request, query_id))


@api.post(
    "/queries/{query_id}/close",
    response={200: QueryOut, **_problems(403, 409)},
    tags=["queries"],
    summary="Close a query (its raiser or a data manager)",
)
def close(request, query_id: int, payload: QueryText):
    query = _query(request, query_id)
    require(request.api_access, Permission.CLOSE_QUERY, query.record.subject.site_id)
    _query_action(request, close_query, query, payload.text)
    return _query_out(_query(request, query_id))


# --------------------------------------------------------------------------- audit events


class AuditEventOut(Schema):
    sequence: int
    occurred_at: dt.datetime
    site: str
    username: str
    role: str
    action: str
    object_type: str
    object_id: str
    object_label: str
    field: str
    old_value: Any = None
    new_value: Any = None
    reason: str
    api_token_id: int | None


class AuditPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[AuditEventOut]


class AuditFilter(DateRange):
    site: str | None = Field(None, max_length=8)
    subject: int | None = Field(None, ge=1, le=2**62, description="the events of a subject's data")
    form: str | None = Field(None, max_length=50, description="the events of the records of a form")
    action: str | None = Field(None, max_length=40)


@api.get(
    "/audit-events",
    response={200: AuditPage, **_problems(403)},
    tags=["audit"],
    summary="The audit trail of the sites you see (newest first)",
)
def list_audit_events(request, filters: Query[AuditFilter], page: Query[Page]):
    from trialdesk.audit_viewer.viewer import Masker, events_for, subject_scope

    user, study, access = _ctx(request)
    if (
        filters.subject is not None
        and not Subject.objects.for_user(user, study).filter(pk=filters.subject).exists()
    ):
        raise Http404  # a foreign subject is not found, whatever the role
    if not access.can(Permission.VIEW_AUDIT):
        raise PermissionDenied
    if filters.subject is not None:
        events = subject_scope(user, study, filters.subject).events
    else:
        events = events_for(user, study)
    if (site := _site_of(study, access, filters.site)) is not None:
        if not access.can(Permission.VIEW_AUDIT, site.pk):
            raise PermissionDenied
        events = events.filter(site_id=site.pk)
    if filters.form:
        ids = (
            FormRecord.objects.for_user(user, study)
            .filter(form_code=filters.form)
            .values_list("pk", flat=True)
        )
        events = events.filter(object_type="form_record", object_id__in=[str(pk) for pk in ids])
    if filters.action:
        events = events.filter(action=filters.action)
    events = _dated(events, "occurred_at", filters).order_by("-sequence")
    masker = Masker(study, access.pseudonymised)

    def present(event):
        return {
            "sequence": event.sequence,
            "occurred_at": event.occurred_at,
            "site": event.site_code,
            "username": event.username,
            "role": event.role,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "object_label": event.object_label,
            "field": event.field,
            "old_value": masker.value(event.field, event.old_value),
            "new_value": masker.value(event.field, event.new_value),
            "reason": masker.reason(event.reason),
            "api_token_id": event.api_token_id,
        }

    return _paged(events, page, present)


# --------------------------------------------------------------------------- derived data


class SubjectFilterOnly(Schema):
    site: str | None = Field(None, max_length=8)
    subject: int | None = Field(None, ge=1, le=2**62)


class ResponsesOut(Schema):
    subject: int
    data: dict[str, Any] = Field(
        description="the course of disease, each assessment's derived response, transfusions"
    )


class ResponsesPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[ResponsesOut]


@api.get(
    "/responses",
    response={200: ResponsesPage, **_problems(403)},
    tags=["derived"],
    summary="Derived responses per subject (the analysis's)",
)
def list_responses(request, filters: Query[SubjectFilterOnly], page: Query[Page]):
    from trialdesk.assessments.services import study_responses

    user, study, access = _ctx(request)
    _require_read(access)
    site = _site_of(study, access, filters.site)
    found = study_responses(user, study)
    rows = []
    for pk, data in sorted(found.items()):
        if filters.subject is not None and pk != filters.subject:
            continue
        if site is not None and data.get("site") != site.code:
            continue
        rows.append({"subject": pk, "data": _plain(data)})
    return _paged(rows, page, lambda row: row)


class ExposureOut(Schema):
    subject: str
    site: str
    today: dt.date
    exposure: dict[str, Any]
    deviations: list[dict[str, Any]]


class ExposurePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[ExposureOut]


@api.get(
    "/exposure",
    response={200: ExposurePage, **_problems(403)},
    tags=["derived"],
    summary="Exposure and deviations of the treated subjects",
)
def list_exposure(request, filters: Query[SubjectFilterOnly], page: Query[Page]):
    from trialdesk.deviations.services import treatment_data

    user, study, access = _ctx(request)
    _require_read(access)
    site = _site_of(study, access, filters.site)
    label = None
    if filters.subject is not None:
        label = _subject(request, filters.subject).label
    rows = []
    for row in treatment_data(user, study):
        if site is not None and row["site"] != site.code:
            continue
        if label is not None and row["subject"] != label:
            continue
        rows.append(_plain(row))
    return _paged(rows, page, lambda row: row)


class CutoffFilter(Schema):
    cutoff: IsoDate | None = Field(
        None, description="the last clinical date included (default: today in the trial's time zone)"
    )


class EndpointsOut(Schema):
    nct_id: str
    cutoff: dt.date | None
    as_of: dt.date
    created_at: dt.datetime
    pseudonymised: bool
    protocol_sha256: str
    snapshot_sha256: str
    counts: dict[str, int]
    flow: dict[str, Any] = Field(description="screened, enrolled, treated, off treatment and why")
    baseline: dict[str, Any] = Field(description="the treated subjects' characteristics at baseline")
    exposure: dict[str, Any] = Field(description="doses given, dose intensity")
    response: dict[str, Any] = Field(
        description="the response rate (best confirmed response CR, CRp or PR) with its exact interval "
        "and the two-stage design's decision"
    )
    os: dict[str, Any] = Field(description="overall survival: Kaplan-Meier in months")
    lfs: dict[str, Any] = Field(description="leukemia-free survival of the responders")
    transfusions: dict[str, Any] = Field(description="transfusion needs before and on treatment")
    cytogenetics: dict[str, Any] = Field(description="cytogenetic response")
    tolerance: dict[str, Any] = Field(description="adverse events by term and worst grade")


@api.get(
    "/endpoints",
    response={200: EndpointsOut, **_problems(403)},
    tags=["derived"],
    summary="Every endpoint of the protocol, analysed from the data up to a cut-off",
    description="The analysis the report shows (trialdesk.analysis), as data: for the roles that read "
    "the whole study's analysis (data manager, statistician — pseudonymised —, sponsor).",
)
def get_endpoints(request, filters: Query[CutoffFilter]):
    from trialdesk.analysis import analyse
    from trialdesk.analysis.document import endpoints_document
    from trialdesk.datacut import build_snapshot, trial_today
    from trialdesk.snapshot.datacut import content_sha256
    from trialdesk.studies.access import may_read_analysis

    user, study, access = _ctx(request)
    if not may_read_analysis(access):
        raise PermissionDenied
    snapshot = build_snapshot(study, viewer=user, cutoff=filters.cutoff or trial_today()).materialise()
    analysis = analyse(snapshot, study.protocol, snapshot_sha256=content_sha256(snapshot))
    return endpoints_document(analysis)


def _plain(value):
    """Plain JSON data (dates as ISO text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value
