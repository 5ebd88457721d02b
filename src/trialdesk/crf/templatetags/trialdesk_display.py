"""Template tags of ``crf.display``: a datum as a user reads it, never its raw code.

{% load trialdesk_display %}
{% display_value form "product" entry.data.product %}   -> "Red blood cells"
{% field_label form "units" %}                          -> "Units"
{{ flag|yes_no }}                                       -> "Yes" / "No" / "—"
{{ value|plain }}                                       -> a value of no known field
"""

from __future__ import annotations

from typing import Any

from django import template

from trialdesk.crf import display

register = template.Library()


@register.simple_tag
def display_value(form: Any, field_code: str, value: Any) -> str:
    """The value as a user reads it; verbatim English (a CTCAE term, its system organ class)
    marked ``lang="en"`` (``crf.display.marked_value``)."""
    return display.marked_value(form, field_code, value)


@register.simple_tag
def field_label(form: Any, field_code: str) -> str:
    return display.field_label(form, field_code)


@register.filter
def yes_no(value: Any) -> str:
    return display.yes_no(value)


@register.filter
def plain(value: Any) -> str:
    return display.plain(value)


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``{{ entry.data|get_item:field.code }}``: a key of a dict (None when it is missing)."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


def _protocol(context) -> Any:
    request = context.get("request")
    study = getattr(request, "study", None) if request is not None else None
    return getattr(study, "protocol", None)


def _form(context, form_code: str) -> Any:
    protocol = _protocol(context)
    try:
        return protocol.form(form_code) if protocol is not None else None
    except KeyError:
        return None


@register.simple_tag(takes_context=True)
def form_title(context, form_code: str) -> str:
    """The title of the request's study's form ``form_code`` in the user's language."""
    protocol = _protocol(context)
    return display.form_title(protocol, form_code) if protocol is not None else form_code


@register.simple_tag(takes_context=True)
def form_field_label(context, form_code: str, field_code: str) -> str:
    """The label of a field named by its form's code and its own (a query's, an audit event's)."""
    return display.field_label(_form(context, form_code), field_code)


@register.simple_tag(takes_context=True)
def form_field_value(context, form_code: str, field_code: str, value: Any) -> str:
    return display.marked_value(_form(context, form_code), field_code, value)


@register.filter
def role_label(role: Any) -> str:
    """A role's code (``data_manager``) as its label (Data manager)."""
    return display.role_label(role)


@register.filter
def localised(obj: Any, name: str) -> str:
    """A protocol element's text in the user's language: ``{{ visit|localised:"title" }}``
    shows ``title_fr`` in French when the protocol gives it, else ``title``."""
    from trialdesk.crf.rendering import localised as _localised

    return _localised(obj, name)


@register.simple_tag(takes_context=True)
def visit_title(context, visit: Any) -> str:
    """A subject's visit (or a protocol visit) by its title in the user's language, from the
    request's study's protocol: ``{% visit_title row.visit %}`` -> "Mois 3" in French."""
    from trialdesk.crf.rendering import localised as _localised

    protocol = _protocol(context)
    code = getattr(visit, "code", None)
    title = display.visit_title(protocol, code) if protocol is not None and code else None
    return title if title is not None else _localised(visit, "title")
