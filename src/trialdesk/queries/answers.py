"""Facts that answer an edit check's query in advance (``EditCheck.answered_by`` in the protocol).

    register(name, answer)        # answer(form_record) -> Because | None: why the check is answered
    answered(check, form_record)  # the reason, or None (the check raises its query as usual)

The reason closes the query as the system's last message: an English text, or (so that the
pages say it in the reader's language) a ``queries.wording.part(template, **params)`` of a
``gettext_noop`` template of the app's catalogue.

An edit check doubts a value (a weight 12 % above the previous infusion's: a typing error?);
some facts recorded elsewhere already answer that doubt (an investigator validated the dose
recomputed from that very weight). The app that owns the fact registers it here in its
AppConfig.ready; the queries app, which raises and closes edit-check queries, asks before
raising and closes an open query once the fact holds. The protocol names the fact; a name no
app registered answers nothing (and the Django system check ``queries.E001`` says so).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: why a check is answered: English, or a ``queries.wording.part`` ({"template", "params"})
Because = str | dict[str, Any]

_answers: dict[str, Callable[[object], Because | None]] = {}


def register(name: str, answer: Callable[[object], Because | None]) -> None:
    _answers[name] = answer


def registered() -> frozenset[str]:
    return frozenset(_answers)


def answered(check, form_record) -> Because | None:
    """Why ``check`` needs no query on ``form_record`` (None: it does, if it fails)."""
    name = getattr(check, "answered_by", None)
    if not name or name not in _answers:
        return None
    return _answers[name](form_record)
