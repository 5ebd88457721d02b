"""Facts and alerts other apps add to the header of a subject's casebook, and the events they
add to its timeline.

The casebook view sits below the apps that know a subject's treatment, response, safety,
signatures and locks (DESIGN §2 layers), so it cannot import them; each registers its header
fact and its timeline source at start-up (its ``AppConfig.ready``), as the casebook sections
do. A fact returns ``None`` when it has nothing to say for that subject or viewer (an alert
that does not hold is not shown). Each ``compute`` reads what it needs in a number of
queries that does not grow with the subject's data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from trialdesk.subjects.casebook_sections import CasebookContext

__all__ = [
    "CasebookContext",
    "day",
    "number",
    "HeaderFact",
    "HeaderItem",
    "TimelineEntry",
    "TimelineSource",
    "facts_for",
    "register",
    "register_timeline",
    "timeline_for",
]


@dataclass(frozen=True)
class HeaderItem:
    label: str  # translated: what the fact is ("Best response so far")
    text: str  # translated: its value as the user reads it
    alert: bool = False  # an alert (shown with a warning sign and the word "Alert", not by colour alone)
    url: str = ""  # where to act on it or read more
    key: str = ""  # filled by ``facts_for``: the fact's key (the element's id on the page)


@dataclass(frozen=True)
class HeaderFact:
    key: str  # stable, unique
    order: int  # shown by increasing order
    compute: Callable[[CasebookContext], HeaderItem | None]


@dataclass(frozen=True)
class TimelineEntry:
    on: dt.date
    kind: str  # dose | marrow | event | hold | end: the entry's style (and its icon)
    kind_label: str  # translated: the kind as a word ("Dose", "Marrow", "Adverse event"…)
    text: str  # translated: what happened
    url: str = ""
    #: a verbatim English name shown before ``text``, marked lang="en" (a CTCAE term has no French)
    verbatim: str = ""


@dataclass(frozen=True)
class TimelineSource:
    key: str
    entries: Callable[[CasebookContext], list[TimelineEntry]]


_facts: dict[str, HeaderFact] = {}
_timeline: dict[str, TimelineSource] = {}

#: the order of entries of one day: a dose before the marrow of the same day, events after
_KIND_ORDER = {"dose": 0, "marrow": 1, "event": 2, "hold": 3, "end": 4}


def day(value: dt.date | None) -> str:
    """A date as the header and timeline show it (the reader's locale)."""
    from django.utils import formats

    return "" if value is None else formats.date_format(value, "DATE_FORMAT")


def number(value) -> str:
    """A measured value as the header and timeline show it: 60 as "60", 70.4 as "70.4" in
    English and "70,4" in French; nothing as "—"."""
    from django.utils import formats

    if value is None:
        return "—"
    if float(value).is_integer():
        return str(int(value))
    return formats.localize(value)


def register(fact: HeaderFact) -> None:
    _facts[fact.key] = fact


def register_timeline(source: TimelineSource) -> None:
    _timeline[source.key] = source


def facts_for(context: CasebookContext) -> tuple[list[HeaderItem], list[HeaderItem]]:
    """The registered facts with something to say: (facts, alerts), each by order."""
    facts, alerts = [], []
    for fact in sorted(_facts.values(), key=lambda f: (f.order, f.key)):
        item = fact.compute(context)
        if item is None:
            continue
        item = HeaderItem(item.label, item.text, item.alert, item.url, fact.key)
        (alerts if item.alert else facts).append(item)
    return facts, alerts


def timeline_for(context: CasebookContext) -> list[TimelineEntry]:
    """Every source's entries in date order (the kinds of one day in a fixed order)."""
    entries: list[TimelineEntry] = []
    for source in sorted(_timeline.values(), key=lambda s: s.key):
        entries.extend(source.entries(context))
    return sorted(entries, key=lambda e: (e.on, _KIND_ORDER.get(e.kind, 9), e.text))
