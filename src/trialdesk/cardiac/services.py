"""The cardiac hold of a subject (issue 9): opened by an LVEF save, lifted or ended by the
investigator, read by the infusion page, the dosing checks and the worklist.

- ``on_form_saved`` (a ``FormSaved`` subscriber, registered in ``CardiacConfig.ready``): an
  LVEF after baseline that meets the protocol's rule opens a hold (audited); a re-save that
  still meets it changes nothing; a corrected or voided LVEF that no longer meets it closes
  its hold, if nobody ended it yet, as entered in error (audited).
- ``active_hold(subject)``: the hold in force, or None (the infusion page and the dosing
  checks ask it).
- ``repeat_lvef_due(subject)``: the date the repeat LVEF is due by, while a hold waits for it.
- ``lift_hold(user, hold, reason)`` / ``stop_treatment_for_hold(user, hold, reason)``: the
  investigator's decision (``LIFT_CARDIAC_HOLD``), audited with the reason; stopping ends
  treatment through ``subjects.services.record_end_of_treatment``.

The rule, the drop and the suggested grade come from ``trialdesk.clinical.cardiac``; the
LVEF is read by clinical concept (``lvef``, ``lvef_assessed_on``), never by a field code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from trialdesk.audit import reasons
from trialdesk.audit.services import Actor, audited, record
from trialdesk.cardiac.models import CardiacHold, HoldStatus
from trialdesk.clinical.cardiac import (
    CardiacHoldDecision,
    SuggestedGrade,
    assess_cardiac_hold,
    suggest_ef_decreased_grade,
)
from trialdesk.crf.events import FormSaved, RecordVoided
from trialdesk.crf.models import FormRecord
from trialdesk.protocol.formdata import typed_values
from trialdesk.protocol.values import as_date as _as_date
from trialdesk.protocol.values import as_number as _as_float
from trialdesk.studies.access import Permission, require, study_access
from trialdesk.subjects import services as subject_services

LVEF = "lvef"
LVEF_ON = "lvef_assessed_on"
CONFIRMED_GRADE = "ejection_fraction_decreased_grade"
WHY = "the cardiac hold reads the LVEF of the subject it decides for"


class HoldActionRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- reading the LVEF


def hold_rules(protocol):
    """The protocol's cardiac hold rule, or None when it has none."""
    try:
        return protocol.dose_rules.cardiac_hold
    except KeyError:
        return None


def _lvef_forms(protocol) -> list[str]:
    if not protocol.has_concept(LVEF):
        return []
    return list(dict.fromkeys(ref.form for ref in protocol.concept(LVEF)))


def _baseline_codes(protocol) -> list[str]:
    return [v.code for v in protocol.baseline_visits]


def _records(subject, records=None) -> list[FormRecord]:
    protocol = subject.study.protocol
    forms = _lvef_forms(protocol)
    if records is None:
        records = (
            FormRecord.objects.system(WHY)
            .filter(subject=subject, form_code__in=forms)
            .select_related("visit")
        )
    return [r for r in records if r.form_code in forms and r.voided_at is None]


def _is_baseline(protocol, record: FormRecord) -> bool:
    return record.visit_id is not None and record.visit.code in _baseline_codes(protocol)


def baseline_lvef(subject, records=None) -> float | None:
    """The baseline LVEF: the concept's first place with a value at the visits before the
    first dose, the nearest to it first (the LVEF form of screening, then the screening form)."""
    protocol = subject.study.protocol
    if not protocol.has_concept(LVEF):
        return None
    baseline = [r for r in _records(subject, records) if _is_baseline(protocol, r)]
    codes = _baseline_codes(protocol)
    for ref in protocol.concept(LVEF):
        for code in codes:
            for r in baseline:
                if r.form_code == ref.form and r.visit.code == code:
                    value = _as_float(r.data.get(ref.field))
                    if value is not None:
                        return value
    return None


def _value_and_date(protocol, record: FormRecord) -> tuple[float | None, dt.date | None]:
    data = typed_values(protocol.form(record.form_code), record.data)
    return (
        _as_float(protocol.read_concept(LVEF, record.form_code, data)),
        _as_date(protocol.read_concept(LVEF_ON, record.form_code, data)),
    )


@dataclass(frozen=True)
class LvefPoint:
    record: FormRecord
    assessed_on: dt.date | None
    value_pct: float
    baseline: bool
    drop_points: float | None  # None for the baseline itself or without a baseline
    decision: CardiacHoldDecision | None
    suggested: SuggestedGrade | None
    confirmed_grade: int | None  # the grade the investigator recorded, if any


def lvef_series(subject, records=None) -> list[LvefPoint]:
    """Every LVEF of the subject (baseline first, then by date), each with its drop from
    baseline, the hold rule's decision and the suggested CTCAE grade."""
    protocol = subject.study.protocol
    rules = hold_rules(protocol)
    rows = _records(subject, records)
    baseline_value = baseline_lvef(subject, rows)
    points = []
    for r in rows:
        value, on = _value_and_date(protocol, r)
        if value is None:
            continue
        is_baseline = _is_baseline(protocol, r)
        if is_baseline and protocol.concept_field(LVEF_ON, r.form_code) is None:
            continue  # the screening form's copy of the baseline LVEF: shown once, on its own form
        compare = not is_baseline and baseline_value is not None
        confirmed = (
            protocol.read_concept(CONFIRMED_GRADE, r.form_code, r.data)
            if protocol.has_concept(CONFIRMED_GRADE)
            else None
        )
        points.append(
            LvefPoint(
                record=r,
                assessed_on=on,
                value_pct=value,
                baseline=is_baseline,
                drop_points=round(baseline_value - value, 9) if compare else None,
                decision=assess_cardiac_hold(baseline_value, value, rules) if compare and rules else None,
                suggested=suggest_ef_decreased_grade(baseline_value if compare else None, value),
                confirmed_grade=confirmed if isinstance(confirmed, int) else None,
            )
        )
    points.sort(key=lambda p: (not p.baseline, p.assessed_on or dt.date.max, p.record.pk))
    return points


# --------------------------------------------------------------------------- what others read


def active_hold(subject) -> CardiacHold | None:
    """The subject's cardiac hold in force, or None: no dose is proposed while there is one."""
    return (
        CardiacHold.objects.system("the hold in force of a subject whose treatment is being decided")
        .filter(subject_id=subject.pk, status=HoldStatus.ACTIVE)
        .select_related("record")
        .first()
    )


def repeat_lvef_due(subject) -> dt.date | None:
    """The date by which the repeat LVEF of the hold in force is due; None without a hold in
    force or once an LVEF after the one that started it is recorded."""
    hold = active_hold(subject)
    if hold is None:
        return None
    protocol = subject.study.protocol
    for r in _records(subject):
        if r.pk == hold.record_id or _is_baseline(protocol, r):
            continue
        value, on = _value_and_date(protocol, r)
        if value is not None and on is not None and on > hold.started_on:
            return None
    return hold.repeat_lvef_due_on


# --------------------------------------------------------------------------- the subscriber


def _audit(actor: Actor, hold: CardiacHold, subject, action: str, **values) -> None:
    record(
        actor,
        action,
        study_id=subject.study_id,
        site=subject.site,
        object_type="cardiac_hold",
        object_id=hold.pk,
        object_label=f"cardiac hold of {subject.label}",
        **values,
    )


def _close_in_error(hold: CardiacHold, subject, actor: Actor, why: str) -> None:
    hold.status = HoldStatus.ENTERED_IN_ERROR
    hold.ended_at = timezone.now()
    hold.end_reason = why
    hold.save(update_fields=["status", "ended_at", "end_reason"])
    _audit(
        actor,
        hold,
        subject,
        "status",
        field="status",
        old_value=HoldStatus.ACTIVE.value,
        new_value=HoldStatus.ENTERED_IN_ERROR.value,
        reason=why,
    )


def on_form_saved(event: FormSaved) -> None:
    """Subscribed to ``crf.events.form_saved``; runs inside the save's transaction."""
    rec = event.record
    subject = rec.subject
    protocol = subject.study.protocol
    if protocol.concept_field(LVEF, rec.form_code) is None:
        return
    rules = hold_rules(protocol)
    if rules is None:
        return
    if _is_baseline(protocol, rec):
        field = protocol.concept_field(LVEF, rec.form_code)
        if isinstance(event, RecordVoided) or field in event.changes:
            _baseline_changed(subject, protocol, rules, event.actor)
        return
    holds = list(
        CardiacHold.objects.system("the holds an LVEF save may open or close")
        .select_for_update(of=("self",))
        .filter(record_id=rec.pk)
        .order_by("pk")
    )
    mine = next((h for h in holds if h.is_active), None)
    if isinstance(event, RecordVoided):
        if mine is not None:
            _close_in_error(mine, subject, event.actor, reasons.HOLD_LVEF_VOIDED(why=event.void_reason))
        return
    value, on = _value_and_date(protocol, rec)
    baseline = baseline_lvef(subject)
    decision = (
        assess_cardiac_hold(baseline, value, rules) if value is not None and baseline is not None else None
    )
    if decision is None or not decision.hold:
        if mine is not None:
            why = decision.explanation if decision else reasons.HOLD_LVEF_GONE()
            _close_in_error(mine, subject, event.actor, reasons.CORRECTED_LVEF(because=why))
        return
    started_on = on or subject.site.today()
    if mine is not None:
        _update(mine, subject, decision, started_on, rules, event.actor)
        return
    if any(h.status != HoldStatus.ENTERED_IN_ERROR for h in holds):
        return  # this LVEF's hold was already lifted, or treatment stopped: a re-save reopens nothing
    if active_hold(subject) is not None:
        return  # on hold already: this LVEF is a repeat that still meets the rule
    hold = CardiacHold.objects.system("opening a hold").create(
        subject=subject,
        record=rec,
        started_on=started_on,
        baseline_pct=decision.baseline_pct,
        value_pct=decision.value_pct,
        drop_points=decision.drop_points,
        criterion=decision.criterion,
        explanation=decision.explanation,
        repeat_lvef_due_on=started_on + dt.timedelta(days=rules.repeat_lvef.within_days),
        opened_at=timezone.now(),
    )
    _audit(
        event.actor,
        hold,
        subject,
        "create",
        field="status",
        new_value=HoldStatus.ACTIVE.value,
        reason=decision.explanation,
    )


def _baseline_changed(subject, protocol, rules, actor: Actor) -> None:
    """A corrected baseline LVEF: the hold in force is assessed again against it (its values
    follow, or it closes as entered in error). Earlier LVEFs open no hold after the fact."""
    hold = (
        CardiacHold.objects.system("the hold a corrected baseline may change")
        .select_for_update(of=("self",))
        .filter(subject_id=subject.pk, status=HoldStatus.ACTIVE)
        .select_related("record")
        .first()
    )
    if hold is None:
        return
    value, on = _value_and_date(protocol, hold.record)
    baseline = baseline_lvef(subject)
    decision = (
        assess_cardiac_hold(baseline, value, rules) if value is not None and baseline is not None else None
    )
    if decision is None or not decision.hold:
        why = decision.explanation if decision else reasons.NO_BASELINE_LVEF()
        _close_in_error(hold, subject, actor, reasons.CORRECTED_BASELINE_LVEF(because=why))
        return
    _update(hold, subject, decision, on or hold.started_on, rules, actor)


def _update(hold: CardiacHold, subject, decision, started_on: dt.date, rules, actor: Actor) -> None:
    """A re-save of the LVEF that started the hold, still meeting the rule: the hold follows
    the corrected values (audited), or stays as it is when they did not change."""
    due = started_on + dt.timedelta(days=rules.repeat_lvef.within_days)
    new = {
        "started_on": started_on,
        "baseline_pct": decision.baseline_pct,
        "value_pct": decision.value_pct,
        "drop_points": decision.drop_points,
        "criterion": decision.criterion,
        "explanation": decision.explanation,
        "repeat_lvef_due_on": due,
    }
    changed = {k: v for k, v in new.items() if getattr(hold, k) != v}
    if not changed:
        return
    old = {k: getattr(hold, k) for k in changed}
    for k, v in changed.items():
        setattr(hold, k, v)
    hold.save(update_fields=list(changed))
    _audit(
        actor,
        hold,
        subject,
        "change",
        field="explanation",
        old_value={k: str(v) for k, v in old.items()},
        new_value={k: str(v) for k, v in changed.items()},
        reason=reasons.HOLD_LVEF_CORRECTED(),
    )


# --------------------------------------------------------------------------- the investigator's decision


def _decide(
    user, hold: CardiacHold, reason: str, status: str, on: dt.date | None
) -> tuple[CardiacHold, Actor]:
    """Checks and the row lock common to lifting and stopping; the caller is inside audited()."""
    subject = hold.subject
    access = study_access(user, subject.study)
    require(access, Permission.LIFT_CARDIAC_HOLD, subject.site_id)
    reason = (reason or "").strip()
    if not reason:
        raise HoldActionRefused(_("Give the reason for your decision."))
    if len(reason) > 500:
        raise HoldActionRefused(_("The reason is limited to 500 characters."))
    locked = (
        CardiacHold.objects.system("the investigator's decision, after its permission check")
        .select_for_update(of=("self",))
        .select_related("subject__site", "subject__study")
        .get(pk=hold.pk)
    )
    if not locked.is_active:
        raise HoldActionRefused(_("This cardiac hold has already ended."))
    decided_on = on or locked.subject.site.today()
    if decided_on < locked.started_on:
        raise HoldActionRefused(_("The decision cannot precede the LVEF that started the hold."))
    actor = Actor.for_user(user, access.role_for(Permission.LIFT_CARDIAC_HOLD, subject.site_id))
    locked.status = status
    locked.ended_at = timezone.now()
    locked.ended_on = decided_on
    locked.ended_by = user
    locked.end_reason = reason
    locked.save(update_fields=["status", "ended_at", "ended_on", "ended_by", "end_reason"])
    _audit(
        actor,
        locked,
        locked.subject,
        "status",
        field="status",
        old_value=HoldStatus.ACTIVE.value,
        new_value=status,
        reason=reason,
    )
    return locked, actor


def lift_hold(user, hold: CardiacHold, reason: str, *, on: dt.date | None = None) -> CardiacHold:
    """The investigator resumes treatment: the hold ends on ``on`` (default: today at the
    site), audited with the reason."""
    with audited():
        locked, _actor = _decide(user, hold, reason, HoldStatus.LIFTED, on)
        return locked


def stop_treatment_for_hold(
    user, hold: CardiacHold, reason: str, *, on: dt.date | None = None
) -> CardiacHold:
    """The investigator stops treatment for the cardiac event: the hold ends and treatment ends
    on ``on`` (default: today at the site), which plans the end-of-treatment visits."""
    with audited():
        locked, actor = _decide(user, hold, reason, HoldStatus.TREATMENT_STOPPED, on)
        subject = locked.subject
        if subject.treatment_ended_on is not None:
            return locked  # treatment had already ended (the hold came from its final LVEF): the date stays
        if subject.first_dose_on and locked.ended_on < subject.first_dose_on:
            raise HoldActionRefused(_("Treatment cannot end before the first dose."))
        subject_services.record_end_of_treatment(subject, locked.ended_on, actor)
        return locked


def hold_on(subject, day: dt.date) -> CardiacHold | None:
    """The hold that covered ``day``: started on or before it and not ended by then (a hold
    closed as entered in error covered nothing). For checks of a dose given on ``day``."""
    for hold in (
        CardiacHold.objects.system("the hold that covered a dose's day")
        .filter(subject_id=subject.pk, started_on__lte=day)
        .exclude(status=HoldStatus.ENTERED_IN_ERROR)
    ):
        if hold.ended_on is None or day < hold.ended_on:
            return hold
    return None


def holds_for(user, study, *, active_only: bool = True):
    """The holds of the sites the user sees, for the study-wide list."""
    rows = CardiacHold.objects.for_user(user, study).select_related(
        "subject", "subject__site", "record__visit"
    )
    if active_only:
        rows = rows.filter(status=HoldStatus.ACTIVE)
    return rows.order_by("subject__site__code", "started_on", "pk")
