"""What the safety app adds to the casebook's header and timeline: the alert of a serious
adverse event the sponsor has not acknowledged yet, and each adverse event by onset with its
CTCAE grade (registered in ``SafetyConfig.ready``). Only for viewers of safety data."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from trialdesk.clinical import safety as rules
from trialdesk.safety import services
from trialdesk.safety.models import SaeReport
from trialdesk.studies.access import Permission
from trialdesk.subjects.casebook_header import CasebookContext, HeaderItem, TimelineEntry


def _reads_safety(ctx: CasebookContext) -> bool:
    return services.ae_form_code(ctx.study.protocol) is not None and ctx.access.can(
        Permission.VIEW_SAFETY_DATA, ctx.subject.site_id
    )


def open_sae(ctx: CasebookContext) -> HeaderItem | None:
    """An alert while a serious adverse event of the subject waits for the sponsor's acknowledgement."""
    if not _reads_safety(ctx):
        return None
    waiting = list(
        SaeReport.objects.for_user(ctx.request.user, ctx.study)
        .filter(
            record__subject_id=ctx.subject.pk, acknowledged_at__isnull=True, record__voided_at__isnull=True
        )
        .values_list("pk", flat=True)
    )
    if not waiting:
        return None
    # "serious" alone would read as the form's field code: the label names the event
    text = _("not yet acknowledged by the sponsor (%(count)d)") % {"count": len(waiting)}
    return HeaderItem(
        _("Serious adverse event"), text, alert=True, url=reverse("safety:sae", args=[waiting[0]])
    )


def timeline(ctx: CasebookContext) -> list[TimelineEntry]:
    if not _reads_safety(ctx):
        return []
    protocol = ctx.study.protocol
    form_code = services.ae_form_code(protocol)
    onset = "adverse_event_onset"
    entries = []
    for rec in ctx.records:
        if rec.form_code != form_code or rec.voided_at is not None or rec.visit_id:
            continue
        data = services._typed(protocol, rec)
        on = protocol.read_concept(onset, form_code, data) if protocol.has_concept(onset) else None
        if on is None:
            continue
        term = services.coded(protocol, form_code, data)[0]
        grade = protocol.read_concept(rules.GRADE, form_code, data)
        serious = protocol.read_concept(rules.SERIOUS, form_code, data) is True
        parts = [_("grade %(grade)s") % {"grade": grade}] if grade is not None else [_("grade not recorded")]
        if not term:
            parts.insert(0, _("term not recorded"))
        entries.append(
            TimelineEntry(
                on,
                "event",
                _("Serious adverse event") if serious else _("Adverse event"),
                ", ".join(parts),
                reverse("log-form", args=[ctx.subject.pk, form_code, rec.repeat]),
                verbatim=term,
            )
        )
    return entries
