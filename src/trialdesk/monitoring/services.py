"""The monitoring visit report: drafted, signed with the monitor's password, read-only after.

Who sees what (DESIGN §1; a report outside the user's sites is not found, 404):
- the monitors of the site (VERIFY_SOURCE there) see its drafts and signed reports; only the
  monitor who wrote a draft edits and signs it;
- the data manager and the sponsor admin (all sites) read and download the signed reports;
- the investigators and coordinators of the site read its signed reports and their PDF: they
  act on the follow-ups (ICH E6: the report's findings and actions go to the site);
- the statistician and the safety officer, pseudonymised, read none (a report is free text of
  the site about named subjects).

What was verified is computed from the SDV marks the monitor made at the site between the
previous signed visit and this one (``verified_in_period``), with the queries they raised in
that period; both are frozen into the report when it is signed. Signing re-uses the password
check of the casebook signatures (``signatures.services.password_refusal``): a failure anywhere
counts towards the same limit. A correction of a signed report is an addendum: a new report that
``amends`` it, drafted from its content and signed in its turn.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trialdesk.audit.services import Actor, audited, record
from trialdesk.crf.display import field_label, form_title, visit_title
from trialdesk.monitoring.models import (
    Finding,
    FindingCategory,
    FollowUp,
    FollowUpCompletion,
    FollowUpState,
    MonitoringVisit,
    ReportStatus,
    Severity,
    VisitKind,
)
from trialdesk.queries.models import Query, SourceVerification
from trialdesk.signatures.services import password_refusal, printed_name, refusal_message
from trialdesk.studies.access import Permission, StudyAccess, study_access
from trialdesk.studies.models import Role, Site

TEXT_MAX = 4000
RESPONSIBLE_MAX = 200
SIGNATURE_MEANING = gettext_lazy("Author of this monitoring visit report")
# who downloads the findings and follow-ups as data (CSV, JSON); the site reads the report and its PDF
DOWNLOAD_ROLES = frozenset({Role.MONITOR, Role.DATA_MANAGER, Role.SPONSOR_ADMIN})


class MonitoringRefused(Exception):
    """Nothing was changed; ``message`` says why, in the user's language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- who may do what


def may_write(access: StudyAccess, site_id: int) -> bool:
    return access.can(Permission.VERIFY_SOURCE, site_id)


def may_read(access: StudyAccess, visit: MonitoringVisit) -> bool:
    if visit.site_id not in access.site_ids or access.pseudonymised:
        return False
    if visit.is_draft:
        return may_write(access, visit.site_id)
    return access.can(Permission.VIEW_CLINICAL_DATA, visit.site_id)


def may_download(access: StudyAccess, visit: MonitoringVisit) -> bool:
    """The findings and follow-ups as CSV or JSON (the PDF: every reader of the signed report)."""
    return may_read(access, visit) and bool(access.roles_at(visit.site_id) & DOWNLOAD_ROLES)


def readable_site_ids(access: StudyAccess) -> list[int]:
    if access.pseudonymised:
        return []
    return sorted(s for s in access.site_ids if access.can(Permission.VIEW_CLINICAL_DATA, s))


def get_visit(user, study, visit_id: int) -> MonitoringVisit:
    """A report the user may read; 404 outside their sites, for a draft of another user's role or
    an absent one; 403 for a role of the site that reads no report (statistician, safety officer)."""
    visit = (
        MonitoringVisit.objects.for_user(user, study)
        .filter(pk=visit_id, study=study)
        .select_related("site", "monitor", "amends")
        .first()
    )
    access = study_access(user, study)
    if visit is None or visit.site_id not in access.site_ids:
        raise Http404
    if visit.is_draft and not may_write(access, visit.site_id):
        raise Http404  # a draft is the monitor's working copy: not a report of the site yet
    if not may_read(access, visit):
        raise PermissionDenied  # in the user's sites, not for their role (the pseudonymised roles)
    return visit


def _actor_for_draft(user, visit: MonitoringVisit) -> Actor:
    access = study_access(user, visit.study)
    if visit.site_id not in access.site_ids:
        raise Http404
    if not may_write(access, visit.site_id) or visit.monitor_id != user.pk:
        raise PermissionDenied
    if not visit.is_draft:
        raise MonitoringRefused(
            _("This report is signed: it cannot change. Write an addendum to correct it.")
        )
    return Actor.for_user(user, access.role_for(Permission.VERIFY_SOURCE, visit.site_id))


def _locked_draft(visit: MonitoringVisit) -> MonitoringVisit:
    locked = (
        MonitoringVisit.objects.system("a draft report, after its permission check")
        .select_for_update(of=("self",))
        .select_related("site")
        .get(pk=visit.pk)
    )
    if not locked.is_draft:
        raise MonitoringRefused(
            _("This report is signed: it cannot change. Write an addendum to correct it.")
        )
    return locked


# --------------------------------------------------------------------------- validation


def _text(value: str | None, what: str, *, required: bool, limit: int = TEXT_MAX) -> str:
    text = (value or "").strip()
    if required and not text:
        raise MonitoringRefused(_("Enter the %(what)s.") % {"what": what})
    if len(text) > limit:
        raise MonitoringRefused(
            _("The %(what)s is too long (at most %(limit)s characters).") % {"what": what, "limit": limit}
        )
    return text


def _choice(value: str | None, choices, what: str) -> str:
    if value not in choices.values:
        raise MonitoringRefused(_("Choose the %(what)s.") % {"what": what})
    return value


def _visit_date(site: Site, value: dt.date | None) -> dt.date:
    if value is None:
        raise MonitoringRefused(_("Enter the date of the visit."))
    if value > site.today():
        raise MonitoringRefused(_("The visit date cannot be after today at the site."))
    return value


def _due_on(value: dt.date | None, visit_date: dt.date) -> dt.date | None:
    if value is not None and value < visit_date:
        raise MonitoringRefused(_("A follow-up cannot be due before the visit."))
    return value


# --------------------------------------------------------------------------- the period and what was verified


def last_visit_date(monitor_user, site: Site, *, before: dt.date | None = None) -> dt.date | None:
    """The date of ``monitor_user``'s latest signed monitoring visit at ``site`` (before ``before``
    if given), or None if they have signed none there. The monitor's home reads "forms changed
    since the last visit" from it."""
    visits = MonitoringVisit.objects.system("the monitor's own visits").filter(
        site=site, monitor=monitor_user, status=ReportStatus.SIGNED
    )
    if before is not None:
        visits = visits.filter(visit_date__lt=before)
    latest = visits.order_by("-visit_date").values_list("visit_date", flat=True).first()
    return latest


def _period_start(visit: MonitoringVisit) -> dt.date | None:
    if visit.amends_id is not None:
        return visit.period_start
    return last_visit_date(visit.monitor, visit.site, before=visit.visit_date)


def _bounds(site: Site, start: dt.date | None, end: dt.date) -> tuple[dt.datetime | None, dt.datetime]:
    """UTC instants of the period (start, end] of dates at the site."""
    try:
        zone = zoneinfo.ZoneInfo(site.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")

    def after(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)

    return (after(start) if start else None), after(end)


def verified_in_period(visit: MonitoringVisit) -> list[dict[str, Any]]:
    """The subjects and forms the visit's monitor verified at its site in its period, one entry
    per form record (the fields verified, or the whole form), by subject and form."""
    start, end = _bounds(visit.site, _period_start(visit), visit.visit_date)
    marks = SourceVerification.objects.system("the monitor's own SDV marks, for their report").filter(
        record__subject__site=visit.site, verified_by_id=visit.monitor_id, verified_at__lt=end
    )
    if start is not None:
        marks = marks.filter(verified_at__gte=start)
    entries: dict[int, dict[str, Any]] = {}
    for mark in marks.select_related("record__subject", "record__visit").order_by("verified_at", "pk"):
        rec = mark.record
        entry = entries.setdefault(
            rec.pk,
            {
                "record_id": rec.pk,
                "subject_id": rec.subject_id,
                "subject": rec.subject.label,
                "visit": rec.visit.code if rec.visit_id else None,
                "form": rec.form_code,
                "repeat": rec.repeat,
                "whole_form": False,
                "fields": [],
                "last_verified_at": None,
            },
        )
        if mark.whole_form:
            entry["whole_form"] = True
        elif mark.field_code not in entry["fields"]:
            entry["fields"].append(mark.field_code)
        entry["last_verified_at"] = mark.verified_at.isoformat()
    return sorted(entries.values(), key=lambda e: (e["subject"], e["visit"] or "~", e["form"], e["repeat"]))


def queries_in_period(visit: MonitoringVisit) -> list[dict[str, Any]]:
    start, end = _bounds(visit.site, _period_start(visit), visit.visit_date)
    queries = Query.objects.system("the monitor's own queries, for their report").filter(
        record__subject__site=visit.site, raised_by_id=visit.monitor_id, raised_at__lt=end
    )
    if start is not None:
        queries = queries.filter(raised_at__gte=start)
    return [
        {
            "query_id": q.pk,
            "subject": q.record.subject.label,
            "form": q.record.form_code,
            "field": q.field_code,
            "summary": q.summary,
            "status": q.status,
            "raised_at": q.raised_at.isoformat(),
        }
        for q in queries.select_related("record__subject").order_by("raised_at", "pk")
    ]


def period_start(visit: MonitoringVisit) -> dt.date | None:
    """The day after which the report's SDV marks and queries are taken (None: from the start)."""
    return _period_start(visit) if is_live(visit) else visit.period_start


def is_live(visit: MonitoringVisit) -> bool:
    """A first draft shows the SDV marks and queries as they are; a signed report, and an
    addendum (which keeps those of the report it corrects), what was frozen."""
    return visit.is_draft and visit.amends_id is None


@dataclass(frozen=True)
class VerifiedLine:
    subject: str
    subject_id: int
    where: str  # the visit's title, or the log entry's number ("entry 3")
    form: str  # the form's title
    fields: list[str]  # field labels; empty: the whole form
    whole_form: bool


def _where(protocol, visit_code: str | None, repeat: int) -> str:
    """A record's place in the casebook as a monitor reads it: its visit's title, or which
    entry of a log form it is."""
    if visit_code is None:
        return _("entry %(n)d") % {"n": repeat}
    return visit_title(protocol, visit_code) or visit_code


def verified_lines(visit: MonitoringVisit) -> list[VerifiedLine]:
    """What was verified, for display: live for a draft, frozen for a signed report."""
    protocol = visit.study.protocol
    entries = verified_in_period(visit) if is_live(visit) else visit.verified
    lines = []
    for e in entries:
        try:
            form = protocol.form(e["form"])
        except KeyError:
            form = None
        lines.append(
            VerifiedLine(
                subject=e["subject"],
                subject_id=e["subject_id"],
                where=_where(protocol, e["visit"], e["repeat"]),
                form=form_title(protocol, e["form"]),
                fields=[field_label(form, code) for code in e["fields"]],
                whole_form=e["whole_form"],
            )
        )
    return lines


def query_lines(visit: MonitoringVisit) -> list[dict[str, Any]]:
    protocol = visit.study.protocol
    entries = queries_in_period(visit) if is_live(visit) else visit.queries_raised
    lines = []
    for e in entries:
        try:
            form = protocol.form(e["form"])
        except KeyError:
            form = None
        lines.append(
            dict(
                e,
                form_title=form_title(protocol, e["form"]),
                field_label=field_label(form, e["field"]),
                raised_on=dt.datetime.fromisoformat(e["raised_at"]),
            )
        )
    return lines


# --------------------------------------------------------------------------- drafts


def _audit(actor: Actor, action: str, visit: MonitoringVisit, **kwargs) -> None:
    record(
        actor,
        action,
        study_id=visit.study_id,
        site=visit.site,
        object_type="monitoring_visit",
        object_id=visit.pk,
        object_label=visit.label,
        **kwargs,
    )


def create_visit(
    user, site: Site, *, visit_date: dt.date | None, kind: str, attendees: str = "", summary: str = ""
) -> MonitoringVisit:
    """A new draft report of a visit of ``site`` by ``user``, a monitor of that site."""
    study = site.study
    access = study_access(user, study)
    if site.pk not in access.site_ids:
        raise Http404
    if not may_write(access, site.pk):
        raise PermissionDenied
    actor = Actor.for_user(user, access.role_for(Permission.VERIFY_SOURCE, site.pk))
    values = {
        "visit_date": _visit_date(site, visit_date),
        "kind": _choice(kind, VisitKind, _("kind of visit")),
        "attendees": _text(attendees, _("list of attendees"), required=False),
        "summary": _text(summary, _("summary"), required=False),
    }
    now = timezone.now()
    with audited():
        visit = MonitoringVisit.objects.create(
            study=study, site=site, monitor=user, created_at=now, updated_at=now, **values
        )
        _audit(actor, "monitoring_visit_create", visit, new_value={k: str(v) for k, v in values.items()})
    return visit


def update_visit(
    user,
    visit: MonitoringVisit,
    *,
    visit_date: dt.date | None,
    kind: str,
    attendees: str = "",
    summary: str = "",
) -> MonitoringVisit:
    actor = _actor_for_draft(user, visit)
    values = {
        "visit_date": _visit_date(visit.site, visit_date),
        "kind": _choice(kind, VisitKind, _("kind of visit")),
        "attendees": _text(attendees, _("list of attendees"), required=False),
        "summary": _text(summary, _("summary"), required=False),
    }
    if visit.amends_id is not None and values["visit_date"] != visit.amends.visit_date:
        raise MonitoringRefused(_("An addendum keeps the date of the visit it corrects."))
    with audited():
        locked = _locked_draft(visit)
        changed = {k: v for k, v in values.items() if getattr(locked, k) != v}
        if not changed:
            return locked
        old = {k: str(getattr(locked, k)) for k in changed}
        for k, v in changed.items():
            setattr(locked, k, v)
        locked.updated_at = timezone.now()
        locked.save(update_fields=[*changed, "updated_at"])
        _audit(
            actor,
            "monitoring_visit_change",
            locked,
            field=",".join(sorted(changed)),
            old_value=old,
            new_value={k: str(v) for k, v in changed.items()},
        )
    return locked


def add_finding(user, visit: MonitoringVisit, *, category: str, severity: str, text: str) -> Finding:
    actor = _actor_for_draft(user, visit)
    values = {
        "category": _choice(category, FindingCategory, _("category of the finding")),
        "severity": _choice(severity, Severity, _("severity of the finding")),
        "text": _text(text, _("finding"), required=True),
    }
    with audited():
        locked = _locked_draft(visit)
        finding = Finding.objects.create(visit=locked, **values)
        _audit(actor, "monitoring_finding_add", locked, field=f"finding #{finding.pk}", new_value=values)
    return finding


def remove_finding(user, visit: MonitoringVisit, finding_id: int) -> None:
    actor = _actor_for_draft(user, visit)
    with audited():
        locked = _locked_draft(visit)
        finding = Finding.objects.system("a draft's finding").filter(visit=locked, pk=finding_id).first()
        if finding is None:
            raise Http404
        old = {"category": finding.category, "severity": finding.severity, "text": finding.text}
        finding.delete()
        _audit(actor, "monitoring_finding_remove", locked, field=f"finding #{finding_id}", old_value=old)


def add_follow_up(
    user, visit: MonitoringVisit, *, text: str, responsible: str, due_on: dt.date | None, state: str = "open"
) -> FollowUp:
    actor = _actor_for_draft(user, visit)
    values = {
        "text": _text(text, _("follow-up action"), required=True),
        "responsible": _text(responsible, _("person responsible"), required=True, limit=RESPONSIBLE_MAX),
        "due_on": _due_on(due_on, visit.visit_date),
        "state": _choice(state, FollowUpState, _("state of the follow-up")),
    }
    with audited():
        locked = _locked_draft(visit)
        follow_up = FollowUp.objects.create(visit=locked, **values)
        _audit(
            actor,
            "monitoring_follow_up_add",
            locked,
            field=f"follow-up #{follow_up.pk}",
            new_value={k: str(v) if v is not None else None for k, v in values.items()},
        )
    return follow_up


def set_follow_up_state(user, visit: MonitoringVisit, follow_up_id: int, state: str) -> FollowUp:
    actor = _actor_for_draft(user, visit)
    state = _choice(state, FollowUpState, _("state of the follow-up"))
    with audited():
        locked = _locked_draft(visit)
        follow_up = (
            FollowUp.objects.system("a draft's follow-up").filter(visit=locked, pk=follow_up_id).first()
        )
        if follow_up is None:
            raise Http404
        if follow_up.state != state:
            old = follow_up.state
            follow_up.state = state
            follow_up.save(update_fields=["state"])
            _audit(
                actor,
                "monitoring_follow_up_change",
                locked,
                field=f"follow-up #{follow_up.pk} state",
                old_value=old,
                new_value=state,
            )
    return follow_up


def remove_follow_up(user, visit: MonitoringVisit, follow_up_id: int) -> None:
    actor = _actor_for_draft(user, visit)
    with audited():
        locked = _locked_draft(visit)
        follow_up = (
            FollowUp.objects.system("a draft's follow-up").filter(visit=locked, pk=follow_up_id).first()
        )
        if follow_up is None:
            raise Http404
        old = {
            "text": follow_up.text,
            "responsible": follow_up.responsible,
            "due_on": follow_up.due_on.isoformat() if follow_up.due_on else None,
            "state": follow_up.state,
        }
        follow_up.delete()
        _audit(
            actor, "monitoring_follow_up_remove", locked, field=f"follow-up #{follow_up_id}", old_value=old
        )


# --------------------------------------------------------------------------- signing and addenda


def report_content(visit: MonitoringVisit) -> dict[str, Any]:
    """Everything the signature covers (and the JSON export carries)."""
    return {
        "report": visit.pk,
        "study": visit.study.nct_id,
        "site": visit.site.code,
        "monitor": visit.monitor.get_username(),
        "visit_date": visit.visit_date.isoformat(),
        "kind": visit.kind,
        "version": visit.version,
        "amends": visit.amends_id,
        "addendum_reason": visit.addendum_reason,
        "period_start": visit.period_start.isoformat() if visit.period_start else None,
        "attendees": visit.attendees,
        "summary": visit.summary,
        "verified": visit.verified,
        "queries_raised": visit.queries_raised,
        "findings": [
            {"id": f.pk, "category": f.category, "severity": f.severity, "text": f.text}
            for f in Finding.objects.system("the report's content").filter(visit=visit).order_by("pk")
        ],
        "follow_ups": [
            {
                "id": f.pk,
                "text": f.text,
                "responsible": f.responsible,
                "due_on": f.due_on.isoformat() if f.due_on else None,
                "state": f.state,
            }
            for f in FollowUp.objects.system("the report's content").filter(visit=visit).order_by("pk")
        ],
    }


def content_hash(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def sign_visit(user, visit: MonitoringVisit, *, password: str) -> MonitoringVisit:
    """Sign a draft as its monitor, who re-enters their password (21 CFR 11.200). A wrong
    password signs nothing (audited ``sign_failed``, as for a casebook). Signing freezes what was
    verified and the queries raised in the period into the report."""
    actor = _actor_for_draft(user, visit)
    refusal = password_refusal(user, password)
    if refusal:
        with audited():
            _audit(actor, "sign_failed", visit, field="signature", reason=refusal)
        raise MonitoringRefused(refusal_message(refusal))
    with audited():
        locked = _locked_draft(visit)
        if locked.amends_id is None:
            locked.period_start = _period_start(locked)
            locked.verified = verified_in_period(locked)
            locked.queries_raised = queries_in_period(locked)
        locked.status = ReportStatus.SIGNED
        locked.signed_at = timezone.now()
        locked.printed_name = printed_name(user)
        locked.meaning_text = str(SIGNATURE_MEANING)
        locked.content_sha256 = content_hash(report_content(locked))
        locked.updated_at = locked.signed_at
        locked.save()
        _audit(
            actor,
            "monitoring_visit_sign",
            locked,
            field="status",
            old_value=ReportStatus.DRAFT.value,
            new_value={
                "status": ReportStatus.SIGNED.value,
                "printed_name": locked.printed_name,
                "signed_at": locked.signed_at.isoformat(),
                "meaning_text": locked.meaning_text,
                "content_sha256": locked.content_sha256,
                "verified_records": len(locked.verified),
                "queries_raised": len(locked.queries_raised),
            },
        )
    return locked


def signature_intact(visit: MonitoringVisit) -> bool:
    return not visit.is_draft and content_hash(report_content(visit)) == visit.content_sha256


def start_addendum(user, visit: MonitoringVisit, *, reason: str) -> MonitoringVisit:
    """A draft correction of a signed report: its content copied, ``amends`` it, version + 1."""
    study = visit.study
    access = study_access(user, study)
    if visit.site_id not in access.site_ids:
        raise Http404
    if not may_write(access, visit.site_id) or visit.monitor_id != user.pk:
        raise PermissionDenied
    if visit.is_draft:
        raise MonitoringRefused(
            _("A draft is corrected by editing it; an addendum corrects a signed report.")
        )
    reason = _text(reason, _("reason for the addendum"), required=True)
    actor = Actor.for_user(user, access.role_for(Permission.VERIFY_SOURCE, visit.site_id))
    now = timezone.now()
    with audited():
        base = MonitoringVisit.objects.system("an addendum").select_for_update(of=("self",)).get(pk=visit.pk)
        if MonitoringVisit.objects.system("an addendum").filter(amends=base).exists():
            raise MonitoringRefused(_("This report already has an addendum: correct the latest version."))
        addendum = MonitoringVisit.objects.create(
            study=base.study,
            site=base.site,
            monitor=user,
            visit_date=base.visit_date,
            kind=base.kind,
            attendees=base.attendees,
            summary=base.summary,
            version=base.version + 1,
            amends=base,
            addendum_reason=reason,
            period_start=base.period_start,
            verified=base.verified,
            queries_raised=base.queries_raised,
            created_at=now,
            updated_at=now,
        )
        for f in Finding.objects.system("an addendum").filter(visit=base).order_by("pk"):
            Finding.objects.create(visit=addendum, category=f.category, severity=f.severity, text=f.text)
        done_since = set(
            FollowUpCompletion.objects.system("an addendum")
            .filter(follow_up__visit=base)
            .values_list("follow_up_id", flat=True)
        )
        for f in FollowUp.objects.system("an addendum").filter(visit=base).order_by("pk"):
            state = FollowUpState.DONE if f.pk in done_since else f.state  # done since the signature
            FollowUp.objects.create(
                visit=addendum, text=f.text, responsible=f.responsible, due_on=f.due_on, state=state
            )
        _audit(
            actor,
            "monitoring_visit_addendum",
            addendum,
            new_value={"amends": base.pk, "amends_label": base.label, "version": addendum.version},
            reason=reason,
        )
    return addendum


def latest_version(visit: MonitoringVisit) -> MonitoringVisit | None:
    """The addendum that supersedes ``visit``, if any (read in the same scope)."""
    return MonitoringVisit.objects.read_as(visit).filter(amends=visit).first()


def earlier_open_follow_ups(visit: MonitoringVisit) -> list[FollowUp]:
    """The follow-ups still open in the site's earlier signed reports (the latest signed version
    of each): what the monitor checks at this visit."""
    corrected = (
        MonitoringVisit.objects.system("earlier reports of the site")
        .filter(status=ReportStatus.SIGNED, amends__isnull=False, site=visit.site)
        .values_list("amends_id", flat=True)
    )
    return list(
        FollowUp.objects.read_as(visit)
        .filter(
            visit__site=visit.site,
            visit__status=ReportStatus.SIGNED,
            visit__visit_date__lt=visit.visit_date,
            state=FollowUpState.OPEN,
            completion__isnull=True,
        )
        .exclude(visit_id__in=list(corrected))
        .select_related("visit")
        .order_by("due_on", "pk")
    )


# --------------------------------------------------------------------------- follow-ups done


#: besides the site's monitors, who marks a signed report's follow-up done: the site staff the
#: report's actions are addressed to (ICH E6: the findings and actions go to the site)
FOLLOW_UP_STAFF = frozenset({Role.INVESTIGATOR, Role.COORDINATOR})


def may_complete(access: StudyAccess, visit: MonitoringVisit) -> bool:
    """Whether the user marks the follow-ups of this signed report done (a draft's follow-ups
    are set in the draft, by its monitor)."""
    if visit.is_draft or not may_read(access, visit):
        return False
    return may_write(access, visit.site_id) or bool(access.roles_at(visit.site_id) & FOLLOW_UP_STAFF)


def _completion_role(access: StudyAccess, site_id: int) -> str:
    role = access.role_for(Permission.VERIFY_SOURCE, site_id)
    if role:
        return role
    return sorted(access.roles_at(site_id) & FOLLOW_UP_STAFF)[0]


def complete_follow_up(
    user,
    visit: MonitoringVisit,
    follow_up_id: int,
    *,
    done_on: dt.date | None,
    note: str = "",
    now: dt.datetime | None = None,
) -> FollowUpCompletion:
    """Mark one open follow-up of a signed report done on ``done_on`` (a day at the site, not
    before the visit, not after the site's today), audited with who did it. The signed report is
    not changed: the completion is recorded beside it."""
    access = study_access(user, visit.study)
    if visit.site_id not in access.site_ids:
        raise Http404
    if visit.is_draft:
        raise MonitoringRefused(
            _("In a draft, a follow-up is marked done with its state, by the report's monitor.")
        )
    if not may_complete(access, visit):
        raise PermissionDenied
    if latest_version(visit) is not None:
        raise MonitoringRefused(
            _("This report was corrected by an addendum: mark the follow-up done in its latest version.")
        )
    if done_on is None:
        raise MonitoringRefused(_("Give the date the follow-up action was done."))
    site_today = visit.site.today(now)
    if done_on < visit.visit_date:
        raise MonitoringRefused(
            _("A follow-up action cannot be done before the visit that asked for it (%(date)s).")
            % {"date": visit.visit_date.isoformat()}
        )
    if done_on > site_today:
        raise MonitoringRefused(
            _("The date it was done cannot be after today at the site (%(date)s).")
            % {"date": site_today.isoformat()}
        )
    note = _text(note, _("note"), required=False)
    actor = Actor.for_user(user, _completion_role(access, visit.site_id))
    with audited():
        follow_up = (
            FollowUp.objects.system("a signed report's follow-up, after its permission check")
            .select_for_update()
            .filter(visit=visit, pk=follow_up_id)
            .first()
        )
        if follow_up is None:
            raise Http404
        if follow_up.state == FollowUpState.DONE:
            raise MonitoringRefused(_("This follow-up action was already done when the report was signed."))
        done = (
            FollowUpCompletion.objects.system("a follow-up done once")
            .filter(follow_up=follow_up)
            .select_related("done_by")
            .first()
        )
        if done is not None:
            raise MonitoringRefused(
                _("This follow-up action is already marked done (on %(date)s, by %(name)s).")
                % {"date": done.done_on.isoformat(), "name": done.done_by_name}
            )
        completion = FollowUpCompletion.objects.create(
            follow_up=follow_up,
            done_on=done_on,
            done_by=user,
            done_by_name=printed_name(user),
            recorded_at=timezone.now(),
            note=note,
        )
        _audit(
            actor,
            "monitoring_follow_up_done",
            visit,
            field=f"follow-up #{follow_up.pk} state",
            old_value={"state": FollowUpState.OPEN.value},
            new_value={
                "state": FollowUpState.DONE.value,
                "done_on": done_on.isoformat(),
                "done_by": completion.done_by_name,
                "note": note,
            },
        )
    return completion


@dataclass(frozen=True)
class OpenFollowUp:
    follow_up: FollowUp
    visit: MonitoringVisit
    age_days: int  # days since the visit that asked for it, at the site
    overdue: bool
    today: dt.date  # the site's date


def open_follow_ups(user, study, site_ids, *, now: dt.datetime | None = None) -> list[OpenFollowUp]:
    """The follow-ups still open in the signed reports of these sites (each report's latest signed
    version), not marked done since: the oldest first (by the date of the visit that asked)."""
    corrected = (
        MonitoringVisit.objects.for_user(user, study)
        .filter(status=ReportStatus.SIGNED, amends__isnull=False, site_id__in=site_ids)
        .values_list("amends_id", flat=True)
    )
    rows = (
        FollowUp.objects.for_user(user, study)
        .filter(
            visit__study=study,
            visit__site_id__in=site_ids,
            visit__status=ReportStatus.SIGNED,
            state=FollowUpState.OPEN,
            completion__isnull=True,
        )
        .exclude(visit_id__in=list(corrected))
        .select_related("visit__site")
        .order_by("visit__visit_date", "due_on", "pk")
    )
    out = []
    for f in rows:
        today = f.visit.site.today(now)
        out.append(
            OpenFollowUp(
                f,
                f.visit,
                (today - f.visit.visit_date).days,
                f.due_on is not None and f.due_on < today,
                today,
            )
        )
    return out


# --------------------------------------------------------------------------- lists


def list_visits(
    user,
    study,
    *,
    site_code: str = "",
    status: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
):
    """The reports the user may read, newest first, filtered; drafts only for the site's monitors."""
    access = study_access(user, study)
    site_ids = readable_site_ids(access)
    visits = MonitoringVisit.objects.for_user(user, study).filter(study=study, site_id__in=site_ids)
    writable = [s for s in site_ids if may_write(access, s)]
    visits = visits.exclude(status=ReportStatus.DRAFT, site_id__in=[s for s in site_ids if s not in writable])
    if site_code:
        visits = visits.filter(site__code=site_code)
    if status:
        visits = visits.filter(status=status)
    if date_from:
        visits = visits.filter(visit_date__gte=date_from)
    if date_to:
        visits = visits.filter(visit_date__lte=date_to)
    return visits.select_related("site", "monitor")


def record_download(user, visit: MonitoringVisit, fmt: str, content: bytes) -> None:
    """A signed report downloaded (PDF, CSV or JSON) is an export: audited with its SHA-256."""
    access = study_access(user, visit.study)
    role = access.role_for(Permission.VIEW_CLINICAL_DATA, visit.site_id)
    with audited():
        _audit(
            Actor.for_user(user, role),
            "export",
            visit,
            new_value={"kind": f"monitoring_visit.{fmt}", "sha256": hashlib.sha256(content).hexdigest()},
        )


def export_rows(visit: MonitoringVisit) -> list[dict[str, Any]]:
    """One row per finding and per follow-up, with the report's identity (CSV)."""
    head = {
        "study": visit.study.nct_id,
        "site": visit.site.code,
        "report": visit.pk,
        "version": visit.version,
        "visit_date": visit.visit_date.isoformat(),
        "kind": visit.kind,
        "status": visit.status,
        "signed_by": visit.printed_name,
        "signed_at": visit.signed_at.isoformat() if visit.signed_at else "",
    }
    rows = []
    for f in Finding.objects.read_as(visit).filter(visit=visit).order_by("pk"):
        rows.append(
            dict(
                head,
                item="finding",
                category=f.category,
                severity=f.severity,
                text=f.text,
                responsible="",
                due_on="",
                state="",
            )
        )
    for f in FollowUp.objects.read_as(visit).filter(visit=visit).order_by("pk"):
        rows.append(
            dict(
                head,
                item="follow_up",
                category="",
                severity="",
                text=f.text,
                responsible=f.responsible,
                due_on=f.due_on.isoformat() if f.due_on else "",
                state=f.state,
            )
        )
    return rows


EXPORT_COLUMNS = [
    "study",
    "site",
    "report",
    "version",
    "visit_date",
    "kind",
    "status",
    "signed_by",
    "signed_at",
    "item",
    "category",
    "severity",
    "text",
    "responsible",
    "due_on",
    "state",
]
