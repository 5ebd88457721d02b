"""The REDCap-compatible API's work: a token's study as a REDCap project, its records
exported (streamed, scoped, audited as an export) and imported (through the form engine's
``save_form``, one transaction for the whole import).

The project's shape (fields, events, instruments, flat rows) is the pure
``trialdesk.exchange.redcap``; this module reads and writes the database for it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from trialdesk.audit.services import Actor, audited, record
from trialdesk.crf.models import FormRecord, FormStatus, ReasonForChange
from trialdesk.crf.rendering import translated
from trialdesk.crf.services import FormInvalid, FormSaveRefused, save_form
from trialdesk.exchange.redcap import (
    LOG_EVENT,
    RECORD_ID,
    RedcapInputError,
    RedcapProject,
    StoredRecord,
)
from trialdesk.studies.access import Permission, study_access
from trialdesk.studies.models import Study
from trialdesk.studies.pseudonymisation import IDENTIFYING_FIELDS, free_text_fields
from trialdesk.subjects.models import Subject, Visit

_PROJECTS: dict[str, RedcapProject] = {}


class RedcapRefused(Exception):
    """A request the API refuses, with REDCap's HTTP status and a message for the client."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def project_of(study: Study) -> RedcapProject:
    """The REDCap view of the study's protocol (made once per protocol text)."""
    key = study.protocol_sha256
    project = _PROJECTS.get(key)
    if project is None:
        if len(_PROJECTS) >= 16:
            _PROJECTS.pop(next(iter(_PROJECTS)))
        protocol = study.protocol
        identifying = free_text_fields(protocol) | IDENTIFYING_FIELDS
        project = _PROJECTS[key] = RedcapProject(protocol, identifying=identifying)
    return project


def _record_filter(record_ids: Sequence[str]) -> Q:
    """Subjects named by REDCap record ids: the subject code, or a screening number where
    the subject has no code (a screen failure)."""
    return Q(subject_code__in=record_ids) | Q(subject_code__isnull=True, screening_number__in=record_ids)


def record_id_of(subject: Subject) -> str:
    return subject.subject_code or subject.screening_number


# ---------------------------------------------------------------------------- export


@dataclass(frozen=True)
class RecordExport:
    columns: list[str]
    rows: Iterator[dict[str, str]]


def export_records(
    user,
    token,
    *,
    records: Sequence[str] = (),
    fields: Sequence[str] = (),
    forms: Sequence[str] = (),
    events: Sequence[str] = (),
    label: bool = False,
    access_groups: bool = False,
    file_format: str = "json",
    chunk_size: int = 500,
) -> RecordExport:
    """The study's records for ``user`` as flat REDCap rows, read one subject at a time.

    Needs the EXPORT permission (RedcapRefused 403 otherwise). The export is audited
    (``export``, with its filters and the number of subjects in scope) before the first
    row is read; the rows are those of the user's sites, pseudonymised for a pseudonymised
    viewer, voided entries left out."""
    study = token.study
    access = study_access(user, study)
    if not access.can(Permission.EXPORT):
        raise RedcapRefused(_("You do not have API export rights in this project."), status=403)
    project = project_of(study)
    try:
        columns = project.record_columns(fields, forms, access_group=access_groups)
    except KeyError as unknown:
        raise RedcapRefused(
            _("The following values are not valid field or instrument names: %(names)s")
            % {"names": unknown.args[0]}
        ) from None
    for name in events:
        if project.event(name) is None:
            raise RedcapRefused(
                _("The following values are not valid event names: %(names)s") % {"names": name}
            )

    subjects = Subject.objects.for_user(user, study).filter(study=study)
    if records:
        subjects = subjects.filter(_record_filter(records))
    records_read = (
        FormRecord.objects.for_user(user, study)
        .filter(subject__study=study, voided_at__isnull=True)
        .select_related("subject", "subject__site", "visit")
        .defer("subject__screen_failure_criteria", "subject__screen_failure_reason")
        .annotate(_record_id=Coalesce(F("subject__subject_code"), F("subject__screening_number")))
        .order_by("_record_id", "subject_id", "visit__sequence", "form_code", "repeat")
    )
    if records:
        records_read = records_read.filter(subject__in=subjects)
    wanted_forms = {project_field.form for project_field in project.select_fields(fields, forms)[1:]} | {
        name[: -len("_complete")] for name in columns if name.endswith("_complete")
    }
    if fields or forms:
        records_read = records_read.filter(form_code__in=wanted_forms)
    if events:
        visit_codes = [project.event(name).visit_code for name in events]
        in_events = Q(visit__code__in=[code for code in visit_codes if code is not None])
        if any(code is None for code in visit_codes):
            in_events |= Q(visit__isnull=True)
        records_read = records_read.filter(in_events)

    role = access.role_for(Permission.EXPORT)
    with audited():
        record(
            Actor.for_user(user, role),
            "export",
            study_id=study.pk,
            object_type="redcap_records",
            object_label="REDCap API record export",
            new_value={
                "format": file_format,
                "raw_or_label": "label" if label else "raw",
                "records": list(records),
                "fields": list(fields),
                "forms": list(forms),
                "events": list(events),
                "subjects_in_scope": subjects.count(),
                "pseudonymised": access.pseudonymised,
                "api_token": token.pk,
            },
        )

    def rows() -> Iterator[dict[str, str]]:
        read = records_read.iterator(chunk_size=chunk_size)
        for _subject_id, group in itertools.groupby(read, key=lambda form_record: form_record.subject_id):
            group = list(group)
            yield from project.records_rows(
                record_id_of(group[0].subject),
                (
                    StoredRecord(
                        visit_code=form_record.visit.code if form_record.visit_id else None,
                        form_code=form_record.form_code,
                        repeat=form_record.repeat,
                        data=form_record.data,
                        complete=form_record.status == FormStatus.COMPLETE,
                    )
                    for form_record in group
                ),
                columns,
                label=label,
                events=events,
                site=group[0].subject.site.code,
            )

    return RecordExport(columns=columns, rows=rows())


# ---------------------------------------------------------------------------- import


class _Rollback(Exception):
    pass


def import_records(user, token, rows: Sequence[Mapping[str, Any]], *, overwrite: bool = False) -> list[str]:
    """Save imported rows through the form engine, all or nothing; the record ids saved.

    Each form record named in the rows is saved with ``save_form`` (its validation, edit
    checks, locks, site scope, audit) with the reason ``api_import``. ``overwrite``: a
    blank value erases the stored one (REDCap's ``overwriteBehavior=overwrite``); else a
    blank leaves it. Raises RedcapInputError listing every problem, nothing written."""
    study = token.study
    access = study_access(user, study)
    if not access.can(Permission.ENTER_DATA):
        raise RedcapRefused(_("You do not have API import rights in this project."), status=403)
    project = project_of(study)
    items = project.parse_import(rows)
    record_ids = list(dict.fromkeys(item.record_id for item in items))
    subjects = {
        record_id_of(subject): subject
        for subject in Subject.objects.for_user(user, study)
        .filter(study=study)
        .filter(_record_filter(record_ids))
        .select_related("site", "study")
    }
    problems: list[tuple[str, str, str, str]] = []
    for record_id in record_ids:
        if record_id not in subjects:
            problems.append(
                (
                    record_id,
                    RECORD_ID,
                    record_id,
                    _("This record does not exist (records are created by screening)."),
                )
            )
    if problems:
        raise RedcapInputError(problems)
    try:
        with audited():
            for item in items:
                problems.extend(_import_item(user, project, subjects[item.record_id], item, overwrite) or ())
            if problems:
                raise _Rollback
    except _Rollback:
        raise RedcapInputError(problems) from None
    return record_ids


def _import_item(user, project: RedcapProject, subject: Subject, item, overwrite: bool):
    """Save one item; the problems that refused it (nothing of it written), or None."""
    study = subject.study
    event = project.event_of(item.visit_code)
    visit = None
    if item.visit_code is not None:
        visit = Visit.objects.for_user(user, study).filter(subject=subject, code=item.visit_code).first()
        if visit is None:
            return [
                (
                    item.record_id,
                    "redcap_event_name",
                    event,
                    _("This event is not yet scheduled for this record."),
                )
            ]
    existing = None
    if item.instance is not None or visit is not None:
        existing = (
            FormRecord.objects.for_user(user, study)
            .filter(subject=subject, visit=visit, form_code=item.form_code, repeat=item.instance or 1)
            .first()
        )
    repeat = item.instance
    if visit is None and existing is None and item.instance is not None:
        last = (
            FormRecord.objects.for_user(user, study)
            .filter(subject=subject, visit=None, form_code=item.form_code)
            .order_by("-repeat")
            .values_list("repeat", flat=True)
            .first()
            or 0
        )
        if item.instance != last + 1:
            return [
                (
                    item.record_id,
                    "redcap_repeat_instance",
                    str(item.instance),
                    _("A new instance of this instrument must be number %(number)d (or new).")
                    % {"number": last + 1},
                )
            ]
        repeat = None  # the form engine numbers a new entry
    data = dict(existing.data) if existing else {}
    given = False
    for code, text in item.values.items():
        if text == "":
            if overwrite and data.get(code) not in (None, ""):
                data[code] = None
                given = True
            continue
        data[code] = text
        given = True
    if not given:
        return None  # only blanks for a record left as it is
    form = project.form(item.form_code)
    try:
        save_form(
            user,
            subject,
            item.form_code,
            data,
            visit=visit,
            repeat=repeat,
            expected_version=existing.version if existing else None,
            reason=ReasonForChange.API_IMPORT,
        )
    except FormInvalid as refusal:
        found = []
        for code, messages in (refusal.validation.errors if refusal.validation else {}).items():
            name = project.field_name(item.form_code, code) if code in form.field_codes else item.form_code
            value = item.values.get(code, "")
            found.extend((item.record_id, name, value, translated(message, form)) for message in messages)
        return found or [(item.record_id, item.form_code, "", refusal.message)]
    except FormSaveRefused as refusal:
        return [(item.record_id, item.form_code, event, str(refusal.message))]
    except PermissionDenied:
        return [(item.record_id, item.form_code, event, _("You may not enter data at this record's site."))]
    return None


__all__ = [
    "LOG_EVENT",
    "RecordExport",
    "RedcapRefused",
    "export_records",
    "import_records",
    "project_of",
    "record_id_of",
]
