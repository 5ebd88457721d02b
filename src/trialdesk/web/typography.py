"""The colon after a label, as each language writes it: "Summary:" in English, "Synthèse :"
in French (a no-break space before it). A built-in tag (settings.TEMPLATES), written
``{% trans "Summary" %}{% colon %}``; a template never glues a bare ":" to a translated
label (tests/web/test_typography.py)."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

register = template.Library()

#: languages that put a (no-break) space before a colon
SPACED = {"fr"}


@register.simple_tag
def colon() -> str:
    language = (get_language() or "en").split("-")[0]
    return "\u00a0:" if language in SPACED else ":"
