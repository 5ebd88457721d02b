"""What the cardiac app shows on other apps' pages: the casebook section and the LVEF form's
live panel (registered in ``CardiacConfig.ready``), and the wording they share.

The clinical core's explanations are English data (kept with the hold, like the system's
query texts); pages say the same in the reader's language from the decision's numbers.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from trialdesk.cardiac import services
from trialdesk.cardiac.models import CardiacHold, HoldCriterion, HoldStatus
from trialdesk.clinical.cardiac import assess_cardiac_hold, suggest_ef_decreased_grade
from trialdesk.crf import panels
from trialdesk.crf.panels import FormPanel, FormPanelContext
from trialdesk.studies.access import Permission
from trialdesk.subjects import casebook_sections
from trialdesk.subjects.casebook_sections import CasebookContext, CasebookSection


def number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{round(float(value), 1):g}"


def describe(criterion: str, baseline: float, value: float, drop: float, rules) -> str:
    """The decision in the reader's language (``criterion`` as ``CardiacHoldDecision`` says it)."""
    values = {
        "value": number(value),
        "baseline": number(baseline),
        "drop": number(abs(drop)),
        "below": number(rules.below_pct) if rules else "",
        "drop_threshold": number(rules.drop_points) if rules else "",
        "below_threshold": number(rules.drop_points_when_below) if rules else "",
    }
    if criterion == HoldCriterion.DROP:
        return (
            _(
                "Hold: LVEF %(value)s %%, a drop of %(drop)s points from %(baseline)s %% at baseline "
                "(%(drop_threshold)s points or more)."
            )
            % values
        )
    if criterion == HoldCriterion.BELOW_WITH_DROP:
        return (
            _(
                "Hold: LVEF %(value)s %%, below %(below)s %% with a drop of %(drop)s points from %(baseline)s %% "
                "at baseline (%(below_threshold)s points or more)."
            )
            % values
        )
    if drop < 0:
        return (
            _("No hold: LVEF %(value)s %%, a rise of %(drop)s points from %(baseline)s %% at baseline.")
            % values
        )
    if value < (rules.below_pct if rules else 0):
        return (
            _(
                "No hold: LVEF %(value)s %%, below %(below)s %% but a drop of %(drop)s points from %(baseline)s %% "
                "at baseline, less than %(below_threshold)s."
            )
            % values
        )
    return (
        _(
            "No hold: LVEF %(value)s %%, not below %(below)s %%, a drop of %(drop)s points from %(baseline)s %% "
            "at baseline, less than %(drop_threshold)s."
        )
        % values
    )


def describe_hold(hold: CardiacHold, rules) -> str:
    return describe(hold.criterion, hold.baseline_pct, hold.value_pct, hold.drop_points, rules)


def grade_reason(suggested) -> str:
    if suggested is None:
        return ""
    if suggested.criterion == "drop":
        return _("a drop of %(drop)s points from baseline") % {"drop": number(suggested.drop_points)}
    return _("the resting LVEF")


def hold_row(hold: CardiacHold, rules, access) -> dict:
    return {
        "hold": hold,
        "status": HoldStatus(hold.status).label,
        "explanation": describe_hold(hold, rules),
        "decide_url": reverse("cardiac:decide", args=[hold.subject_id]),
        "can_decide": hold.is_active and access.can(Permission.LIFT_CARDIAC_HOLD, hold.subject.site_id),
    }


def series_rows(points) -> list[dict]:
    rows = []
    for p in points:
        rows.append(
            {
                "point": p,
                "value": number(p.value_pct),
                "drop": number(p.drop_points) if p.drop_points is not None else "",
                "holds": bool(p.decision and p.decision.hold),
                "suggested": p.suggested,
                "confirmed": p.confirmed_grade,
                "visit": p.record.visit.code if p.record.visit_id else "",
            }
        )
    return rows


# --------------------------------------------------------------------------- the casebook section


def casebook_context(ctx: CasebookContext) -> dict | None:
    subject = ctx.subject
    protocol = ctx.study.protocol
    rules = services.hold_rules(protocol)
    if rules is None:
        return None
    points = services.lvef_series(subject, ctx.records)
    holds = list(
        CardiacHold.objects.for_user(ctx.request.user, ctx.study)
        .filter(subject_id=subject.pk)
        .select_related("ended_by")
    )
    if not points and not holds:
        return None
    for hold in holds:
        hold.subject = subject
    active = next((h for h in holds if h.is_active), None)
    return {
        "active": hold_row(active, rules, ctx.access) if active else None,
        "repeat_due": services.repeat_lvef_due(subject) if active else None,
        "past": [hold_row(h, rules, ctx.access) for h in holds if not h.is_active],
        "series": series_rows(points),
        "baseline": number(services.baseline_lvef(subject, ctx.records)),
        "decide_url": reverse("cardiac:decide", args=[subject.pk]),
    }


# --------------------------------------------------------------------------- the LVEF form's panel


def _panel_reads(protocol, form) -> set[str]:
    """The LVEF and the grade fields of a form that dates its LVEF (the LVEF form, not the
    screening form, whose LVEF is the baseline)."""
    if services.hold_rules(protocol) is None:
        return set()
    fields = {protocol.concept_field(name, form.code) for name in (services.LVEF, services.LVEF_ON)}
    if None in fields:
        return set()
    grade = protocol.concept_field(services.CONFIRMED_GRADE, form.code)
    return {f for f in (*fields, grade) if f}


def panel_context(ctx: FormPanelContext) -> dict | None:
    protocol = ctx.study.protocol
    form = ctx.form.code
    value = services._as_float(protocol.read_concept(services.LVEF, form, ctx.values))
    if value is None:
        return None
    if ctx.visit is not None and ctx.visit.code in {v.code for v in protocol.baseline_visits}:
        return {"is_baseline": True, "value": number(value)}
    rules = services.hold_rules(protocol)
    baseline = services.baseline_lvef(ctx.subject)
    confirmed = protocol.read_concept(services.CONFIRMED_GRADE, form, ctx.values)
    try:
        suggested = suggest_ef_decreased_grade(baseline, value)
        decision = assess_cardiac_hold(baseline, value, rules) if baseline is not None else None
    except ValueError:
        return None
    suggested_grade = suggested.grade if suggested else 0
    return {
        "is_baseline": False,
        "value": number(value),
        "baseline": number(baseline) if baseline is not None else None,
        "drop": number(decision.drop_points) if decision else None,
        "rise": decision is not None and decision.drop_points < 0,
        "drop_abs": number(abs(decision.drop_points)) if decision else None,
        "holds": bool(decision and decision.hold),
        "decision": describe(decision.criterion, baseline, value, decision.drop_points, rules)
        if decision
        else "",
        "suggested": suggested,
        "grade_reason": grade_reason(suggested),
        "confirmed": confirmed if isinstance(confirmed, int) else None,
        "agrees": isinstance(confirmed, int) and confirmed == suggested_grade,
    }


def register_all() -> None:
    casebook_sections.register(
        CasebookSection(
            key="cardiac", order=40, template="cardiac/_casebook_section.html", context=casebook_context
        )
    )
    panels.register(
        FormPanel(
            key="cardiac-lvef",
            order=30,
            template="cardiac/_lvef_panel.html",
            reads=_panel_reads,
            context=panel_context,
        )
    )
