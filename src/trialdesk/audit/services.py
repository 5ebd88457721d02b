"""Writing to the audit trail: the audited transaction every service runs in.

    with audited():
        ... change the data ...
        record(actor, "change", ...)

``audited()`` is the outermost transaction of a unit of work. ``record`` only collects
events; when the outermost ``audited()`` block ends without an error, its events are
appended in one bulk insert, with the chain head locked last and only for that insert,
just before the transaction commits (Django has no pre-commit hook, so the block is the
hook). Row locks a service takes (a subject, a query) are therefore always taken before
the head, in every service: no two services can wait on each other through the trail,
and no global lock is held while a user's work runs.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from dataclasses import dataclass
from typing import Any

from django.db import connections, transaction
from django.utils import timezone

from trialdesk.audit.chain import GENESIS_MAC, MAC_FIELDS, OPTIONAL_MAC_FIELDS, event_mac, verify_chain
from trialdesk.audit.keys import KeyRing, key_ring
from trialdesk.audit.models import AuditChainHead, AuditEvent


@dataclass(frozen=True)
class _TokenInUse:
    user_id: int
    token_id: int


_token_in_use: contextvars.ContextVar[_TokenInUse | None] = contextvars.ContextVar(
    "api_token_in_use", default=None
)


@contextlib.contextmanager
def acting_with_token(user_id: int, token_id: int):
    """Within this block, the user ``user_id`` acts through the API token ``token_id``:
    every Actor made for that user carries the token's id, and so does every event it
    records (``AuditEvent.api_token_id``). The REST and REDCap APIs open it per request."""
    reset = _token_in_use.set(_TokenInUse(user_id=user_id, token_id=token_id))
    try:
        yield
    finally:
        _token_in_use.reset(reset)


def _token_of(user_id: int | None) -> int | None:
    in_use = _token_in_use.get()
    if in_use is None or user_id is None or in_use.user_id != user_id:
        return None
    return in_use.token_id


@dataclass(frozen=True)
class Actor:
    """Who acts: a user with the role that grants what they do (or the system itself),
    and the API token they act through, if any (``acting_with_token``)."""

    user_id: int | None
    username: str
    role: str
    token_id: int | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(user_id=None, username=name, role="system")

    @classmethod
    def for_user(cls, user, role: str) -> Actor:
        return cls(user_id=user.pk, username=user.get_username(), role=role, token_id=_token_of(user.pk))

    @classmethod
    def person(cls, user) -> Actor:
        """A user acting as themself, in no clinical role (sign-in, their own account)."""
        return cls(user_id=user.pk, username=user.get_username(), role="", token_id=_token_of(user.pk))


class _Pending(threading.local):
    """Per thread (so per database connection): the events of the open audited block."""

    def __init__(self) -> None:
        self.depth = 0
        self.events: list[AuditEvent] = []


_pending: dict[str, _Pending] = {}


def _state(using: str) -> _Pending:
    if using not in _pending:
        _pending.setdefault(using, _Pending())
    return _pending[using]


@contextlib.contextmanager
def audited(using: str = "default"):
    """A transaction whose audit events are appended, in one insert, as it ends.

    Nested blocks are savepoints: the events recorded inside one that fails are dropped
    with its changes. Only the outermost block writes the events.
    """
    state = _state(using)
    outermost = state.depth == 0
    mark = len(state.events)
    state.depth += 1
    try:
        with transaction.atomic(using=using):
            try:
                yield
            except BaseException:
                del state.events[mark:]
                raise
            if outermost and state.events:
                events, state.events = state.events, []
                _append(events, using)
    finally:
        state.depth -= 1
        if outermost:
            state.events = []


def record(
    actor: Actor,
    action: str,
    *,
    study_id: int | None = None,
    site=None,
    object_type: str = "",
    object_id: Any = "",
    object_label: str = "",
    field: str = "",
    old_value: Any = None,
    new_value: Any = None,
    reason: str = "",
    using: str = "default",
) -> AuditEvent:
    """Collect one event of the open ``audited()`` block: written with the change it
    describes, or not at all."""
    state = _state(using)
    if state.depth == 0:
        raise RuntimeError("audit.record must run inside `with audited():`")
    event = AuditEvent(
        occurred_at=timezone.now(),
        study_id=study_id,
        site_id=getattr(site, "pk", None),
        site_code=getattr(site, "code", "") or "",
        user_id=actor.user_id,
        username=actor.username,
        role=actor.role,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_label=object_label[:200],
        field=field,
        old_value=old_value,
        new_value=new_value,
        reason=reason,
        api_token_id=actor.token_id,
    )
    state.events.append(event)
    return event


def _append(events: list[AuditEvent], using: str) -> None:
    """Chain and insert the events: the head is locked here, last, and released at commit."""
    ring = key_ring()
    found = _locked_head(using)
    if found is not None:
        sequence, previous = found
    else:
        head = _genesis_head(using)
        sequence, previous = head.last_sequence, head.last_mac
    for event in events:
        sequence += 1
        event.sequence = sequence
        event.previous_mac = previous
        event.key_id = ring.current_id
        event.mac = event_mac(
            {name: getattr(event, name) for name in MAC_FIELDS + OPTIONAL_MAC_FIELDS}, ring.current
        )
        previous = event.mac
    _insert(events, using)
    _move_head(using, sequence, previous)


# The trail's three statements run at every audited write: written once here, in SQL, rather
# than compiled by the ORM at each save (the same statements it would send, each value
# converted by its field as the ORM converts it).
_HEAD = AuditChainHead._meta.db_table
_EVENT_FIELDS = tuple(f for f in AuditEvent._meta.concrete_fields if not f.primary_key)


def _insert(events: list[AuditEvent], using: str) -> None:
    """The events in one statement (its rows sent together: executemany)."""
    connection = connections[using]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(AuditEvent._meta.db_table),
        ", ".join(quote(f.column) for f in _EVENT_FIELDS),
        ", ".join(["%s"] * len(_EVENT_FIELDS)),
    )
    rows = [[f.get_db_prep_save(f.pre_save(e, True), connection) for f in _EVENT_FIELDS] for e in events]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    for event in events:
        event._state.adding, event._state.db = False, using


def _locked_head(using: str) -> tuple[int, str] | None:
    """The head (last sequence, last MAC), row-locked until the transaction ends."""
    connection = connections[using]
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT last_sequence, last_mac FROM {connection.ops.quote_name(_HEAD)} WHERE id = %s{lock}", [1]
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


def _move_head(using: str, sequence: int, mac: str) -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(_HEAD)} SET last_sequence = %s, last_mac = %s WHERE id = %s",
            [sequence, mac, 1],
        )


class ChainHeadMissing(RuntimeError):
    pass


def _genesis_head(using: str) -> AuditChainHead:
    """The head row comes from a migration. Only an empty trail may get a new one (a test
    database emptied by Django's flush on SQLite); a trail with events and no head has been
    tampered with, and nothing more is written to it."""
    if AuditEvent.objects.using(using).exists():
        raise ChainHeadMissing("the audit chain head is missing: run `trialdesk audit verify`")
    return AuditChainHead.objects.using(using).create(pk=1, last_sequence=0, last_mac=GENESIS_MAC)


def head(using: str = "default") -> AuditChainHead:
    return AuditChainHead.objects.using(using).get(pk=1)


def verify(ring: KeyRing | None = None, anchor: dict | None = None, using: str = "default"):
    """Recompute the whole chain from the database, streaming in sequence order."""
    ring = ring or key_ring()
    current = AuditChainHead.objects.using(using).filter(pk=1).first()
    rows = (
        AuditEvent.objects.using(using)
        .order_by("sequence")
        .values(*MAC_FIELDS, *OPTIONAL_MAC_FIELDS, "mac")
        .iterator(chunk_size=2000)
    )
    return verify_chain(
        rows,
        ring.keys,
        # A missing head row is itself damage: compared as an empty chain, it is reported.
        head_sequence=current.last_sequence if current else 0,
        head_mac=current.last_mac if current else None,
        anchor=anchor,
    )
