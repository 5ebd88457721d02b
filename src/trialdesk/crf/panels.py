"""Panels other apps show on a form page, computed from the values being entered.

The computed dose on an infusion, the derived response on a marrow assessment, the LVEF
drop and its suggested grade: the form engine knows none of them. Each app registers a
``FormPanel`` at start-up (its ``AppConfig.ready``). The page shows the panels that apply
to its form; when a field a panel reads changes, the page asks the server (htmx, nothing
saved) and every panel of the form is re-rendered from the values as typed, swapped in
out of band beside the conditional fields. The panel's numbers come from the clinical
core, the same functions the save, the CLI and the analysis call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trialdesk.protocol.formdata import typed_values, validate_form_data


@dataclass(frozen=True)
class FormPanelContext:
    request: Any
    study: Any
    subject: Any
    visit: Any  # None on a log form
    record: Any  # the FormRecord shown, None for a new entry
    form: Any  # the protocol's form
    values: dict[str, Any]  # the values as typed now, converted to their types; invalid ones left out
    access: Any  # the viewer's StudyAccess


@dataclass(frozen=True)
class FormPanel:
    key: str  # stable, unique: the panel's element id is ``panel-<key>``
    order: int
    template: str
    # the field codes of ``form`` this panel reads (empty: it does not apply to that form)
    reads: Callable[[Any, Any], set[str]]  # (protocol, form) -> field codes
    context: Callable[[FormPanelContext], dict | None]  # None: nothing to show now


_panels: dict[str, FormPanel] = {}


def register(panel: FormPanel) -> None:
    _panels[panel.key] = panel


def panels_of(protocol: Any, form: Any) -> list[FormPanel]:
    return [p for p in sorted(_panels.values(), key=lambda p: (p.order, p.key)) if p.reads(protocol, form)]


def live_fields(protocol: Any, form: Any) -> set[str]:
    """The fields whose change re-renders a panel of this form."""
    return {code for panel in panels_of(protocol, form) for code in panel.reads(protocol, form)}


def typed_input(form: Any, raw: dict[str, Any]) -> dict[str, Any]:
    """What the user has typed so far, as typed values (a value that does not parse is left out)."""
    validation = validate_form_data(form, {k: v for k, v in raw.items() if v not in (None, "")})
    return typed_values(form, validation.cleaned)


def render_panels(context: FormPanelContext) -> list[dict]:
    """``[{"key", "template", "context"}]`` of the panels with something to show; a panel
    with nothing to show now keeps its (empty) place, so a later swap finds it."""
    protocol = context.study.protocol
    shown = []
    for panel in panels_of(protocol, context.form):
        shown.append({"key": panel.key, "template": panel.template, "context": panel.context(context)})
    return shown
