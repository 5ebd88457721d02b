"""The administration pages (sponsor administrator), the user-access history (and the study's
audit-viewing roles), the invitation link, and every user's own account page. Thin: parse the
request, call ``administration.services``, render.

Access: the pages of the study's users need MANAGE_USERS (403 without it). A user or a
membership outside the viewer's sites is not found (404) whatever their role, as every
site-scoped object of the project."""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, reverse, set_script_prefix
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from trialdesk.administration import forms as admin_forms
from trialdesk.administration import services
from trialdesk.administration.services import AdministrationRefused
from trialdesk.studies.access import Permission, StudyAccess, study_access
from trialdesk.studies.models import ALL_SITES_ROLES, Membership, Role
from trialdesk.studies.services import request_study

_NOT_MAILED = gettext_lazy(
    "The e-mail to %(email)s could not be sent (the account is kept): "
    "send a new invitation once the mail server answers."
)


def _admin(request, permission: Permission = Permission.MANAGE_USERS) -> tuple:
    study = request_study(request)
    access = study_access(request.user, study)
    if not access.can(permission):
        raise PermissionDenied
    return study, access


def _in_viewers_scope(access: StudyAccess, site_ids: set) -> bool:
    """A site-scoped viewer (a monitor, an investigator) sees a user or a membership only at
    one of their own sites; an every-site viewer sees all."""
    if None in access.roles_by_site:
        return True
    return bool(site_ids & access.site_ids)


def _target_user(request, user_id: int):
    study = request_study(request)
    access = study_access(request.user, study)
    user = services.study_user(study, user_id)
    if user is None:
        raise Http404
    sites = set(Membership.objects.filter(user=user, study=study).values_list("site_id", flat=True))
    if not _in_viewers_scope(access, sites):
        raise Http404
    if not access.can(Permission.MANAGE_USERS):
        raise PermissionDenied
    return study, access, user


def _invitation_page_url(request) -> str:
    """The absolute address of the invitation page, outside the study's prefix (the invitee
    holds no session yet); TRIALDESK_BASE_URL when set (the address mail readers reach)."""
    base = getattr(settings, "TRIALDESK_BASE_URL", "") or f"{request.scheme}://{request.get_host()}"
    outer = get_script_prefix()
    set_script_prefix(getattr(request, "root_prefix", "/") or "/")
    try:
        path = reverse("administration:accept-invitation")
    finally:
        set_script_prefix(outer)
    return f"{base.rstrip('/')}{path}"


# --------------------------------------------------------------------------- users


@login_required
@require_http_methods(["GET"])
def users(request):
    study, access = _admin(request)
    people = list(services.study_users(study).prefetch_related("memberships__site"))
    locked = services.locked_usernames(u.get_username() for u in people)
    from django_otp.plugins.otp_totp.models import TOTPDevice

    enrolled = set(
        TOTPDevice.objects.filter(user__in=people, confirmed=True).values_list("user_id", flat=True)
    )
    rows = []
    for person in people:
        held = [m for m in person.memberships.all() if m.study_id == study.pk and m.active]
        rows.append(
            {
                "user": person,
                "roles": [_role_at(m) for m in held],
                "locked": person.get_username() in locked,
                "two_factor": person.pk in enrolled,
                "invited": not person.has_usable_password(),
            }
        )
    return render(request, "administration/users.html", {"rows": rows})


def _role_at(membership: Membership) -> str:
    label = Role(membership.role).label if membership.role in Role.values else membership.role
    if membership.site_id:
        return f"{label} · {membership.site.code}"
    if membership.role in ALL_SITES_ROLES:
        return str(label)
    return _("%(role)s · every site") % {"role": label}


@login_required
@require_http_methods(["GET", "POST"])
def invite(request):
    study, access = _admin(request)
    form = admin_forms.InviteForm(request.POST or None, study=study)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                user, _membership = services.invite_user(
                    request.user,
                    access,
                    study,
                    email=data["email"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    role=data["role"],
                    site=data["site"],
                    page_url=_invitation_page_url(request),
                )
            except AdministrationRefused as refusal:
                form.add_error(None, refusal.message)
            else:
                if getattr(user, "invitation_mailed", None) is False:
                    messages.warning(request, _NOT_MAILED % {"email": user.email})
                    return redirect("administration:user", user_id=user.pk)
                messages.success(
                    request,
                    _("%(name)s is invited: the link to choose a password was sent to %(email)s.")
                    % {"name": user.get_full_name(), "email": user.email},
                )
                return redirect("administration:user", user_id=user.pk)
        status = 400
    return render(request, "administration/invite.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET"])
def user_page(request, user_id: int):
    study, access, person = _target_user(request, user_id)
    memberships = (
        Membership.objects.filter(user=person, study=study)
        .select_related("site")
        .order_by("-active", "-started_on")
    )
    context = {
        "person": person,
        "memberships": memberships,
        "membership_form": admin_forms.MembershipForm(study=study),
        "reason_form": admin_forms.ReasonForm(),
        "end_form": admin_forms.EndMembershipForm(),
        "locked": person.get_username() in services.locked_usernames([person.get_username()]),
        "two_factor": services.has_two_factor_device(person),
        "invited": not person.has_usable_password(),
        "is_self": person.pk == request.user.pk,
        "events": services.account_events(study, person),
    }
    return render(request, "administration/user.html", context)


def _account_action(request, user_id: int, action, done: str):
    study, access, person = _target_user(request, user_id)
    form = admin_forms.ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("administration:user", user_id=person.pk)
    try:
        action(request.user, access, study, person, form.cleaned_data["reason"])
    except AdministrationRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, done % {"name": person.get_full_name() or person.get_username()})
    return redirect("administration:user", user_id=person.pk)


@login_required
@require_POST
def deactivate(request, user_id: int):
    return _account_action(
        request,
        user_id,
        services.deactivate_user,
        _("%(name)s's account is deactivated: they can no longer sign in."),
    )


@login_required
@require_POST
def reactivate(request, user_id: int):
    return _account_action(
        request, user_id, services.reactivate_user, _("%(name)s's account is active again.")
    )


@login_required
@require_POST
def reset_two_factor(request, user_id: int):
    return _account_action(
        request,
        user_id,
        services.reset_two_factor,
        _("%(name)s's two-step sign-in is reset: they set it up again from a QR code at their next sign-in."),
    )


@login_required
@require_POST
def unlock(request, user_id: int):
    return _account_action(request, user_id, services.unlock_user, _("%(name)s may sign in again."))


@login_required
@require_POST
def resend_invitation(request, user_id: int):
    study, access, person = _target_user(request, user_id)
    try:
        services.resend_invitation(
            request.user, access, study, person, page_url=_invitation_page_url(request)
        )
    except AdministrationRefused as refusal:
        messages.error(request, refusal.message)
    else:
        if getattr(person, "invitation_mailed", None) is False:
            messages.warning(request, _NOT_MAILED % {"email": person.email})
            return redirect("administration:user", user_id=person.pk)
        messages.success(
            request,
            _("A new invitation was sent to %(email)s; the earlier link no longer works.")
            % {"email": person.email},
        )
    return redirect("administration:user", user_id=person.pk)


@login_required
@require_POST
def add_membership(request, user_id: int):
    study, access, person = _target_user(request, user_id)
    form = admin_forms.MembershipForm(request.POST, study=study)
    if form.is_valid():
        try:
            services.add_membership(
                request.user, access, study, person, form.cleaned_data["role"], form.cleaned_data["site"]
            )
        except AdministrationRefused as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, _("Role added."))
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("administration:user", user_id=person.pk)


@login_required
@require_POST
def end_membership(request, membership_id: int):
    study = request_study(request)
    access = study_access(request.user, study)
    membership = (
        Membership.objects.filter(pk=membership_id, study=study).select_related("user", "site").first()
    )
    if membership is None or not _in_viewers_scope(access, {membership.site_id}):
        raise Http404
    if not access.can(Permission.MANAGE_USERS):
        raise PermissionDenied
    form = admin_forms.EndMembershipForm(request.POST)
    if form.is_valid():
        try:
            services.end_membership(request.user, access, study, membership, form.cleaned_data["reason"])
        except AdministrationRefused as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, _("The role has ended today."))
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("administration:user", user_id=membership.user_id)


# --------------------------------------------------------------------------- sites


@login_required
@require_http_methods(["GET", "POST"])
def sites(request):
    study, access = _admin(request, Permission.MANAGE_STUDY)
    status = 200
    if request.method == "POST":
        form = admin_forms.SiteActivationForm(request.POST)
        site = study.sites.filter(code=request.POST.get("site", "")).first()
        if site is None:
            raise Http404
        if form.is_valid():
            try:
                services.set_site_activation(
                    request.user, access, study, site, form.cleaned_data["activated_on"]
                )
            except AdministrationRefused as refusal:
                messages.error(request, refusal.message)
                status = 400
            else:
                messages.success(
                    request, _("The activation date of %(site)s is saved.") % {"site": site.name}
                )
                return redirect("administration:sites")
        else:
            messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
            status = 400
    rows = [
        {
            "site": site,
            "form": admin_forms.SiteActivationForm(
                initial={"site": site.code, "activated_on": site.activated_on}, auto_id=f"id_%s_{site.code}"
            ),
        }
        for site in study.sites.order_by("code")
    ]
    return render(request, "administration/sites.html", {"rows": rows}, status=status)


# --------------------------------------------------------------------------- the access history


def _history(request):
    study = request_study(request)
    access = study_access(request.user, study)
    if not services.can_view_history(access):
        raise PermissionDenied
    return study, services.access_history(study, access)


@login_required
@require_http_methods(["GET"])
def access_history(request):
    study, periods = _history(request)
    return render(
        request, "administration/access_history.html", {"periods": periods, "today": services.today()}
    )


@login_required
@require_http_methods(["GET"])
def access_history_csv(request):
    study, periods = _history(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{study.nct_id}-user-access-history.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            _("Name"),
            pgettext("administration", "Username"),
            _("Role"),
            _("Site"),
            _("From"),
            _("To"),
            _("Granted by"),
            _("Ended by"),
            _("Reason for ending"),
        ]
    )
    for p in periods:
        writer.writerow(
            [
                p.user_name,
                p.username,
                p.role_label,
                p.site_code or _("Every site"),
                p.started_on.isoformat(),
                p.ended_on.isoformat() if p.ended_on else _("still held"),
                p.granted_by,
                p.ended_by,
                p.end_reason,
            ]
        )
    return response


# --------------------------------------------------------------------------- the invitation link


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def accept_invitation(request):
    if request.user.is_authenticated:
        messages.warning(request, _("You are signed in: sign out first to accept an invitation."))
        return redirect("home")
    token = request.POST.get("t") or request.GET.get("t") or ""
    try:
        invitee = services.invited_user(token)
    except services.InvitationInvalid as invalid:
        return render(
            request, "administration/invitation_invalid.html", {"expired": invalid.expired}, status=404
        )
    form = SetPasswordForm(invitee, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.accept_invitation(invitee, form)
        messages.success(
            request,
            _("Your password is set. Sign in with your username %(username)s.")
            % {"username": invitee.get_username()},
        )
        return redirect("login")
    status = 400 if form.errors else 200
    return render(
        request,
        "administration/invitation.html",
        {"form": form, "invitee": invitee, "token": token},
        status=status,
    )


# --------------------------------------------------------------------------- one's own account


@never_cache
@sensitive_post_parameters("old_password", "new_password1", "new_password2", "password")
@login_required
@require_http_methods(["GET", "POST"])
def account(request):
    user = request.user
    password_form = PasswordChangeForm(user)
    device_form = admin_forms.ConfirmPasswordForm(prefix="device")
    language_form = admin_forms.LanguageForm(initial={"language": translation.get_language()})
    status = 200
    action = request.POST.get("action")
    if request.method == "POST":
        if action == "password":
            password_form = PasswordChangeForm(user, request.POST)
            if password_form.is_valid():
                services.change_password(user, password_form)
                update_session_auth_hash(request, user)
                messages.success(request, _("Your password is changed."))
                return redirect("administration:account")
        elif action == "device":
            device_form = admin_forms.ConfirmPasswordForm(request.POST, prefix="device")
            if device_form.is_valid():
                if services.restart_two_factor(user, device_form.cleaned_data["password"]):
                    return redirect(f"{reverse('two-factor-setup')}?next={reverse('administration:account')}")
                device_form.add_error("password", _("This is not your password."))
        elif action == "language":
            language_form = admin_forms.LanguageForm(request.POST)
            if language_form.is_valid():
                code = language_form.cleaned_data["language"]
                translation.activate(code)
                messages.success(request, _("Your language is saved."))
                response = redirect("administration:account")
                # LocaleMiddleware reads it on every request (there is no user profile to keep it on)
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    code,
                    max_age=settings.LANGUAGE_COOKIE_AGE,
                    path=settings.LANGUAGE_COOKIE_PATH,
                    domain=settings.LANGUAGE_COOKIE_DOMAIN,
                    secure=settings.LANGUAGE_COOKIE_SECURE,
                    httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                    samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                )
                return response
        else:
            raise Http404
        status = 400
    context = {
        "password_form": password_form,
        "device_form": device_form,
        "language_form": language_form,
        "two_factor": services.has_two_factor_device(user),
        "in_study": getattr(request, "study", None) is not None
        and bool(study_access(user, request.study).roles),
    }
    return render(request, "administration/account.html", context, status=status)
