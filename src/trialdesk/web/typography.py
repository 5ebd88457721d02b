"""The colon after a label, as each language writes it: "Summary:" in English, "Synthèse :"
in French (a no-break space before it). A built-in tag (settings.TEMPLATES), written
``{% trans "Summary" %}{% colon %}``; a template never glues a bare ":" to a translated
label (tests/web/test_typography.py)."""

from __future__ import annotations

from django import template

from trialdesk.crf import display

register = template.Library()


@register.simple_tag
def colon() -> str:
    return display.colon()
