"""The casebook header's signature state (registered in ``SignaturesConfig.ready``)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from trialdesk.signatures.models import Signature, SignatureScope
from trialdesk.subjects.casebook_header import CasebookContext, HeaderItem


def signature_state(ctx: CasebookContext) -> HeaderItem | None:
    latest = (
        Signature.objects.for_user(ctx.request.user, ctx.study)
        .filter(subject_id=ctx.subject.pk, scope=SignatureScope.CASEBOOK)
        .order_by("-signed_at", "-pk")
        .first()
    )
    if latest is None:
        text = _("not signed")
    elif latest.is_valid:
        text = _("signed by %(name)s on %(when)s") % {
            "name": latest.printed_name,
            "when": timezone.localtime(latest.signed_at).strftime("%Y-%m-%d %H:%M"),
        }
    else:
        text = _("signature voided by a later change")
    return HeaderItem(_("Casebook signature"), text, url="#signatures")
