"""Setting up a study from its protocol file, and managing who works on it (audited)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from trialdesk.audit.services import Actor, audited, record
from trialdesk.protocol import load_protocol_text
from trialdesk.studies.models import (
    STATUS_TRANSITIONS,
    Membership,
    OperationalStatus,
    Site,
    Study,
    StudyStatusChange,
)


def install_study(protocol_path: Path, actor: Actor | None = None) -> Study:
    """Create the study and its sites from a protocol file (validated first)."""
    text = Path(protocol_path).read_text(encoding="utf-8")
    protocol = load_protocol_text(text, str(protocol_path))
    actor = actor or Actor.system()
    ident = protocol.identification
    with audited():
        study = Study.objects.create(
            nct_id=ident.nct_id,
            title=ident.brief_title,
            protocol_yaml=text,
            protocol_sha256=Study.hash_protocol(text),
        )
        record(
            actor,
            "create",
            study_id=study.pk,
            object_type="study",
            object_id=study.pk,
            object_label=study.nct_id,
            new_value={"protocol_sha256": study.protocol_sha256},
        )
        for planned in protocol.sites:
            site = Site.objects.create(
                study=study,
                code=planned.code,
                name=planned.name,
                city=planned.city,
                postcode=planned.postcode or "",
                country=planned.country or "",
                time_zone=planned.time_zone,
            )
            record(
                actor,
                "create",
                study_id=study.pk,
                site=site,
                object_type="site",
                object_id=site.pk,
                object_label=f"{site.code} {site.name}",
            )
    return study


def activate_site(site: Site, activated_on, actor: Actor) -> None:
    with audited():
        old = site.activated_on
        site.activated_on = activated_on
        site.save(update_fields=["activated_on"])
        record(
            actor,
            "change",
            study_id=site.study_id,
            site=site,
            object_type="site",
            object_id=site.pk,
            object_label=site.code,
            field="activated_on",
            old_value=old.isoformat() if old else None,
            new_value=activated_on.isoformat() if activated_on else None,
        )


def create_user(
    username: str, password: str, *, first_name: str = "", last_name: str = "", email: str = "", actor: Actor
):
    User = get_user_model()
    with audited():
        user = User.objects.create_user(
            username=username, password=password, first_name=first_name, last_name=last_name, email=email
        )
        record(actor, "user_create", object_type="user", object_id=user.pk, object_label=username)
    return user


def grant_role(user, study: Study, role: str, site: Site | None, actor: Actor) -> Membership:
    with audited():
        membership = Membership.objects.create(user=user, study=study, role=role, site=site)
        record(
            actor,
            "role_grant",
            study_id=study.pk,
            site=site,
            object_type="membership",
            object_id=membership.pk,
            object_label=f"{user.get_username()} {role} @ {site.code if site else 'all sites'}",
            new_value=role,
        )
    return membership


def studies_of(user):
    """The studies in which the user holds an active role, oldest first."""
    return Study.objects.filter(memberships__user=user, memberships__active=True).distinct().order_by("pk")


def request_study(request) -> Study:
    """The study of a request to one of its pages (``trialdesk.web.study_path``), or 404."""
    study = getattr(request, "study", None)
    if study is None:
        from django.http import Http404

        raise Http404
    return study


# --------------------------------------------------------------------------- operational status

REASON_MAX = 500


class StudyStatusRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def operational_status(study: Study, on: dt.date | None = None) -> str:
    """The study's operational status on ``on`` (today by default): the latest change
    effective on or before that day; a study without any is being set up."""
    on = on or timezone.localdate()
    latest = study.status_changes.filter(effective_on__lte=on).order_by("-effective_on", "-pk").first()
    return latest.status if latest is not None else OperationalStatus.SET_UP


def status_history(study: Study) -> list[StudyStatusChange]:
    return list(study.status_changes.order_by("effective_on", "pk"))


def change_status(
    study: Study,
    status: str,
    *,
    effective_on: dt.date,
    reason: str,
    actor: Actor,
    today: dt.date | None = None,
) -> StudyStatusChange:
    """Move the study to ``status`` from ``effective_on`` (audited). The history stays in
    order: a change takes effect on or after the latest one, never in the future."""
    today = today or timezone.localdate()
    reason = (reason or "").strip()
    if status not in OperationalStatus.values:
        raise StudyStatusRefused(_("Choose a status."))
    if not reason:
        raise StudyStatusRefused(_("Say why the status changes."))
    if len(reason) > REASON_MAX:
        raise StudyStatusRefused(
            _("The reason is too long (at most %(max)d characters).") % {"max": REASON_MAX}
        )
    if effective_on > today:
        raise StudyStatusRefused(_("The date of a status change cannot be in the future."))
    with audited():
        Study.objects.select_for_update().filter(pk=study.pk).first()  # one change at a time
        latest = study.status_changes.order_by("-effective_on", "-pk").first()
        current = latest.status if latest is not None else OperationalStatus.SET_UP
        if latest is not None and effective_on < latest.effective_on:
            raise StudyStatusRefused(
                _("The last change took effect on %(date)s: a new one cannot take effect before it.")
                % {"date": latest.effective_on.isoformat()}
            )
        if status not in STATUS_TRANSITIONS[current]:
            raise StudyStatusRefused(
                _("The study cannot go from “%(old)s” to “%(new)s”.")
                % {"old": OperationalStatus(current).label, "new": OperationalStatus(status).label}
            )
        change = StudyStatusChange.objects.create(
            study=study,
            status=status,
            effective_on=effective_on,
            reason=reason,
            changed_by_id=actor.user_id,
            changed_by_name=actor.username,
        )
        record(
            actor,
            "status",
            study_id=study.pk,
            object_type="study",
            object_id=study.pk,
            object_label=study.nct_id,
            field="operational_status",
            old_value=current,
            new_value={"status": status, "effective_on": effective_on.isoformat()},
            reason=reason,
        )
    return change


def set_operational_status(
    user, study: Study, status: str, *, effective_on: dt.date, reason: str, today: dt.date | None = None
) -> StudyStatusChange:
    """The sponsor administrator changes the study's operational status."""
    from trialdesk.studies.access import Permission, require, study_access

    access = study_access(user, study)
    require(access, Permission.MANAGE_STUDY)
    actor = Actor.for_user(user, access.role_for(Permission.MANAGE_STUDY))
    return change_status(study, status, effective_on=effective_on, reason=reason, actor=actor, today=today)
