"""What the treatment app adds to the casebook's header and timeline: the days on treatment
and the doses given (registered in ``TreatmentConfig.ready``)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trialdesk.crf.display import display_value
from trialdesk.subjects.casebook_header import CasebookContext, HeaderItem, TimelineEntry, day
from trialdesk.treatment import services


def days_on_treatment(ctx: CasebookContext) -> HeaderItem | None:
    """Days from the first dose, that day counted as day 1, to the end of treatment or to
    today at the subject's site (the site's date, not the server's)."""
    subject = ctx.subject
    if services.infusion_form(ctx.study.protocol) is None or subject.enrolled_on is None:
        return None
    first = subject.first_dose_on
    if first is None:
        return HeaderItem(_("Days on treatment"), _("no dose given yet"))
    end = subject.treatment_ended_on or subject.site.today()
    days = max((end - first).days + 1, 0)
    count = ngettext("%(days)d day", "%(days)d days", days) % {"days": days}
    if subject.treatment_ended_on:
        text = _("%(count)s (first dose %(first)s, ended %(end)s)") % {
            "count": count,
            "first": day(first),
            "end": day(end),
        }
    else:
        text = _("%(count)s (first dose %(first)s)") % {"count": count, "first": day(first)}
    return HeaderItem(_("Days on treatment"), text)


def timeline(ctx: CasebookContext) -> list[TimelineEntry]:
    """Each dose given (its date and the dose in mg as the form shows it), and the end of treatment."""
    protocol = ctx.study.protocol
    form_code = services.infusion_form(protocol)
    entries = []
    if form_code is not None:
        form = protocol.form(form_code)
        given_field = (
            protocol.concept_field(services.GIVEN, form_code)
            if protocol.has_concept(services.GIVEN)
            else None
        )
        for rec in ctx.records:
            if rec.form_code != form_code or rec.voided_at is not None:
                continue
            values = services.concept_values(protocol, rec)
            on = values.get(services.DOSE_DATE)
            if on is None:
                continue
            given = (rec.data or {}).get(given_field) if given_field else None
            if given in (None, ""):
                text = _("Dose: amount not recorded yet")
            else:
                text = _("Dose given: %(dose)s") % {"dose": display_value(form, given_field, given)}
            url = reverse("log-form", args=[ctx.subject.pk, form_code, rec.repeat])
            entries.append(TimelineEntry(on, "dose", _("Dose"), text, url))
    if ctx.subject.treatment_ended_on:
        entries.append(
            TimelineEntry(ctx.subject.treatment_ended_on, "end", _("End of treatment"), _("Treatment ended"))
        )
    return entries
