"""``FormSaved``: what a save publishes, inside its transaction, to the apps that react to it.

The form engine knows nothing of its subscribers: queries (link, close and raise queries,
reset SDV marks), signatures (a change voids them), and later safety alerts and dosing
checks register at start-up (their ``AppConfig.ready``). A subscriber runs inside the
save's ``audited()`` block: what it writes commits with the save or not at all, and an
error in it undoes the save. A subscriber refuses a save by raising ``SaveRefusedBy``: the
user gets its message on the field it names, and nothing is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trialdesk.audit.services import Actor
from trialdesk.protocol.formdata import FormValidation


@dataclass(frozen=True)
class FormSaved:
    record: Any  # the FormRecord as written (its subject, site, study and visit loaded)
    actor: Actor
    # field code -> (value before, value after), for every field the save changed
    changes: dict[str, tuple[Any, Any]]
    validation: FormValidation
    created: bool
    reason_code: str = ""  # a ReasonForChange value, or "" (no reason was needed)
    reason_detail: str = ""
    # Query numbers the user's reason names ("query #12"), as the form page links them.
    query_ids: frozenset[int] = field(default_factory=frozenset)
    # What the save reads of the subject's other records, read once for every subscriber
    # (``crf.savereads.SaveReads``: ``reads.records(forms)``, the forms declared at start-up).
    reads: Any = None

    @property
    def changed_fields(self) -> list[str]:
        return sorted(self.changes)


@dataclass(frozen=True)
class RecordVoided(FormSaved):
    """A log entry (or any record) voided as entered in error: published on the same channel
    as saves, so that what reacts to a change reacts to it (signatures in its scope are
    voided: the record's version moved on). Its ``changes`` are empty; ``reason`` says why.
    Subscribers that treat it apart (queries close those of the record) test ``isinstance``."""

    void_reason: str = ""


class SaveRefusedBy(Exception):  # noqa: N818 (a refusal, as the form engine's FormSaveRefused)
    """Raised by a subscriber that refuses the save it is told of (an unknown drug lot on an
    infusion): ``save_form`` undoes the save and refuses it with ``message`` on the field
    ``field_code``, shown on the form page like a validation error. ``message`` is already in
    the user's language (the subscriber runs in the request)."""

    def __init__(self, field_code: str, message: str):
        super().__init__(message)
        self.field_code = field_code
        self.message = message


Subscriber = Callable[[FormSaved], None]


class _Channel:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        if subscriber not in self._subscribers:
            self._subscribers.append(subscriber)

    def publish(self, event: FormSaved) -> None:
        for subscriber in self._subscribers:
            subscriber(event)

    @property
    def subscribers(self) -> tuple[Subscriber, ...]:
        return tuple(self._subscribers)


form_saved = _Channel()
