"""Administration of a study without Django's admin site (issue 15): users invited by e-mail,
deactivated and reactivated, their second factor reset, their lockout cleared; memberships
(role x site) added and ended, never deleted; the sites' activation dates; the user-access
history an inspector reads. Every change runs in ``audited()`` and records its event in the
study's trail; views only parse, call these and render."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from trialdesk.accounts import services as accounts
from trialdesk.audit.models import AuditEvent
from trialdesk.audit.services import Actor, audited, record
from trialdesk.studies.access import ROLE_PERMISSIONS, Permission, StudyAccess
from trialdesk.studies.models import ALL_SITES_ROLES, Membership, Role, Site, Study
from trialdesk.studies.services import grant_role

logger = logging.getLogger(__name__)

INVITATION_SALT = "trialdesk.administration.invitation"
REASON_MAX = 500
# Roles that need a site: a null site would mean every site (allowed for a monitor only).
SITE_ROLES = frozenset({Role.INVESTIGATOR, Role.COORDINATOR})


class AdministrationRefused(Exception):
    """A change the administrator asked for that cannot be made, with the reason in their language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def admin_actor(user, access: StudyAccess, permission: Permission = Permission.MANAGE_USERS) -> Actor:
    return Actor.for_user(user, access.role_for(permission))


def today() -> dt.date:
    """The study's day (Europe/Paris, the project's time zone)."""
    return timezone.localdate()


# --------------------------------------------------------------------------- users of a study


def study_users(study: Study):
    """Everyone who holds or held a role in the study (an invited user holds one from the start)."""
    return (
        get_user_model()
        .objects.filter(memberships__study=study)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def study_user(study: Study, user_id: int):
    return study_users(study).filter(pk=user_id).first()


def locked_usernames(usernames) -> set[str]:
    """The usernames django-axes refuses now (failures at the limit within the cool-off)."""
    from axes.models import AccessAttempt

    limit = int(getattr(settings, "AXES_FAILURE_LIMIT", 5))
    attempts = AccessAttempt.objects.filter(username__in=list(usernames), failures_since_start__gte=limit)
    cool_off = getattr(settings, "AXES_COOLOFF_TIME", None)
    if isinstance(cool_off, dt.timedelta):
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    return set(attempts.values_list("username", flat=True))


def has_two_factor_device(user) -> bool:
    return accounts.confirmed_device(user) is not None


# --------------------------------------------------------------------------- invitations


def invitation_max_age() -> int:
    """Seconds an invitation link stays valid (TRIALDESK_INVITATION_DAYS, 7 by default)."""
    return int(float(getattr(settings, "TRIALDESK_INVITATION_DAYS", 7)) * 86400)


def _account_state(user) -> str:
    """Changes when the invitee sets a password (or is deactivated, or invited again): an
    invitation made before that no longer matches, so a link works once."""
    text = f"{user.pk}|{user.password}|{user.last_login}|{user.is_active}"
    return salted_hmac(INVITATION_SALT, text).hexdigest()[:20]


def invitation_token(user) -> str:
    return signing.dumps({"u": user.pk, "s": _account_state(user)}, salt=INVITATION_SALT)


class InvitationInvalid(Exception):
    def __init__(self, expired: bool = False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def invited_user(token: str):
    """The user an invitation link is for, or ``InvitationInvalid`` (expired, already used,
    forged, or for an account that was deactivated since)."""
    try:
        payload = signing.loads(str(token or ""), salt=INVITATION_SALT, max_age=invitation_max_age())
    except signing.SignatureExpired:
        raise InvitationInvalid(expired=True) from None
    except signing.BadSignature:
        raise InvitationInvalid() from None
    if not isinstance(payload, dict):
        raise InvitationInvalid()
    user = get_user_model().objects.filter(pk=payload.get("u")).first()
    if user is None or not user.is_active or user.has_usable_password():
        raise InvitationInvalid()
    if not constant_time_compare(str(payload.get("s", "")), _account_state(user)):
        raise InvitationInvalid()
    return user


def invitation_link(page_url: str, token: str) -> str:
    """``page_url``: the absolute address of the invitation page (the view knows it)."""
    return f"{page_url}?t={token}"


def _site_refusal(study: Study, role: str, site: Site | None) -> str | None:
    if site is not None and site.study_id != study.pk:
        return _("This site is not a site of the study.")
    if role in SITE_ROLES and site is None:
        return _("This role is held at one site: choose the site.")
    if role in ALL_SITES_ROLES and site is not None:
        return _("This role covers every site of the study: leave the site empty.")
    return None


def _send_invitation(user, study: Study, link: str, inviter) -> None:
    """The invitation e-mail (after the commit). A mail server that refuses leaves the account
    invited, ``user.invitation_mailed`` False and a log line: the administrator sends it again."""
    try:
        _mail_invitation(user, study, link, inviter)
    except Exception:  # noqa: BLE001 (any failure of the mail server: the account stays, the page says so)
        logger.warning("the invitation of user %s could not be e-mailed", user.pk, exc_info=True)
        user.invitation_mailed = False
    else:
        user.invitation_mailed = True


def _mail_invitation(user, study: Study, link: str, inviter) -> None:
    days = invitation_max_age() // 86400
    subject = _("Your trialdesk account for %(study)s") % {"study": study.nct_id}
    body = _(
        "Hello %(name)s,\n\n%(inviter)s invites you to work on the study %(study)s in trialdesk.\n"
        "Open this link to choose your password, then sign in with your username %(username)s "
        "and set up your two-step sign-in:\n\n%(link)s\n\n"
        "The link works once and for %(days)d days.\n"
    ) % {
        "name": user.get_full_name() or user.get_username(),
        "inviter": inviter.get_full_name() or inviter.get_username(),
        "study": study.nct_id,
        "username": user.get_username(),
        "link": link,
        "days": days,
    }
    send_mail(subject, body, None, [user.email])


def invite_user(
    admin,
    access: StudyAccess,
    study: Study,
    *,
    email: str,
    first_name: str,
    last_name: str,
    role: str,
    site: Site | None,
    page_url: str,
):
    """Create the account (no usable password yet), its first role in the study, and e-mail
    the one-time link (after the transaction commits: no mail for an account that is not)."""
    User = get_user_model()
    email = email.strip()
    username = email.lower()[:150]
    if (
        User.objects.filter(email__iexact=email).exists()
        or User.objects.filter(username__iexact=username).exists()
    ):
        raise AdministrationRefused(
            _("A user with this e-mail address exists already: add a role to them instead.")
        )
    refusal = _site_refusal(study, role, site)
    if refusal:
        raise AdministrationRefused(refusal)
    actor = admin_actor(admin, access)
    with audited():
        user = User(
            username=username, email=email, first_name=first_name.strip(), last_name=last_name.strip()
        )
        user.set_unusable_password()
        user.save()
        record(
            actor,
            "user_invited",
            study_id=study.pk,
            object_type="user",
            object_id=user.pk,
            object_label=username,
            new_value={"email": email, "name": user.get_full_name()},
        )
        membership = _grant(actor, user, study, role, site)
        link = invitation_link(page_url, invitation_token(user))
        transaction.on_commit(lambda: _send_invitation(user, study, link, admin))
    return user, membership


def resend_invitation(admin, access: StudyAccess, study: Study, user, *, page_url: str) -> None:
    """A new link for an invitee who has not set a password yet; the earlier link stops working."""
    if user.has_usable_password():
        raise AdministrationRefused(
            _("This user has set a password already: there is no invitation to send.")
        )
    if not user.is_active:
        raise AdministrationRefused(_("This account is deactivated: reactivate it first."))
    actor = admin_actor(admin, access)
    with audited():
        user.set_unusable_password()  # a new random mark: the earlier link no longer matches
        user.save(update_fields=["password"])
        record(
            actor,
            "invitation_sent",
            study_id=study.pk,
            object_type="user",
            object_id=user.pk,
            object_label=user.get_username(),
        )
        link = invitation_link(page_url, invitation_token(user))
        transaction.on_commit(lambda: _send_invitation(user, study, link, admin))


def accept_invitation(user, set_password_form) -> None:
    """The invitee's password (already validated by the password validators), audited."""
    with audited():
        set_password_form.save()
        record(
            Actor.person(user),
            "invitation_accepted",
            object_type="user",
            object_id=user.pk,
            object_label=user.get_username(),
        )


# --------------------------------------------------------------------------- account actions


def _user_event(actor: Actor, study: Study, user, action: str, reason: str = "", **values) -> None:
    record(
        actor,
        action,
        study_id=study.pk,
        object_type="user",
        object_id=user.pk,
        object_label=user.get_username(),
        reason=reason,
        new_value=values or None,
    )


def deactivate_user(admin, access: StudyAccess, study: Study, user, reason: str = "") -> None:
    if user.pk == admin.pk:
        raise AdministrationRefused(_("You cannot deactivate your own account."))
    if not user.is_active:
        raise AdministrationRefused(_("This account is deactivated already."))
    with audited():
        user.is_active = False
        user.save(update_fields=["is_active"])
        _user_event(admin_actor(admin, access), study, user, "user_deactivated", reason)


def reactivate_user(admin, access: StudyAccess, study: Study, user, reason: str = "") -> None:
    if user.is_active:
        raise AdministrationRefused(_("This account is active already."))
    with audited():
        user.is_active = True
        user.save(update_fields=["is_active"])
        _user_event(admin_actor(admin, access), study, user, "user_reactivated", reason)


def reset_two_factor(admin, access: StudyAccess, study: Study, user, reason: str = "") -> int:
    """The user's TOTP devices removed: at their next sign-in they enrol again from a QR code."""
    return accounts.reset_two_factor(user, admin_actor(admin, access), reason, study_id=study.pk)


def unlock_user(admin, access: StudyAccess, study: Study, user, reason: str = "") -> int:
    """django-axes' failed attempts of the username cleared: they may sign in again now."""
    return accounts.unlock_account(user.get_username(), admin_actor(admin, access), reason, study_id=study.pk)


# --------------------------------------------------------------------------- memberships


def _where(site: Site | None) -> str:
    return site.code if site is not None else "all sites"


def _grant(actor: Actor, user, study: Study, role: str, site: Site | None) -> Membership:
    """A role from today (``Membership.started_on`` defaults to the study's day): the one
    audited grant of ``studies.services``."""
    return grant_role(user, study, role, site, actor)


def add_membership(
    admin, access: StudyAccess, study: Study, user, role: str, site: Site | None
) -> Membership:
    if role not in Role.values:
        raise AdministrationRefused(_("Choose a role."))
    refusal = _site_refusal(study, role, site)
    if refusal:
        raise AdministrationRefused(refusal)
    if not user.is_active:
        raise AdministrationRefused(_("This account is deactivated: reactivate it first."))
    if Membership.objects.filter(user=user, study=study, role=role, site=site, active=True).exists():
        raise AdministrationRefused(_("This user holds this role at this site already."))
    with audited():
        return _grant(admin_actor(admin, access), user, study, role, site)


def end_membership(
    admin, access: StudyAccess, study: Study, membership: Membership, reason: str
) -> Membership:
    """The role is no longer held from today: the row stays (active False, ended today) and the
    reason is in the trail (a regulatory change: who could see and do what, until when)."""
    reason = (reason or "").strip()
    if not reason:
        raise AdministrationRefused(_("Give the reason for ending this role."))
    if not membership.active:
        raise AdministrationRefused(_("This role has ended already."))
    if membership.user_id == admin.pk and Permission.MANAGE_USERS in ROLE_PERMISSIONS.get(
        membership.role, ()
    ):
        raise AdministrationRefused(
            _("You cannot end your own administrator role: ask another administrator.")
        )
    with audited():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        if not locked.active:
            raise AdministrationRefused(_("This role has ended already."))
        locked.active = False
        locked.ended_on = max(today(), locked.started_on)
        locked.save(update_fields=["active", "ended_on"])
        record(
            admin_actor(admin, access),
            "role_end",
            study_id=study.pk,
            site=locked.site,
            object_type="membership",
            object_id=locked.pk,
            object_label=f"{locked.user.get_username()} {locked.role} @ {_where(locked.site)}",
            old_value=locked.role,
            new_value={"ended_on": locked.ended_on.isoformat()},
            reason=reason,
        )
    return locked


# --------------------------------------------------------------------------- sites


def set_site_activation(
    admin, access: StudyAccess, study: Study, site: Site, activated_on: dt.date | None
) -> None:
    """The date the site opens for screening (screening before it is refused). A date after a
    patient already screened there is refused: it would make that screening impossible."""
    from trialdesk.studies.services import activate_site
    from trialdesk.subjects.models import Subject

    if site.study_id != study.pk:
        raise AdministrationRefused(_("This site is not a site of the study."))
    if activated_on is not None:
        first = (
            Subject.objects.system("the first screening of a site, before moving its activation")
            .filter(site=site)
            .order_by("screened_on")
            .values_list("screened_on", flat=True)
            .first()
        )
        if first is not None and first < activated_on:
            raise AdministrationRefused(
                _("A patient was screened at this site on %(date)s: the activation date cannot be later.")
                % {"date": first.isoformat()}
            )
    elif Subject.objects.system("whether a site screened anyone").filter(site=site).exists():
        raise AdministrationRefused(
            _("Patients were screened at this site: its activation date cannot be removed.")
        )
    if site.activated_on == activated_on:
        raise AdministrationRefused(_("The site has this activation date already."))
    activate_site(site, activated_on, admin_actor(admin, access, Permission.MANAGE_STUDY))


# --------------------------------------------------------------------------- the user-access history


@dataclass(frozen=True)
class AccessPeriod:
    """One role held at one site (or every site) by one user, from a day to a day (or ongoing)."""

    membership_id: int
    user_name: str
    username: str
    role: str
    role_label: str
    site_code: str
    site_name: str
    started_on: dt.date
    ended_on: dt.date | None
    granted_by: str
    ended_by: str
    end_reason: str

    @property
    def ongoing(self) -> bool:
        return self.ended_on is None


def can_view_history(access: StudyAccess) -> bool:
    return access.can(Permission.MANAGE_USERS) or access.can(Permission.VIEW_AUDIT)


def access_history(
    study: Study, access: StudyAccess, *, site_code: str = "", username: str = ""
) -> list[AccessPeriod]:
    """Who held which role at which site, from when to when: the memberships (their periods)
    with who granted and who ended each, and why, from their audit events. A viewer of some
    sites sees those sites' periods and the study-wide ones. Two queries whatever the size."""
    memberships = Membership.objects.filter(study=study).select_related("user", "site")
    if None not in access.roles_by_site:  # a site-scoped viewer (a monitor)
        from django.db.models import Q

        memberships = memberships.filter(Q(site__isnull=True) | Q(site_id__in=access.site_ids))
    if site_code:
        memberships = memberships.filter(site__code=site_code)
    if username:
        memberships = memberships.filter(user__username=username)
    memberships = list(memberships.order_by("user__last_name", "user__username", "started_on", "pk"))
    events: dict[tuple[str, str], AuditEvent] = {}
    for event in (
        AuditEvent.objects.filter(
            object_type="membership",
            action__in=("role_grant", "role_end"),
            object_id__in=[str(m.pk) for m in memberships],
        )
        .only("object_id", "action", "username", "reason", "sequence")
        .order_by("sequence")
    ):
        events[(event.object_id, event.action)] = event
    periods = []
    for m in memberships:
        grant = events.get((str(m.pk), "role_grant"))
        end = events.get((str(m.pk), "role_end"))
        periods.append(
            AccessPeriod(
                membership_id=m.pk,
                user_name=m.user.get_full_name() or m.user.get_username(),
                username=m.user.get_username(),
                role=m.role,
                role_label=str(Role(m.role).label) if m.role in Role.values else m.role,
                site_code=m.site.code if m.site_id else "",
                site_name=m.site.name if m.site_id else "",
                started_on=m.started_on,
                ended_on=m.ended_on if not m.active else None,
                granted_by=grant.username if grant else "",
                ended_by=end.username if end else "",
                end_reason=end.reason if end else "",
            )
        )
    return periods


def account_events(study: Study, user, limit: int = 50) -> list[dict]:
    """The audited changes of one user's account and roles in this study, newest first
    (invited, roles granted and ended, deactivated, two-step sign-in reset, unlocked...)."""
    from django.db.models import Q

    from trialdesk.audit_viewer.viewer import action_label

    membership_ids = [
        str(pk) for pk in Membership.objects.filter(user=user, study=study).values_list("pk", flat=True)
    ]
    events = (
        AuditEvent.objects.filter(
            Q(object_type="user", object_id=str(user.pk))
            | Q(object_type="membership", object_id__in=membership_ids)
        )
        .filter(Q(study_id=study.pk) | Q(study_id__isnull=True, action__in=ACCOUNT_ACTIONS_OF_NO_STUDY))
        .only("occurred_at", "action", "username", "site_code", "reason", "sequence")
        .order_by("-sequence")[:limit]
    )
    return [
        {
            "occurred_at": event.occurred_at,
            "action": action_label(event.action),
            "by": event.username,
            "site_code": event.site_code,
            "reason": event.reason,
        }
        for event in events
    ]


# The account's own events recorded in no study (the user acting on their own account).
ACCOUNT_ACTIONS_OF_NO_STUDY = (
    "invitation_accepted",
    "password_changed",
    "two_factor_enrolled",
    "two_factor_reset",
)


# --------------------------------------------------------------------------- one's own account


def change_password(user, password_change_form) -> None:
    """Django's PasswordChangeForm (old password checked, validators run), audited."""
    with audited():
        password_change_form.save()
        record(
            Actor.person(user),
            "password_changed",
            object_type="user",
            object_id=user.pk,
            object_label=user.get_username(),
        )


def restart_two_factor(user, password: str) -> bool:
    """The user's own device replaced: after their password is confirmed, their devices go and
    the QR code of a new one is shown (two-factor setup). False if the password is wrong."""
    if not user.check_password(password or ""):
        return False
    accounts.reset_two_factor(user, Actor.person(user), "re-enrolment by the user")
    return True
