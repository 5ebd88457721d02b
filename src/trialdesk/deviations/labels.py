"""What the pages call the calendar's kinds and statuses and the deviation rules (never a code)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from trialdesk.clinical import calendar as cal
from trialdesk.clinical.deviations import RULES
from trialdesk.protocol.formdata import Message

KIND_LABELS = {
    cal.INFUSION: _("Infusion"),
    cal.RELOAD: _("Reload (loading dose)"),
    cal.ASPIRATE: _("Marrow aspirate and blood count"),
    cal.LVEF: _("LVEF"),
    cal.REPEAT_LVEF: _("Repeat LVEF (cardiac hold)"),
    cal.FOLLOW_UP_CALL: _("Follow-up call"),
    cal.MINIMUM_TREATMENT: _("Minimum treatment duration"),
}

STATUS_LABELS = {
    cal.DONE_IN_WINDOW: _("Done in window"),
    cal.DONE_OUT_OF_WINDOW: _("Done out of window"),
    cal.PLANNED: _("Planned"),
    cal.DUE: _("Due"),
    cal.OVERDUE: _("Overdue"),
    cal.NOT_MET: _("Not met"),
    cal.NOT_APPLICABLE: _("Not applicable"),
}


def translated(message: Any) -> str:
    """A message of the clinical core in the user's language."""
    if not isinstance(message, Message):
        return str(message)
    text = gettext(message.template)
    return text % message.params if message.params else text


def item_title(protocol, item) -> str:
    """An item's title: a scheduled visit's own title in the user's language (the protocol's),
    else the calendar's title translated."""
    from trialdesk.crf.rendering import localised

    code = item.ref.split("/", 1)[0] if "/" in item.ref else ""
    if code:
        try:
            return localised(protocol.visit(code), "title")
        except KeyError:
            pass
    return translated(item.title)


def rule_label(rule: str) -> str:
    return gettext(RULES[rule])
