"""Subjects (pseudonymised) and their visits."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from trialdesk.studies.models import Site, Study
from trialdesk.studies.scoping import InternalManager, ScopedManager, SiteScopedQuerySet


class SubjectStatus(models.TextChoices):
    SCREENING = "screening", _("Screening")
    SCREEN_FAILED = "screen_failed", _("Screen failure")
    # Eligible and consented past the enrollment target: waits for a data manager.
    PENDING_ENROLLMENT = "pending_enrollment", _("Pending enrollment")
    ENROLLED = "enrolled", _("Enrolled")
    COMPLETED = "completed", _("Completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    DIED = "died", _("Died")


# Off study: the end of the subject's follow-up (an empty form is "not done", no longer "to do").
OFF_STUDY = frozenset({SubjectStatus.COMPLETED, SubjectStatus.WITHDRAWN, SubjectStatus.DIED})
# Enrolled at some point, whatever happened since: counted as enrolled (and as eligible).
ON_STUDY = frozenset({SubjectStatus.ENROLLED}) | OFF_STUDY


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")
    UNKNOWN = "U", _("Unknown")


class SubjectQuerySet(SiteScopedQuerySet):
    masked_fields = {"initials": "identity", "screen_failure_reason": "text"}

    def pseudonymise(self, instance, masker) -> None:
        # The year of birth goes; the age at screening (to within a year) stays for analysis.
        if "year_of_birth" in instance.__dict__ and instance.__dict__["year_of_birth"] is not None:
            if instance.__dict__.get("age_at_screening") is None and instance.__dict__.get("screened_on"):
                instance.__dict__["age_at_screening"] = instance.screened_on.year - instance.year_of_birth
            instance.__dict__["year_of_birth"] = None
        super().pseudonymise(instance, masker)

    def pseudonymise_value(self, attname, value, masker, key=None):
        if attname == "year_of_birth":
            return None
        return super().pseudonymise_value(attname, value, masker, key)


class Subject(models.Model):
    """A screened patient. No name, no full birth date: year of birth and initials at most."""

    site_path = "site"

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="subjects")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="subjects")
    screening_number = models.CharField(max_length=20)
    subject_code = models.CharField(max_length=20, null=True, blank=True)
    status = models.CharField(max_length=20, choices=SubjectStatus.choices, default=SubjectStatus.SCREENING)
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    year_of_birth = models.PositiveSmallIntegerField(null=True, blank=True)
    # When the year of birth is not given: the age in years on the screening date.
    age_at_screening = models.PositiveSmallIntegerField(null=True, blank=True)
    initials = models.CharField(max_length=4, blank=True)
    screened_on = models.DateField()
    consent_date = models.DateField(null=True, blank=True)
    # The consent form's version (the protocol's consent_versions) the patient signed last.
    consent_version = models.CharField(max_length=20, blank=True)
    enrolled_on = models.DateField(null=True, blank=True)
    # Day 0 of the calendar (DESIGN §3): planned at enrollment, then the date of the first
    # infusion once it is given; the end of treatment anchors the end-of-treatment and
    # follow-up visits. Set by the services and the form subscriber, never typed twice.
    planned_first_dose_on = models.DateField(null=True, blank=True)
    # A pending enrollment: the date the site asked for (enrolled_on is set when confirmed).
    enrollment_requested_on = models.DateField(null=True, blank=True)
    first_dose_on = models.DateField(null=True, blank=True)
    treatment_ended_on = models.DateField(null=True, blank=True)
    # Codes of the eligibility criteria not met at a screen failure (CONSORT diagram).
    screen_failure_criteria = models.JSONField(default=list, blank=True)
    screen_failure_reason = models.TextField(blank=True)
    # A re-screening is a new episode (new screening number, no data carried over)
    # linked to the screen failure it follows.
    rescreen_of = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="rescreened_as"
    )
    locked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager.from_queryset(SubjectQuerySet)()
    internal = InternalManager.from_queryset(SubjectQuerySet)()

    class Meta:
        ordering = ["site__code", "screening_number"]
        base_manager_name = "internal"
        default_manager_name = "objects"
        constraints = [
            models.UniqueConstraint(fields=["study", "screening_number"], name="unique_screening_number"),
            models.UniqueConstraint(fields=["study", "subject_code"], name="unique_subject_code"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return self.subject_code or self.screening_number

    @property
    def day_zero(self):
        """The calendar's day 0: the first dose given, else the one planned."""
        return self.first_dose_on or self.planned_first_dose_on

    @property
    def age(self) -> int | None:
        """Age at screening: as given, or from the year of birth (to within a year)."""
        if self.age_at_screening is not None:
            return self.age_at_screening
        if self.year_of_birth is not None and self.screened_on is not None:
            return self.screened_on.year - self.year_of_birth
        return None


class VisitQuerySet(SiteScopedQuerySet):
    pass


class Visit(models.Model):
    site_path = "subject__site"

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="visits")
    code = models.CharField(max_length=20)
    title = models.CharField(max_length=200)
    sequence = models.PositiveIntegerField()
    planned_date = models.DateField(null=True, blank=True)
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True)
    actual_date = models.DateField(null=True, blank=True)

    objects = ScopedManager.from_queryset(VisitQuerySet)()
    internal = InternalManager.from_queryset(VisitQuerySet)()

    class Meta:
        ordering = ["subject", "sequence"]
        base_manager_name = "internal"
        default_manager_name = "objects"
        constraints = [models.UniqueConstraint(fields=["subject", "code"], name="unique_visit_per_subject")]

    def __str__(self) -> str:
        return f"{self.subject.label} {self.code}"


class ConsentQuerySet(SiteScopedQuerySet):
    pass


class Consent(models.Model):
    """One informed consent of a subject: the version of the form signed and when. The first
    is recorded at enrollment; a re-consent (a new version) adds another."""

    site_path = "subject__site"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="consents")
    version = models.CharField(max_length=20)
    consented_on = models.DateField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager.from_queryset(ConsentQuerySet)()
    internal = InternalManager.from_queryset(ConsentQuerySet)()

    class Meta:
        ordering = ["subject", "consented_on", "pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"

    def __str__(self) -> str:
        return f"{self.subject.label} consent {self.version} on {self.consented_on}"
