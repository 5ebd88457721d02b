"""The words and numbers of ``trialdesk.charts`` in the active language (Django's translation and
number formats, the response categories as the assessments name them): one ``ChartText`` for
every page that draws the shared charts (the dashboards, the analysis report)."""

from __future__ import annotations

from django.utils import formats
from django.utils.translation import gettext, ngettext

from trialdesk.charts import ChartText


def _number(value: float, decimals: int = 0) -> str:
    return formats.number_format(round(value, decimals), decimal_pos=decimals)


def _response_name(category) -> str:
    from trialdesk.assessments.services import category_label

    return category_label(category)


def chart_text() -> ChartText:
    """The charts' text in the language active when they are drawn (gettext is looked up then)."""
    return ChartText(gettext=gettext, ngettext=ngettext, number=_number, response_name=_response_name)
