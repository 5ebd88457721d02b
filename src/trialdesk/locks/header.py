"""The casebook header's lock state (registered in ``LocksConfig.ready``)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from trialdesk.locks.services import effective_lock
from trialdesk.subjects.casebook_header import CasebookContext, HeaderItem


def lock_state(ctx: CasebookContext) -> HeaderItem | None:
    lock = effective_lock(ctx.subject)
    if lock is None:
        return HeaderItem(_("Lock state"), _("not locked"))
    text = {
        "subject": _("casebook locked"),
        "site": _("site locked"),
        "study": _("study locked"),
    }.get(lock.level, _("locked"))
    return HeaderItem(
        _("Lock state"),
        _("%(what)s since %(when)s")
        % {"what": text, "when": timezone.localtime(lock.locked_at).strftime("%Y-%m-%d")},
    )
