"""The calendar follows the forms: a ``FormSaved`` subscriber (registered in ``SubjectsConfig.ready``).

- The first infusion (the protocol's ``dose_date`` concept, on whichever form records it)
  sets the subject's first dose: day 0 moves from the planned first dose to it and the
  visits not done yet are planned again (``services.record_first_dose``); the screening
  window is checked again against it, and a query is raised to the site when it is exceeded.
- The end of treatment (the ``treatment_stopped_on`` concept) plans the end-of-treatment and
  follow-up visits (``services.record_end_of_treatment``).

It runs inside the save's transaction: what it writes commits with the save or not at all.
It reads and writes one subject only, and only when the save changed one of those dates.
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_noop

from trialdesk.audit import reasons
from trialdesk.clinical.calendar import screening_window_check
from trialdesk.crf.events import FormSaved, RecordVoided
from trialdesk.crf.models import FormRecord
from trialdesk.protocol.values import as_date as _as_date
from trialdesk.queries import wording
from trialdesk.queries.services import raise_system_query
from trialdesk.subjects import services
from trialdesk.subjects.models import Subject

DOSE_DATE = "dose_date"
TREATMENT_STOPPED_ON = "treatment_stopped_on"
SCREENING_WINDOW_QUERY = "screening_window"


def on_form_saved(event: FormSaved) -> None:
    record = event.record
    protocol = record.subject.study.protocol
    if isinstance(event, RecordVoided):
        _record_voided(event)
        return
    dose_field = protocol.concept_field(DOSE_DATE, record.form_code)
    if dose_field is not None and dose_field in event.changes:
        _dose_date_changed(event, dose_field)
    end_field = protocol.concept_field(TREATMENT_STOPPED_ON, record.form_code)
    if end_field is not None and end_field in event.changes:
        services.record_end_of_treatment(record.subject, _as_date(record.data.get(end_field)), event.actor)


def _record_voided(event: RecordVoided) -> None:
    """A voided infusion no longer dates day 0; a voided end of treatment no longer ends it."""
    record = event.record
    protocol = record.subject.study.protocol
    dose_field = protocol.concept_field(DOSE_DATE, record.form_code)
    if dose_field is not None and _as_date(record.data.get(dose_field)) is not None:
        current = (
            Subject.objects.system("the calendar reads the day 0 of the subject being changed")
            .filter(pk=record.subject_id)
            .values_list("first_dose_on", flat=True)
            .first()
        )
        if _as_date(record.data.get(dose_field)) == current:
            first, _record = _first_dose_of(record.subject_id, record.form_code, dose_field)
            services.record_first_dose(record.subject, first, event.actor)
    end_field = protocol.concept_field(TREATMENT_STOPPED_ON, record.form_code)
    if end_field is not None and record.data.get(end_field):
        services.record_end_of_treatment(record.subject, None, event.actor)


def _first_dose_of(subject_id: int, form_code: str, field: str) -> tuple[dt.date | None, FormRecord | None]:
    """The earliest dose date the subject's records of ``form_code`` hold, and its record."""
    records = FormRecord.objects.system("the first dose of a subject whose infusion is being saved").filter(
        subject_id=subject_id, form_code=form_code, voided_at__isnull=True
    )
    dated = [(day, r) for r in records if (day := _as_date(r.data.get(field))) is not None]
    if not dated:
        return None, None
    return min(dated, key=lambda pair: (pair[0], pair[1].repeat))


def _dose_date_changed(event: FormSaved, field: str) -> None:
    record = event.record
    old, new = (_as_date(value) for value in event.changes[field])
    current = (
        Subject.objects.system("the calendar reads the day 0 of the subject being saved")
        .filter(pk=record.subject_id)
        .values_list("first_dose_on", flat=True)
        .first()
    )
    if new is not None and (current is None or new < current):
        first, first_record = new, record
    elif old is not None and old == current:
        # the first infusion's date was corrected or cleared: the earliest infusion now
        first, first_record = _first_dose_of(record.subject_id, record.form_code, field)
    else:
        return  # a later infusion: day 0 stays
    if first == current:
        return
    services.record_first_dose(record.subject, first, event.actor)
    if first is None or first_record is None:
        return
    subject = record.subject
    window = subject.study.protocol.eligibility.window_days
    check = screening_window_check(subject.screened_on, first, window)
    if check.ok:
        return
    if first_record.pk == record.pk:
        first_record = record  # its subject, site and study already loaded
    # The stored text is English (the record); pages show it in the reader's language.
    days = (first - subject.screened_on).days
    dates = {"first": first.isoformat(), "screened": subject.screened_on.isoformat()}
    if days < 0:
        explanation = wording.part(T_DOSE_BEFORE_SCREENING, **dates)
    else:
        explanation = wording.part(T_SCREENING_TOO_EARLY, **dates, days=days, window=window)
    params = {"explanation": explanation}
    english = wording.english(T_SCREENING_WINDOW, params)  # the core's explanation, in its words
    raise_system_query(
        first_record,
        field,
        english,
        code=SCREENING_WINDOW_QUERY,
        reason=reasons.SCREENING_WINDOW_CHECKED(user=event.actor.username),
        template=T_SCREENING_WINDOW,
        params=params,
    )


#: the rule's name on the query pages
SCREENING_WINDOW_NAME = gettext_noop("Screening window at the first dose")
#: the text of the screening-window query (English stored; French in the subjects catalogue),
#: the core's explanation (``clinical.calendar.screening_window_check``) in translatable parts
T_SCREENING_WINDOW = gettext_noop(
    "The first dose was given outside the screening window: %(explanation)s. "
    "Please confirm the dates, or record the deviation."
)
T_DOSE_BEFORE_SCREENING = gettext_noop("the first dose (%(first)s) is before screening (%(screened)s)")
T_SCREENING_TOO_EARLY = gettext_noop(
    "screening on %(screened)s is %(days)s days before the first dose on %(first)s, "
    "more than the %(window)s days of the screening window"
)
