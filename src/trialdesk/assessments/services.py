"""Assessments: the derived response of each marrow, the investigator's confirmations, and a
subject's course of disease and transfusion needs, as plain data.

The clinical rules are the core's (``clinical.response``, ``clinical.course_of_disease``,
``clinical.transfusion``); this module reads the records through the scoped layer, feeds
them to the core and writes the one thing the shell decides: an investigator confirming
their own assessment where it differs from the derived one.

A **discordance** (the investigator's assessment differs from the derived response) is
flagged by a system query on the investigator's assessment, raised when the marrow is
saved. A query rather than a listing: the data manager already works the query lists
(open, answered, by site and age), the query reaches the site that must answer it, and
its every step is audited. The query names the derived response and its reason; the
investigator's confirmation answers it with their justification, so the data manager
reads both reasons in one thread and closes it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from trialdesk.assessments.models import ResponseConfirmation
from trialdesk.audit import reasons
from trialdesk.audit.services import Actor, audited, record
from trialdesk.clinical.course_of_disease import CourseOfDisease, MarrowRecord, course_of_disease
from trialdesk.clinical.response import TEMPLATES, ResponseCategory, ResponseResult, compose
from trialdesk.clinical.transfusion import Transfusion, TransfusionNeeds, settings_of, transfusion_needs
from trialdesk.crf.events import FormSaved
from trialdesk.crf.models import FormRecord
from trialdesk.protocol.formdata import typed_values
from trialdesk.queries import wording
from trialdesk.queries.models import UNRESOLVED, Query, QueryOrigin, QueryStatus
from trialdesk.queries.services import answer_query, raise_system_query, resolve_system_query
from trialdesk.studies.access import Permission, require, study_access
from trialdesk.studies.models import Study
from trialdesk.studies.scoping import prepared_rows
from trialdesk.subjects.models import Subject

DISCORDANCE_QUERY = "response-discordance"
JUSTIFICATION_MAX = 2000


class ConfirmationRefused(Exception):
    """The confirmation cannot happen now; nothing was written."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- words


def category_label(category: ResponseCategory | str | None) -> str:
    """A response category as the user reads it (their language)."""
    if category is None:
        return ""
    labels = {
        ResponseCategory.CR: _("Complete response (CR)"),
        ResponseCategory.CRP: _("Complete response without platelet recovery (CRp)"),
        ResponseCategory.PR: _("Partial response (PR)"),
        ResponseCategory.NO_RESPONSE: _("No response"),
        ResponseCategory.PROGRESSION: _("Progression"),
        ResponseCategory.RELAPSE: _("Relapse after CR/CRp"),
    }
    return labels[ResponseCategory(category)]


_NUMBER = re.compile(r"^([+-]?)(\d+(?:\.\d+)?)( %)?$")


def _localised(value: str) -> str:
    """A number of an explanation ("66.7 %", "+25 %", "1.5") written as the language writes
    numbers (66,7 % in French)."""
    match = _NUMBER.match(value)
    if match is None:
        return value
    sign, number, percent = match.groups()
    decimals = len(number.partition(".")[2])
    return f"{sign}{formats.number_format(float(number), decimal_pos=decimals)}{percent or ''}"


def _filled(key: str, params: dict[str, str]) -> str:
    return _(TEMPLATES[key]) % {name: _localised(value) for name, value in params.items()}


def explanation(result: ResponseResult) -> str:
    """The derived response's explanation in the user's language: each template of the
    core translated (the assessments catalogue holds them), then filled in with its numbers
    written as the language writes them."""
    return compose(
        _filled(result.headline.key, result.headline.params),
        [_filled(r.key, r.params) for r in result.reasons],
    )


# --------------------------------------------------------------------------- where the protocol records them


def _forms_of(protocol, concept: str) -> set[str]:
    return {ref.form for ref in protocol.concept(concept)} if protocol.has_concept(concept) else set()


def marrow_forms(protocol) -> set[str]:
    """The forms that record a dated marrow assessment."""
    return _forms_of(protocol, "marrow_assessed_on")


def investigator_field(protocol, form_code: str) -> str | None:
    """The field of ``form_code`` holding the investigator's assessment of response."""
    for concept in ("assessed_cr", "assessed_pr", "assessed_no_response"):
        if protocol.has_concept(concept):
            ref = protocol.choice_concept(concept)
            if ref.form == form_code:
                return ref.field
    return None


def _karyotype_forms(protocol) -> set[str]:
    return _forms_of(protocol, "abnormal_karyotype") - marrow_forms(protocol)


def _relevant_forms(protocol) -> set[str]:
    return (
        marrow_forms(protocol)
        | _karyotype_forms(protocol)
        | _forms_of(protocol, "transfused_on")
        | _forms_of(protocol, "dose_date")
    )


# --------------------------------------------------------------------------- the course of a subject


def _typed(protocol, record: FormRecord, data: dict | None = None) -> dict[str, Any]:
    return typed_values(protocol.form(record.form_code), record.data if data is None else data)


def build_course(
    protocol,
    subject: Subject,
    records: Iterable[FormRecord],
    confirmations: Iterable[ResponseConfirmation] | Callable[[], Iterable[ResponseConfirmation]],
    *,
    typed_now: tuple[Any, str, dict[str, Any]] | None = None,
) -> CourseOfDisease:
    """The subject's course of disease from their records (voided ones left out).

    ``confirmations``: the investigator's, or a function reading them (called only when an
    assessment is discordant: only there can a confirmation count). ``typed_now``: (record
    key, form code, typed values) of a marrow being entered, which replaces that record (or
    is added, key None being a new one)."""
    forms = marrow_forms(protocol)
    karyotype_forms = _karyotype_forms(protocol)
    marrows: list[MarrowRecord] = []
    baseline_karyotype = None
    now_key = typed_now[0] if typed_now else None
    for r in records:
        if r.voided_at is not None:
            continue
        if r.form_code in karyotype_forms:
            value = protocol.read_concept("abnormal_karyotype", r.form_code, r.data)
            if value is not None:
                baseline_karyotype = bool(value)
        if r.form_code not in forms or (typed_now and r.pk == now_key):
            continue
        m = MarrowRecord.from_record(protocol, r.form_code, _typed(protocol, r), key=r.pk)
        if m is not None:
            marrows.append(m)
    if typed_now:
        m = MarrowRecord.from_record(protocol, typed_now[1], typed_now[2], key=now_key)
        if m is not None:
            marrows.append(m)
    course = course_of_disease(
        marrows,
        protocol.response_criteria,
        first_dose=subject.first_dose_on,
        baseline_abnormal_karyotype=baseline_karyotype,
    )
    discordances = course.discordances
    if not discordances:
        return course
    latest: dict[int, ResponseConfirmation] = {}
    for c in sorted(
        confirmations() if callable(confirmations) else confirmations, key=lambda c: (c.confirmed_at, c.pk)
    ):
        latest[c.record_id] = c
    held = []
    for a in discordances:
        c = latest.get(a.record.key) if isinstance(a.record.key, int) else None
        if c is not None and c.holds_for(
            a.record.investigator.value if a.record.investigator else None, a.derived.category.value
        ):
            held.append(a.record.key)
    if not held:
        return course
    confirmed = [replace(m, confirmed=True) if m.key in held else m for m in marrows]
    return course_of_disease(
        confirmed,
        protocol.response_criteria,
        first_dose=subject.first_dose_on,
        baseline_abnormal_karyotype=baseline_karyotype,
    )


def build_transfusion_needs(protocol, subject: Subject, records: Iterable[FormRecord]) -> TransfusionNeeds:
    transfusion_forms = _forms_of(protocol, "transfused_on")
    dose_forms = _forms_of(protocol, "dose_date")
    transfusions, doses = [], []
    for r in records:
        if r.voided_at is not None:
            continue
        if r.form_code in transfusion_forms:
            t = Transfusion.from_record(protocol, r.form_code, _typed(protocol, r))
            if t is not None:
                transfusions.append(t)
        if r.form_code in dose_forms:
            on = _typed(protocol, r).get(protocol.concept_field("dose_date", r.form_code))
            if on is not None:
                doses.append(on)
    first = subject.first_dose_on or (min(doses) if doses else None)
    last = max(doses) if doses and subject.treatment_ended_on else None
    return transfusion_needs(
        transfusions, first, last, settings=settings_of(protocol), as_of=subject.site.today()
    )


def _confirmations_of(user_or_why, study: Study, subject_ids) -> list[ResponseConfirmation]:
    manager = ResponseConfirmation.objects
    scoped = (
        manager.system(user_or_why) if isinstance(user_or_why, str) else manager.for_user(user_or_why, study)
    )
    return list(scoped.filter(record__subject_id__in=list(subject_ids)))


def subject_course(
    user, study: Study, subject: Subject, records: list[FormRecord] | None = None
) -> CourseOfDisease:
    """A subject's course of disease as ``user`` may read it (scoped)."""
    if records is None:
        records = list(FormRecord.objects.for_user(user, study).filter(subject=subject))
    return build_course(study.protocol, subject, records, _confirmations_of(user, study, [subject.pk]))


def study_responses(user, study: Study) -> dict[int, dict[str, Any]]:
    """Per subject the user may read (subject id -> plain data): their course of disease,
    each assessment's derived and confirmed response, and their transfusion needs — what
    the report reads. Three queries whatever the number of subjects."""
    protocol = study.protocol
    subjects = {s.pk: s for s in Subject.objects.for_user(user, study).select_related("site")}
    records = FormRecord.objects.for_user(user, study).filter(
        subject_id__in=list(subjects), form_code__in=sorted(_relevant_forms(protocol))
    )
    by_subject: dict[int, list[FormRecord]] = defaultdict(list)
    for r in records:
        by_subject[r.subject_id].append(r)
    confirmations: dict[int, list[ResponseConfirmation]] = defaultdict(list)
    for c in (
        ResponseConfirmation.objects.for_user(user, study)
        .filter(record__subject_id__in=list(subjects))
        .select_related("record")
    ):
        confirmations[c.record.subject_id].append(c)
    out = {}
    for pk, subject in subjects.items():
        course = build_course(protocol, subject, by_subject[pk], confirmations[pk])
        out[pk] = {
            "subject": subject.label,
            "site": subject.site.code,
            "first_dose_on": None if subject.first_dose_on is None else subject.first_dose_on.isoformat(),
            **course.as_dict(),
            "transfusions": build_transfusion_needs(protocol, subject, by_subject[pk]).as_dict(),
        }
    return out


# --------------------------------------------------------------------------- the save of a marrow


def course_forms(protocol) -> set[str]:
    """The forms the course of disease reads (marrows and the baseline karyotype), not the
    subject's whole casebook: a subject on treatment has a hundred infusions."""
    return marrow_forms(protocol) | _karyotype_forms(protocol)


def save_reads(protocol, form_code: str) -> set[str]:
    """What a save of ``form_code`` reads for this app (declared to ``crf.savereads``): the
    course of disease's forms when a marrow is saved."""
    return course_forms(protocol) if form_code in marrow_forms(protocol) else set()


def _query_explanation(result: ResponseResult) -> str:
    """The explanation as a query's text holds it (English, as every system query's text),
    each reason starting with a capital as a list item does."""
    return compose(result.headline.text, [r.text[:1].upper() + r.text[1:] for r in result.reasons])


def _confirmations_at_save(subject_id: int):
    return (
        ResponseConfirmation.objects.system("the confirmations of the saved marrow's subject")
        .filter(record__subject_id=subject_id)
        .order_by()  # build_course takes the latest of each record itself
    )


def _questioned(subject_id: int):
    return (
        Query.objects.system("the discordance queries of the saved marrow's subject")
        .filter(record__subject_id=subject_id, check_code=DISCORDANCE_QUERY, status__in=UNRESOLVED)
        .order_by()
    )


def on_form_saved(event: FormSaved) -> None:
    """After a marrow is saved, each marrow of the subject (a change moves the nadir and the
    best response the later ones are measured against) is compared with its derived
    response: a discordance not confirmed gets a system query naming the derived response
    and why; a query whose discordance is gone closes."""
    form_record = event.record
    subject = form_record.subject
    protocol = subject.study.protocol
    if form_record.form_code not in marrow_forms(protocol):
        return
    if event.reads is not None:  # read once by the save, with what its other readers need
        found = event.reads.records(course_forms(protocol))
    else:
        found = FormRecord.objects.system("the derived responses of a marrow being saved").filter(
            subject_id=subject.pk, form_code__in=sorted(course_forms(protocol))
        )
    records = {r.pk: r for r in found}
    records[form_record.pk] = form_record  # its subject, site and study already loaded

    def confirmations() -> list[ResponseConfirmation]:
        return prepared_rows("assessments.confirmations_at_a_save", _confirmations_at_save, subject.pk)

    course = build_course(protocol, subject, list(records.values()), confirmations)
    questioned: set[int] | None = None

    def is_questioned(pk: int) -> bool:
        # which marrows are questioned already: one query, not one per marrow, and none for
        # a course with nothing to compare yet
        nonlocal questioned
        if questioned is None:
            questioned = {
                q.record_id
                for q in prepared_rows("assessments.questioned_at_a_save", _questioned, subject.pk)
            }
        return pk in questioned

    for assessed in course.assessments:
        record_ = records[assessed.record.key]
        field = investigator_field(protocol, record_.form_code)
        if field is None:
            continue
        if not assessed.discordant:
            if not is_questioned(record_.pk):
                continue
            derived = assessed.derived
            resolve_system_query(
                record_,
                code=DISCORDANCE_QUERY,
                because=wording.english(T_AGREES, {"derived": _query_explanation(derived)}),
                template=T_AGREES,
                params={
                    "derived": _query_explanation(derived),
                    # what discordance_text needs to say it again in the reader's language
                    "headline": [derived.headline.key, dict(derived.headline.params)],
                    "reasons": [[r.key, dict(r.params)] for r in derived.reasons],
                },
            )
            continue
        if assessed.confirmed_by_investigator or is_questioned(record_.pk):
            continue
        with translation.override("en"):
            investigator = category_label(assessed.record.investigator)
        derived = assessed.derived
        params = {
            "investigator": investigator,
            "derived": _query_explanation(derived),
            # what discordance_text needs to say both again in the reader's language
            "category": ResponseCategory(assessed.record.investigator).value,
            "headline": [derived.headline.key, dict(derived.headline.params)],
            "reasons": [[r.key, dict(r.params)] for r in derived.reasons],
        }
        raise_system_query(
            record_,
            field,
            # The stored text is English (the record); pages show it in the reader's language.
            wording.english(T_DISCORDANCE, params),
            code=DISCORDANCE_QUERY,
            reason=reasons.RESPONSE_COMPARED(user=event.actor.username),
            template=T_DISCORDANCE,
            params=params,
        )


#: the rule's name on the query pages
DISCORDANCE_NAME = gettext_noop("Investigator's assessment against the derived response")
#: the text of a discordance query (English stored; French in the assessments catalogue)
T_DISCORDANCE = gettext_noop(
    "The investigator's assessment (%(investigator)s) differs from the response derived by the "
    "protocol's criteria (%(derived)s). Please correct the data or the assessment, or confirm the "
    "assessment with a justification."
)


#: why a discordance query closes (its parameters: those of the derived response, as above)
T_AGREES = gettext_noop("the investigator's assessment agrees with the derived response (%(derived)s).")


def _derived_again(params) -> str:
    key, values = params["headline"]
    reasons = [_filled(k, v) for k, v in params["reasons"]]
    return compose(_filled(key, values), [r[:1].upper() + r[1:] for r in reasons])


def discordance_text(text) -> str | None:
    """A discordance query's text in the reader's language: the investigator's category and
    the derived response's explanation said again from their keys (``queries.wording``); so
    is its closing message once the two agree."""
    params = text.params or {}
    because = params.get("because")
    if text.template and isinstance(because, dict) and because.get("template") == T_AGREES:
        agreed = because.get("params") or {}
        if "headline" not in agreed:
            return None
        return _(text.template) % {"because": _(T_AGREES) % {"derived": _derived_again(agreed)}}
    if not text.template or "category" not in params:
        return None
    derived = _derived_again(params)
    return _(text.template) % {"investigator": category_label(params["category"]), "derived": derived}


# --------------------------------------------------------------------------- confirmation


def _clean(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise ConfirmationRefused(_("Give the justification of your assessment; nothing was confirmed."))
    if len(text) > JUSTIFICATION_MAX:
        raise ConfirmationRefused(
            _("The justification is too long (at most %(n)d characters); nothing was confirmed.")
            % {"n": JUSTIFICATION_MAX}
        )
    return text


def confirm_response(user, form_record: FormRecord, justification: str) -> ResponseConfirmation:
    """The investigator stands by their assessment where it differs from the derived one,
    with a justification: audited; it answers the open discordance query."""
    subject = form_record.subject
    study = subject.study
    access = study_access(user, study)
    require(access, Permission.CONFIRM_RESPONSE, subject.site_id)
    text = _clean(justification)
    actor = Actor.for_user(user, access.role_for(Permission.CONFIRM_RESPONSE, subject.site_id))
    with audited():
        locked = (
            FormRecord.objects.system("confirming a response, after its permission check")
            .select_for_update(of=("self",))
            .select_related("subject__site", "subject__study", "visit")
            .get(pk=form_record.pk)
        )
        if locked.voided_at is not None:
            raise ConfirmationRefused(_("This entry was voided; there is nothing to confirm."))
        if locked.locked_at is not None or locked.subject.locked_at is not None:
            raise ConfirmationRefused(_("This record is locked; nothing was confirmed."))
        course = subject_course(user, study, locked.subject)
        assessed = course.assessment_of(locked.pk)
        if assessed is None or not assessed.discordant:
            raise ConfirmationRefused(
                _(
                    "The investigator's assessment agrees with the derived response; there is nothing to confirm."
                )
            )
        if assessed.confirmed_by_investigator:
            raise ConfirmationRefused(_("This assessment is already confirmed."))
        assert assessed.record.investigator is not None
        confirmation = ResponseConfirmation.objects.system(
            "a confirmation after its permission check"
        ).create(
            record=locked,
            category=assessed.record.investigator.value,
            derived_category=assessed.derived.category.value,
            justification=text,
            record_version=locked.version,
            confirmed_by=user,
            confirmed_role=actor.role,
            confirmed_at=timezone.now(),
        )
        record(
            actor,
            "response_confirm",
            study_id=study.pk,
            site=locked.subject.site,
            object_type="form_record",
            object_id=locked.pk,
            object_label=f"{locked.subject.label} {locked.form_code}",
            field=investigator_field(study.protocol, locked.form_code) or "",
            old_value=assessed.derived.category.value,
            new_value=assessed.record.investigator.value,
            reason=text,
        )
        open_query = (
            Query.objects.system("the discordance query of a confirmed response")
            .filter(
                record=locked,
                origin=QueryOrigin.EDIT_CHECK,
                check_code=DISCORDANCE_QUERY,
                status__in=UNRESOLVED,
            )
            .first()
        )
        if (
            open_query is not None
            and open_query.status == QueryStatus.OPEN
            and access.can(Permission.ANSWER_QUERY, subject.site_id)
        ):
            # the answer is the investigator's own words, shown as typed in every language (the
            # trail names the act: "Response confirmed by the investigator")
            answer_query(user, open_query, text)
    return confirmation
