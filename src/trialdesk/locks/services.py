"""Locks at record, subject, site and study level (DESIGN §5).

A lock sets ``locked_at`` on the form record, subject, site or study; the form service
refuses any change below a lock (``crf.services.lock_reason``). Locking and unlocking
are data-manager actions (Permission.LOCK), each written to the audit trail in the same
transaction; an unlock needs a reason. Who locked, when and why is read back from the
trail (``lock_info``), so the locked models need no extra columns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from trialdesk.audit.models import AuditEvent
from trialdesk.audit.services import Actor, audited, record
from trialdesk.crf.models import FormRecord
from trialdesk.studies.access import Permission, require, study_access
from trialdesk.studies.models import Site, Study
from trialdesk.studies.scoping import system_read
from trialdesk.subjects.models import Subject

Lockable = FormRecord | Subject | Site | Study

# level name (in URLs and audit object types) → model
LEVELS: dict[str, type] = {"record": FormRecord, "subject": Subject, "site": Site, "study": Study}
OBJECT_TYPES = {FormRecord: "form_record", Subject: "subject", Site: "site", Study: "study"}


class LockRefused(Exception):
    """Nothing was locked or unlocked; ``message`` says why, in the user's language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def level_of(target: Lockable) -> str:
    for level, model in LEVELS.items():
        if isinstance(target, model):
            return level
    raise TypeError(f"{type(target).__name__} cannot be locked")


def _where(target: Lockable) -> tuple[Study, Site | None]:
    if isinstance(target, FormRecord):
        return target.subject.study, target.subject.site
    if isinstance(target, Subject):
        return target.study, target.site
    if isinstance(target, Site):
        return target.study, target
    return target, None


def label_of(target: Lockable) -> str:
    if isinstance(target, FormRecord):
        return target.label
    if isinstance(target, Subject):
        return target.label
    if isinstance(target, Site):
        return f"{target.code} {target.name}"
    return target.nct_id


def _check_permission(user, target: Lockable) -> tuple[Actor, Study, Site | None]:
    study, site = _where(target)
    access = study_access(user, study)
    if site is not None:
        require(access, Permission.LOCK, site.pk)
    else:
        # The whole study: only someone who holds the lock permission over every site.
        require(access, Permission.LOCK)
        if access.site_ids != access.all_site_ids or not all(
            access.can(Permission.LOCK, site_id) for site_id in access.all_site_ids
        ):
            raise PermissionDenied
    return Actor.for_user(user, access.role_for(Permission.LOCK, site.pk if site else None)), study, site


def _set_lock(user, target: Lockable, *, locking: bool, reason: str) -> Lockable:
    actor, study, site = _check_permission(user, target)
    reason = (reason or "").strip()
    if not locking and not reason:
        raise LockRefused(_("Give a reason to unlock: nothing was unlocked."))
    model = type(target)
    with audited():
        current = system_read(model, "lock, after its permission check").select_for_update(of=("self",)).get(pk=target.pk)
        if locking and current.locked_at is not None:
            raise LockRefused(_("This is already locked."))
        if not locking and current.locked_at is None:
            raise LockRefused(_("This is not locked."))
        old = current.locked_at
        current.locked_at = timezone.now() if locking else None
        current.save(update_fields=["locked_at"])
        record(
            actor,
            "lock" if locking else "unlock",
            study_id=study.pk,
            site=site,
            object_type=OBJECT_TYPES[model],
            object_id=current.pk,
            object_label=label_of(target),
            field="locked_at",
            old_value=old.isoformat() if old else None,
            new_value=current.locked_at.isoformat() if current.locked_at else None,
            reason=reason,
        )
    target.locked_at = current.locked_at
    return target


def lock(user, target: Lockable, *, reason: str = "") -> Lockable:
    """Lock a form record, a subject's casebook, a site or the study. Audited."""
    return _set_lock(user, target, locking=True, reason=reason)


def unlock(user, target: Lockable, *, reason: str) -> Lockable:
    """Unlock it again; refused without a reason. Audited with the reason."""
    return _set_lock(user, target, locking=False, reason=reason)


@dataclass(frozen=True)
class LockInfo:
    level: str
    label: str
    locked_at: datetime
    by: str
    reason: str


def lock_info(target: Lockable) -> LockInfo | None:
    """The lock on ``target`` itself: when, by whom and why (from the trail), or None."""
    return lock_infos([target])[0]


def lock_infos(targets: Sequence[Lockable]) -> list[LockInfo | None]:
    """``lock_info`` of each target, in order, with one read of the trail for them all."""
    ids_by_type: dict[str, set[str]] = defaultdict(set)
    for target in targets:
        if target.locked_at is not None:
            ids_by_type[OBJECT_TYPES[type(target)]].add(str(target.pk))
    latest: dict[tuple[str, str], AuditEvent] = {}
    if ids_by_type:
        objects = Q()
        for object_type, ids in ids_by_type.items():
            objects |= Q(object_type=object_type, object_id__in=ids)
        for event in AuditEvent.objects.filter(objects, action="lock").order_by("-sequence"):
            latest.setdefault((event.object_type, event.object_id), event)
    infos: list[LockInfo | None] = []
    for target in targets:
        if target.locked_at is None:
            infos.append(None)
            continue
        event = latest.get((OBJECT_TYPES[type(target)], str(target.pk)))
        infos.append(
            LockInfo(
                level=level_of(target),
                label=label_of(target),
                locked_at=target.locked_at,
                by=event.username if event else "",
                reason=event.reason if event else "",
            )
        )
    return infos


def effective_lock(target: FormRecord | Subject) -> LockInfo | None:
    """The lock that keeps this record or casebook from changing: its own, else the
    nearest above it (subject, site, study)."""
    chain: list[Lockable] = []
    if isinstance(target, FormRecord):
        chain.append(target)
        target = target.subject
    chain += [target, target.site, target.study]
    for item in chain:
        if item.locked_at is not None:
            return lock_info(item)
    return None
