"""What the cardiac app adds to the casebook's header and timeline: the alert of a cardiac
hold in force, and each hold with its start and end (registered in ``CardiacConfig.ready``)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from trialdesk.cardiac.models import CardiacHold, HoldStatus
from trialdesk.subjects.casebook_header import CasebookContext, HeaderItem, TimelineEntry, day, number


def _holds(ctx: CasebookContext) -> list[CardiacHold]:
    return list(CardiacHold.objects.for_user(ctx.request.user, ctx.study).filter(subject_id=ctx.subject.pk))


def hold_alert(ctx: CasebookContext) -> HeaderItem | None:
    hold = next((h for h in _holds(ctx) if h.status == HoldStatus.ACTIVE), None)
    if hold is None:
        return None
    text = _("treatment withheld since %(day)s (LVEF %(value)s %%, %(drop)s points below baseline)") % {
        "day": day(hold.started_on),
        "value": number(hold.value_pct),
        "drop": number(hold.drop_points),
    }
    return HeaderItem(_("Cardiac hold"), text, alert=True, url="#cardiac")


def timeline(ctx: CasebookContext) -> list[TimelineEntry]:
    entries = []
    for hold in _holds(ctx):
        if hold.status == HoldStatus.ENTERED_IN_ERROR:
            continue
        entries.append(
            TimelineEntry(
                hold.started_on,
                "hold",
                _("Cardiac hold"),
                _("Treatment withheld: LVEF %(value)s %%, %(drop)s points below baseline")
                % {"value": number(hold.value_pct), "drop": number(hold.drop_points)},
            )
        )
        if hold.ended_on is not None:
            entries.append(
                TimelineEntry(hold.ended_on, "hold", _("Cardiac hold"), str(HoldStatus(hold.status).label))
            )
    return entries
