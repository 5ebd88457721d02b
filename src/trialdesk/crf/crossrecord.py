"""What edit checks read beyond their record, from the database (see ``protocol.crossrecord``).

``previous.<field>`` is the previous non-voided record of the same log form (by the form's
date concept, then repeat), ``subject.<name>`` a date of the subject, ``baseline.<field>``
the screening and day-1 values. Every read here serves a save, a void or a re-run of checks
that already passed its permission check: they use the system manager.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from trialdesk.crf.models import FormRecord
from trialdesk.protocol.crossrecord import (
    BASELINE,
    DEATH_DATE_KEY,
    PREVIOUS,
    SUBJECT,
    Entry,
    baseline_values,
    check_reads,
    context_values,
    death_fields,
    death_findings,
    death_rules_apply,
    order_key,
    previous_entry,
    stated_death_date,
)
from trialdesk.protocol.formdata import CheckFailure, Message, typed_values

WHY = "cross-record edit checks, after the permission check of the save"
#: a new log entry (no repeat yet) comes after the existing entries of its date
NEW_ENTRY = 10**9


def first_dose_date(subject) -> dt.date | None:
    """The subject's first-dose date, or None when there is none (yet) — including while the
    subject model has no such field: a check reading it is then unknown, never failing."""
    for name in ("first_dose_date", "first_dose_on"):
        value = getattr(subject, name, None)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
    return None


def subject_values(subject) -> dict[str, Any]:
    return {"consent_date": subject.consent_date, "first_dose_date": first_dose_date(subject)}


def reads_of(protocol, form_code: str) -> dict[str, set[str]]:
    """The qualified names the form's edit checks read, by qualifier."""
    return check_reads(check.rule for check in protocol.form(form_code).edit_checks)


def _log_records(subject, form_code: str):
    return FormRecord.objects.system(WHY).filter(subject=subject, form_code=form_code, visit=None)


def _entry(record: FormRecord) -> Entry:
    return Entry(record.pk, record.repeat, record.data, record.voided_at is not None)


def previous_record(
    subject, form_code: str, repeat: int, data: Mapping[str, Any], records=None
) -> FormRecord | None:
    """The previous non-voided entry of a log form before the entry (``repeat``, ``data``)."""
    protocol = subject.study.protocol
    date_field = protocol.date_concept_field(form_code)
    records = list(_log_records(subject, form_code)) if records is None else records
    found = previous_entry(map(_entry, records), Entry(None, repeat, data), date_field)
    return next((r for r in records if r.pk == found.key), None) if found else None


def _baseline(subject) -> dict[str, Any]:
    protocol = subject.study.protocol
    visits = [v.code for v in protocol.baseline_visits]
    forms = protocol.baseline_forms
    rows = (
        FormRecord.objects.system(WHY)
        .filter(subject=subject, form_code__in=forms, visit__code__in=visits, voided_at__isnull=True)
        .select_related("visit")
    )
    by_form: dict[str, dict[str, Any]] = {}
    for record in sorted(rows, key=lambda r: (visits.index(r.visit.code), r.repeat)):
        if record.form_code not in by_form:
            by_form[record.form_code] = typed_values(protocol.form(record.form_code), record.data)
    return baseline_values(forms, by_form)


def check_context(
    subject, form_code: str, *, repeat: int | None
) -> Callable[[Mapping[str, Any]], dict] | None:
    """What a save of this record passes to ``validate_form_data``: a function of the record's
    typed values giving the qualified names its checks read; None when they read none."""
    protocol = subject.study.protocol
    reads = reads_of(protocol, form_code)
    if not reads:
        return None

    def resolve(typed: Mapping[str, Any]) -> dict[str, Any]:
        previous = None
        if PREVIOUS in reads and protocol.is_log_form(form_code):
            record = previous_record(subject, form_code, repeat or NEW_ENTRY, typed)
            if record is not None:
                previous = typed_values(protocol.form(form_code), record.data)
        return context_values(
            reads,
            previous=previous,
            subject=subject_values(subject) if SUBJECT in reads else None,
            baseline=_baseline(subject) if BASELINE in reads else None,
        )

    return resolve


def death_date(
    subject,
    *,
    exclude_pk: int | None = None,
    exclude_slot: tuple[str, int | None, int] | None = None,
    reads=None,
) -> dt.date | None:
    """The death date the subject's records state (the forms that report the death, by the
    concept's precedence, the most recent record of a form first), leaving out the record
    being checked: ``exclude_pk``, or its place ``exclude_slot`` (form, visit id, repeat)
    when the caller has not loaded it. One query, or none from a save's ``reads``
    (``crf.savereads.SaveReads``)."""
    protocol = subject.study.protocol
    fields = death_fields(protocol)
    if not fields:
        return None
    if reads is not None:
        found = sorted(reads.records(fields), key=lambda r: r.pk, reverse=True)
        return stated_death_date(
            protocol,
            [
                (r.form_code, r.data)
                for r in found
                if r.voided_at is None
                and r.pk != exclude_pk
                and (r.form_code, r.visit_id, r.repeat) != exclude_slot
            ],
        )
    rows = (
        FormRecord.objects.system(WHY)
        .filter(subject=subject, form_code__in=list(fields), voided_at__isnull=True)
        .exclude(pk=exclude_pk)
        .order_by("-pk")
        .values_list("form_code", "data", "visit_id", "repeat")
    )
    kept = [(form, data) for form, data, visit_id, repeat in rows if (form, visit_id, repeat) != exclude_slot]
    return stated_death_date(protocol, kept)


def death_reads(protocol, form_code: str) -> set[str]:
    """The forms a save of ``form_code`` reads for the death rules (``crf.savereads``)."""
    return set(death_fields(protocol)) if death_rules_apply(protocol, form_code) else set()


def death_check(
    subject,
    form_code: str,
    data: Mapping[str, Any],
    *,
    exclude_pk: int | None = None,
    exclude_slot: tuple[str, int | None, int] | None = None,
    reads=None,
) -> tuple[dict[str, Any], list[CheckFailure]]:
    """The death rules on one record's ``data`` (stored JSON or typed values): the context
    they read (``subject.death_date``) and their failures, each of severity ``query``.
    Nothing (and no query to the database) for a form the rules do not read."""
    protocol = subject.study.protocol
    if not death_rules_apply(protocol, form_code):
        return {}, []
    context = {
        DEATH_DATE_KEY: death_date(subject, exclude_pk=exclude_pk, exclude_slot=exclude_slot, reads=reads)
    }
    failures = [
        CheckFailure(found.code, Message(found.template, **found.params), "query", (found.field,))
        for found in death_findings(protocol, form_code, {**data, **context})
    ]
    return context, failures


def rule_values(record: FormRecord) -> dict[str, Any]:
    """A stored record's values as its edit checks read them: its own fields and the
    qualified names (what a re-run of its checks evaluates), with the death date the
    subject's other records state when the death rules read the record."""
    form = record.subject.study.protocol.form(record.form_code)
    typed = typed_values(form, record.data)
    context = check_context(record.subject, record.form_code, repeat=record.repeat)
    death_context, _failures = death_check(record.subject, record.form_code, typed, exclude_pk=record.pk)
    return {**typed, **(context(typed) if context else {}), **death_context}


def _death_dependents(record: FormRecord, old_data: Mapping[str, Any] | None) -> list[FormRecord]:
    """When a record that states the death changes its death date (or is created or voided
    with one), every other record the death rules read runs them again."""
    protocol = record.subject.study.protocol
    field = death_fields(protocol).get(record.form_code)
    if field is None:
        return []
    before = (old_data or {}).get(field)
    now = None if record.voided_at is not None else record.data.get(field)
    if before == now:
        return []
    forms = [f.code for f in protocol.forms if death_rules_apply(protocol, f.code)]
    return list(
        FormRecord.objects.system(WHY)
        .filter(subject=record.subject, form_code__in=forms, voided_at__isnull=True)
        .exclude(pk=record.pk)
    )


def dependents(record: FormRecord, old_data: Mapping[str, Any] | None) -> list[FormRecord]:
    """The records whose edit checks read ``record`` and so must run again after it changed
    (``old_data``: its data before the change, None if it is new): the entry that followed it
    before the change and the one that follows it now (they read it, or read past it, as
    ``previous.``); and, for a baseline record, the records whose checks read ``baseline.``."""
    subject = record.subject
    protocol = subject.study.protocol
    found: dict[int, FormRecord] = {}
    if record.visit_id is None and PREVIOUS in reads_of(protocol, record.form_code):
        date_field = protocol.date_concept_field(record.form_code)
        siblings = [
            r for r in _log_records(subject, record.form_code) if r.pk != record.pk and not r.voided_at
        ]
        states = [record.data] if record.voided_at is None else []
        if old_data is not None:
            states.append(old_data)
        for data in states:
            after = order_key(date_field, record.repeat, data)
            later = [r for r in siblings if order_key(date_field, r.repeat, r.data) > after]
            if later:
                nxt = min(later, key=lambda r: order_key(date_field, r.repeat, r.data))
                found[nxt.pk] = nxt
    baseline_codes = {v.code for v in protocol.baseline_visits}
    if record.visit_id is not None and record.visit.code in baseline_codes:
        readers = [f.code for f in protocol.forms if BASELINE in reads_of(protocol, f.code)]
        if readers:
            for other in (
                FormRecord.objects.system(WHY)
                .filter(subject=subject, form_code__in=readers, voided_at__isnull=True)
                .exclude(pk=record.pk)
            ):
                found.setdefault(other.pk, other)
    for other in _death_dependents(record, old_data):
        found.setdefault(other.pk, other)
    for other in found.values():
        other.subject = subject
    return sorted(found.values(), key=lambda r: r.pk)
