"""The user's API tokens for the current study (``/studies/<NCT id>/account/api-tokens/``):
listed, made (the token shown once, on the answer to the request that made it) and revoked.
Thin: parse the request, call ``api.tokens``, render."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from trialdesk.api.models import ApiToken
from trialdesk.api.tokens import MAX_EXPIRY_DAYS, TokenError, create_token, revoke_token, tokens_of
from trialdesk.studies.access import study_access
from trialdesk.studies.services import request_study

NEW_TOKEN_KEY = "api_new_token"


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("To tell your tokens apart, e.g. the script that uses it."),
    )
    expires_days = forms.IntegerField(
        label=gettext_lazy("Valid for (days)"),
        min_value=1,
        max_value=MAX_EXPIRY_DAYS,
        required=False,
        initial=90,
        help_text=gettext_lazy("Leave empty for a token that does not expire."),
    )


def _member_study(request):
    study = request_study(request)
    if not study_access(request.user, study).roles:
        raise Http404
    return study


def _page(request, study, form, new_token=None, status=200):
    context = {"tokens": list(tokens_of(request.user, study)), "form": form, "new_token": new_token}
    return render(request, "api/tokens.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def tokens_page(request):
    study = _member_study(request)
    if request.method == "GET":
        # The token made by the POST just before, shown on this one answer and then forgotten.
        new_token = request.session.pop(NEW_TOKEN_KEY, None)
        return _page(request, study, TokenForm(), new_token=new_token)
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, study, form, status=400)
    try:
        made = create_token(
            request.user,
            study,
            expires_days=form.cleaned_data["expires_days"],
            name=form.cleaned_data["name"],
        )
    except TokenError as exc:
        form.add_error(None, str(exc))
        return _page(request, study, form, status=400)
    # Shown once, on the page the browser is sent to (a reload there makes no second token);
    # only its hash is stored with the token.
    request.session[NEW_TOKEN_KEY] = {"raw": made.raw, "prefix": made.token.prefix}
    return redirect("api-tokens")


@login_required
@require_POST
def revoke_page(request):
    study = _member_study(request)
    token_id = request.POST.get("token", "")
    token = None
    if token_id.isdigit():
        token = ApiToken.objects.filter(pk=int(token_id), user=request.user, study=study).first()
    if token is None:
        raise Http404  # another user's token does not exist for this one
    try:
        revoke_token(token)
    except TokenError:
        messages.info(request, _("This token was already revoked."))
    else:
        messages.success(
            request, _("Token %(prefix)s… revoked: it no longer works.") % {"prefix": token.prefix}
        )
    return redirect("api-tokens")
