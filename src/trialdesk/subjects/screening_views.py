"""Screening in the browser: the site's screening log, screening a patient, the
eligibility verdict, enrollment, screen failure and re-screening.

Views parse the request, call ``subjects.services`` (which checks permissions, the
protocol's rules and writes the audit trail) and render. A site or subject outside
the user's scope is 404 everywhere.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.validators import RegexValidator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from trialdesk.studies.access import Permission, get_visible_or_404, require, study_access
from trialdesk.studies.listing import ListFilter
from trialdesk.studies.models import Site
from trialdesk.studies.services import request_study
from trialdesk.subjects import screening
from trialdesk.subjects.models import ON_STUDY, Consent, Sex, Subject, SubjectStatus
from trialdesk.subjects.services import (
    SubjectActionRefused,
    confirm_enrollment,
    enroll,
    record_reconsent,
    record_screen_failure,
    register_screening,
)


def today() -> dt.date:
    """The local date (Europe/Paris): a screening on the evening of the 1st is on the 1st."""
    return timezone.localdate()


# --------------------------------------------------------------------------- forms

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ScreeningForm(forms.Form):
    """A screened patient, pseudonymised: never a name, never a full birth date."""

    screened_on = forms.DateField(label=gettext_lazy("Screening date"), widget=DATE_INPUT)
    # no answer chosen in advance: the first option is empty and the field required
    sex = forms.ChoiceField(label=gettext_lazy("Sex"), choices=[("", "—"), *Sex.choices])
    year_of_birth = forms.IntegerField(
        label=gettext_lazy("Year of birth"),
        required=False,
        help_text=gettext_lazy("The year only, never the full date of birth."),
    )
    age = forms.IntegerField(
        label=gettext_lazy("or age at screening"), required=False, min_value=0, max_value=120
    )
    initials = forms.CharField(
        label=gettext_lazy("Initials (optional)"),
        required=False,
        max_length=4,
        validators=[
            RegexValidator(
                r"^[A-Za-z]{1,4}$",
                gettext_lazy("Initials only: up to 4 letters, never a name."),
            )
        ],
    )

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_screened_on(self):
        value = self.cleaned_data["screened_on"]
        if value > self.today:
            raise forms.ValidationError(_("The screening date cannot be in the future."))
        return value

    def clean(self):
        data = super().clean()
        year, age = data.get("year_of_birth"), data.get("age")
        if "year_of_birth" in self.errors or "age" in self.errors:
            return data
        if year is None and age is None:
            raise forms.ValidationError(_("Give the year of birth or the age at screening."))
        if year is not None and age is not None:
            raise forms.ValidationError(_("Give the year of birth or the age at screening, not both."))
        return data


class EnrollForm(forms.Form):
    consent_date = forms.DateField(label=gettext_lazy("Date of informed consent"), widget=DATE_INPUT)
    enrolled_on = forms.DateField(label=gettext_lazy("Enrollment date"), widget=DATE_INPUT)
    planned_first_dose_on = forms.DateField(
        label=gettext_lazy("Planned first dose"),
        widget=DATE_INPUT,
        help_text=gettext_lazy(
            "Day 0 of the visit calendar, within the screening window; the first infusion re-plans it."
        ),
    )


def _enroll_form(subject: Subject, *args, **kwargs) -> EnrollForm:
    """The enrollment form, with the consent form versions of the subject's protocol."""
    form = EnrollForm(*args, **kwargs)
    versions = subject.study.protocol.consent_versions
    if versions:
        form.fields["consent_version"] = forms.ChoiceField(
            label=gettext_lazy("Consent form version"),
            required=False,
            choices=[("", _("the version in force on the consent date"))]
            + [(v.version, _version_label(v)) for v in versions],
        )
    return form


def _version_label(version) -> str:
    title = (
        version.title_fr if translation.get_language() == "fr" and version.title_fr else version.title
    ) or ""
    label = _("version %(version)s, from %(date)s") % {
        "version": version.version,
        "date": version.effective_from.isoformat(),
    }
    return f"{label} — {title}" if title else label


class ReconsentForm(forms.Form):
    version = forms.ChoiceField(label=gettext_lazy("New consent form version"))
    consented_on = forms.DateField(label=gettext_lazy("Date of the new consent"), widget=DATE_INPUT)

    def __init__(self, *args, subject: Subject, **kwargs):
        super().__init__(*args, **kwargs)
        versions = [v.version for v in subject.study.protocol.consent_versions]
        later = (
            versions[versions.index(subject.consent_version) + 1 :]
            if subject.consent_version in versions
            else versions
        )
        self.fields["version"].choices = [("", "—")] + [
            (v.version, _version_label(v))
            for v in subject.study.protocol.consent_versions
            if v.version in later
        ]
        self.has_versions = bool(later)


class ScreenFailureForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Required when no criterion is failed (e.g. consent refused)."),
    )


# --------------------------------------------------------------------------- lookups


def _visible_site(request, site_code: str):
    study = request_study(request)
    access = study_access(request.user, study)
    site = Site.objects.filter(study=study, code=site_code, pk__in=access.site_ids).first()
    if site is None or not access.can(Permission.VIEW_CLINICAL_DATA, site.pk):
        raise Http404
    site.study = study  # the screening log reads site.study: not a second query
    return study, access, site


def _visible_subject(request, subject_id: int):
    study = request_study(request)
    subject = get_visible_or_404(
        Subject.objects.select_related("site", "study", "rescreen_of"), request.user, study, pk=subject_id
    )
    access = study_access(request.user, study)
    if not access.can(Permission.VIEW_CLINICAL_DATA, subject.site_id):
        raise Http404
    return study, access, subject


def _eligibility_url(subject: Subject) -> str:
    return reverse("subject-eligibility", args=[subject.pk])


def _screening_form_url(subject: Subject) -> str | None:
    form_code = subject.study.protocol.eligibility.form
    visit = subject.visits.order_by("sequence").first()
    if visit is None:
        return None
    return reverse("visit-form", args=[subject.pk, visit.code, form_code])


# --------------------------------------------------------------------------- screening log


@login_required
def screening_log(request, site_code: str):
    study, access, site = _visible_site(request, site_code)
    # newest first unless asked otherwise (the date column's header switches the order)
    order = "oldest" if request.GET.get("order") == "oldest" else "newest"
    listing = ListFilter(
        request,
        statuses=SubjectStatus.choices,
        date_label=_("Screening date"),
        keep={"order": order} if order != "newest" else {},
    )
    rows = screening.screening_log(
        request.user,
        site,
        today(),
        narrow=lambda subjects: listing.paginate(
            listing.apply(subjects, status="status", date="screened_on")
        ),
        order=order,
    )
    switched = {**listing.params, **({} if order == "oldest" else {"order": "oldest"})}
    context = {
        "site": site,
        "rows": rows,
        "listing": listing,
        "order": order,
        "switch_order_url": "?" + urlencode(switched),
        "can_screen": access.can(Permission.SCREEN, site.pk),
        "pseudonymised": access.pseudonymised,
    }
    return render(request, "subjects/screening_log.html", context)


def _register(request, site: Site, form: ScreeningForm, previous: Subject | None):
    data = form.cleaned_data
    return register_screening(
        request.user,
        site,
        screened_on=data["screened_on"],
        sex=data["sex"],
        year_of_birth=data.get("year_of_birth"),
        age_at_screening=data.get("age"),
        initials=data.get("initials") or "",
        today=form.today,
        rescreen_of=previous,
    )


def _screen_page(request, site: Site, initial: dict, previous: Subject | None):
    status = 200
    form = ScreeningForm(initial=initial, today=today())
    if request.method == "POST":
        form = ScreeningForm(request.POST, today=today())
        if form.is_valid():
            try:
                subject = _register(request, site, form, previous)
            except SubjectActionRefused as refusal:
                messages.error(request, refusal.message)
            else:
                messages.success(
                    request,
                    _("Screening number %(number)s opened. Fill in the screening form.")
                    % {"number": subject.screening_number},
                )
                return redirect(_screening_form_url(subject) or _eligibility_url(subject))
        status = 400
    context = {"site": site, "form": form, "previous": previous}
    return render(request, "subjects/screen_patient.html", context, status=status)


@login_required
def screen_patient(request, site_code: str):
    study, access, site = _visible_site(request, site_code)
    require(access, Permission.SCREEN, site.pk)
    return _screen_page(request, site, {"screened_on": today()}, None)


@login_required
def rescreen(request, subject_id: int):
    """A new screening episode for a screen failure. The pseudonymised identity is
    proposed (and shown) for the user to confirm; no screening value is carried over."""
    study, access, previous = _visible_subject(request, subject_id)
    require(access, Permission.SCREEN, previous.site_id)
    if previous.status != SubjectStatus.SCREEN_FAILED:
        messages.error(request, _("Only a screen failure can be re-screened."))
        return redirect("subject-eligibility", subject_id=previous.pk)
    initial = {
        "screened_on": today(),
        "sex": previous.sex,
        "year_of_birth": previous.year_of_birth,
        "age": None if previous.year_of_birth else previous.age_at_screening,
        "initials": previous.initials,
    }
    return _screen_page(request, previous.site, initial, previous)


# --------------------------------------------------------------------------- eligibility, enrollment


def _parse_date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _eligibility_page(
    request, subject, access, *, enroll_form=None, failure_form=None, reconsent_form=None, status=200
):
    day = today()
    as_of = screening.assessment_date(subject, day, _parse_date(request.GET.get("on")))
    panel = screening.eligibility_panel(subject, as_of)
    if enroll_form is None:
        defaults = screening.screening_defaults(subject, panel.record)
        enroll_form = _enroll_form(
            subject,
            initial={
                "consent_date": defaults["consent_date"],
                "enrolled_on": day,
                "planned_first_dose_on": day,
            },
        )
    rescreened_as = Subject.objects.for_user(request.user, subject.study).filter(rescreen_of=subject).first()
    in_screening = subject.status == SubjectStatus.SCREENING
    reconsent_form = reconsent_form or ReconsentForm(subject=subject)
    context = {
        "consents": list(Consent.objects.for_user(request.user, subject.study).filter(subject=subject)),
        "reconsent_form": reconsent_form,
        "can_reconsent": reconsent_form.has_versions
        and subject.consent_date is not None
        and subject.status in {*ON_STUDY, SubjectStatus.PENDING_ENROLLMENT}
        and access.can(Permission.ENTER_DATA, subject.site_id),
        "can_confirm_enrollment": subject.status == SubjectStatus.PENDING_ENROLLMENT
        and access.can(Permission.CONFIRM_ENROLLMENT, subject.site_id),
        "subject": subject,
        "panel": panel,
        "pseudonymised": access.pseudonymised,
        "screening_form_url": _screening_form_url(subject),
        "enroll_form": enroll_form,
        "failure_form": failure_form or ScreenFailureForm(),
        "can_enroll": in_screening and access.can(Permission.ENROLL, subject.site_id),
        "can_fail": in_screening and access.can(Permission.SCREEN, subject.site_id),
        "can_rescreen": subject.status == SubjectStatus.SCREEN_FAILED
        and rescreened_as is None
        and access.can(Permission.SCREEN, subject.site_id),
        "can_edit": access.can(Permission.ENTER_DATA, subject.site_id),
        "rescreened_as": rescreened_as,
    }
    return render(request, "subjects/eligibility.html", context, status=status)


@login_required
def eligibility(request, subject_id: int):
    study, access, subject = _visible_subject(request, subject_id)
    return _eligibility_page(request, subject, access)


@login_required
@require_POST
def enroll_subject(request, subject_id: int):
    study, access, subject = _visible_subject(request, subject_id)
    require(access, Permission.ENROLL, subject.site_id)
    form = _enroll_form(subject, request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Enter the consent, enrollment and planned first-dose dates; nothing was saved.")
        )
        return _eligibility_page(request, subject, access, enroll_form=form, status=400)
    try:
        enrolled = enroll(
            request.user,
            subject,
            consent_date=form.cleaned_data["consent_date"],
            enrolled_on=form.cleaned_data["enrolled_on"],
            planned_first_dose_on=form.cleaned_data["planned_first_dose_on"],
            consent_version=form.cleaned_data.get("consent_version") or None,
            today=today(),
        )
    except SubjectActionRefused as refusal:
        messages.error(request, refusal.message)
        subject.refresh_from_db()
        return _eligibility_page(request, subject, access, enroll_form=form, status=400)
    if enrolled.status == SubjectStatus.PENDING_ENROLLMENT:
        messages.warning(
            request,
            _(
                "The enrollment target (%(target)d) is reached: this patient waits as pending enrollment "
                "until a data manager confirms."
            )
            % {"target": enrolled.study.protocol.identification.enrollment.count},
        )
        return redirect("subject-eligibility", subject_id=enrolled.pk)
    messages.success(
        request,
        _("Enrolled as %(code)s; the visits are planned from the first dose on %(date)s.")
        % {"code": enrolled.subject_code, "date": enrolled.planned_first_dose_on.isoformat()},
    )
    return redirect("subject-casebook", subject_id=enrolled.pk)


@login_required
@require_POST
def screen_failure(request, subject_id: int):
    study, access, subject = _visible_subject(request, subject_id)
    require(access, Permission.SCREEN, subject.site_id)
    form = ScreenFailureForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The reason is too long; nothing was saved."))
        return _eligibility_page(request, subject, access, failure_form=form, status=400)
    try:
        failed = record_screen_failure(request.user, subject, reason=form.cleaned_data["reason"])
    except SubjectActionRefused as refusal:
        messages.error(request, refusal.message)
        subject.refresh_from_db()
        return _eligibility_page(request, subject, access, failure_form=form, status=400)
    if failed:
        messages.success(
            request,
            _("Screen failure recorded; criteria not met: %(codes)s.") % {"codes": ", ".join(failed)},
        )
    else:
        messages.success(request, _("Screen failure recorded."))
    return redirect("subject-eligibility", subject_id=subject.pk)


@login_required
@require_POST
def confirm_pending_enrollment(request, subject_id: int):
    """A data manager enrolls a patient waiting past the enrollment target."""
    study, access, subject = _visible_subject(request, subject_id)
    require(access, Permission.CONFIRM_ENROLLMENT, subject.site_id)
    try:
        enrolled = confirm_enrollment(request.user, subject, today=today())
    except SubjectActionRefused as refusal:
        messages.error(request, refusal.message)
        subject.refresh_from_db()
        return _eligibility_page(request, subject, access, status=400)
    messages.success(
        request, _("Enrollment confirmed: enrolled as %(code)s.") % {"code": enrolled.subject_code}
    )
    return redirect("subject-casebook", subject_id=enrolled.pk)


@login_required
@require_POST
def reconsent(request, subject_id: int):
    """The patient signed a new version of the consent form."""
    study, access, subject = _visible_subject(request, subject_id)
    require(access, Permission.ENTER_DATA, subject.site_id)
    form = ReconsentForm(request.POST, subject=subject)
    if not form.is_valid():
        messages.error(request, _("Choose the new version and the date of the consent; nothing was saved."))
        return _eligibility_page(request, subject, access, reconsent_form=form, status=400)
    try:
        consent = record_reconsent(
            request.user,
            subject,
            version=form.cleaned_data["version"],
            consented_on=form.cleaned_data["consented_on"],
            today=today(),
        )
    except SubjectActionRefused as refusal:
        messages.error(request, refusal.message)
        subject.refresh_from_db()
        return _eligibility_page(request, subject, access, reconsent_form=form, status=400)
    messages.success(
        request,
        _("Re-consent to version %(version)s on %(date)s recorded.")
        % {"version": consent.version, "date": consent.consented_on.isoformat()},
    )
    return redirect("subject-eligibility", subject_id=subject.pk)
