"""Writing to the audit trail. Every service that changes data calls ``record`` inside its transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from trialdesk.audit.chain import GENESIS_HASH, HASHED_FIELDS, event_hash, verify_chain
from trialdesk.audit.models import AuditChainHead, AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who acts: a user with the role they act in (or the system itself)."""

    user_id: int | None
    username: str
    role: str

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(user_id=None, username=name, role="system")

    @classmethod
    def for_user(cls, user, role: str) -> Actor:
        return cls(user_id=user.pk, username=user.get_username(), role=role)


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
) -> AuditEvent:
    """Append one event to the chain. Must run inside the caller's transaction, so the
    event and the change it describes are written together or not at all."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record must run inside transaction.atomic()")
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        head = AuditChainHead.objects.create(pk=1, last_sequence=0, last_hash=GENESIS_HASH)
    event = AuditEvent(
        sequence=head.last_sequence + 1,
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
        object_label=object_label,
        field=field,
        old_value=old_value,
        new_value=new_value,
        reason=reason,
        previous_hash=head.last_hash,
    )
    event.hash = event_hash({name: getattr(event, name) for name in HASHED_FIELDS})
    event.save()
    AuditChainHead.objects.filter(pk=1).update(last_sequence=event.sequence, last_hash=event.hash)
    return event


def verify():
    """Recompute the whole chain from the database, streaming in sequence order."""
    head = AuditChainHead.objects.filter(pk=1).first()
    rows = AuditEvent.objects.order_by("sequence").values(*HASHED_FIELDS, "hash").iterator(chunk_size=2000)
    return verify_chain(
        rows,
        head_sequence=head.last_sequence if head else 0,
        head_hash=head.last_hash if head else None,
    )
