"""Reading the audit trail: scopes, filters, pseudonymisation and the CSV export.

Scopes: one form record, one subject, one site, or the whole study (roles that see
every site only). Every scope starts from ``AuditEvent.objects.for_user``: an event of a
site outside the user's scope is never read, and an object outside it is a 404.
Reading needs Permission.VIEW_AUDIT at the scope's site.

Pseudonymised readers (the statistician) see the trail masked by the same rules as the
read layer (``studies.pseudonymisation``): subject identifiers and free text typed into a
form, wherever they appear in an old or new value, the free-text part of a reason, and
the text of query messages (a query step's value). Codes, numbers, dates of events,
usernames of staff, actions and hashes stay readable: they identify no patient and are
what the trail proves.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django import forms
from django.apps import apps
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trialdesk.audit import reasons
from trialdesk.audit.models import AuditEvent
from trialdesk.audit.services import Actor, audited, record
from trialdesk.crf.display import colon
from trialdesk.crf.models import FormRecord, ReasonForChange
from trialdesk.crf.services import reason_text
from trialdesk.studies import pseudonymisation
from trialdesk.studies.access import Permission, StudyAccess, get_visible_or_404, require, study_access
from trialdesk.studies.models import Site, Study
from trialdesk.subjects.models import Subject

IDENTIFYING_FIELDS = pseudonymisation.IDENTIFYING_FIELDS
MASK = pseudonymisation.MASK
PAGE_SIZE = 50


# --------------------------------------------------------------------------- scopes


def events_for(user, study: Study) -> QuerySet[AuditEvent]:
    """The events a user may read: those of their sites, plus the study-level events for
    roles that see every site. The one scoped read of the trail."""
    access = study_access(user, study)
    if access.site_ids == access.all_site_ids and access.roles:
        return AuditEvent.objects.filter(study_id=study.pk)
    return AuditEvent.objects.filter(study_id=study.pk, site_id__in=access.site_ids)


@dataclass(frozen=True)
class TrailScope:
    kind: str  # study | site | subject | record
    study: Study
    access: StudyAccess
    site: Site | None
    subject: Subject | None
    record: FormRecord | None
    events: QuerySet  # already restricted to the user's sites and to the scope

    @property
    def label(self) -> str:
        if self.record is not None:
            return self.record.label
        if self.subject is not None:
            return self.subject.label
        if self.site is not None:
            return f"{self.site.code} {self.site.name}"
        return self.study.nct_id

    @property
    def slug(self) -> str:
        return "-".join(self.label.split()).replace("#", "")

    @property
    def pseudonymised(self) -> bool:
        return self.access.pseudonymised


def _readable(user, study: Study, site_id: int | None, *, one_subject: bool = False) -> StudyAccess:
    """``one_subject``: the trail of one subject or one record, which the site's own staff
    read too (Permission.VIEW_RECORD_AUDIT); a whole site's trail needs VIEW_AUDIT."""
    access = study_access(user, study)
    if one_subject and access.can(Permission.VIEW_RECORD_AUDIT, site_id):
        return access
    require(access, Permission.VIEW_AUDIT, site_id)
    return access


def may_read_subject_trail(access: StudyAccess, site_id: int) -> bool:
    """Whether the trail of a subject (or of one of its records) at this site is readable."""
    return access.can(Permission.VIEW_AUDIT, site_id) or access.can(Permission.VIEW_RECORD_AUDIT, site_id)


def study_scope(user, study: Study) -> TrailScope:
    access = study_access(user, study)
    if not access.roles or access.site_ids != access.all_site_ids:
        raise Http404  # the study-wide trail is for roles that see every site
    require(access, Permission.VIEW_AUDIT)
    events = events_for(user, study)
    return TrailScope("study", study, access, None, None, None, events)


def site_scope(user, study: Study, site_code: str) -> TrailScope:
    access = study_access(user, study)
    site = Site.objects.filter(study=study, code=site_code, pk__in=access.site_ids).first()
    if site is None:
        raise Http404
    access = _readable(user, study, site.pk)
    events = events_for(user, study).filter(site_id=site.pk)
    return TrailScope("site", study, access, site, None, None, events)


def _ids(queryset) -> list[str]:
    return [str(pk) for pk in queryset.values_list("pk", flat=True)]


def _query_ids(**lookup) -> list[str]:
    """Ids of the queries (discrepancy management) on a subject's or a record's data, when
    the queries app defines them: their steps belong to the subject's and the record's trail."""
    try:
        query_model = apps.get_model("queries", "Query")
    except LookupError:
        return []
    return _ids(
        query_model.objects.system("ids of the queries of an object already read in scope").filter(**lookup)
    )


def subject_scope(user, study: Study, subject_id: int) -> TrailScope:
    subject = get_visible_or_404(Subject.objects.select_related("site"), user, study, pk=subject_id)
    access = _readable(user, study, subject.site_id, one_subject=True)
    objects = (
        Q(object_type="subject", object_id=str(subject.pk))
        | Q(object_type="form_record", object_id__in=_ids(subject.form_records.all()))
        | Q(object_type="visit", object_id__in=_ids(subject.visits.all()))
        | Q(object_type="signature", object_id__in=_ids(subject.signatures.all()))
        | Q(object_type="query", object_id__in=_query_ids(record__subject=subject))
    )
    events = events_for(user, study).filter(objects, site_id=subject.site_id)
    return TrailScope("subject", study, access, subject.site, subject, None, events)


def record_scope(user, study: Study, record_id: int) -> TrailScope:
    form_record = get_visible_or_404(
        FormRecord.objects.select_related("subject__site", "visit"), user, study, pk=record_id
    )
    access = _readable(user, study, form_record.subject.site_id, one_subject=True)
    objects = Q(object_type="form_record", object_id=str(form_record.pk)) | Q(
        object_type="query", object_id__in=_query_ids(record=form_record)
    )
    events = events_for(user, study).filter(objects, site_id=form_record.subject.site_id)
    return TrailScope(
        "record", study, access, form_record.subject.site, form_record.subject, form_record, events
    )


# --------------------------------------------------------------------------- filters


class TrailFilterForm(forms.Form):
    user = forms.CharField(required=False, max_length=150, label=gettext_lazy("User"))
    date_from = forms.DateField(required=False, label=gettext_lazy("From"))
    date_to = forms.DateField(required=False, label=gettext_lazy("To"))
    field = forms.CharField(required=False, max_length=100, label=gettext_lazy("Field"))
    action = forms.CharField(required=False, max_length=40, label=gettext_lazy("Action"))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        return cleaned


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())


def apply_filters(events: QuerySet, filters: dict[str, Any]) -> QuerySet:
    """``filters``: the cleaned data of a TrailFilterForm. Dates are days in the study's
    time zone, both ends included."""
    if filters.get("user"):
        events = events.filter(username=filters["user"].strip())
    if filters.get("field"):
        events = events.filter(field=filters["field"].strip())
    if filters.get("action"):
        events = events.filter(action=filters["action"].strip())
    if filters.get("date_from"):
        events = events.filter(occurred_at__gte=_local_midnight(filters["date_from"]))
    if filters.get("date_to"):
        events = events.filter(occurred_at__lt=_local_midnight(filters["date_to"] + dt.timedelta(days=1)))
    return events


def active_filters(filters: dict[str, Any]) -> dict[str, str]:
    return {
        key: value.isoformat() if isinstance(value, dt.date) else value
        for key, value in filters.items()
        if value
    }


def choices_in(events: QuerySet, column: str) -> list[str]:
    return sorted(v for v in events.order_by().values_list(column, flat=True).distinct() if v)


# --------------------------------------------------------------------------- pseudonymisation


class Masker(pseudonymisation.Masker):
    """The shared masker (``studies.pseudonymisation``), knowing the standard reasons for change."""

    def __init__(self, study: Study, pseudonymised: bool):
        super().__init__(
            study, pseudonymised, standard_reasons={reason_text(code, "") for code in ReasonForChange.values}
        )


def shown(value: Any) -> str:
    """A value as the viewer and the CSV show it: text as is, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class EventRow:
    sequence: int
    occurred_at: dt.datetime
    site_code: str
    username: str
    role: str
    action: str
    object_type: str
    object_id: str
    object_label: str
    field: str
    old_value: str
    new_value: str
    reason: str
    mac: str


def present(event: AuditEvent, masker: Masker) -> EventRow:
    return EventRow(
        sequence=event.sequence,
        occurred_at=event.occurred_at,
        site_code=event.site_code,
        username=event.username,
        role=event.role,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        object_label=event.object_label,
        field=event.field,
        old_value=shown(masker.value(event.field, event.old_value)),
        new_value=shown(masker.value(event.field, event.new_value)),
        reason=masker.reason(event.reason),
        mac=event.mac,
    )


# --------------------------------------------------------------------------- the page

#: Actions of the trail as a user reads them (the CSV keeps the codes).
ACTION_LABELS = {
    "create": gettext_lazy("Created"),
    "change": gettext_lazy("Changed"),
    "status": gettext_lazy("Status changed"),
    "void": gettext_lazy("Voided"),
    "enroll": gettext_lazy("Enrolled"),
    "screen_failure": gettext_lazy("Screen failure"),
    "rescreen": gettext_lazy("Re-screened"),
    "consent": gettext_lazy("Consent recorded"),
    "reconsent": gettext_lazy("Re-consent recorded"),
    "schedule": gettext_lazy("Visits planned"),
    "replan": gettext_lazy("Visit re-planned"),
    "replan_visits": gettext_lazy("Visits re-planned"),
    "query_open": gettext_lazy("Query raised"),
    "query_answer": gettext_lazy("Query answered"),
    "query_close": gettext_lazy("Query closed"),
    "query_reopen": gettext_lazy("Query re-opened"),
    "query_comment": gettext_lazy("Query commented"),
    "sdv_mark": gettext_lazy("Verified against source"),
    "sdv_reset": gettext_lazy("Source verification reset"),
    "sign": gettext_lazy("Signed"),
    "sign_failed": gettext_lazy("Signature refused"),
    "signature_void": gettext_lazy("Signature voided"),
    "lock": gettext_lazy("Locked"),
    "unlock": gettext_lazy("Unlocked"),
    "export": gettext_lazy("Exported"),
    # background jobs (trialdesk.jobs; their French is in that app's catalogue)
    "job_submit": gettext_lazy("Background job requested"),
    "job_download": gettext_lazy("Background job's file downloaded"),
    "role_grant": gettext_lazy("Role granted"),
    "role_revoke": gettext_lazy("Role revoked"),
    "user_create": gettext_lazy("User created"),
    "login": gettext_lazy("Signed in"),
    "logout": gettext_lazy("Signed out"),
    "login_failed": gettext_lazy("Sign-in refused"),
    "account_unlocked": gettext_lazy("Account unlocked"),
    "two_factor_verified": gettext_lazy("Two-step sign-in verified"),
    "two_factor_failed": gettext_lazy("Two-step sign-in refused"),
    "two_factor_reset": gettext_lazy("Two-step sign-in reset"),
    # administration (issue 15; their French in trialdesk.administration's catalogue)
    "user_invited": gettext_lazy("User invited"),
    "invitation_sent": gettext_lazy("Invitation sent again"),
    "invitation_accepted": gettext_lazy("Invitation accepted (password chosen)"),
    "user_deactivated": gettext_lazy("Account deactivated"),
    "user_reactivated": gettext_lazy("Account reactivated"),
    "role_end": gettext_lazy("Role ended"),
    "password_changed": gettext_lazy("Password changed"),
    "two_factor_enrolled": gettext_lazy("Two-step sign-in set up"),
    "operational_status": gettext_lazy("Study status changed"),
    # safety (trialdesk.safety): a serious adverse event's report and the sponsor's handling of it
    "serious_event_reported": gettext_lazy("Serious adverse event reported"),
    "serious_event_notified": gettext_lazy("Serious adverse event e-mailed"),
    "serious_event_acknowledged": gettext_lazy("Serious adverse event acknowledged"),
    "expectedness_assessed": gettext_lazy("Expectedness assessed"),
    # monitoring visit reports (trialdesk.monitoring)
    "monitoring_visit_create": gettext_lazy("Monitoring visit report created"),
    "monitoring_visit_change": gettext_lazy("Monitoring visit report changed"),
    "monitoring_visit_sign": gettext_lazy("Monitoring visit report signed"),
    "monitoring_finding_add": gettext_lazy("Monitoring finding added"),
    "monitoring_follow_up_add": gettext_lazy("Monitoring follow-up added"),
    "response_confirm": gettext_lazy("Response confirmed by the investigator"),
}

#: Keys of the values the services record (not fields of a form) as a user reads them.
KEY_LABELS = {
    "status": gettext_lazy("Status"),
    "subject_code": gettext_lazy("Subject code"),
    # an export's fingerprints (the PDF casebook: of its content and of the file) and its size
    "sha256": gettext_lazy("SHA-256 of the content"),
    "pdf_sha256": gettext_lazy("SHA-256 of the file"),
    "audit_events": gettext_lazy("Audit events"),
    "consent_date": gettext_lazy("Date of informed consent"),
    "enrolled_on": gettext_lazy("Enrolled on"),
    "planned_first_dose_on": gettext_lazy("Planned first dose"),
    "first_dose_on": gettext_lazy("First dose"),
    "treatment_ended_on": gettext_lazy("End of treatment"),
    "eligibility": gettext_lazy("Criteria met"),
    "criteria_not_met": gettext_lazy("Criteria not met"),
    "planned_date": gettext_lazy("Planned date"),
    "actual_date": gettext_lazy("Date done"),
    "window_start": gettext_lazy("Window from"),
    "window_end": gettext_lazy("Window to"),
    "day_zero": gettext_lazy("Day 0"),
    "visits": gettext_lazy("Visits"),
    "activated_on": gettext_lazy("Activated on"),
    "protocol_sha256": gettext_lazy("Protocol fingerprint"),
    "pseudonymised": gettext_lazy("Pseudonymised"),
    "format": gettext_lazy("Format"),
    "scope": gettext_lazy("Scope"),
    "filters": gettext_lazy("Filters"),
    "version": gettext_lazy("Version"),
    "effective_on": gettext_lazy("Effective on"),
    "operational_status": gettext_lazy("Study status"),
    "consent_version": gettext_lazy("Consent form version"),
    "consented_on": gettext_lazy("Consented on"),
    "printed_name": gettext_lazy("Printed name"),
    "signed_at": gettext_lazy("Signed at"),
    "record": gettext_lazy("Form record"),
    # what the other services record (the key_label test reads every key they record)
    "amends": gettext_lazy("Amended report"),
    "amends_label": gettext_lazy("Amended report (as shown)"),
    "api_token": gettext_lazy("API token"),
    "attempt_records_cleared": gettext_lazy("Failed sign-in attempts cleared"),
    "audit_records": gettext_lazy("Audit records"),
    "balance": gettext_lazy("Balance"),
    "comment": gettext_lazy("Comment"),
    "cutoff": gettext_lazy("Cut-off date"),
    "datacut_sha256": gettext_lazy("SHA-256 of the data cut"),
    "devices_removed": gettext_lazy("Authenticator devices removed"),
    "done_by": gettext_lazy("Done by"),
    "done_on": gettext_lazy("Done on"),
    "email": gettext_lazy("Email address"),
    "ended_on": gettext_lazy("Ended on"),
    "events": gettext_lazy("Events"),
    "expires_at": gettext_lazy("Expires at"),
    "expires_on": gettext_lazy("Expiry date"),
    "explanation": gettext_lazy("Explanation"),
    "fields": gettext_lazy("Fields"),
    "file": gettext_lazy("File"),
    "file_oid": gettext_lazy("File OID"),
    "files": gettext_lazy("Files"),
    "forms": gettext_lazy("Forms"),
    "ip": gettext_lazy("IP address"),
    "lot_number": gettext_lazy("Lot number"),
    "lots": gettext_lazy("Lots"),
    "meaning": gettext_lazy("Meaning"),
    "name": gettext_lazy("Name"),
    "note": gettext_lazy("Note"),
    "on": gettext_lazy("Date"),
    "parameters": gettext_lazy("Parameters"),
    "prefix": gettext_lazy("Token prefix"),
    "raw_or_label": gettext_lazy("Codes or labels"),
    "received_on": gettext_lazy("Received on"),
    "records": gettext_lazy("Records"),
    "revoked_at": gettext_lazy("Revoked at"),
    "rows": gettext_lazy("Rows"),
    "rule": gettext_lazy("Rule"),
    "signatures": gettext_lazy("Signatures"),
    "sites": gettext_lazy("Sites"),
    "snapshot_sha256": gettext_lazy("SHA-256 of the snapshot"),
    "subject_id": gettext_lazy("Patient"),
    "subjects": gettext_lazy("Patients"),
    "subjects_in_scope": gettext_lazy("Patients in scope"),
    "supply": gettext_lazy("Drug supply"),
    "to": gettext_lazy("Recipients"),
    "user": gettext_lazy("User"),
    "users": gettext_lazy("Users"),
    "value": gettext_lazy("Value"),
    "verified_by": gettext_lazy("Verified by"),
    "verified_on": gettext_lazy("Verified on"),
    "verified_version": gettext_lazy("Version verified"),
    "vials": gettext_lazy("Vials"),
    "visit": gettext_lazy("Visit"),
    "voided": gettext_lazy("Voided"),
    "rescreen_of": gettext_lazy("Rescreening of"),
    "rescreened_as": gettext_lazy("Screened again as"),
    "requested_on": gettext_lazy("Requested on"),
    "target": gettext_lazy("Enrollment target"),
}


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else _humanised(action)


def _humanised(code: str) -> str:
    """A code nobody gave a label, readable: ``first_dose_on`` -> "First dose on"."""
    text = (code or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def key_label(key: str) -> str:
    label = KEY_LABELS.get(key)
    return str(label) if label is not None else _humanised(key)


def _status_label(object_type: str, value: Any) -> str | None:
    """A status code of a model as its label, or None when it is not one."""
    from trialdesk.crf.models import FormStatus
    from trialdesk.queries.models import QueryStatus
    from trialdesk.signatures.models import SignatureStatus
    from trialdesk.studies.models import OperationalStatus
    from trialdesk.subjects.models import SubjectStatus

    choices = {
        "form_record": FormStatus,
        "subject": SubjectStatus,
        "query": QueryStatus,
        "signature": SignatureStatus,
        "study": OperationalStatus,
    }.get(object_type)
    if choices is None or not isinstance(value, str):
        return None
    try:
        return str(choices(value).label)
    except ValueError:
        return None


@dataclass(frozen=True)
class ShownEvent:
    """An event as the page shows it: labels in the page, codes kept for the tooltips."""

    row: EventRow
    action: str
    role: str
    object_label: str
    field: str
    old_value: str
    new_value: str
    reason: str = ""


_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)?$")


def _item(object_type: str, key: str, value: Any) -> str:
    """One value of an event's details as the reader reads it (HTML, escaped): a status or a
    role as its label, a code as the label its app registered (``crf.display``), a person's
    words as typed (``translate="no"``), a time in Europe/Paris."""
    from trialdesk.crf.display import (
        EMPTY,
        is_typed_text,
        plain,
        recorded_choice_label,
        role_label,
    )

    if value is None or value == "":
        return EMPTY
    label = recorded_choice_label(object_type, key, value)
    if label is None and key in ("", "status"):
        label = _status_label(object_type, value)
    if label is None and key == "role":
        label = role_label(value)
    if label is not None:
        return conditional_escape(label)
    if is_typed_text(object_type, key) and isinstance(value, str):
        return format_html('<span translate="no">{}</span>', " ".join(value.split()))
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        try:
            return conditional_escape(plain(dt.datetime.fromisoformat(value.replace("Z", "+00:00"))))
        except ValueError:
            pass
    return conditional_escape(plain(value))


def _key_label(event: AuditEvent, key: str, protocol=None) -> str:
    """A key of an event's details, or its field: the label its app registered, the trail's
    own, a form field's (a query's field), else the key made readable."""
    from trialdesk.crf.display import recorded_key_label

    label = recorded_key_label(event.object_type, key)
    if label is not None:
        return label
    if key in KEY_LABELS or protocol is None:
        return key_label(key)
    from trialdesk.crf.display import field_label

    form = next((f for f in protocol.forms if any(x.code == key for x in f.fields)), None)
    return field_label(form, key) if form is not None else key_label(key)


def _shown_value(event: AuditEvent, masker: Masker, form, value: Any) -> str:
    """A value of an event as the page shows it (HTML, escaped): a form record's field as
    ``crf.display`` shows it (verbatim English marked lang="en"), details by their labels."""
    from trialdesk.crf.display import marked_value

    value = masker.value(event.field, value)
    if value is None or value == "":
        return ""
    if event.object_type == "form_record" and event.field:
        return marked_value(form, event.field, value)
    if isinstance(value, dict):
        return mark_safe(
            "; ".join(
                format_html("{}{} {}", _key_label(event, key), colon(), _item(event.object_type, key, item))
                for key, item in value.items()
            )
        )
    if isinstance(value, str) and event.object_type == "membership":
        return _item(event.object_type, "role", value)
    # a query's steps record its status under the field it asks about
    if isinstance(value, str) and (
        event.field in ("", "status", "operational_status") or event.object_type == "query"
    ):
        return _item(event.object_type, "status", value)
    return _item(event.object_type, event.field, value)


#: object labels the services store in English, as a reader reads them
_LABEL_PATTERNS = (
    (
        re.compile(r"^prescription #(?P<n>\d+) of (?P<subject>\S+)$"),
        gettext_lazy("prescription #%(n)s of %(subject)s"),
    ),
    (re.compile(r"^cardiac hold of (?P<subject>\S+)$"), gettext_lazy("cardiac hold of %(subject)s")),
    (re.compile(r"^query #(?P<n>\d+) (?P<rest>.+)$"), gettext_lazy("query #%(n)s %(rest)s")),
    # a log form's entry (crf.models.FormRecord.label), its form code already its title
    (re.compile(r"^(?P<subject>\S+) log #(?P<n>\d+) (?P<form>.+)$"), gettext_lazy("%(subject)s log #%(n)s %(form)s")),
)


@functools.cache
def _listed_reasons() -> tuple[tuple[str, ReasonForChange], ...]:
    """Each reason for change of the list as the trail stores it (its English label)."""
    return tuple((reason_text(code, ""), ReasonForChange(code)) for code in ReasonForChange.values)


def readable_reason(reason: str, protocol=None) -> str:
    """An event's reason as the reader reads it (HTML, escaped): a reason for change chosen
    from the list by its label and what the person typed after it as typed (``translate="no"``);
    a reason a service wrote (``audit.reasons``) in the reader's language; anything else as typed."""
    if not reason:
        return ""
    for english, listed in _listed_reasons():
        if reason == english:
            return conditional_escape(listed.label)
        if reason.startswith(english + ": "):
            detail = reason[len(english) + 2 :]
            return format_html('{}{} <span translate="no">{}</span>', listed.label, colon(), detail)
    shown = reasons.read(reason, (lambda label: readable_label(label, protocol)) if protocol is not None else str)
    if shown is not None:
        return conditional_escape(shown)
    return format_html('<span translate="no">{}</span>', reason)


def readable_label(label: str, protocol) -> str:
    """An event's object label with its form codes as the forms' titles ("… SCR Screening")."""
    from trialdesk.crf.display import form_title

    codes = {form.code for form in protocol.forms}
    label = " ".join(form_title(protocol, word) if word in codes else word for word in (label or "").split())
    for pattern, template in _LABEL_PATTERNS:
        found = pattern.match(label)
        if found:
            return str(template) % found.groupdict()
    return label


def present_page(events, masker: Masker, study: Study) -> list[ShownEvent]:
    """The events of a page of the viewer as a user reads them: the action, role, field and
    values as labels (a form record's field by its form's label, its values by
    ``crf.display``), the codes left in the row for tooltips. One query for the page's records."""
    from trialdesk.crf.display import field_label, role_label

    events = list(events)
    protocol = study.protocol
    record_ids = {e.object_id for e in events if e.object_type == "form_record" and e.object_id.isdigit()}
    form_codes = (
        dict(
            FormRecord.objects.system("the form of the records of events already read in scope")
            .filter(pk__in=record_ids)
            .values_list("pk", "form_code")
        )
        if record_ids
        else {}
    )
    shown = []
    for event in events:
        form = None
        if event.object_type == "form_record" and event.object_id.isdigit():
            try:
                form = protocol.form(form_codes.get(int(event.object_id), ""))
            except KeyError:
                form = None
        if event.object_type == "form_record" and event.field:
            field = field_label(form, event.field) if form is not None else _humanised(event.field)
        else:
            field = _key_label(event, event.field, protocol) if event.field else ""
        shown.append(
            ShownEvent(
                row=present(event, masker),
                action=action_label(event.action),
                role=role_label(event.role),
                object_label=readable_label(event.object_label, protocol),
                field=field,
                old_value=_shown_value(event, masker, form, event.old_value),
                new_value=_shown_value(event, masker, form, event.new_value),
                reason=readable_reason(masker.reason(event.reason), protocol),
            )
        )
    return shown


def field_choices(study: Study, codes: list[str]) -> list[tuple[str, str]]:
    """The filter's fields: (code, label), a code used on several forms named by its first form."""
    from trialdesk.crf.display import field_label

    labels: dict[str, str] = {}
    for form in study.protocol.forms:
        for field in form.fields:
            labels.setdefault(field.code, field_label(form, field.code))
    return [(code, labels.get(code) or key_label(code)) for code in codes]


def action_choices(codes: list[str]) -> list[tuple[str, str]]:
    return [(code, action_label(code)) for code in codes]


# --------------------------------------------------------------------------- CSV export

CSV_COLUMNS = (
    "sequence",
    "occurred_at_utc",
    "site",
    "user",
    "role",
    "action",
    "object_type",
    "object_id",
    "object",
    "field",
    "old_value",
    "new_value",
    "reason",
    "mac",
)


def _cell(text: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (CSV injection); numbers stay numbers."""
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def _csv_row(row: EventRow) -> list[Any]:
    return [
        row.sequence,
        row.occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        row.site_code,
        row.username,
        row.role,
        row.action,
        row.object_type,
        row.object_id,
        _cell(row.object_label),
        row.field,
        _cell(row.old_value),
        _cell(row.new_value),
        _cell(row.reason),
        row.mac,
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def start_export(user, scope: TrailScope, filters: dict[str, Any]) -> Iterator[str]:
    """Audit the export (action ``export``), then return the CSV lines of the scope's events
    up to that moment, oldest first, streamed in chunks (constant memory)."""
    site_id = scope.site.pk if scope.site else None
    role = scope.access.role_for(Permission.VIEW_AUDIT, site_id) or scope.access.role_for(
        Permission.VIEW_RECORD_AUDIT, site_id
    )
    actor = Actor.for_user(user, role)
    with audited():
        event = record(
            actor,
            "export",
            study_id=scope.study.pk,
            site=scope.site,
            object_type="audit_trail",
            object_id=scope.record.pk if scope.record else scope.subject.pk if scope.subject else "",
            object_label=f"{scope.kind} {scope.label}",
            new_value={
                "format": "csv",
                "scope": scope.kind,
                "filters": active_filters(filters),
                "pseudonymised": scope.pseudonymised,
            },
        )
    events = apply_filters(scope.events, filters).filter(sequence__lt=event.sequence).order_by("sequence")
    masker = Masker(scope.study, scope.pseudonymised)
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(CSV_COLUMNS)
        for audit_event in events.iterator(chunk_size=2000):
            yield writer.writerow(_csv_row(present(audit_event, masker)))

    return lines()
