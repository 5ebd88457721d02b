"""The appendix's long listings are written in one join, not through the template engine cell by
cell: what a reader sees must be what the template wrote, escaping and numbers included."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation
from django.utils.safestring import mark_safe

from trialdesk.reports.analysis_report import _LISTING_ROW, _SURVIVAL_ROW, _decimal, _numbers_as_read, _Rows

ROWS = [
    {
        "label": 'NTE-<b>"1"</b>',
        "start": "2012-01-02",
        "end": "a & b",
        "months": "12,5",
        "event": "l'événement",
    },
    {"label": mark_safe("<i>kept</i>"), "start": 999, "end": -999, "months": 1000, "event": 1234567},
    {"label": "NTE-003", "start": None, "end": 2.5, "months": 0, "event": "—"},
]
TEMPLATE = (
    "{% for s in rows %}<tr><td>{{ s.label }}</td><td>{{ s.start }}</td><td>{{ s.end }}</td>"
    '<td class="num">{{ s.months }}</td><td>{{ s.event }}</td></tr>{% endfor %}'
)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_listing_rows_read_as_the_template_wrote_them(language):
    with translation.override(language):
        by_template = Template(TEMPLATE).render(Context({"rows": ROWS}))
        assert _Rows(ROWS, _SURVIVAL_ROW)() == by_template
    assert "&lt;b&gt;&quot;1&quot;&lt;/b&gt;" in by_template and "<i>kept</i>" in by_template


def test_the_rows_are_joined_once_and_only_when_written():
    rows = _Rows([dict.fromkeys(("label", "start", "end", "months", "event"), "x")], _SURVIVAL_ROW)
    assert rows.html is None  # a report that does not show the listing never joins it
    assert rows() is rows()


def test_the_response_listing_row_names_its_subject_and_its_responder_column():
    row = dict.fromkeys(
        (
            "label",
            "site",
            "first_dose",
            "best",
            "best_derived",
            "responder",
            "first_response",
            "failure",
            "best_change",
            "karyotype",
            "os",
        ),
        "—",
    )
    html = _Rows([{**row, "label": "RNS-007", "responder": "Yes"}], _LISTING_ROW)()
    assert html.startswith('<tr data-subject="RNS-007"><td>RNS-007</td>')
    assert '<td data-col="responder">Yes</td>' in html


@pytest.mark.parametrize(("language", "expected"), [("en", "1234.6"), ("fr", "1234,6")])
def test_numbers_read_the_same_with_the_separators_looked_up_once(language, expected):
    with translation.override(language):
        alone = _decimal(1234.56, 1)
        with _numbers_as_read():
            once = _decimal(1234.56, 1)
    assert once == alone == expected
