"""Queries and source data verification (DESIGN §5): every step in one transaction with its audit event.

Who does what:
- a query is raised by an edit check of severity ``query`` when a form is saved
  (``on_form_saved``), or by hand by a monitor or data manager (``raise_query``);
- site staff (``ANSWER_QUERY``) answer an open query (``answer_query``);
- the raiser, or a data manager, closes or re-opens it (``close_query``,
  ``reopen_query``); a query raised by an edit check has no human raiser, so any
  reviewer of its site (``CLOSE_QUERY``: monitor, data manager) may close it;
- an edit-check query closes by itself only when a data change makes its rule
  hold (TRUE, not merely no longer FALSE); a manual query never closes by itself;
- a monitor (``VERIFY_SOURCE``) marks a field or a whole form verified against
  source (``verify_source``); a later change of that field (of any field, for a
  whole-form mark) resets the mark (``on_form_saved``).

Every read a user asks for goes through ``Model.objects.for_user(user, study)``.
The reads of ``on_form_saved`` are of the one record being saved, which the
saving user was already allowed to write.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Expression,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from trialdesk.audit import reasons
from trialdesk.audit.services import Actor, audited, record
from trialdesk.crf.crossrecord import dependents, rule_values
from trialdesk.crf.events import FormSaved, RecordVoided
from trialdesk.crf.models import FormRecord, FormStatus, ReasonForChange
from trialdesk.crf.services import lock_reason, reason_text
from trialdesk.protocol.crossrecord import (
    AFTER_DEATH,
    DEATH_MISMATCH,
    death_findings,
    death_rule_holds,
    death_rules_apply,
)
from trialdesk.protocol.formdata import RANGE_PREFIX, Message, range_holds, typed_values
from trialdesk.queries import wording
from trialdesk.queries.answers import answered
from trialdesk.queries.models import (
    UNRESOLVED,
    MessageKind,
    Query,
    QueryMessage,
    QueryOrigin,
    QueryStatus,
    SourceVerification,
)
from trialdesk.rules import Tri, parse
from trialdesk.studies.access import Permission, StudyAccess, require, study_access
from trialdesk.studies.models import Role, Site, Study
from trialdesk.studies.scoping import prepared_rows

TEXT_MAX = 2000
SYSTEM = Actor.system()


class ActionRefused(Exception):
    """A step the user asked for that cannot happen now; nothing was written."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class QueryActionRefused(ActionRefused):
    pass


class SdvRefused(ActionRefused):
    pass


# --------------------------------------------------------------------------- helpers


def _site_id(form_record: FormRecord) -> int:
    return form_record.subject.site_id


def _clean_text(text: str | None, *, required: bool) -> str:
    text = (text or "").strip()
    if required and not text:
        raise QueryActionRefused(_("Write a message."))
    if len(text) > TEXT_MAX:
        raise QueryActionRefused(
            _("The message is too long (at most %(max)d characters).") % {"max": TEXT_MAX}
        )
    return text


def _audit_query(actor: Actor, action: str, query: Query, *, old_status, new_status, reason: str) -> None:
    form_record = query.record
    subject = form_record.subject
    record(
        actor,
        action,
        study_id=subject.study_id,
        site=subject.site,
        object_type="query",
        object_id=query.pk,
        object_label=f"{query.label} {form_record.label}",
        field=query.field_code,
        old_value=old_status,
        new_value=new_status,
        reason=reason,
    )


def _add_message(
    query: Query, actor: Actor, kind: str, text: str, at: dt.datetime, *, template=None, params=None
) -> QueryMessage:
    """A message of the thread; a system text keeps its ``template`` and ``params``
    (``queries.wording``) beside the English ``text``."""
    return QueryMessage.objects.create(
        query=query,
        kind=kind,
        author_id=actor.user_id,
        author_name=actor.username,
        role=actor.role,
        text=text,
        template=template or "",
        params=wording.jsonable(params) if params is not None else None,
        created_at=at,
    )


def _locked(query: Query) -> Query:
    """The query row again, locked for this transaction, with what the audit needs."""
    return (
        Query.objects.system("query workflow, after its permission check")
        .select_for_update(of=("self",))
        .select_related("record__subject__site", "record__visit")
        .get(pk=query.pk)
    )


def _actor(user, access: StudyAccess, site_id: int, permission: Permission) -> Actor:
    return Actor.for_user(user, access.role_for(permission, site_id))


def _acting(user, query: Query, permission: Permission, text: str, *, required: bool):
    """What every step of a query checks before its transaction: the permission at the
    query's site and the message. Returns (access, cleaned text, actor)."""
    site_id = _site_id(query.record)
    access = study_access(user, query.record.subject.study)
    require(access, permission, site_id)
    text = _clean_text(text, required=required)
    return access, text, _actor(user, access, site_id, permission)


def _locked_record(form_record: FormRecord) -> FormRecord:
    """The form record again, locked for this transaction, with what the audit needs."""
    return (
        FormRecord.objects.system("query workflow, after its permission check")
        .select_for_update(of=("self",))
        .select_related("subject__site", "subject__study", "visit")
        .get(pk=form_record.pk)
    )


def _answer(
    query: Query, actor: Actor, text: str, *, reason: str, at: dt.datetime, template=None, params=None
) -> None:
    """An open query moves to answered: status, thread message and audit event."""
    query.status = QueryStatus.ANSWERED
    query.answered_at = at
    query.save(update_fields=["status", "answered_at"])
    _add_message(query, actor, MessageKind.ANSWER, text, at, template=template, params=params)
    _audit_query(
        actor, "query_answer", query, old_status=QueryStatus.OPEN, new_status=query.status, reason=reason
    )


def _comment(
    query: Query, actor: Actor, text: str, *, reason: str, at: dt.datetime, template=None, params=None
) -> None:
    """A message in the thread without a status move, and its audit event."""
    _add_message(query, actor, MessageKind.COMMENT, text, at, template=template, params=params)
    _audit_query(
        actor, "query_comment", query, old_status=query.status, new_status=query.status, reason=reason
    )


def may_answer(access: StudyAccess, query: Query) -> bool:
    return query.status == QueryStatus.OPEN and access.can(Permission.ANSWER_QUERY, _site_id(query.record))


def _may_review(access: StudyAccess, user, query: Query) -> bool:
    """The raiser or a data manager; for a query of an edit check, any reviewer of the site."""
    site_id = _site_id(query.record)
    if not access.can(Permission.CLOSE_QUERY, site_id):
        return False
    if Role.DATA_MANAGER in access.roles_at(site_id):
        return True
    return query.raised_by_id is None or query.raised_by_id == user.pk


def may_close(access: StudyAccess, user, query: Query) -> bool:
    return query.status in UNRESOLVED and _may_review(access, user, query)


def may_reopen(access: StudyAccess, user, query: Query) -> bool:
    return query.status == QueryStatus.CLOSED and _may_review(access, user, query)


def may_comment(access: StudyAccess, query: Query) -> bool:
    site_id = _site_id(query.record)
    return query.status != QueryStatus.CLOSED and any(
        access.can(permission, site_id)
        for permission in (Permission.ANSWER_QUERY, Permission.RAISE_QUERY, Permission.CLOSE_QUERY)
    )


# --------------------------------------------------------------------------- manual workflow


def raise_query(user, form_record: FormRecord, field_code: str, text: str) -> Query:
    """A monitor or data manager asks the site about one field of a record."""

    study = form_record.subject.study
    access = study_access(user, study)
    require(access, Permission.RAISE_QUERY, _site_id(form_record))
    text = _clean_text(text, required=True)
    form = study.protocol.form(form_record.form_code)
    if field_code not in form.field_codes:
        raise QueryActionRefused(_("Choose a field of this form."))
    actor = _actor(user, access, _site_id(form_record), Permission.RAISE_QUERY)
    with audited():
        locked = _locked_record(form_record)
        if (why := lock_reason(locked)) is not None:
            raise QueryActionRefused(why)
        now = timezone.now()
        query = Query.objects.create(
            record=locked,
            field_code=field_code,
            fields=[field_code],
            origin=QueryOrigin.MANUAL,
            status=QueryStatus.OPEN,
            summary=text[:200],
            record_version=locked.version,
            raised_by=user,
            raised_role=actor.role,
            raised_at=now,
        )
        _add_message(query, actor, MessageKind.RAISE, text, now)
        _audit_query(actor, "query_open", query, old_status=None, new_status=QueryStatus.OPEN, reason=text)
    return query


def _open_system_query(
    form_record: FormRecord,
    field_code: str,
    fields: list[str],
    *,
    code: str,
    message: str,
    reason: str,
    template: str | None = None,
    params: dict | None = None,
) -> Query:
    """The system opens a query on a record (an edit check, or another rule named ``code``):
    the query, its first message and its audit event. The caller has checked that none is open.
    ``message`` is the English stored; ``template`` and ``params``, when given, let the pages
    show it in the reader's language (``queries.wording``)."""
    if template is None and isinstance(message, Message):
        template, params = message.template, dict(message.params) if message.params else None
        if message.check_code:
            template, params = None, None  # the protocol's own text of the check
    params = wording.jsonable(params) if params is not None else None
    message = str(message)
    now = timezone.now()
    query = Query.objects.create(
        record=form_record,
        field_code=field_code,
        fields=fields,
        origin=QueryOrigin.EDIT_CHECK,
        check_code=code,
        status=QueryStatus.OPEN,
        summary=message[:200],
        summary_template=template or "",
        summary_params=params,
        record_version=form_record.version,
        raised_by=None,
        raised_role=SYSTEM.role,
        raised_at=now,
    )
    query.record = form_record
    _add_message(query, SYSTEM, MessageKind.RAISE, message, now, template=template, params=params)
    _audit_query(SYSTEM, "query_open", query, old_status=None, new_status=QueryStatus.OPEN, reason=reason)
    return query


def raise_system_query(
    form_record: FormRecord,
    field_code: str,
    text: str,
    *,
    code: str,
    reason: str,
    template: str | None = None,
    params: dict | None = None,
) -> Query | None:
    """The system asks the site about one field of a record, for a rule that is not an edit
    check of the form (the screening window at the first dose): at most one unresolved
    query per record and ``code``. Runs inside the caller's ``audited()`` block (a form
    save's subscriber); returns the query raised, or None when one is already open.
    ``text`` is the English stored (and audited); ``template`` (a ``gettext_noop`` string of
    the caller's catalogue) and ``params`` let the pages show it in the reader's language
    (``queries.wording``): give ``text`` as ``wording.english(template, params)``."""
    with audited():
        existing = Query.objects.system("one system query per rule and record").filter(
            record=form_record, origin=QueryOrigin.EDIT_CHECK, check_code=code, status__in=UNRESOLVED
        )
        if existing.exists():
            return None
        return _open_system_query(
            form_record,
            field_code,
            [field_code],
            code=code,
            message=text,
            reason=reason,
            template=template,
            params=params,
        )


def resolve_system_query(
    form_record: FormRecord,
    *,
    code: str,
    because: str,
    template: str | None = None,
    params: dict | None = None,
) -> list[Query]:
    """The rule ``code`` that raised system queries on this record now holds: its unresolved
    queries close, each with ``because`` as the system's last message (audited). The apps that
    raise queries for their own rules (``raise_system_query``) close them through this, in
    the same save's ``audited()`` block; returns the queries closed. ``template`` and
    ``params``, when given, are ``because``'s (``queries.wording``): the pages show the
    message in the reader's language."""
    text, closing_template, closing_params = closed_because(because, template, params)
    with audited():
        unresolved = list(
            Query.objects.system("the rule that raised these queries now holds")
            .select_for_update(of=("self",))
            .filter(record=form_record, origin=QueryOrigin.EDIT_CHECK, check_code=code, status__in=UNRESOLVED)
            .order_by("pk")
        )
        for query in unresolved:
            query.record = form_record
            _close(query, SYSTEM, text, user_id=None, template=closing_template, params=closing_params)
    return unresolved


#: the system's closing messages (English stored; French in the queries catalogue)
T_CLOSED_BECAUSE = gettext_noop("Closed automatically: %(because)s")
T_CLOSED_BY_CHANGE = gettext_noop(
    "Closed automatically: the change by %(user)s (version %(version)s) resolves the edit check %(check)s."
)
T_CLOSED_VOIDED = gettext_noop(
    "Closed automatically: the entry was voided by %(user)s (entered in error): %(reason)s"
)
#: a change of another record (``previous.``, ``baseline.``, a death date) resolves a check
T_CLOSED_BY_CHANGE_ELSEWHERE = gettext_noop(
    "Closed automatically: %(record)s changed by %(user)s (version %(version)s) resolves the edit check %(check)s."
)
T_CLOSED_BY_CHANGE_ELSEWHERE_RULE = gettext_noop(
    "Closed automatically: %(record)s changed by %(user)s (version %(version)s) resolves the rule %(check)s."
)
#: how such a message names the record that changed ("NTE-S01 M3 Bone marrow assessment")
T_RECORD_AT_VISIT = gettext_noop("%(subject)s %(visit)s %(form)s")
T_LOG_ENTRY = gettext_noop("%(subject)s %(form)s #%(repeat)s")


def _changed_params(changed_record: FormRecord, actor: Actor) -> dict:
    """The parameters of a message saying that ``changed_record`` changed: its label as
    stored (``record``, English) and what names it again in the reader's language."""
    return {
        "record": changed_record.label,
        "subject": changed_record.subject.screening_number,
        "visit": changed_record.visit.code if changed_record.visit_id else "",
        "form": changed_record.form_code,
        "repeat": changed_record.repeat,
        "user": actor.username,
        "version": changed_record.version,
    }


def changed_elsewhere(text: wording.SystemText) -> str | None:
    """A closing message of :data:`T_CLOSED_BY_CHANGE_ELSEWHERE` (or ``…_RULE``) in the
    reader's language, the record that changed named by its form's title (registered with
    ``queries.wording.register_template``)."""
    from trialdesk.crf.display import form_title

    params = dict(text.params or {})
    if "form" not in params or text.protocol is None:
        return None
    title = form_title(text.protocol, params["form"])
    if params.get("visit"):
        name = _(T_RECORD_AT_VISIT) % {"subject": params["subject"], "visit": params["visit"], "form": title}
        if (params.get("repeat") or 1) > 1:
            name = f"{name} #{params['repeat']}"
    else:
        name = _(T_LOG_ENTRY) % {"subject": params["subject"], "form": title, "repeat": params["repeat"]}
    return wording.fill(text.template, {**params, "record": name})


#: the names of the form engine's own rules, as a closing message names them
_RULE_NAMES = {
    DEATH_MISMATCH: gettext_noop("Same date of death on every form"),
    AFTER_DEATH: gettext_noop("Nothing dated after the death"),
}


def _rule_name(code: str):
    """An edit check by its code; a rule of the form engine by its name, in the reader's language."""
    if code.startswith(RANGE_PREFIX):
        return wording.part(gettext_noop("Physiological range"))
    if code in _RULE_NAMES:
        return wording.part(_RULE_NAMES[code])
    return code


def closed_because(because, template: str | None = None, params: dict | None = None):
    """(English text, template, params) of the system's closing message saying ``because``:
    an English text, or a part (``wording.part``: a ``gettext_noop`` template of the caller's
    catalogue and its parameters) that the pages show in the reader's language. ``template``
    and ``params``, when given, are ``because``'s (the text then says what they give)."""
    if template is not None:
        because = wording.part(template, **(params or {}))
    if isinstance(because, dict) and "template" in because:
        closing = {"because": because}
        return wording.english(T_CLOSED_BECAUSE, closing), T_CLOSED_BECAUSE, closing
    return f"Closed automatically: {because}", None, None


def _close_because(query: Query, because) -> None:
    """The system closes ``query`` saying ``because`` (see :func:`closed_because`)."""
    text, template, params = closed_because(because)
    _close(query, SYSTEM, text, user_id=None, template=template, params=params)


def answer_query(user, query: Query, text: str) -> Query:
    """Site staff answer an open query (re-opened queries are open again)."""
    _access, text, actor = _acting(user, query, Permission.ANSWER_QUERY, text, required=True)
    with audited():
        query = _locked(query)
        if query.status == QueryStatus.CLOSED:
            raise QueryActionRefused(_("This query is closed; it cannot be answered."))
        if query.status == QueryStatus.ANSWERED:
            raise QueryActionRefused(_("This query was already answered; add a comment instead."))
        _answer(query, actor, text, reason=text, at=timezone.now())
    return query


def close_query(user, query: Query, text: str = "") -> Query:
    access, text, actor = _acting(user, query, Permission.CLOSE_QUERY, text, required=False)
    with audited():
        query = _locked(query)
        if query.status == QueryStatus.CLOSED:
            raise QueryActionRefused(_("This query is already closed."))
        if not _may_review(access, user, query):
            raise QueryActionRefused(
                _("Only the person who raised this query or a data manager can close it.")
            )
        _close(query, actor, text, user_id=user.pk)
    return query


def _close(
    query: Query, actor: Actor, text: str, *, user_id: int | None, template: str | None = None, params=None
) -> None:
    now = timezone.now()
    old = query.status
    query.status = QueryStatus.CLOSED
    query.closed_at = now
    query.closed_by_id = user_id
    query.save(update_fields=["status", "closed_at", "closed_by"])
    _add_message(query, actor, MessageKind.CLOSE, text, now, template=template, params=params)
    _audit_query(actor, "query_close", query, old_status=old, new_status=query.status, reason=text)


def reopen_query(user, query: Query, text: str) -> Query:
    access, text, actor = _acting(user, query, Permission.CLOSE_QUERY, text, required=True)
    with audited():
        query = _locked(query)
        if query.status != QueryStatus.CLOSED:
            raise QueryActionRefused(_("Only a closed query can be re-opened."))
        if not _may_review(access, user, query):
            raise QueryActionRefused(
                _("Only the person who raised this query or a data manager can re-open it.")
            )
        if query.origin == QueryOrigin.EDIT_CHECK:
            newer = (
                Query.objects.system("query workflow, after its permission check")
                .filter(record_id=query.record_id, check_code=query.check_code, status__in=UNRESOLVED)
                .exclude(pk=query.pk)
                .first()
            )
            if newer is not None:
                raise QueryActionRefused(
                    _("Query #%(number)s on the same edit check is still open; continue there.")
                    % {"number": newer.pk}
                )
        now = timezone.now()
        query.status = QueryStatus.OPEN
        query.answered_at = None
        query.closed_at = None
        query.closed_by = None
        query.reopen_count += 1
        query.save(update_fields=["status", "answered_at", "closed_at", "closed_by", "reopen_count"])
        _add_message(query, actor, MessageKind.REOPEN, text, now)
        _audit_query(
            actor, "query_reopen", query, old_status=QueryStatus.CLOSED, new_status=query.status, reason=text
        )
    return query


def comment_query(user, query: Query, text: str) -> Query:
    """A message in the thread without a status move (any party, while not closed)."""
    access, text, actor = _acting(user, query, Permission.VIEW_CLINICAL_DATA, text, required=True)
    with audited():
        query = _locked(query)
        if query.status == QueryStatus.CLOSED:
            raise QueryActionRefused(_("This query is closed; re-open it to continue the discussion."))
        if not may_comment(access, query):
            raise PermissionDenied
        _comment(query, actor, text, reason=text, at=timezone.now())
    return query


# --------------------------------------------------------------------------- on save


def _describe(value) -> str:
    return "—" if value is None or value == "" else str(value)


def on_form_saved(event: FormSaved) -> None:
    """Subscribed to ``crf.events.form_saved``: runs inside the save's transaction, after
    the record is written.

    Links the queries a change responds to, closes the edit-check queries the change
    resolves, raises a query for each failing edit check of severity ``query``, and
    resets the SDV marks of the changed fields.
    """
    if isinstance(event, RecordVoided):
        on_record_voided(event)
        return
    form_record, actor = event.record, event.actor
    changed = set(event.changes)
    form = form_record.subject.study.protocol.form(form_record.form_code)
    checks = {check.code: check for check in form.edit_checks}
    # sent at every save: compiled once per process (studies.scoping.prepared_rows)
    queries = prepared_rows("queries.of_a_saved_record", _queries_of_record, form_record.pk)
    for query in queries:  # the audit label needs the record's visit and subject, already at hand
        query.record = form_record

    _link_responses(event, queries)
    _auto_close(form_record, form, checks, queries, changed, actor, event.validation.context)
    _auto_raise(form_record, event.validation, queries, changed, actor, checks)
    _close_answered(form_record, checks, queries)
    _reset_sdv(form_record, changed, actor)
    if changed or event.created:
        old_data = (
            None
            if event.created
            else {
                **{k: v for k, v in form_record.data.items() if k not in changed},
                **{k: old for k, (old, _new) in event.changes.items() if old is not None},
            }
        )
        rerun_checks_of_readers(form_record, old_data, actor)


def _queries_of_record(record_id: int):
    return (
        Query.objects.system("a save re-runs the edit checks")
        .select_for_update(of=("self",))
        .filter(record_id=record_id)
        .order_by("pk")
    )


def _sdv_marks_of_record(record_id: int):
    return (
        SourceVerification.objects.system("a save resets SDV")
        .select_for_update(of=("self",))
        .filter(record_id=record_id, reset_at__isnull=True)
        .order_by("pk")
    )


def _link_responses(event: FormSaved, queries: list[Query]) -> None:
    """A change made in response to a query (its reason says so, or names the query) answers it."""
    changed = set(event.changes)
    responding = event.reason_code == ReasonForChange.QUERY_RESPONSE or event.query_ids
    if not changed or not responding:
        return
    referenced = event.query_ids
    targets = [
        q
        for q in queries
        if q.status in UNRESOLVED
        and (q.pk in referenced if referenced else bool(set(q.all_fields) & changed))
    ]
    if not targets:
        return
    form_record, actor = event.record, event.actor
    reason = reason_text(event.reason_code, event.reason_detail)
    now = timezone.now()
    details = "; ".join(
        f"{code}: {_describe(old)} → {_describe(new)}" for code, (old, new) in sorted(event.changes.items())
    )
    # The stored text is English (the record); the pages show it in the reader's language,
    # with the fields' labels and values as labels (changes_in_response, queries.wording).
    text = f"Data changed in response (version {form_record.version}): {details}"
    params = {
        "version": form_record.version,
        "details": details,
        "changes": [[code, old, new] for code, (old, new) in sorted(event.changes.items())],
    }
    written = {"template": T_CHANGED_IN_RESPONSE, "params": params}
    for query in targets:
        audit_reason = f"{query.label}: {reason}"
        if query.status == QueryStatus.OPEN:
            _answer(query, actor, text, reason=audit_reason, at=now, **written)
        else:
            _comment(query, actor, text, reason=audit_reason, at=now, **written)


T_CHANGED_IN_RESPONSE = gettext_noop("Data changed in response (version %(version)s): %(details)s")
T_CHANGE = gettext_noop("%(field)s: %(old)s → %(new)s")


def changes_in_response(text: wording.SystemText) -> str | None:
    """The message of a change made in response, in the reader's language: each field by its
    label, each value as the form shows it (registered with ``queries.wording``)."""
    from trialdesk.crf.display import display_value
    from trialdesk.crf.rendering import localised

    params = text.params or {}
    if text.protocol is None or "changes" not in params:
        return None
    try:
        form = text.protocol.form(text.form_code)
    except KeyError:
        return None
    parts = []
    for code, old, new in params["changes"]:
        try:
            label = localised(form.field(code), "label")
        except KeyError:
            label = code
        shown = [_describe(None) if v in (None, "") else display_value(form, code, v) for v in (old, new)]
        parts.append(_(T_CHANGE) % {"field": label, "old": shown[0], "new": shown[1]})
    return _(T_CHANGED_IN_RESPONSE) % {"version": params["version"], "details": "; ".join(parts)}


def _auto_close(form_record, form, checks, queries, changed, actor, context=None) -> None:
    if not changed:
        return
    # ``context``: what the checks read beyond the record (``previous.``…), as the save read it.
    typed = {**typed_values(form, form_record.data), **(context or {})}
    for query in queries:
        if query.origin != QueryOrigin.EDIT_CHECK or query.status not in UNRESOLVED:
            continue
        if not set(query.all_fields) & changed:
            continue
        check = checks.get(query.check_code)
        holds = _system_rule_holds(form_record, form, query.check_code, typed)
        if check is not None and holds is None:
            holds = parse(check.rule).evaluate(typed) is Tri.TRUE
        if holds:
            params = {
                "user": actor.username,
                "version": form_record.version,
                "check": _rule_name(query.check_code),
            }
            text = (
                f"Closed automatically: the change by {actor.username} (version {form_record.version}) "
                f"resolves the edit check {query.check_code}."
            )
            _close(query, SYSTEM, text, user_id=None, template=T_CLOSED_BY_CHANGE, params=params)


def _system_rule_holds(form_record, form, code: str, values) -> bool | None:
    """Whether a rule of the form engine that is not an edit check of the protocol (a
    physiological range, a death rule) now holds; None when ``code`` is not one of them."""
    holds = range_holds(form, code, values)
    if holds is None:
        holds = death_rule_holds(form_record.subject.study.protocol, form_record.form_code, code, values)
    return holds


def _auto_raise(form_record, validation, queries, changed, actor, checks=None) -> None:
    for failure in validation.check_failures:
        if failure.severity != "query":
            continue
        if checks and failure.code in checks and answered(checks[failure.code], form_record):
            continue  # a fact of the trial already answers this doubt (queries.answers)
        same = [q for q in queries if q.origin == QueryOrigin.EDIT_CHECK and q.check_code == failure.code]
        if any(q.status in UNRESOLVED for q in same):
            continue  # one open query per check and record
        if same and not set(failure.fields) & changed:
            continue  # closed after review, and its data did not change since: it stays closed
        fields = list(failure.fields)
        field_code = next((code for code in fields if code in changed), fields[0] if fields else "")
        because = reasons.EDIT_CHECK_FAILED_ON_SAVE(code=failure.code, user=actor.username, version=form_record.version)
        queries.append(
            _open_system_query(
                form_record, field_code, fields, code=failure.code, message=failure.message, reason=because
            )
        )


def _close_answered(form_record, checks, queries) -> None:
    for query in queries:
        if query.origin != QueryOrigin.EDIT_CHECK or query.status not in UNRESOLVED:
            continue
        check = checks.get(query.check_code)
        because = answered(check, form_record) if check is not None else None
        if because:
            _close_because(query, because)


def close_answered_queries(form_record: FormRecord) -> None:
    """The edit-check queries of ``form_record`` that a fact of the trial now answers close
    (``queries.answers``): called by the app that recorded the fact, in its audited action."""
    with audited():
        form = form_record.subject.study.protocol.form(form_record.form_code)
        checks = {check.code: check for check in form.edit_checks if check.answered_by}
        if not checks:
            return
        queries = list(
            Query.objects.system("a fact of the trial answers these queries")
            .select_for_update(of=("self",))
            .filter(record=form_record, origin=QueryOrigin.EDIT_CHECK, check_code__in=list(checks))
            .order_by("pk")
        )
        for query in queries:
            query.record = form_record
        _close_answered(form_record, checks, queries)


def on_record_voided(event: RecordVoided) -> None:
    """A voided record (entered in error) needs no answer: its unresolved queries close, by
    the system, saying so; the checks of the records that read it run again (the next log
    entry's ``previous.`` is now the one before the voided entry)."""
    form_record, actor = event.record, event.actor
    queries = (
        Query.objects.system("a void closes the record's queries")
        .select_for_update(of=("self",))
        .filter(record=form_record, status__in=UNRESOLVED)
        .order_by("pk")
    )
    for query in queries:
        query.record = form_record
        params = {"user": actor.username, "reason": event.void_reason}
        text = wording.english(T_CLOSED_VOIDED, params)
        _close(query, SYSTEM, text, user_id=None, template=T_CLOSED_VOIDED, params=params)
    rerun_checks_of_readers(form_record, form_record.data, actor)


def rerun_checks_of_readers(form_record: FormRecord, old_data, actor: Actor) -> None:
    """When a record changes (``old_data``: its data before, None if new) or is voided, the
    edit checks of the records that read it (``previous.``, ``baseline.``) run again: a
    check that now fails raises its query (one open per check and record, as on a save), a
    check that now holds closes its edit-check query. Only the checks that read beyond
    their record are run again: the others read nothing that changed."""
    for reader in dependents(form_record, old_data):
        _rerun_checks(reader, form_record, actor)


def _rerun_checks(reader: FormRecord, changed_record: FormRecord, actor: Actor) -> None:
    if reader.voided_at is not None:
        return
    protocol = reader.subject.study.protocol
    form = protocol.form(reader.form_code)
    checks = [c for c in form.edit_checks if any("." in name for name in parse(c.rule).fields)]
    death_rules = death_rules_apply(protocol, reader.form_code)
    if not checks and not death_rules:
        return
    values = rule_values(reader)
    queries = list(
        Query.objects.system("a change re-runs the checks of the records that read it")
        .select_for_update(of=("self",))
        .filter(record=reader, origin=QueryOrigin.EDIT_CHECK)
        .order_by("pk")
    )
    for query in queries:
        query.record = reader
    because = reasons.CHANGED_BY(label=changed_record.label, user=actor.username, version=changed_record.version)
    changed = _changed_params(changed_record, actor)
    for check in checks:
        expression = parse(check.rule)
        result = expression.evaluate(values)
        same = [q for q in queries if q.check_code == check.code and q.status in UNRESOLVED]
        if result is Tri.TRUE:
            for query in same:
                _close(
                    query,
                    SYSTEM,
                    f"Closed automatically: {because} resolves the edit check {check.code}.",
                    user_id=None,
                    template=T_CLOSED_BY_CHANGE_ELSEWHERE,
                    params={**changed, "check": check.code},
                )
        elif result is Tri.FALSE and (because_answered := answered(check, reader)):
            for query in same:
                _close_because(query, because_answered)
        elif result is Tri.FALSE and check.severity == "query" and not same:
            fields = sorted(name for name in expression.fields if "." not in name)
            _open_system_query(
                reader,
                fields[0] if fields else "",
                fields,
                code=check.code,
                message=check.message,
                reason=reasons.EDIT_CHECK_FAILED_AFTER(code=check.code, because=because),
            )
    if death_rules:
        _rerun_death_rules(reader, protocol, values, queries, because, changed)


def _rerun_death_rules(
    reader: FormRecord, protocol, values, queries: list[Query], because: str, changed: dict
) -> None:
    """The death rules of a record after a death date of its casebook changed: a rule that
    now fails raises its query (one open per rule and record), one that holds closes it."""
    findings = {found.code: found for found in death_findings(protocol, reader.form_code, values)}
    for code in (DEATH_MISMATCH, AFTER_DEATH):
        same = [q for q in queries if q.check_code == code and q.status in UNRESOLVED]
        if death_rule_holds(protocol, reader.form_code, code, values):
            for query in same:
                _close(
                    query,
                    SYSTEM,
                    f"Closed automatically: {because} resolves the rule {code}.",
                    user_id=None,
                    template=T_CLOSED_BY_CHANGE_ELSEWHERE_RULE,
                    params={**changed, "check": _rule_name(code)},
                )
        elif code in findings and not same:
            found = findings[code]
            message = found.template % dict(found.params)
            _open_system_query(
                reader,
                found.field,
                [found.field],
                code=code,
                message=message,
                reason=reasons.RULE_FAILED_AFTER(code=code, because=because),
                template=found.template,
                params=dict(found.params),
            )


def _reset_sdv(form_record, changed, actor) -> None:
    if not changed:
        return
    marks = prepared_rows("queries.sdv_marks_of_a_saved_record", _sdv_marks_of_record, form_record.pk)
    subject = form_record.subject
    now = timezone.now()
    for mark in marks:
        if mark.field_code and mark.field_code not in changed:
            continue
        mark.reset_at = now
        mark.reset_version = form_record.version
        mark.save(update_fields=["reset_at", "reset_version"])
        what = mark.field_code or ", ".join(sorted(changed))
        record(
            SYSTEM,
            "sdv_reset",
            study_id=subject.study_id,
            site=subject.site,
            object_type="form_record",
            object_id=form_record.pk,
            object_label=form_record.label,
            field=mark.field_code,
            old_value={"verified_version": mark.record_version, "verified_by": mark.verified_by_id},
            new_value=None,
            reason=reasons.CHANGED_BY(label=what, user=actor.username, version=form_record.version),
        )


# --------------------------------------------------------------------------- worklists


def visible_queries(user, study: Study) -> QuerySet[Query]:
    return (
        Query.objects.for_user(user, study)
        .filter(record__subject__study=study)
        .select_related("record__subject__site", "record__visit", "raised_by")
    )


def waiting_for(user, study: Study) -> QuerySet[Query]:
    """My open queries: for site staff, the open queries of the sites where they answer;
    for monitors and data managers, the answered queries they may close."""
    access = study_access(user, study)
    answer_sites = [s for s in access.site_ids if access.can(Permission.ANSWER_QUERY, s)]
    review_sites = [s for s in access.site_ids if access.can(Permission.CLOSE_QUERY, s)]
    manager_sites = [s for s in review_sites if Role.DATA_MANAGER in access.roles_at(s)]
    site = "record__subject__site_id__in"
    condition = Q(status=QueryStatus.OPEN, **{site: answer_sites})
    condition |= Q(status=QueryStatus.ANSWERED, **{site: manager_sites})
    condition |= Q(status=QueryStatus.ANSWERED, **{site: review_sites}) & (
        Q(raised_by=user) | Q(raised_by__isnull=True)
    )
    return visible_queries(user, study).filter(condition)


STATUS_FILTERS = {
    "unresolved": list(UNRESOLVED),
    QueryStatus.OPEN.value: [QueryStatus.OPEN],
    QueryStatus.ANSWERED.value: [QueryStatus.ANSWERED],
    QueryStatus.CLOSED.value: [QueryStatus.CLOSED],
    "all": None,
}


def list_queries(
    user,
    study: Study,
    *,
    mine: bool = False,
    status: str = "unresolved",
    site_code: str | None = None,
    min_age_days: int | None = None,
    sort: str = "age",
    now: dt.datetime | None = None,
) -> QuerySet[Query]:
    """The query list with its filters; the oldest first (``sort='age'``) or by site."""
    queries = waiting_for(user, study) if mine else visible_queries(user, study)
    statuses = STATUS_FILTERS.get(status, STATUS_FILTERS["unresolved"])
    if statuses is not None:
        queries = queries.filter(status__in=statuses)
    if site_code:
        queries = queries.filter(record__subject__site__code=site_code)
    if min_age_days:
        queries = queries.filter(raised_at__lte=(now or timezone.now()) - dt.timedelta(days=min_age_days))
    if sort == "site":
        return queries.order_by("record__subject__site__code", "raised_at", "pk")
    return queries.order_by("raised_at", "pk")


def age_days(query: Query, now: dt.datetime | None = None) -> int:
    """Days the query has been (or was) open."""
    end = query.closed_at or now or timezone.now()
    return max((end - query.raised_at).days, 0)


AGE_BUCKETS = ((7, "0–7"), (30, "8–30"), (None, ">30"))


def _bucket(days: int) -> str:
    for limit, name in AGE_BUCKETS:
        if limit is None or days <= limit:
            return name
    return AGE_BUCKETS[-1][1]


def _visible_site_codes(user, study: Study) -> list[str]:
    access = study_access(user, study)
    return list(
        Site.objects.filter(study=study, pk__in=access.site_ids)
        .order_by("code")
        .values_list("code", flat=True)
    )


def open_query_counts(user, study: Study) -> dict[str, int]:
    """Open queries (waiting for the site, re-opened included) per site code, every visible site listed."""
    counts = dict.fromkeys(_visible_site_codes(user, study), 0)
    rows = (
        Query.objects.for_user(user, study)
        .filter(record__subject__study=study, status=QueryStatus.OPEN)
        .values_list("record__subject__site__code")
        .annotate(n=Count("pk"))
    )
    for code, n in rows:
        counts[code] = n
    return counts


def unresolved_by_site_and_age(
    user, study: Study, now: dt.datetime | None = None
) -> dict[str, dict[str, int]]:
    """Unresolved (open or answered) queries per site code and age band in days."""
    now = now or timezone.now()
    table = {code: {name: 0 for _limit, name in AGE_BUCKETS} for code in _visible_site_codes(user, study)}
    rows = (
        Query.objects.for_user(user, study)
        .filter(record__subject__study=study, status__in=UNRESOLVED)
        .values_list("record__subject__site__code", "raised_at")
    )
    for code, raised_at in rows:
        table[code][_bucket(max((now - raised_at).days, 0))] += 1
    return table


# --------------------------------------------------------------------------- source data verification


def verify_source(
    user, form_record: FormRecord, field_code: str = "", *, expected_version: int | None = None
):
    """Mark one field (or the whole form, ``field_code`` '') verified against source."""
    study = form_record.subject.study
    access = study_access(user, study)
    require(access, Permission.VERIFY_SOURCE, _site_id(form_record))
    form = study.protocol.form(form_record.form_code)
    if field_code and field_code not in form.field_codes:
        raise SdvRefused(_("Choose a field of this form."))
    actor = _actor(user, access, _site_id(form_record), Permission.VERIFY_SOURCE)
    with audited():
        locked = _locked_record(form_record)
        if expected_version is not None and expected_version != locked.version:
            raise SdvRefused(_("The form changed since you opened it; review it again before verifying."))
        if (
            SourceVerification.objects.system("sdv, after its permission check")
            .filter(record=locked, field_code=field_code, reset_at__isnull=True)
            .exists()
        ):
            raise SdvRefused(_("This is already marked verified."))
        mark = SourceVerification.objects.create(
            record=locked,
            field_code=field_code,
            record_version=locked.version,
            verified_by=user,
            verified_role=actor.role,
            verified_at=timezone.now(),
        )
        subject = locked.subject
        record(
            actor,
            "sdv_mark",
            study_id=subject.study_id,
            site=subject.site,
            object_type="form_record",
            object_id=locked.pk,
            object_label=locked.label,
            field=field_code,
            # the value verified, for a field; a whole form's values are its version's
            new_value={"verified_version": locked.version}
            | ({"value": locked.data.get(field_code)} if field_code else {}),
        )
    return mark


@dataclass
class SdvProgress:
    """Complete records and the fields holding a value in them, and how many are verified."""

    records: int = 0
    verified_records: int = 0
    fields: int = 0
    verified_fields: int = 0

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def record_share(self) -> float | None:
        return self._share(self.verified_records, self.records)

    @property
    def field_share(self) -> float | None:
        return self._share(self.verified_fields, self.fields)

    @property
    def record_percent(self) -> int | None:
        share = self.record_share
        return None if share is None else round(100 * share)

    @property
    def field_percent(self) -> int | None:
        share = self.field_share
        return None if share is None else round(100 * share)

    def add(self, fields: int, verified_fields: int) -> None:
        self.records += 1
        self.fields += fields
        self.verified_fields += verified_fields
        if verified_fields == fields:
            self.verified_records += 1

    def add_counts(self, records: int, verified_records: int, fields: int, verified_fields: int) -> None:
        """Add the sums of several records (a row of ``_progress_rows``)."""
        self.records += records
        self.verified_records += verified_records
        self.fields += fields
        self.verified_fields += verified_fields


_WHOLE_FORM = 1_000_000  # above any form's number of fields


class _HoldsValue(Expression):
    """Whether ``data[key]`` holds a value (``crf.models.holds_value``: neither missing, null
    nor empty text), for a JSON column and a key taken from another column, in SQL."""

    output_field = BooleanField()

    def __init__(self, data, key):
        super().__init__()
        self.data, self.key = data, key

    def get_source_expressions(self):
        return [self.data, self.key]

    def set_source_expressions(self, exprs):
        self.data, self.key = exprs

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False):
        clone = self.copy()
        clone.data = self.data.resolve_expression(query, allow_joins, reuse, summarize, for_save)
        clone.key = self.key.resolve_expression(query, allow_joins, reuse, summarize, for_save)
        return clone

    def as_sql(self, compiler, connection):
        raise NotImplementedError(f"_HoldsValue has no SQL for {connection.vendor}")

    def as_sqlite(self, compiler, connection):
        data, data_params = compiler.compile(self.data)
        key, key_params = compiler.compile(self.key)
        # JSON_EXTRACT gives SQL NULL for a missing key or a JSON null, '' for an empty text.
        sql = f"COALESCE(JSON_EXTRACT({data}, '$.\"' || {key} || '\"') <> '', 0)"
        return sql, (*data_params, *key_params)

    def as_postgresql(self, compiler, connection):
        data, data_params = compiler.compile(self.data)
        key, key_params = compiler.compile(self.key)
        sql = f"COALESCE(({data} -> {key}) NOT IN ('null'::jsonb, '\"\"'::jsonb), false)"
        return sql, (*data_params, *key_params)


def _progress_rows(user, study: Study, group_by: tuple[str, ...], subject_ids=None):
    """One query: per ``group_by`` (``subject__site__code``, ``subject_id``) of the complete
    records the user sees, (records, records verified, fields with a value, fields verified).

    A record's fields with a value are its ``filled_fields`` (kept by the form engine at
    save); its verified fields are all of them under a whole-form mark in force, else the
    count of its field marks in force on a field holding a value; it is verified when every
    such field is. Counted in SQL (correlated to each record through the marks' indexes),
    never by decoding the records in Python."""
    # The records are read for the user (their sites); the marks are those of these records.
    # Per record, one correlated sum over its marks in force: WHOLE for a whole-form mark,
    # 1 for a field mark on a field holding a value (its data read only for such marks).
    data = Subquery(
        FormRecord.objects.system("the data of a record read for_user")
        .filter(pk=OuterRef("record_id"))
        .order_by()
        .values("data")
    )
    weight = Case(
        When(field_code="", then=Value(_WHOLE_FORM)),
        When(_HoldsValue(data, F("field_code")), then=Value(1)),
        default=Value(0),
    )
    marks = (
        SourceVerification.objects.system("the SDV marks of records read for_user")
        .filter(record=OuterRef("pk"), reset_at__isnull=True)
        .order_by()
        .values("record")
        .annotate(weight=Sum(weight))
        .values("weight")
    )
    marked = Coalesce(Subquery(marks, output_field=IntegerField()), 0)
    # A field holds at most one mark in force: its field marks never outnumber its fields.
    verified_fields = Least(F("filled_fields"), marked, output_field=IntegerField())
    verified_record = Case(When(GreaterThanOrEqual(marked, F("filled_fields")), then=1), default=0)
    records = FormRecord.objects.for_user(user, study).filter(
        subject__study=study, status=FormStatus.COMPLETE
    )
    if subject_ids is not None:
        records = records.filter(subject_id__in=list(subject_ids))
    return (
        records.order_by()
        .values_list(*group_by)
        .annotate(
            records=Count("pk"),
            verified_records=Sum(verified_record, output_field=IntegerField()),
            fields=Sum("filled_fields"),
            verified_fields=Sum(verified_fields),
        )
    )


def sdv_progress_by_site(user, study: Study) -> dict[str, SdvProgress]:
    """Per site code, every visible site listed: two queries whatever the study's size."""
    progress = {code: SdvProgress() for code in _visible_site_codes(user, study)}
    for code, *counts in _progress_rows(user, study, ("subject__site__code",)):
        progress[code].add_counts(*counts)
    return progress


def _subject_table(user, study: Study, site_code: str | None) -> dict[int, SdvProgress]:
    from trialdesk.subjects.models import Subject

    subjects = Subject.objects.for_user(user, study).filter(study=study)
    if site_code:
        subjects = subjects.filter(site__code=site_code)
    return {pk: SdvProgress() for pk in subjects.values_list("pk", flat=True)}


def sdv_progress_by_subject(user, study: Study, site_code: str | None = None) -> dict[int, SdvProgress]:
    """Per subject id, every visible subject (of ``site_code`` if given) listed."""
    return sdv_progress_by_site_and_subject(user, study, site_code)[1]


def sdv_progress_of_subjects(user, study: Study, subject_ids) -> dict[int, SdvProgress]:
    """Per subject id of ``subject_ids`` (a page of subjects the user sees): one query."""
    subject_ids = list(subject_ids)
    progress = {pk: SdvProgress() for pk in subject_ids}
    for _code, subject_id, *counts in _progress_rows(
        user, study, ("subject__site__code", "subject_id"), subject_ids=subject_ids
    ):
        progress[subject_id].add_counts(*counts)
    return progress


def sdv_progress_by_site_and_subject(
    user, study: Study, site_code: str | None = None
) -> tuple[dict[str, SdvProgress], dict[int, SdvProgress]]:
    """``sdv_progress_by_site`` and ``sdv_progress_by_subject`` from one query of the counts
    per site and subject (three queries in all, whatever the study's size)."""
    by_site = {code: SdvProgress() for code in _visible_site_codes(user, study)}
    by_subject = _subject_table(user, study, site_code)
    for code, subject_id, *counts in _progress_rows(user, study, ("subject__site__code", "subject_id")):
        by_site[code].add_counts(*counts)
        if not site_code or code == site_code:
            by_subject.setdefault(subject_id, SdvProgress()).add_counts(*counts)
    return by_site, by_subject


def active_marks(user, study: Study, form_record: FormRecord) -> dict[str, SourceVerification]:
    """The record's marks in force, by field code ('' for the whole form)."""
    marks = SourceVerification.objects.for_user(user, study).active().filter(record=form_record)
    return {mark.field_code: mark for mark in marks.select_related("verified_by")}
