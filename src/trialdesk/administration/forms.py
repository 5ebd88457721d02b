"""The administration's forms: every field labelled, every error in the user's language."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from trialdesk.administration.services import REASON_MAX
from trialdesk.studies.models import Role, Study


def _site_choices(study: Study) -> list[tuple[str, str]]:
    return [("", _("Every site (study-wide roles)"))] + [
        (site.code, f"{site.code} — {site.name}") for site in study.sites.order_by("code")
    ]


class _RoleAtSiteForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"))
    site = forms.ChoiceField(label=_("Site"), required=False)

    def __init__(self, *args, study: Study, **kwargs):
        super().__init__(*args, **kwargs)
        self.study = study
        self.fields["role"].choices = [("", "—")] + list(Role.choices)
        self.fields["site"].choices = _site_choices(study)
        self.fields["site"].help_text = _(
            "Investigators and coordinators work at one site; a monitor at one site or every site; "
            "the other roles cover every site."
        )

    def clean_site(self):
        code = self.cleaned_data.get("site") or ""
        if not code:
            return None
        site = self.study.sites.filter(code=code).first()
        if site is None:
            raise forms.ValidationError(_("This site is not a site of the study."))
        return site


class InviteForm(_RoleAtSiteForm):
    email = forms.EmailField(label=_("E-mail address"), max_length=150)
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)

    field_order = ["email", "first_name", "last_name", "role", "site"]


class MembershipForm(_RoleAtSiteForm):
    pass


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=REASON_MAX, required=False, widget=forms.TextInput(attrs={"size": 30})
    )


class EndMembershipForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for ending the role"),
        max_length=REASON_MAX,
        widget=forms.TextInput(attrs={"size": 30}),
        error_messages={"required": _("Give the reason for ending this role.")},
    )


class SiteActivationForm(forms.Form):
    site = forms.CharField(widget=forms.HiddenInput)
    activated_on = forms.DateField(
        label=_("Opens for screening on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class ConfirmPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # each language in its own name, as the menu of every page shows it
        self.fields["language"].choices = list(settings.LANGUAGES)
