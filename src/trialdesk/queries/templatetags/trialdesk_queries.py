"""Template tags that put queries and SDV marks on the form page and the casebook.

The form and casebook views belong to other apps; these tags read what they need
themselves (scoped to the signed-in user) and cache it per request, so a page
costs a few database queries whatever the number of fields or cells.
"""

from __future__ import annotations

from django import template

from trialdesk.queries.models import UNRESOLVED, Query, QueryStatus, SourceVerification
from trialdesk.studies.access import Permission, study_access

register = template.Library()


class _Review:
    """What one request shows of the queries and SDV marks of one subject's records."""

    def __init__(self, request, study, subject_id: int):
        from trialdesk.subjects.models import Subject

        self.study = study
        self.access = study_access(request.user, self.study)
        # None when the subject is outside the user's sites: the tags then show nothing.
        self.site_id = (
            Subject.objects.for_user(request.user, self.study)
            .filter(pk=subject_id)
            .values_list("site_id", flat=True)
            .first()
        )
        queries = (
            Query.objects.for_user(request.user, self.study)
            .filter(record__subject_id=subject_id)
            .order_by("raised_at", "pk")
        )
        marks = (
            SourceVerification.objects.for_user(request.user, self.study)
            .active()
            .filter(record__subject_id=subject_id)
        )
        self.queries: dict[int, list[Query]] = {}
        for query in queries:
            self.queries.setdefault(query.record_id, []).append(query)
        self.marks: dict[int, dict[str, SourceVerification]] = {}
        for mark in marks.select_related("verified_by"):
            self.marks.setdefault(mark.record_id, {})[mark.field_code] = mark

    def can(self, permission: Permission) -> bool:
        return self.site_id is not None and self.access.can(permission, self.site_id)


def _review(context, record) -> _Review | None:
    request = context.get("request")
    if not record or not getattr(record, "pk", None) or request is None:
        return None
    if not getattr(request.user, "is_authenticated", False):
        return None
    # One read per subject and request, not one per tag: a form page has a tag per field.
    cache = request.__dict__.setdefault("_trialdesk_review", {})
    if record.subject_id not in cache:
        study = getattr(request, "study", None)
        cache[record.subject_id] = None if study is None else _Review(request, study, record.subject_id)
    review = cache[record.subject_id]
    if review is None or not review.can(Permission.VIEW_CLINICAL_DATA):
        return None
    return review


@register.inclusion_tag("queries/_field_review.html", takes_context=True)
def field_review(context, record, field):
    """Under one field of the form page: its unresolved queries, its SDV mark, the actions."""
    review = _review(context, record)
    if review is None:
        return {"show": False}
    code = field.code
    applies = getattr(field, "applies", True)
    queries = [
        q for q in review.queries.get(record.pk, []) if q.status in UNRESOLVED and code in q.all_fields
    ]
    marks = review.marks.get(record.pk, {})
    return {
        "show": True,
        "record": record,
        "field_code": code,
        "queries": queries,
        "mark": marks.get(code) or marks.get(""),
        "whole_form_mark": "" in marks,
        # A field that does not apply given the other answers is empty by rule: nothing to ask or verify.
        "can_raise": applies and review.can(Permission.RAISE_QUERY) and not record.locked_at,
        "can_verify": applies and review.can(Permission.VERIFY_SOURCE),
        "version": record.version,
    }


@register.inclusion_tag("queries/_form_review.html", takes_context=True)
def form_review(context, record):
    """Below the form: every query of the record and the whole-form SDV mark and action."""
    review = _review(context, record)
    if review is None:
        return {"show": False}
    marks = review.marks.get(record.pk, {})
    queries = review.queries.get(record.pk, [])
    return {
        "show": True,
        "request": context.get("request"),
        "record": record,
        "queries": queries,
        "can_answer": review.can(Permission.ANSWER_QUERY),
        "mark": marks.get(""),
        "field_marks": len([code for code in marks if code]),
        "can_verify": review.can(Permission.VERIFY_SOURCE),
        "can_raise": review.can(Permission.RAISE_QUERY) and not record.locked_at,
        "version": record.version,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("queries/_record_badges.html", takes_context=True)
def record_badges(context, record, next_url=""):
    """In a casebook cell: how many queries wait, the SDV state, the whole-form verify action."""
    review = _review(context, record)
    if review is None:
        return {"show": False}
    queries = review.queries.get(record.pk, [])
    marks = review.marks.get(record.pk, {})
    filled = [code for code, value in (record.data or {}).items() if value not in (None, "")]
    if "" in marks:
        sdv = "verified"
    elif filled and all(code in marks for code in filled):
        sdv = "verified"
    elif any(code in marks for code in filled):
        sdv = "partial"
    else:
        sdv = ""
    return {
        "show": True,
        "record": record,
        "open": len([q for q in queries if q.status == QueryStatus.OPEN]),
        "answered": len([q for q in queries if q.status == QueryStatus.ANSWERED]),
        "sdv": sdv,
        "can_verify": review.can(Permission.VERIFY_SOURCE) and sdv != "verified",
        "next_url": next_url,
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag(takes_context=True)
def linked_query(context, record):
    """The unresolved query of this record named by ``?query=N`` (the form opened to answer it), or None."""
    request = context.get("request")
    review = _review(context, record)
    if review is None or request is None:
        return None
    number = request.GET.get("query", "")
    if not number.isdigit():
        return None
    return next(
        (q for q in review.queries.get(record.pk, []) if q.pk == int(number) and q.status in UNRESOLVED),
        None,
    )


@register.filter
def check_name(code: str) -> str:
    """An edit check's code as the protocol names it, or the name of a rule of the form
    engine (a physiological range, a death rule) in the user's language: never a field code."""
    from trialdesk.crf.rendering import system_rule
    from trialdesk.queries import wording

    return wording.rule_name(code or "") or system_rule(code or "") or code


def _protocol(context, query):
    """The study's protocol: the request's study when it is the query's (no database read)."""
    request = context.get("request")
    study = getattr(request, "study", None) if request is not None else None
    if study is not None and study.pk == query.record.subject.study_id:
        return study.protocol
    return query.record.subject.study.protocol


@register.simple_tag(takes_context=True)
def query_summary(context, query):
    """A query's question as shown (``queries.wording.Shown``: ``text``, ``lang``): a system
    query's in the reader's language, its stored English (``lang`` "en") when it cannot be."""
    from trialdesk.queries import wording

    return wording.of_summary(query, _protocol(context, query) if query.is_system else None)


@register.simple_tag(takes_context=True)
def message_text(context, message, query):
    """A message of a query's thread as shown: a person's words as typed; the system's in the
    reader's language (``queries.wording``)."""
    from trialdesk.queries import wording

    system = message.author_id is None or bool(message.template)
    return wording.of_message(message, query, _protocol(context, query) if system else None)
