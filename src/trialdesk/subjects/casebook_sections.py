"""Sections other apps add to a subject's casebook page (treatment, response, safety…).

The casebook view sits below the apps that compute a subject's treatment, response or
safety (DESIGN §2 layers), so it cannot import them; each registers its section at start-up
(its ``AppConfig.ready``), as the ``FormSaved`` subscribers do. A section returns ``None``
when it has nothing to show for that subject or viewer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CasebookContext:
    request: Any
    study: Any
    subject: Any
    access: Any  # the viewer's StudyAccess
    records: list  # the subject's form records, read through the scoped layer


@dataclass(frozen=True)
class CasebookSection:
    key: str  # stable, unique: the section's id on the page
    order: int  # sections are shown by increasing order, after the visits and logs
    template: str
    context: Callable[[CasebookContext], dict | None]


_sections: dict[str, CasebookSection] = {}


def register(section: CasebookSection) -> None:
    _sections[section.key] = section


def sections_for(context: CasebookContext) -> list[dict]:
    """The registered sections with something to show, each as ``{"key", "template", "context"}``."""
    shown = []
    for section in sorted(_sections.values(), key=lambda s: (s.order, s.key)):
        values = section.context(context)
        if values is not None:
            shown.append({"key": section.key, "template": section.template, "context": values})
    return shown
