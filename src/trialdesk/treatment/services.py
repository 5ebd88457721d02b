"""Treatment at the bedside (issue 9): the dose proposed, validated as a prescription, and
the infusion checked against the dosing rules when it is saved.

- ``proposal_for(subject, on, weight_now_kg)``: the dose ``trialdesk.clinical.dosing
  .propose_dose`` computes from the weight of the day, the subject's previous (non-voided)
  infusions and the cardiac hold in force (``trialdesk.cardiac.services.active_hold``).
- ``validate_prescription(user, subject, on=, weight_kg=, record=None)``: an investigator
  (``VALIDATE_PRESCRIPTION``) validates that dose, in one audited action: the prescribed
  fields of the infusion record are filled from it (a new entry when ``record`` is None)
  and a ``Prescription`` keeps it. The site never types a dose.
- ``on_form_saved`` (a ``FormSaved`` subscriber, in ``TreatmentConfig.ready``): refuses a
  change of the prescribed fields away from the validated prescription and times that are
  not HH:MM; opens a system query for each dosing rule the infusion breaks (administered
  more than the tolerance away from prescribed, under the minimum interval, late, missed
  without reload, given during a cardiac hold, given without a validated prescription), and
  closes it once a correction resolves it; an infusion reaction opens one linked adverse
  event (CTCAE "Infusion related reaction"), updated by later saves, voided with its
  infusion or when the reaction is corrected away.

Every value is read and written by clinical concept, never by field code.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import re
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from trialdesk.audit import reasons
from trialdesk.audit.services import Actor, audited, record
from trialdesk.cardiac.services import active_hold
from trialdesk.clinical import ctcae
from trialdesk.clinical.dosing import (
    DoseProposal,
    check_deviation,
    classify_interval,
    propose_dose,
    weight_range,
)
from trialdesk.crf.events import FormSaved, RecordVoided, SaveRefusedBy
from trialdesk.crf.models import FormRecord, ReasonForChange
from trialdesk.crf.services import FormSaveRefused, save_form, void_record
from trialdesk.protocol.formdata import typed_values
from trialdesk.protocol.values import as_date as _date
from trialdesk.protocol.values import as_number as _float
from trialdesk.queries import wording
from trialdesk.queries.models import UNRESOLVED, Query, QueryOrigin
from trialdesk.queries.services import (
    SYSTEM,
    _close,
    close_answered_queries,
    closed_because,
    raise_system_query,
)
from trialdesk.studies.access import Permission, require, study_access
from trialdesk.treatment.models import InfusionReactionEvent, Prescription, PrescriptionStatus

# clinical concepts of a dose (the protocol maps them to its infusion form)
DOSE_DATE = "dose_date"
WEIGHT_TODAY = "weight_on_dose_day"
WEIGHT_USED = "dose_weight"
LOADING = "loading_dose"
PER_KG = "dose_per_kg"
PRESCRIBED = "dose_prescribed"
GIVEN = "dose_given"
VIALS = "dose_vials"
STARTED = "infusion_started_at"
ENDED = "infusion_ended_at"
INTERRUPTED = "infusion_interruption"
REACTION = "infusion_reaction_seen"
REACTION_GRADE = "infusion_reaction_severity"
#: the prescribed concepts: filled from the validated prescription, never typed
PRESCRIBED_CONCEPTS = (WEIGHT_USED, LOADING, PER_KG, PRESCRIBED, VIALS)

#: the CTCAE v5.0 term an infusion reaction is recorded as
INFUSION_REACTION_TERM = "Infusion related reaction"

# system query codes of the dosing rules
Q_DEVIATION = "DOSE-DEVIATION"
Q_TOO_EARLY = "DOSE-TOO-EARLY"
Q_LATE = "DOSE-LATE"
Q_MISSED = "DOSE-MISSED-NO-RELOAD"
Q_HOLD = "DOSE-CARDIAC-HOLD"
Q_NO_PRESCRIPTION = "DOSE-NO-PRESCRIPTION"
QUERY_CODES = (Q_DEVIATION, Q_TOO_EARLY, Q_LATE, Q_MISSED, Q_HOLD, Q_NO_PRESCRIPTION)

WHY = "the dosing of a subject reads the subject's own infusions"
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_validating: contextvars.ContextVar[bool] = contextvars.ContextVar("treatment_validating", default=False)
#: while an investigator validates a prescription: who, and the weight the dose is computed from
_validation: contextvars.ContextVar[tuple[Any, float] | None] = contextvars.ContextVar(
    "treatment_validation", default=None
)


class PrescriptionRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- reading the doses


def dose_rules(protocol):
    try:
        return protocol.dose_rules
    except KeyError:
        return None


def infusion_form(protocol) -> str | None:
    """The form that records a dose, or None when the protocol has no dosing."""
    if dose_rules(protocol) is None or not protocol.has_concept(DOSE_DATE):
        return None
    return protocol.concept_form(DOSE_DATE)


def concept_values(protocol, rec: FormRecord) -> dict[str, Any]:
    """A dose record's values by concept, typed."""
    data = typed_values(protocol.form(rec.form_code), rec.data)
    names = (
        DOSE_DATE,
        WEIGHT_TODAY,
        *PRESCRIBED_CONCEPTS,
        GIVEN,
        STARTED,
        ENDED,
        INTERRUPTED,
        REACTION,
        REACTION_GRADE,
    )
    return {
        name: protocol.read_concept(name, rec.form_code, data) for name in names if protocol.has_concept(name)
    }


def previous_dose(
    subject, on: dt.date, *, exclude_pk: int | None = None
) -> tuple[dt.date, float | None] | None:
    """The subject's last dose given on or before ``on`` (its date and the weight it was
    computed on), leaving out voided entries, entries whose dose is not given and the
    record ``exclude_pk``."""
    protocol = subject.study.protocol
    form = infusion_form(protocol)
    if form is None:
        return None
    rows = FormRecord.objects.system(WHY).filter(
        subject_id=subject.pk, form_code=form, voided_at__isnull=True
    )
    if exclude_pk is not None:
        rows = rows.exclude(pk=exclude_pk)
    best: tuple[dt.date, float | None] | None = None
    for rec in rows.order_by("pk"):
        values = concept_values(protocol, rec)
        when, given = _date(values.get(DOSE_DATE)), _float(values.get(GIVEN))
        if when is None or when > on or not given:
            continue  # not dated, later, or not given (a prescription waiting for its infusion)
        if best is None or when >= best[0]:
            best = (when, _float(values.get(WEIGHT_USED)))
    return best


def proposal_for(
    subject, on: dt.date, weight_now_kg: float, *, exclude_pk: int | None = None
) -> DoseProposal:
    """The dose due on ``on`` for a subject weighing ``weight_now_kg`` today."""
    rules = dose_rules(subject.study.protocol)
    if rules is None:
        raise PrescriptionRefused(_("This protocol has no dose rules."))
    previous = previous_dose(subject, on, exclude_pk=exclude_pk)
    return propose_dose(
        rules,
        on,
        previous_dose_on=previous[0] if previous else None,
        weight_now_kg=weight_now_kg,
        weight_used_kg=previous[1] if previous else None,
        on_cardiac_hold=active_hold(subject) is not None,
    )


def validated_prescription(rec: FormRecord) -> Prescription | None:
    return (
        Prescription.objects.system("the prescription of an infusion being shown or saved")
        .filter(record_id=rec.pk, status=PrescriptionStatus.VALIDATED)
        .select_related("validated_by")
        .first()
    )


# --------------------------------------------------------------------------- the investigator validates


@contextmanager
def _filling_prescription(user, weight_used_kg: float):
    token, validation = _validating.set(True), _validation.set((user, weight_used_kg))
    try:
        yield
    finally:
        _validating.reset(token)
        _validation.reset(validation)


#: why an infusion's weight query needs no answer (``queries.answers``), in the reader's language
T_VALIDATED_FROM_WEIGHT = gettext_noop(
    "%(who)s validated the dose computed from this weight (%(weight)s kg)."
)
T_VALIDATED_FROM_WEIGHT_ON = gettext_noop(
    "%(who)s validated the dose computed from this weight (%(weight)s kg) on %(on)s."
)
T_AN_INVESTIGATOR = gettext_noop("an investigator")


def _who(user) -> str | dict:
    if user is None:
        return wording.part(T_AN_INVESTIGATOR)
    return user.get_full_name() or user.get_username()


def prescription_answers(rec: FormRecord) -> dict | None:
    """``answered_by: validated_prescription``: an investigator validated the dose computed
    from the weight this infusion uses — the weight and the recomputed dose are confirmed.
    (A ``queries.wording.part``: stored in English, shown in the reader's language.)"""
    protocol = rec.subject.study.protocol
    used = _float(concept_values(protocol, rec).get(WEIGHT_USED))
    if used is None:
        return None
    pending = _validation.get()
    if pending is not None and _same(pending[1], used):
        return wording.part(T_VALIDATED_FROM_WEIGHT, who=_who(pending[0]), weight=f"{used:g}")
    prescription = validated_prescription(rec)
    if prescription is not None and _same(prescription.weight_used_kg, used):
        return wording.part(
            T_VALIDATED_FROM_WEIGHT_ON,
            who=_who(prescription.validated_by),
            weight=f"{used:g}",
            on=timezone.localdate(prescription.validated_at).isoformat(),
        )
    return None


def check_weight_input(protocol, weight_kg: Any) -> float:
    """The weight of the day as a number within the protocol's range, or a refusal."""
    value = _float(weight_kg)
    if value is None or value <= 0:
        raise PrescriptionRefused(_("Enter today's weight in kg."))
    low, high = weight_range(protocol)
    if (low is not None and value < low) or (high is not None and value > high):
        raise PrescriptionRefused(
            _("A weight of %(weight)s kg is outside the protocol's range (%(low)s to %(high)s kg).")
            % {"weight": f"{value:g}", "low": f"{low:g}", "high": f"{high:g}"}
        )
    return value


def validate_prescription(
    user, subject, *, on: dt.date, weight_kg: Any, record: FormRecord | None = None
) -> Prescription:
    """The investigator validates the computed dose as the prescription of an infusion
    (a new entry, or ``record`` while its dose is not given yet): one audited action."""
    study = subject.study
    protocol = study.protocol
    access = study_access(user, study)
    require(access, Permission.VALIDATE_PRESCRIPTION, subject.site_id)
    form_code = infusion_form(protocol)
    if form_code is None:
        raise PrescriptionRefused(_("This protocol has no dose rules."))
    weight = check_weight_input(protocol, weight_kg)
    if not isinstance(on, dt.date):
        raise PrescriptionRefused(_("Enter the date of the infusion."))
    if record is not None:
        if record.subject_id != subject.pk or record.form_code != form_code:
            raise PrescriptionRefused(_("This entry is not an infusion of this subject."))
        if record.voided_at is not None:
            raise PrescriptionRefused(_("This entry was voided (entered in error); it can no longer change."))
        if _float(concept_values(protocol, record).get(GIVEN)) is not None:
            raise PrescriptionRefused(
                _("The dose of this infusion is already recorded as given; its prescription cannot change.")
            )
    try:
        proposal = proposal_for(subject, on, weight, exclude_pk=record.pk if record else None)
    except ValueError:
        raise PrescriptionRefused(_("The infusion is dated before the previous one.")) from None
    if proposal.kind is None:
        raise PrescriptionRefused(
            _("The subject is on cardiac hold: no dose is proposed until the investigator lifts the hold.")
        )
    actor = Actor.for_user(user, access.role_for(Permission.VALIDATE_PRESCRIPTION, subject.site_id))
    values = {
        DOSE_DATE: on,
        WEIGHT_TODAY: weight,
        WEIGHT_USED: proposal.weight_kg,
        LOADING: proposal.loading,
        PER_KG: proposal.mg_per_kg,
        PRESCRIBED: proposal.dose_mg,
        VIALS: proposal.vials,
    }
    with audited():
        data = dict(record.data) if record is not None else {}
        data.update(protocol.concept_data(form_code, values))
        try:
            with _filling_prescription(user, proposal.weight_kg):
                outcome = save_form(
                    user,
                    subject,
                    form_code,
                    data,
                    repeat=record.repeat if record is not None else None,
                    expected_version=record.version if record is not None else None,
                    reason=ReasonForChange.OTHER
                    if record is not None and record.first_completed_at
                    else None,
                    reason_detail="prescription validated"
                    if record is not None and record.first_completed_at
                    else "",
                )
        except FormSaveRefused as refusal:
            raise PrescriptionRefused(refusal.message) from None
        rec = outcome.record
        superseded = Prescription.objects.system("a new validation supersedes the earlier one").filter(
            record_id=rec.pk, status=PrescriptionStatus.VALIDATED
        )
        for old in superseded.select_for_update(of=("self",)):
            old.status = PrescriptionStatus.SUPERSEDED
            old.save(update_fields=["status"])
            _audit(
                actor,
                old,
                subject,
                "status",
                field="status",
                old_value=PrescriptionStatus.VALIDATED.value,
                new_value=PrescriptionStatus.SUPERSEDED.value,
                reason=reasons.PRESCRIPTION_VALIDATED(),
            )
        prescription = Prescription.objects.system("validating a prescription").create(
            subject=subject,
            record=rec,
            dose_on=on,
            kind=proposal.kind,
            mg_per_kg=proposal.mg_per_kg,
            weight_measured_kg=weight,
            weight_used_kg=proposal.weight_kg,
            dose_mg=proposal.dose_mg,
            vials=proposal.vials,
            interval_status=proposal.interval.status,
            days_since_previous=proposal.interval.days_since,
            reason=proposal.reason[:500],
            validated_by=user,
            validated_at=timezone.now(),
        )
        _audit(
            actor,
            prescription,
            subject,
            "create",
            field="dose_mg",
            new_value=proposal.dose_mg,
            reason=proposal.reason,
        )
        # an INF-WEIGHT-like query raised before the validation (queries.answers) is answered now
        close_answered_queries(rec)
    prescription.record = rec
    return prescription


def _audit(actor: Actor, prescription: Prescription, subject, action: str, **values) -> None:
    record(
        actor,
        action,
        study_id=subject.study_id,
        site=subject.site,
        object_type="prescription",
        object_id=prescription.pk,
        object_label=f"prescription #{prescription.pk} of {subject.label}",
        **values,
    )


# --------------------------------------------------------------------------- the save of an infusion


def _field(protocol, form_code: str, concept: str) -> str:
    return protocol.concept_field(concept, form_code) or ""


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    fa, fb = _float(a), _float(b)
    if fa is None or fb is None:
        return fa is fb
    return abs(fa - fb) < 1e-9


def _refuse_changed_prescription(protocol, rec: FormRecord, values: dict, prescription: Prescription) -> None:
    expected = {
        WEIGHT_USED: prescription.weight_used_kg,
        LOADING: prescription.is_loading,
        PER_KG: prescription.mg_per_kg,
        PRESCRIBED: prescription.dose_mg,
        VIALS: prescription.vials,
    }
    for concept, value in expected.items():
        if protocol.concept_field(concept, rec.form_code) and not _same(values.get(concept), value):
            raise SaveRefusedBy(
                _field(protocol, rec.form_code, concept),
                _(
                    "The prescribed values are those of the prescription validated by the investigator "
                    "(%(dose)s mg); to change them, an investigator validates a new prescription."
                )
                % {"dose": f"{prescription.dose_mg:g}"},
            )


def _refuse_bad_times(protocol, rec: FormRecord, values: dict) -> None:
    times = {}
    for concept in (STARTED, ENDED):
        text = values.get(concept)
        if text in (None, ""):
            continue
        if not _TIME.match(str(text).strip()):
            raise SaveRefusedBy(
                _field(protocol, rec.form_code, concept), _("Enter a time written HH:MM (24-hour clock).")
            )
        times[concept] = str(text).strip()
    if len(times) == 2 and times[ENDED] <= times[STARTED]:
        raise SaveRefusedBy(
            _field(protocol, rec.form_code, ENDED), _("The end time must be after the start time.")
        )


#: the texts of the dosing rules' queries (English stored; French in the treatment catalogue,
#: shown by ``queries.wording``)
T_NO_PRESCRIPTION = gettext_noop(
    "No validated prescription for this infusion: the dose is computed by the system and validated "
    "by an investigator before it is given."
)
T_DEVIATION = gettext_noop(
    "Dose deviation: %(given)s mg given for %(prescribed)s mg prescribed (%(difference)s %%): more than "
    "%(threshold)s %% away, a dose deviation."
)
T_TOO_EARLY = gettext_noop("Dose too early: %(explanation)s.")
T_LATE = gettext_noop("Late dose: %(explanation)s.")
T_MISSED = gettext_noop(
    "Missed dose without reload: %(explanation)s; a new %(mg_per_kg)s mg/kg loading dose is due."
)
T_HOLD = gettext_noop("Dose given during a cardiac hold (since %(since)s): %(hold)s")
#: the dosing rules by name, as the query pages name them
T_DOSING_RULE_HOLDS = gettext_noop(
    "the dosing rule %(rule)s holds after the change by %(user)s (version %(version)s)."
)
RULE_NAMES = {
    Q_DEVIATION: gettext_noop("Dose deviation"),
    Q_TOO_EARLY: gettext_noop("Dose too early"),
    Q_LATE: gettext_noop("Late dose"),
    Q_MISSED: gettext_noop("Missed dose without a new loading dose"),
    Q_HOLD: gettext_noop("Dose given during a cardiac hold"),
    Q_NO_PRESCRIPTION: gettext_noop("Infusion without a validated prescription"),
}


def dosing_findings(
    subject, rec: FormRecord, values: dict, prescription: Prescription | None
) -> dict[str, tuple[str, str, dict]]:
    """The dosing rules a given dose breaks: query code -> (field concept, the English
    template of its text, the template's parameters)."""
    rules = dose_rules(subject.study.protocol)
    given = _float(values.get(GIVEN))
    on = _date(values.get(DOSE_DATE))
    if rules is None or given is None or on is None:
        return {}
    found: dict[str, tuple[str, str, dict]] = {}
    prescribed = _float(values.get(PRESCRIBED))
    if prescription is None:
        found[Q_NO_PRESCRIPTION] = (PRESCRIBED, T_NO_PRESCRIPTION, {})
    if prescribed is not None and prescribed > 0:
        deviation = check_deviation(prescribed, given, rules)
        if deviation.deviation:
            found[Q_DEVIATION] = (
                GIVEN,
                T_DEVIATION,
                {
                    "given": f"{deviation.given_mg:g}",
                    "prescribed": f"{deviation.prescribed_mg:g}",
                    "difference": f"{deviation.difference_pct:+.1f}",
                    "threshold": f"{deviation.threshold_pct:g}",
                },
            )
    previous = previous_dose(subject, on, exclude_pk=rec.pk)
    if previous is not None:
        interval = classify_interval(previous[0], on, rules)
        explanation = wording.from_message(interval.explanation)
        if interval.status == "too_early":
            found[Q_TOO_EARLY] = (DOSE_DATE, T_TOO_EARLY, {"explanation": explanation})
        elif interval.status == "late":
            found[Q_LATE] = (DOSE_DATE, T_LATE, {"explanation": explanation})
        elif interval.status == "missed" and values.get(LOADING) is not True:
            found[Q_MISSED] = (
                LOADING,
                T_MISSED,
                {"explanation": explanation, "mg_per_kg": f"{rules.loading_mg_per_kg:g}"},
            )
    hold = active_hold(subject)
    if hold is not None and given > 0 and on >= hold.started_on:
        found[Q_HOLD] = (
            GIVEN,
            T_HOLD,
            {
                "since": hold.started_on.isoformat(),
                "hold": hold.explanation,
                # the decision's numbers, for the text in the reader's language (hold_text)
                "criterion": hold.criterion,
                "baseline": hold.baseline_pct,
                "value": hold.value_pct,
                "drop": hold.drop_points,
            },
        )
    return found


def hold_text(text) -> str | None:
    """The text of a dose given during a cardiac hold in the reader's language: the hold's
    decision said again from its numbers (``cardiac.pages.describe``), not the core's English
    (registered with ``queries.wording`` for ``DOSE-CARDIAC-HOLD``)."""
    from django.utils import formats

    from trialdesk.cardiac.pages import describe
    from trialdesk.cardiac.services import hold_rules

    params = text.params or {}
    if not text.template or "criterion" not in params or text.protocol is None:
        return None
    since = _date(params.get("since"))
    hold = describe(
        params["criterion"], params["baseline"], params["value"], params["drop"], hold_rules(text.protocol)
    )
    when = formats.date_format(since, "SHORT_DATE_FORMAT") if since else params.get("since", "")
    return _(text.template) % {"since": when, "hold": hold}


def _sync_queries(subject, rec: FormRecord, findings: dict[str, tuple[str, str, dict]], actor: Actor) -> None:
    protocol = subject.study.protocol
    open_queries = Query.objects.system("the dosing checks close what a correction resolved").filter(
        record=rec, origin=QueryOrigin.EDIT_CHECK, check_code__in=QUERY_CODES, status__in=UNRESOLVED
    )
    for query in open_queries.select_for_update(of=("self",)):
        if query.check_code not in findings:
            query.record = rec
            because = wording.part(
                T_DOSING_RULE_HOLDS,
                rule=wording.part(RULE_NAMES[query.check_code]),
                user=actor.username,
                version=rec.version,
            )
            text, template, params = closed_because(because)
            # the stored English names the rule by its code, as it always did
            text = (
                f"Closed automatically: the dosing rule {query.check_code} holds after the "
                f"change by {actor.username} (version {rec.version})."
            )
            _close(query, SYSTEM, text, user_id=None, template=template, params=params)
    for code, (concept, template, params) in findings.items():
        raise_system_query(
            rec,
            _field(protocol, rec.form_code, concept),
            wording.english(template, params),
            code=code,
            reason=reasons.DOSING_RULE(code=code, user=actor.username, version=rec.version),
            template=template,
            params=params,
        )


def on_form_saved(event: FormSaved) -> None:
    """Subscribed to ``crf.events.form_saved``; runs inside the save's transaction."""
    rec = event.record
    subject = rec.subject
    protocol = subject.study.protocol
    if rec.form_code != infusion_form(protocol):
        return
    if isinstance(event, RecordVoided):
        _void_reaction_event(rec, event)
        return
    if _validating.get():
        return  # the prescription being validated writes these values itself
    values = concept_values(protocol, rec)
    prescription = validated_prescription(rec)
    if prescription is not None:
        _refuse_changed_prescription(protocol, rec, values, prescription)
    _refuse_bad_times(protocol, rec, values)
    _sync_queries(subject, rec, dosing_findings(subject, rec, values, prescription), event.actor)
    _sync_reaction_event(rec, values, event)


# --------------------------------------------------------------------------- the infusion reaction's adverse event


def _user_of(actor: Actor):
    return get_user_model().objects.get(pk=actor.user_id) if actor.user_id else None


def _reaction_event(rec: FormRecord) -> InfusionReactionEvent | None:
    return (
        InfusionReactionEvent.objects.system("the adverse event an infusion opened")
        .filter(infusion_id=rec.pk)
        .select_related("event_record")
        .first()
    )


def _sync_reaction_event(rec: FormRecord, values: dict, event: FormSaved) -> None:
    protocol = rec.subject.study.protocol
    if not protocol.has_concept("adverse_event_term"):
        return
    link = _reaction_event(rec)
    user = _user_of(event.actor)
    if user is None:
        return
    grade = values.get(REACTION_GRADE)
    if values.get(REACTION) is not True or not isinstance(grade, int):
        if link is not None and link.event_record.voided_at is None:
            void_record(user, link.event_record, "the infusion reaction was corrected on its infusion: none")
        return
    term = ctcae.term_by_name(INFUSION_REACTION_TERM)
    ae_form = protocol.concept_form("adverse_event_term")
    onset = values.get(DOSE_DATE)
    # what the infusion says of its reaction: the grade and the day (the investigator
    # completes the rest of the event: seriousness, causality, outcome)
    facts = _concepts(protocol, ae_form, {"adverse_event_grade": grade, "adverse_event_onset": onset})
    if link is None:
        adopted = _unlinked_event(rec, ae_form, term.term, onset)
        if adopted is not None:  # recorded on its own before the infusion: linked, not doubled
            link = InfusionReactionEvent.objects.system(
                "an infusion reaction adopts its adverse event"
            ).create(infusion=rec, event_record=adopted)
    if link is not None and link.event_record.voided_at is None:
        ae = link.event_record
        ae.subject = rec.subject
        data = {**ae.data, **facts}
        if data == ae.data:
            return
        save_form(
            user,
            rec.subject,
            ae_form,
            data,
            repeat=ae.repeat,
            expected_version=ae.version,
            reason=ReasonForChange.OTHER if ae.first_completed_at else None,
            reason_detail=f"the infusion reaction of its infusion ({rec.label}) changed"
            if ae.first_completed_at
            else "",
        )
        return
    wanted = {
        "adverse_event_term": term.term,
        "adverse_event_meddra": str(term.meddra_code),
        "adverse_event_soc": term.soc,
        "adverse_event_grade": grade,
        "adverse_event_onset": onset,
    }
    if values.get(INTERRUPTED) is True:
        wanted["action_infusion_interrupted"] = True
    outcome = save_form(user, rec.subject, ae_form, _concepts(protocol, ae_form, wanted))
    if link is not None:  # the earlier event was voided: the link follows the new one
        link.event_record = outcome.record
        link.save(update_fields=["event_record"])
    else:
        InfusionReactionEvent.objects.system("an infusion reaction opens its adverse event").create(
            infusion=rec, event_record=outcome.record
        )


def _concepts(protocol, form_code: str, values: dict[str, Any]) -> dict[str, Any]:
    """A record's data from values named by concept, the concepts the protocol maps only."""
    return protocol.concept_data(form_code, {k: v for k, v in values.items() if protocol.has_concept(k)})


def _unlinked_event(rec: FormRecord, ae_form: str, term: str, onset) -> FormRecord | None:
    """An adverse event of the subject recorded as this infusion's reaction (same term, same
    day) that no infusion is linked to yet."""
    protocol = rec.subject.study.protocol
    linked = InfusionReactionEvent.objects.system("the events already linked").values_list(
        "event_record_id", flat=True
    )
    candidates = FormRecord.objects.system("an infusion reaction looks for its adverse event").filter(
        subject_id=rec.subject_id, form_code=ae_form, visit=None, voided_at__isnull=True
    )
    for ae in candidates.exclude(pk__in=linked).order_by("pk"):
        data = typed_values(protocol.form(ae_form), ae.data)
        if protocol.read_concept("adverse_event_term", ae_form, data) == term and _date(
            protocol.read_concept("adverse_event_onset", ae_form, data)
        ) == _date(onset):
            return ae
    return None


def _void_reaction_event(rec: FormRecord, event: RecordVoided) -> None:
    link = _reaction_event(rec)
    user = _user_of(event.actor)
    if link is None or user is None or link.event_record.voided_at is not None:
        return
    void_record(user, link.event_record, f"its infusion was voided: {event.void_reason}"[:500])


def prescriptions_of(user, subject):
    return (
        Prescription.objects.for_user(user, subject.study)
        .filter(subject_id=subject.pk)
        .select_related("validated_by", "record")
        .order_by("-dose_on", "-pk")
    )


def today_at(subject) -> dt.date:
    return subject.site.today()
