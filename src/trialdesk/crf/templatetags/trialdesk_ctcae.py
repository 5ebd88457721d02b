"""The CTCAE v5.0 list a ``ctcae_term`` field picks from (a datalist: typing a term or a
MedDRA code narrows it; the server accepts only a term of the list).

    {% load trialdesk_ctcae %}{% ctcae_terms as terms %}
"""

from __future__ import annotations

from django import template

from trialdesk.clinical import ctcae

register = template.Library()


@register.simple_tag
def ctcae_terms() -> list[ctcae.CtcaeTerm]:
    return ctcae.load_terms()
