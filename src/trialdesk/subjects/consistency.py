"""The screening form checked against what the subject already says: a ``FormSaved``
subscriber (registered in ``SubjectsConfig.ready``).

- **Age and sex.** The screening episode (``register_screening``) is the one source of the
  patient's sex and year of birth (or age at screening): it is what the screening log, the
  pseudonymisation and the analysis read. The screening form asks them again because its
  eligibility rules read them there; when the form's answer disagrees with the episode, the
  site gets a query on the form's field (the system cannot tell which of the two is wrong).
  The age agrees when it is the age the year of birth gives on the screening date, to within
  the year (a birthday not yet passed is one year less).
- **Eligibility after enrollment.** A change to the screening form of an enrolled subject
  that makes a criterion fail (assessed on the enrollment date, as at enrollment) raises a
  query to the site on the screening record, citing the criterion; the data manager's
  "eligibility changed after enrollment" worklist lists those queries
  (:func:`eligibility_changes`).

Query texts written by the system are data, stored in English (the record) with their
template and parameters, so that pages show them in the reader's language (``queries.wording``;
``eligibility_text`` registered in ``SubjectsConfig.ready``). It runs
inside the save's transaction, reads only the subject being saved, and only when the
save is of the protocol's eligibility form.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import translation
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _

from trialdesk.audit import reasons
from trialdesk.crf.events import FormSaved, RecordVoided
from trialdesk.protocol.values import as_date as _as_date
from trialdesk.queries import wording
from trialdesk.queries.services import raise_system_query, resolve_system_query
from trialdesk.rules import parse
from trialdesk.subjects import services
from trialdesk.subjects.models import ON_STUDY, Sex

SEX_QUERY = "episode_sex"
AGE_QUERY = "episode_age"
#: a query on a criterion that fails after enrollment: this prefix and the criterion's code
ELIGIBILITY_QUERY_PREFIX = "eligibility_after_enrollment:"

# the choice concepts that say the sex on a form, and the episode's code of each
_SEX_CONCEPTS = {"sex_female": Sex.FEMALE, "sex_male": Sex.MALE}


def on_form_saved(event: FormSaved) -> None:
    if isinstance(event, RecordVoided):
        return
    record = event.record
    subject = record.subject
    protocol = subject.study.protocol
    if record.form_code != protocol.eligibility.form or not (event.changes or event.created):
        return
    _check_sex(event, protocol)
    _check_age(event, protocol)
    if subject.status in ON_STUDY and event.changes:
        _check_eligibility_after_enrollment(event)


def _sex_on_form(protocol, form_code: str, data) -> tuple[str | None, str | None]:
    """(the field that records the sex on this form, the episode's code its answer means)."""
    field = None
    for concept, code in _SEX_CONCEPTS.items():
        try:
            ref = protocol.choice_concept(concept)
        except KeyError:
            continue
        if ref.form != form_code:
            continue
        field = ref.field
        if data.get(ref.field) == ref.value:
            return field, code
    return field, None


def _already_questioned(event: FormSaved, field: str) -> bool:
    """An edit check of this save fails on ``field``, or the field has a query still open:
    the site is already asked about the value, one question at a time."""
    from trialdesk.queries.models import UNRESOLVED, Query

    if any(field in failure.fields for failure in event.validation.check_failures):
        return True
    return (
        Query.objects.system("one question per field of the record being saved")
        .filter(record=event.record, field_code=field, status__in=UNRESOLVED)
        .exists()
    )


def _check_sex(event: FormSaved, protocol) -> None:
    record, subject = event.record, event.record.subject
    field, on_form = _sex_on_form(protocol, record.form_code, record.data)
    if field is None or (field not in event.changes and not event.created):
        return
    if on_form is not None and on_form == subject.sex:
        resolve_system_query(
            record,
            code=SEX_QUERY,
            because=f"the sex on this form now agrees with the screening episode "
            f"(version {record.version}, saved by {event.actor.username}).",
            template=T_SEX_AGREES,
            params={"version": record.version, "user": event.actor.username},
        )
        return
    if on_form is None or subject.sex not in _SEX_CONCEPTS.values():
        return
    if _already_questioned(event, field):
        return
    label = protocol.form(record.form_code).field(field).label
    with translation.override("en"):
        params = {
            "label": label,
            "on_form": str(Sex(on_form).label),
            "episode": str(Sex(subject.sex).label),
            "field": field,
            "form_sex": on_form,
            "episode_sex": subject.sex,
        }
    raise_system_query(
        record,
        field,
        wording.english(T_SEX, params),
        code=SEX_QUERY,
        reason=reasons.SEX_CHECKED(user=event.actor.username),
        template=T_SEX,
        params=params,
    )


#: the rules' names on the query pages
ELIGIBILITY_NAME = gettext_noop("Eligibility changed after enrollment")
SEX_NAME = gettext_noop("Sex as on the screening episode")
AGE_NAME = gettext_noop("Age as on the screening episode")
T_SEX = gettext_noop(
    "%(label)s on this form (%(on_form)s) differs from the screening episode (%(episode)s). "
    "Please correct the one that is wrong."
)
T_AGE = gettext_noop(
    "%(label)s on this form (%(age)s years) differs from the screening episode (%(episode)s). "
    "Please correct the one that is wrong."
)
T_SEX_AGREES = gettext_noop(
    "the sex on this form now agrees with the screening episode (version %(version)s, saved by %(user)s)."
)
T_AGE_AGREES = gettext_noop(
    "the age on this form now agrees with the screening episode (version %(version)s, saved by %(user)s)."
)
T_MET_AGAIN = gettext_noop(
    "criterion %(criterion)s is met again after the change (version %(version)s, saved by %(user)s)."
)
T_BORN = gettext_noop("born in %(year)s: %(younger)s or %(older)s years")
T_AGE_AT_SCREENING = gettext_noop("%(age)s years at screening")


def episode_text(text) -> str | None:
    """A sex or age query's text in the reader's language (``queries.wording``): the field's
    label from the protocol, the sexes' labels and the episode's words translated."""
    from trialdesk.crf.rendering import localised

    params = dict(text.params or {})
    if not text.template or "field" not in params or text.protocol is None:
        return None
    try:
        params["label"] = localised(text.protocol.form(text.form_code).field(params["field"]), "label")
    except KeyError:
        return None
    if "form_sex" in params:
        params["on_form"] = str(Sex(params["form_sex"]).label)
        params["episode"] = str(Sex(params["episode_sex"]).label)
    return wording.fill(text.template, params)


def expected_ages(subject, on: dt.date | None) -> set[int]:
    """The ages the screening episode allows on ``on``: from the year of birth, this year's
    or last year's birthday; the age at screening as given."""
    if subject.year_of_birth is not None:
        year = (on or subject.screened_on).year
        return {year - subject.year_of_birth - 1, year - subject.year_of_birth}
    if subject.age_at_screening is not None:
        return {subject.age_at_screening}
    return set()


def _check_age(event: FormSaved, protocol) -> None:
    record, subject = event.record, event.record.subject
    field = protocol.concept_field("age", record.form_code)
    if field is None or (field not in event.changes and not event.created):
        return
    age = record.data.get(field)
    if not isinstance(age, int) or isinstance(age, bool):
        try:
            age = int(age)
        except (TypeError, ValueError):
            return
    date_field = protocol.concept_field("screened_on", record.form_code)
    on = _as_date(record.data.get(date_field)) if date_field else None
    allowed = expected_ages(subject, on)
    if age in allowed:
        resolve_system_query(
            record,
            code=AGE_QUERY,
            because=f"the age on this form now agrees with the screening episode "
            f"(version {record.version}, saved by {event.actor.username}).",
            template=T_AGE_AGREES,
            params={"version": record.version, "user": event.actor.username},
        )
        return
    if not allowed or _already_questioned(event, field):
        return
    label = protocol.form(record.form_code).field(field).label
    if subject.year_of_birth is not None:
        episode = wording.part(T_BORN, year=subject.year_of_birth, younger=min(allowed), older=max(allowed))
    else:
        episode = wording.part(T_AGE_AT_SCREENING, age=subject.age_at_screening)
    params = {"label": label, "age": age, "episode": episode, "field": field}
    raise_system_query(
        record,
        field,
        wording.english(T_AGE, params),
        code=AGE_QUERY,
        reason=reasons.AGE_CHECKED(user=event.actor.username),
        template=T_AGE,
        params=params,
    )


def _check_eligibility_after_enrollment(event: FormSaved) -> None:
    record, subject = event.record, event.record.subject
    protocol = subject.study.protocol
    result = services.assess(subject, subject.enrolled_on, record)
    form = protocol.form(record.form_code)
    changed = sorted(event.changes)
    _resolve_criteria_met_again(event, result)
    # the explanations in each language of the site, from the values of this save
    explained = {"en": {c.code: c.explanation for c in result.not_met}}
    for language, _name in settings.LANGUAGES:
        if language != "en" and result.not_met:
            with translation.override(language):
                again = services.assess(subject, subject.enrolled_on, record, in_users_language=True)
            explained[language] = {c.code: c.explanation for c in again.not_met}
    for criterion in result.not_met:
        read = [f for f in _fields_read(protocol, criterion.code) if f in form.field_codes]
        field = next((f for f in changed if f in read), None) or (read[0] if read else changed[0])
        params = {
            "criterion": criterion.code,
            "text": criterion.text,
            "explanation": criterion.explanation,
            "explanations": {lang: by_code.get(criterion.code, "") for lang, by_code in explained.items()},
        }
        raise_system_query(
            record,
            field,
            wording.english(T_ELIGIBILITY, params),
            code=f"{ELIGIBILITY_QUERY_PREFIX}{criterion.code}",
            reason=reasons.ELIGIBILITY_REASSESSED(user=event.actor.username),
            template=T_ELIGIBILITY,
            params=params,
        )


#: the text of an eligibility query after enrollment (English stored; French in the subjects
#: catalogue): the criterion's registry text in English, its plain statement in French
T_ELIGIBILITY = gettext_noop(
    "After enrollment, criterion %(criterion)s (%(text)s) is no longer met: %(explanation)s. "
    "Please confirm the value, or record the deviation."
)


def eligibility_text(text) -> str | None:
    """An eligibility query's text in the reader's language (``queries.wording``): the
    criterion as the protocol states it in that language and the explanation written for it."""
    params = text.params or {}
    explanation = (params.get("explanations") or {}).get((get_language() or "en").split("-")[0])
    if not text.template or not explanation or text.protocol is None:
        return None
    code = params["criterion"]
    criterion = next((c for c in text.protocol.eligibility.criteria if c.code == code), None)
    if (get_language() or "en").startswith("en"):
        stated = params.get("text", "")
    elif criterion is not None and getattr(criterion, "applied_as_fr", None):
        stated = criterion.applied_as_fr
    else:
        return None
    return _(text.template) % {"criterion": code, "text": stated, "explanation": explanation}


def _resolve_criteria_met_again(event: FormSaved, result) -> None:
    """A criterion questioned after enrollment that is met again: its query closes."""
    from trialdesk.queries.models import UNRESOLVED, Query

    open_codes = set(
        Query.objects.system("the eligibility queries of the record being saved")
        .filter(record=event.record, check_code__startswith=ELIGIBILITY_QUERY_PREFIX, status__in=UNRESOLVED)
        .values_list("check_code", flat=True)
    )
    met = {criterion.code for criterion in result.criteria if criterion.status == "met"}
    for code in sorted(open_codes):
        criterion = code[len(ELIGIBILITY_QUERY_PREFIX) :]
        if criterion not in met:  # still failing, or unknown now (a value removed): still asked
            continue
        resolve_system_query(
            event.record,
            code=code,
            because=f"criterion {criterion} is met again after the change "
            f"(version {event.record.version}, saved by {event.actor.username}).",
            template=T_MET_AGAIN,
            params={"criterion": criterion, "version": event.record.version, "user": event.actor.username},
        )


def _fields_read(protocol, criterion_code: str) -> list[str]:
    criterion = next((c for c in protocol.eligibility.criteria if c.code == criterion_code), None)
    if criterion is None:
        return []
    try:
        return sorted(parse(criterion.rule).fields)
    except Exception:  # noqa: BLE001 - a rule the validator accepted; the field is only a pointer
        return []


def eligibility_changes(user, study):
    """The queries raised because a criterion fails after enrollment, in the user's sites,
    newest first, each with its criterion's code (the worklist of the data manager)."""
    from trialdesk.queries.models import Query

    queries = list(
        Query.objects.for_user(user, study)
        .filter(check_code__startswith=ELIGIBILITY_QUERY_PREFIX)
        .select_related("record__subject__site")
        .order_by("-raised_at", "-pk")
    )
    criteria = {c.code: c for c in study.protocol.eligibility.criteria}
    rows = []
    for query in queries:
        code = query.check_code[len(ELIGIBILITY_QUERY_PREFIX) :]
        rows.append(
            {"query": query, "subject": query.record.subject, "criterion": criteria.get(code), "code": code}
        )
    return rows


def eligibility_alert(ctx):
    """The casebook header's alert (``subjects.casebook_header``): a criterion of the subject
    no longer met since enrollment, while its query is unresolved."""
    from django.urls import reverse
    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    from trialdesk.queries.models import UNRESOLVED, Query
    from trialdesk.subjects.casebook_header import HeaderItem

    if ctx.subject.enrolled_on is None:
        return None
    codes = set(
        Query.objects.for_user(ctx.request.user, ctx.study)
        .filter(record__subject_id=ctx.subject.pk, check_code__startswith=ELIGIBILITY_QUERY_PREFIX)
        .filter(status__in=UNRESOLVED)
        .values_list("check_code", flat=True)
    )
    if not codes:
        return None
    text = ngettext(
        "%(count)d eligibility criterion no longer met since enrollment (query open)",
        "%(count)d eligibility criteria no longer met since enrollment (queries open)",
        len(codes),
    ) % {"count": len(codes)}
    return HeaderItem(
        _("Eligibility changed"), text, alert=True, url=reverse("subject-eligibility", args=[ctx.subject.pk])
    )
