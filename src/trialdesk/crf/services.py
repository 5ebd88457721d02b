"""Saving form data: validation, no lost update, reasons for change, audit — in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trialdesk.audit.services import Actor, record
from trialdesk.audit.signatures import void_signatures_for_change
from trialdesk.crf.models import FormRecord, FormStatus
from trialdesk.protocol.formdata import FormValidation, validate_form_data
from trialdesk.queries.services import on_form_saved
from trialdesk.studies.access import Permission, require, study_access
from trialdesk.subjects.models import Subject, SubjectStatus, Visit

REASONS_FOR_CHANGE = [
    ("transcription_error", "Transcription error"),
    ("source_updated", "Source document updated"),
    ("query_response", "Response to a query"),
    ("late_result", "Late result received"),
    ("other", "Other (explain)"),
]


STALE_MESSAGE = gettext_lazy(
    "Someone else saved this form while you were editing it. Your input is kept below; review what they saved and save again."
)


class FormSaveRefused(Exception):
    """A save that changed nothing, with a message for the user."""

    def __init__(self, message: str, validation: FormValidation | None = None):
        super().__init__(message)
        self.message = message
        self.validation = validation


class FormInvalid(FormSaveRefused):
    pass


class StaleVersion(FormSaveRefused):
    """The record moved on since the user loaded it; ``differences`` maps each field where
    the user's input and the stored data disagree to (user's value, stored value)."""

    def __init__(self, message: str, current: FormRecord | None, submitted: dict[str, Any]):
        super().__init__(message)
        self.current = current
        self.differences = _changes(submitted, current.data if current else {})


class ReasonRequired(FormSaveRefused):
    pass


class Locked(FormSaveRefused):
    pass


@dataclass
class FormSaveOutcome:
    record: FormRecord
    validation: FormValidation
    changed_fields: list[str] = field(default_factory=list)
    created: bool = False


def lock_reason(record_or_subject: FormRecord | Subject) -> str | None:
    """Why this data cannot change now, or None."""
    subject = record_or_subject if isinstance(record_or_subject, Subject) else record_or_subject.subject
    if isinstance(record_or_subject, FormRecord) and record_or_subject.locked_at:
        return _("This form is locked.")
    if subject.locked_at:
        return _("This subject's casebook is locked.")
    if subject.site.locked_at:
        return _("This site is locked.")
    if subject.study.locked_at:
        return _("The study is locked.")
    return None


def forms_allowed_at(subject: Subject, visit: Visit | None) -> set[str]:
    schedule = subject.study.protocol.schedule
    if visit is None:
        return set(schedule.log_forms)
    for planned in schedule.expanded_visits():
        if planned.code == visit.code:
            return set(planned.forms)
    return set()


def _changes(old: dict, new: dict) -> dict[str, tuple[Any, Any]]:
    return {key: (old.get(key), new.get(key)) for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)}


def save_form(
    user,
    subject: Subject,
    form_code: str,
    raw_data: dict[str, Any],
    *,
    visit: Visit | None = None,
    repeat: int | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> FormSaveOutcome:
    """Validate and save one form record.

    ``expected_version`` is the version the user loaded (None for a record they saw
    empty); ``repeat`` None on a log form adds a new entry. Raises a FormSaveRefused
    subclass with nothing written when the save cannot happen.
    """
    study = subject.study
    access = study_access(user, study)
    require(access, Permission.ENTER_DATA, subject.site_id)
    if subject.status == SubjectStatus.SCREEN_FAILED and form_code != study.protocol.eligibility.form:
        raise FormSaveRefused(_("This patient failed screening; no further data can be entered."))
    if form_code not in forms_allowed_at(subject, visit):
        raise FormSaveRefused(_("This form is not collected at this visit."))
    form = study.protocol.form(form_code)
    validation = validate_form_data(form, raw_data)
    if not validation.ok:
        raise FormInvalid(_("Some answers need correcting; nothing was saved."), validation)

    actor = Actor.for_user(user, access.role_at(subject.site_id))
    try:
        with transaction.atomic():
            outcome = _write(actor, subject, form_code, visit, repeat, expected_version, reason, validation)
            void_signatures_for_change(actor, outcome.record, outcome.changed_fields)
            return outcome
    except IntegrityError:
        # Another user created the same record between our read and our write.
        current = _existing(subject, form_code, visit, repeat, for_update=False)
        raise StaleVersion(STALE_MESSAGE, current, validation.cleaned) from None


def _existing(subject, form_code, visit, repeat, *, for_update: bool = True) -> FormRecord | None:
    """The record a save writes to, if there is one yet (row-locked inside the save's transaction)."""
    records = FormRecord.objects.filter(subject=subject, form_code=form_code, visit=visit, repeat=repeat or 1)
    if for_update:
        records = records.select_for_update(of=("self",))
    return records.first()


def _write(actor, subject, form_code, visit, repeat, expected_version, reason, validation) -> FormSaveOutcome:
    # Lock the subject's row: a subject lock committed meanwhile is seen, and two saves of
    # one casebook queue instead of interleaving.
    subject = Subject.objects.select_for_update(of=("self",)).select_related("site", "study").get(pk=subject.pk)
    if (why := lock_reason(subject)) is not None:
        raise Locked(why)
    new_data = validation.cleaned
    new_status = FormStatus.COMPLETE if validation.complete else FormStatus.INCOMPLETE
    existing = None
    if visit is not None or repeat is not None:
        existing = _existing(subject, form_code, visit, repeat)
    label = f"{subject.label} {visit.code if visit else 'log'} {form_code}"

    if existing is None:
        if expected_version not in (None, 0):
            raise StaleVersion(STALE_MESSAGE, None, new_data)
        if visit is None and repeat is None:
            last = FormRecord.objects.filter(subject=subject, form_code=form_code, visit=None).order_by("-repeat")
            repeat = (last.values_list("repeat", flat=True).first() or 0) + 1
        now = timezone.now()
        created = FormRecord.objects.create(
            subject=subject,
            visit=visit,
            form_code=form_code,
            repeat=repeat or 1,
            data=new_data,
            status=new_status,
            version=1,
            first_completed_at=now if new_status == FormStatus.COMPLETE else None,
            updated_by_id=actor.user_id,
        )
        common = dict(
            study_id=subject.study_id, site=subject.site, object_type="form_record", object_id=created.pk
        )
        record(actor, "create", object_label=f"{label} #{created.repeat}", new_value=new_status, **common)
        for field_code, value in new_data.items():
            record(actor, "change", object_label=label, field=field_code, new_value=value, reason=reason, **common)
        on_form_saved(actor, created, validation, sorted(new_data))
        return FormSaveOutcome(created, validation, sorted(new_data), created=True)

    if (why := lock_reason(existing)) is not None:
        raise Locked(why)
    if expected_version is not None and expected_version != existing.version:
        raise StaleVersion(STALE_MESSAGE, existing, new_data)
    changes = _changes(existing.data, new_data)
    status_changed = existing.status != new_status
    if not changes and not status_changed:
        return FormSaveOutcome(existing, validation, [])
    if changes and existing.first_completed_at and not reason.strip():
        raise ReasonRequired(_("This form was already saved complete: give a reason for the change."), validation)

    common = dict(study_id=subject.study_id, site=subject.site, object_type="form_record", object_id=existing.pk)
    for field_code, (old, new) in changes.items():
        record(actor, "change", object_label=label, field=field_code, old_value=old, new_value=new, reason=reason, **common)
    if status_changed:
        record(actor, "status", object_label=label, old_value=existing.status, new_value=new_status, **common)
    existing.data = new_data
    existing.status = new_status
    existing.version += 1
    existing.updated_by_id = actor.user_id
    if new_status == FormStatus.COMPLETE and existing.first_completed_at is None:
        existing.first_completed_at = timezone.now()
    existing.save()
    on_form_saved(actor, existing, validation, sorted(changes))
    return FormSaveOutcome(existing, validation, sorted(changes))
