"""A label's colon as each language writes it ("Summary:", "Synthèse :"), one tag for every page."""

from __future__ import annotations

import re
from pathlib import Path

from django.template import engines
from django.utils import translation

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "trialdesk"


def _render(text: str, language: str) -> str:
    with translation.override(language):
        return engines["django"].from_string("{% load i18n %}" + text).render({})


def test_a_label_takes_its_colon_as_english_writes_it():
    assert _render('{% trans "Summary" %}{% colon %}', "en") == "Summary:"


def test_a_french_label_takes_a_no_break_space_before_its_colon():
    assert _render('{% trans "Summary" %}{% colon %}', "fr") == "Synthèse\u00a0:"


def test_no_template_glues_a_bare_colon_to_a_translated_label():
    glued = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in TEMPLATES.glob("*/templates/**/*.html")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"\{% (?:trans|translate) \"[^\"]*\" %\}:", line)
    ]
    assert not glued, "use {% colon %} after a translated label: " + ", ".join(glued)
