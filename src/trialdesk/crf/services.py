"""Saving form data: validation, no lost update, reasons for change, audit — in one transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from django.db import IntegrityError
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trialdesk.audit.services import Actor, audited, record
from trialdesk.crf.crossrecord import check_context, death_check
from trialdesk.crf.events import FormSaved, RecordVoided, SaveRefusedBy, form_saved
from trialdesk.crf.models import FormRecord, FormStatus, ReasonForChange, filled_count
from trialdesk.crf.savereads import SaveReads
from trialdesk.protocol.crossrecord import death_rules_apply
from trialdesk.protocol.formdata import FormValidation, validate_form_data
from trialdesk.studies.access import Permission, require, study_access
from trialdesk.studies.scoping import prepared_rows, saved_fields
from trialdesk.subjects.models import Subject, SubjectStatus, Visit

# "query #12" in the details of a reason links that query.
QUERY_REFERENCE = re.compile(r"query\s*#\s*(\d+)", re.IGNORECASE)
REASON_DETAIL_MAX = 500


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


def records_allowed_at(subject: Subject, visit: Visit, form_code: str) -> int:
    """How many records of the form the visit holds at most (its ``max_per_visit``, else 1)."""
    for planned in subject.study.protocol.schedule.expanded_visits():
        if planned.code == visit.code:
            return planned.records_allowed(form_code)
    return 0


def _check_visit_repeat(subject: Subject, visit: Visit, form_code: str, repeat: int) -> None:
    """A second (third…) record of a form at one visit: only where the protocol allows it,
    and only after the one before it."""
    allowed = records_allowed_at(subject, visit, form_code)
    if repeat < 1 or repeat > allowed:
        raise FormSaveRefused(
            _("This visit holds at most %(count)d records of this form.") % {"count": allowed}
        )
    before = FormRecord.objects.system("save_form, after its permission check").filter(
        subject=subject, visit=visit, form_code=form_code, repeat=repeat - 1
    )
    if not before.exists():
        raise FormSaveRefused(_("Fill in the previous record of this form at this visit first."))


def _changes(old: dict, new: dict) -> dict[str, tuple[Any, Any]]:
    return {
        key: (old.get(key), new.get(key))
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    }


def save_form(
    user,
    subject: Subject,
    form_code: str,
    raw_data: dict[str, Any],
    *,
    visit: Visit | None = None,
    repeat: int | None = None,
    expected_version: int | None = None,
    reason: ReasonForChange | str | None = None,
    reason_detail: str = "",
) -> FormSaveOutcome:
    """Validate and save one form record.

    ``expected_version`` is the version the user loaded (None for a record they saw
    empty); ``repeat`` None on a log form adds a new entry. ``reason`` is a
    ReasonForChange code, required once the record was saved complete, with
    ``reason_detail`` (required for OTHER; "query #N" there links query N). Raises a
    FormSaveRefused subclass with nothing written when the save cannot happen.
    """
    study = subject.study
    access = study_access(user, study)
    require(access, Permission.ENTER_DATA, subject.site_id)
    if subject.status == SubjectStatus.SCREEN_FAILED and form_code != study.protocol.eligibility.form:
        raise FormSaveRefused(_("This patient failed screening; no further data can be entered."))
    if form_code not in forms_allowed_at(subject, visit):
        raise FormSaveRefused(_("This form is not collected at this visit."))
    if visit is not None and repeat is not None and repeat != 1:
        _check_visit_repeat(subject, visit, form_code, repeat)
    form = study.protocol.form(form_code)
    validation = validate_form_data(form, raw_data, check_context(subject, form_code, repeat=repeat))
    if not validation.ok:
        raise FormInvalid(_("Some answers need correcting; nothing was saved."), validation)

    why = _reason(reason, reason_detail)
    actor = Actor.for_user(user, access.role_for(Permission.ENTER_DATA, subject.site_id))
    try:
        with audited():
            return _write(actor, subject, form_code, visit, repeat, expected_version, why, validation)
    except IntegrityError:
        # Another user created the same record between our read and our write.
        current = _existing(subject, form_code, visit, repeat, for_update=False)
        raise StaleVersion(STALE_MESSAGE, current, validation.cleaned) from None
    except SaveRefusedBy as refusal:
        # A subscriber refused the save (its transaction is undone): the message on its field.
        refused = replace(
            validation, errors={code: list(messages) for code, messages in validation.errors.items()}
        )
        refused.add_error(refusal.field_code, refusal.message)
        raise FormInvalid(_("Some answers need correcting; nothing was saved."), refused) from None


def _check_death(
    subject: Subject,
    form_code: str,
    existing: FormRecord | None,
    validation: FormValidation,
    reads: SaveReads,
) -> None:
    """The death rules (protocol.crossrecord): a death date unlike the casebook's, a record
    dated after the death. Their failures are queries (the save goes on), added to the
    validation like the edit checks' so that the queries app raises them. Read in the save's
    transaction, the subject locked, from what the save reads anyway (``reads``)."""
    if not death_rules_apply(subject.study.protocol, form_code):
        return
    exclude = existing.pk if existing is not None else None
    context, failures = death_check(subject, form_code, validation.cleaned, exclude_pk=exclude, reads=reads)
    validation.context.update(context)
    validation.check_failures.extend(failures)


def reason_text(code: str, detail: str) -> str:
    """A reason for change as the trail keeps it: its label (in English, like all stored
    text) and the details."""
    if not code:
        return detail
    with translation.override("en"):
        label = str(ReasonForChange(code).label)
    return f"{label}: {detail}" if detail else label


@dataclass(frozen=True)
class _Reason:
    code: str
    detail: str

    @cached_property  # one per save, written on each of its events
    def text(self) -> str:
        return reason_text(self.code, self.detail)

    @property
    def query_ids(self) -> frozenset[int]:
        return frozenset(int(number) for number in QUERY_REFERENCE.findall(self.detail))


def _reason(code: ReasonForChange | str | None, detail: str) -> _Reason:
    detail = (detail or "").strip()
    if len(detail) > REASON_DETAIL_MAX:
        raise FormSaveRefused(
            _("The reason for change is too long (at most %(max)d characters).") % {"max": REASON_DETAIL_MAX}
        )
    if not code:
        return _Reason("", detail)
    if code not in ReasonForChange.values:
        raise FormSaveRefused(_("Choose a reason for the change from the list."))
    if code == ReasonForChange.OTHER and not detail:
        raise FormSaveRefused(_("Explain the reason for the change."))
    return _Reason(str(code), detail)


def _existing(subject, form_code, visit, repeat, *, for_update: bool = True) -> FormRecord | None:
    """The record a save writes to, if there is one yet (row-locked inside the save's transaction)."""
    visit_id = visit.pk if visit is not None else None
    if for_update:  # sent at every save: compiled once (studies.scoping.prepared_rows)
        found = prepared_rows(
            "crf.record_being_saved", _record_at, subject.pk, form_code, visit_id, repeat or 1
        )
        return found[0] if found else None
    return _record_at(subject.pk, form_code, visit_id, repeat or 1, lock=False).first()


def _record_at(subject_id: int, form_code: str, visit_id: int | None, repeat: int, *, lock: bool = True):
    records = FormRecord.objects.system("save_form, after its permission check").filter(
        subject_id=subject_id, form_code=form_code, visit_id=visit_id, repeat=repeat
    )
    if lock:
        records = records.select_for_update(of=("self",))
    return records.order_by("pk")[:1]  # not the model's ordering, which joins the visit


def _subject_locked(subject_id: int):
    return (
        Subject.objects.system("save_form, after its permission check")
        .filter(pk=subject_id)
        .select_for_update(of=("self",))
        .select_related("site", "study")
        .defer("study__protocol_yaml")
    )


def _write(
    actor, subject, form_code, visit, repeat, expected_version, reason: _Reason, validation
) -> FormSaveOutcome:
    # Lock the subject's row: a subject lock committed meanwhile is seen, and two saves of
    # one casebook queue instead of interleaving.
    locked = prepared_rows("crf.subject_being_saved", _subject_locked, subject.pk)
    if not locked:
        raise Subject.DoesNotExist(f"subject {subject.pk}")
    subject = locked[0]
    if (why := lock_reason(subject)) is not None:
        raise Locked(why)
    new_data = validation.cleaned
    new_status = FormStatus.COMPLETE if validation.complete else FormStatus.INCOMPLETE
    existing = None
    if visit is not None or repeat is not None:
        existing = _existing(subject, form_code, visit, repeat)
    if existing is not None:  # the subject (locked above, with its site and study) and visit at hand
        existing.subject = subject
        if visit is not None:
            existing.visit = visit

    reads = SaveReads(subject, form_code)

    if existing is None:
        if expected_version not in (None, 0):
            raise StaleVersion(STALE_MESSAGE, None, new_data)
        _check_death(subject, form_code, None, validation, reads)
        if visit is None and repeat is None:
            last = (
                FormRecord.objects.system("save_form, after its permission check")
                .filter(subject=subject, form_code=form_code, visit=None)
                .order_by("-repeat")
            )
            repeat = (last.values_list("repeat", flat=True).first() or 0) + 1
        now = timezone.now()
        written = FormRecord.objects.create(
            subject=subject,
            visit=visit,
            form_code=form_code,
            repeat=repeat or 1,
            data=new_data,
            filled_fields=filled_count(new_data),
            status=new_status,
            version=1,
            first_completed_at=now if new_status == FormStatus.COMPLETE else None,
            updated_by_id=actor.user_id,
        )
        changes = {code: (None, value) for code, value in new_data.items()}
        common = _audit_common(written)
        record(actor, "create", new_value=new_status, **common)
        for field_code, (_old, value) in changes.items():
            record(actor, "change", field=field_code, new_value=value, reason=reason.text, **common)
        created = True
    else:
        if (why := lock_reason(existing)) is not None:
            raise Locked(why)
        if existing.voided_at is not None:
            raise FormSaveRefused(_("This entry was voided (entered in error); it can no longer change."))
        if expected_version is not None and expected_version != existing.version:
            raise StaleVersion(STALE_MESSAGE, existing, new_data)
        _check_death(subject, form_code, existing, validation, reads)
        changes = _changes(existing.data, new_data)
        status_changed = existing.status != new_status
        if not changes and not status_changed:
            return FormSaveOutcome(existing, validation, [])
        if changes and existing.first_completed_at and not reason.code:
            raise ReasonRequired(
                _("This form was already saved complete: give a reason for the change."), validation
            )
        common = _audit_common(existing)
        for field_code, (old, new) in changes.items():
            record(
                actor, "change", field=field_code, old_value=old, new_value=new, reason=reason.text, **common
            )
        if status_changed:
            record(actor, "status", old_value=existing.status, new_value=new_status, **common)
        existing.data = new_data
        existing.filled_fields = filled_count(new_data)
        existing.status = new_status
        existing.version += 1
        existing.updated_by_id = actor.user_id
        if new_status == FormStatus.COMPLETE and existing.first_completed_at is None:
            existing.first_completed_at = timezone.now()
        saved_fields(  # existing.save(update_fields=...), its statement written once
            existing,
            ["data", "filled_fields", "status", "version", "updated_by", "first_completed_at", "updated_at"],
        )
        written, created = existing, False

    written.subject = subject
    reads.wrote(written)
    form_saved.publish(
        FormSaved(
            record=written,
            actor=actor,
            changes=changes,
            validation=validation,
            created=created,
            reason_code=reason.code,
            reason_detail=reason.detail,
            query_ids=reason.query_ids,
            reads=reads,
        )
    )
    return FormSaveOutcome(written, validation, sorted(changes), created=created)


def _audit_common(form_record: FormRecord) -> dict:
    subject = form_record.subject
    return dict(
        study_id=subject.study_id,
        site=subject.site,
        object_type="form_record",
        object_id=form_record.pk,
        object_label=form_record.label,
    )


VOID_REASON_MAX = 500


def void_record(user, form_record: FormRecord, reason: str) -> FormRecord:
    """Void a record entered in error: it stays, marked voided (when, by whom, why), shown
    struck through and left out of the analysis, of ``previous.`` and of the edit checks;
    nothing is deleted. Needs ENTER_DATA at the record's site and a reason; refused when
    the record (or its subject, site, study) is locked or already voided. Audited as
    ``void``; publishes a ``RecordVoided`` (the record's version moves on: signatures over
    it are voided; its queries close; the checks of the records that read it run again)."""
    subject = form_record.subject
    access = study_access(user, subject.study)
    require(access, Permission.ENTER_DATA, subject.site_id)
    reason = (reason or "").strip()
    if not reason:
        raise FormSaveRefused(_("Give the reason why this entry was entered in error."))
    if len(reason) > VOID_REASON_MAX:
        raise FormSaveRefused(
            _("The reason is too long (at most %(max)d characters).") % {"max": VOID_REASON_MAX}
        )
    actor = Actor.for_user(user, access.role_for(Permission.ENTER_DATA, subject.site_id))
    with audited():
        subject = (
            Subject.objects.system("void_record, after its permission check")
            .select_for_update(of=("self",))
            .select_related("site", "study")
            .defer("study__protocol_yaml")
            .get(pk=subject.pk)
        )
        if (why := lock_reason(subject)) is not None:
            raise Locked(why)
        locked = (
            FormRecord.objects.system("void_record, after its permission check")
            .select_for_update(of=("self",))
            .select_related("visit")
            .get(pk=form_record.pk)
        )
        locked.subject = subject
        if (why := lock_reason(locked)) is not None:
            raise Locked(why)
        if locked.voided_at is not None:
            raise FormSaveRefused(_("This entry is already voided."))
        locked.voided_at = timezone.now()
        locked.voided_by_id = actor.user_id
        locked.void_reason = reason
        locked.version += 1
        locked.updated_by_id = actor.user_id
        locked.save(
            update_fields=["voided_at", "voided_by", "void_reason", "version", "updated_by", "updated_at"]
        )
        record(
            actor,
            "void",
            old_value={"version": locked.version - 1},
            new_value={"voided": True, "version": locked.version},
            reason=reason,
            **_audit_common(locked),
        )
        form_saved.publish(
            RecordVoided(
                record=locked,
                actor=actor,
                changes={},
                validation=FormValidation(cleaned=dict(locked.data)),
                created=False,
                void_reason=reason,
                reads=SaveReads(subject, locked.form_code),
            )
        )
    return locked
