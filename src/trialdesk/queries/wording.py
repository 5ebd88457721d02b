"""System query texts in the reader's language, at display time.

A query the system raises (an edit check of the protocol, a physiological range, a death
rule, or an app's own rule: treatment's ``DOSE-*``, assessments' discordance, subjects'
eligibility after enrollment…) stores an English text in its first message, as the audit
trail keeps it: that is the record, and it is never rewritten. The pages show the same
message in the reader's language from what was stored with it:

- the message's ``template`` (an English ``gettext_noop`` string of the raising app, whose
  French is in that app's catalogue) and its ``params`` (JSON values; a value may itself be a
  translatable part, :func:`part`), filled in by :func:`fill`;
- or a renderer an app registered for the query's code (or a prefix of it) with
  :func:`register` (in its ``AppConfig.ready``), for a text whose parts the app must look up
  again (a response category's label, a criterion's wording in the protocol);
- for an edit check of the protocol, the check's ``message_fr`` (``localised(check,
  "message")``).

When none of them gives a text (a query stored before templates were kept), the stored
English is shown, marked ``lang="en"`` (:func:`shown`). The REST API and the exports keep
the stored text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import get_language, gettext

#: a message kind of a system text (``MessageKind.RAISE`` for a query's first message)
RAISE = "raise"
SUMMARY_MAX = 200


@dataclass(frozen=True)
class SystemText:
    """One message the system wrote, as a renderer reads it."""

    code: str  # the query's check code
    text: str  # as stored: English
    template: str
    params: Mapping[str, Any] | None
    form_code: str
    protocol: Any  # the study's protocol (None when not at hand)
    kind: str = RAISE


Render = Callable[[SystemText], "str | None"]

_renderers: dict[str, Render] = {}
_names: dict[str, str] = {}
_by_template: dict[str, Render] = {}


def register_template(template: str, render: Render) -> None:
    """``render`` shows every message stored with ``template``, whatever the query's code
    (a message the system writes on any query, such as a change made in response)."""
    _by_template[template] = render


def register(code_or_prefix: str, render: Render | None = None, *, name: str | None = None) -> None:
    """``render`` shows the system texts of queries whose code is ``code_or_prefix`` or
    starts with it (the longest registered prefix wins); it returns None to leave a text to
    the template (or to the stored English). ``name`` (a ``gettext_noop`` string) is the
    rule's name the pages show instead of its code."""
    if render is not None:
        _renderers[code_or_prefix] = render
    if name is not None:
        _names[code_or_prefix] = name


def _lookup(table: dict, code: str):
    if code in table:
        return table[code]
    prefixes = [p for p in table if p and code.startswith(p)]
    return table[max(prefixes, key=len)] if prefixes else None


def renderer(code: str) -> Render | None:
    return _lookup(_renderers, code)


def rule_name(code: str) -> str | None:
    """The name of an app's rule that raised a query, in the reader's language (None when
    no app named it: an edit check of the protocol goes by its code)."""
    name = _lookup(_names, code or "")
    return gettext(name) if name else None


# --------------------------------------------------------------------------- templates


def part(template: str, **params: Any) -> dict[str, Any]:
    """A translatable part of a text, as a parameter of another: ``{"template", "params"}``."""
    return {"template": template, "params": jsonable(params)}


def from_message(message: Any) -> dict[str, Any]:
    """A core ``formdata.Message`` (English with its template and parameters) as a part."""
    template = getattr(message, "template", None)
    if template is None:
        return {"template": str(message).replace("%", "%%"), "params": {}}
    return part(template, **dict(getattr(message, "params", {}) or {}))


def jsonable(value: Any) -> Any:
    """Parameters as JSON keeps them: dates as ISO text, decimals as numbers."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _value(value: Any, translate: bool) -> Any:
    if isinstance(value, Mapping) and "template" in value:
        return fill(value["template"], value.get("params") or {}, translate=translate)
    return value


def fill(template: str, params: Mapping[str, Any] | None, *, translate: bool = True) -> str:
    """The template (translated, unless ``translate`` is False: the English as stored) with
    its parameters; a parameter that is a :func:`part` is filled in the same language."""
    text = gettext(template) if translate else template
    if not params:
        return text
    return text % {name: _value(value, translate) for name, value in params.items()}


def english(template: str, params: Mapping[str, Any] | None = None) -> str:
    """The English text a template gives: what the query stores."""
    return fill(template, params, translate=False)


# --------------------------------------------------------------------------- display


def _edit_check_text(st: SystemText) -> str | None:
    if st.kind != RAISE or st.protocol is None:
        return None
    try:
        form = st.protocol.form(st.form_code)
    except KeyError:
        return None
    check = next((c for c in form.edit_checks if c.code == st.code), None)
    if check is None or check.message[:SUMMARY_MAX] != st.text[:SUMMARY_MAX]:
        return None  # not this check's text (the protocol changed since): as stored
    if (get_language() or "en").startswith("fr"):
        return getattr(check, "message_fr", None) or None
    return check.message


def render(st: SystemText) -> str | None:
    """The system text in the reader's language, or None when it cannot be re-rendered."""
    if st.template in _by_template:
        text = _by_template[st.template](st)
        if text:
            return text
    found = renderer(st.code) if st.code else None
    if found is not None:
        text = found(st)
        if text:
            return text
    if st.template and (st.params or "%(" not in st.template):
        return fill(st.template, st.params)
    return _edit_check_text(st)


@dataclass(frozen=True)
class Shown:
    """What a page shows of a message: its text, and ``lang`` ("en" for the stored English
    shown because no rendering exists, else "")."""

    text: str
    lang: str = ""

    def __str__(self) -> str:
        return self.text


def shown(st: SystemText | None, typed: str = "") -> Shown:
    """A system text as shown, or (``st`` None) a person's own words, shown as typed."""
    if st is None:
        return Shown(typed)
    text = render(st)
    return Shown(st.text, "en") if text is None else Shown(text)


def of_message(message: Any, query: Any, protocol: Any = None) -> Shown:
    """A message of a query's thread as shown: a person's words as typed; the system's in
    the reader's language (also one the system wrote in a person's name, with its template:
    a change made in response)."""
    if message.author_id is not None and not message.template:
        return Shown(message.text)
    return shown(
        SystemText(
            code=query.check_code,
            text=message.text,
            template=message.template,
            params=message.params,
            form_code=query.record.form_code,
            protocol=protocol,
            kind=message.kind,
        )
    )


def of_summary(query: Any, protocol: Any = None) -> Shown:
    """A query's summary (its first message, cut) as shown."""
    if not query.is_system:
        return Shown(query.summary)
    result = shown(
        SystemText(
            code=query.check_code,
            text=query.summary,
            template=query.summary_template,
            params=query.summary_params,
            form_code=query.record.form_code,
            protocol=protocol,
        )
    )
    if len(result.text) > SUMMARY_MAX:
        return Shown(result.text[: SUMMARY_MAX - 1] + "…", result.lang)
    return result
