"""The counts of each role's home, read for one user through the scoped layer.

Every count is an aggregate in SQL (``values(...).annotate(Count(...))``) or the answer of
the app that owns the rule (the treatment calendar of ``deviations.services.worklist``, the
casebooks to sign of ``signatures``, the SAE rows of ``safety``): a constant number of
queries whatever the number of subjects. Nothing here decides a clinical rule.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trialdesk.assessments.services import DISCORDANCE_QUERY
from trialdesk.cardiac.models import CardiacHold, HoldStatus
from trialdesk.crf.models import FormRecord, FormStatus
from trialdesk.queries.models import UNRESOLVED, Query, QueryStatus, SourceVerification
from trialdesk.queries.services import AGE_BUCKETS
from trialdesk.safety.models import SaeReport
from trialdesk.studies.access import StudyAccess
from trialdesk.studies.models import Site
from trialdesk.subjects.consistency import AGE_QUERY, ELIGIBILITY_QUERY_PREFIX, SEX_QUERY
from trialdesk.subjects.models import ON_STUDY, Subject, SubjectStatus

# --------------------------------------------------------------------------- sites


def sites_of(access: StudyAccess, study, roles: set[str] | frozenset[str]) -> list[Site]:
    """The sites where the user holds one of ``roles`` (every site for a study-wide role)."""
    ids = set()
    for site_id, held in access.roles_by_site.items():
        if held & set(roles):
            ids |= set(access.all_site_ids) if site_id is None else {site_id}
    ids &= set(access.site_ids)
    return sorted((s for s in _study_sites(study) if s.pk in ids), key=lambda s: s.code)


def _study_sites(study) -> list[Site]:
    cached = getattr(study, "_workspace_sites", None)
    if cached is None:
        cached = list(Site.objects.filter(study=study).order_by("code"))
        study._workspace_sites = cached
    return cached


def _by_site(rows) -> dict[int, int]:
    return {site_id: n for site_id, n in rows}


def _scoped(model, user, study, sites, path: str):
    return model.objects.for_user(user, study).filter(**{f"{path}__in": [s.pk for s in sites]})


# --------------------------------------------------------------------------- subjects and forms


def screenings_in_progress(user, study, sites) -> dict[int, int]:
    rows = (
        _scoped(Subject, user, study, sites, "site_id")
        .filter(status=SubjectStatus.SCREENING)
        .order_by()
        .values_list("site_id")
        .annotate(n=Count("pk"))
    )
    return _by_site(rows)


def incomplete_forms(user, study, sites=None):
    """Form records saved incomplete (not voided), of subjects still followed (not screen
    failures, not off study: their empty forms are no longer to do)."""
    qs = FormRecord.objects.for_user(user, study).filter(
        subject__study=study, status=FormStatus.INCOMPLETE, voided_at__isnull=True
    )
    qs = qs.exclude(subject__status__in=[SubjectStatus.SCREEN_FAILED, *_off_study()])
    if sites is not None:
        qs = qs.filter(subject__site_id__in=[s.pk for s in sites])
    return qs


def _off_study() -> list[str]:
    return [s for s in ON_STUDY if s != SubjectStatus.ENROLLED]


def incomplete_form_counts(user, study, sites) -> dict[int, int]:
    rows = (
        incomplete_forms(user, study, sites)
        .order_by()
        .values_list("subject__site_id")
        .annotate(n=Count("pk"))
    )
    return _by_site(rows)


# --------------------------------------------------------------------------- queries


def open_queries(user, study, sites) -> dict[int, int]:
    """Queries waiting for the site (open or re-opened)."""
    rows = (
        _scoped(Query, user, study, sites, "record__subject__site_id")
        .filter(status=QueryStatus.OPEN)
        .order_by()
        .values_list("record__subject__site_id")
        .annotate(n=Count("pk"))
    )
    return _by_site(rows)


@dataclass(frozen=True)
class AgeBand:
    key: str
    label: str
    min_days: int  # included
    max_days: int | None  # included; None: no upper bound


def age_bands() -> list[AgeBand]:
    """The age bands of the query list (``queries.services.AGE_BUCKETS``), as day ranges."""
    bands, low = [], 0
    for limit, _name in AGE_BUCKETS:
        if limit is None:
            bands.append(AgeBand(f"{low}-", _("more than %(n)d days") % {"n": low - 1}, low, None))
        else:
            bands.append(
                AgeBand(f"{low}-{limit}", _("%(a)d to %(b)d days") % {"a": low, "b": limit}, low, limit)
            )
            low = limit + 1
    return bands


def band(key: str) -> AgeBand | None:
    return next((b for b in age_bands() if b.key == key), None)


def age_condition(age: AgeBand, now: dt.datetime, prefix: str = "") -> Q:
    """Queries whose age in whole days (``queries.services.age_days``) lies in the band."""
    condition = Q(**{f"{prefix}raised_at__lte": now - dt.timedelta(days=age.min_days)})
    if age.max_days is not None:
        condition &= Q(**{f"{prefix}raised_at__gt": now - dt.timedelta(days=age.max_days + 1)})
    return condition


def unresolved_by_age(user, study, sites, now: dt.datetime) -> dict[str, dict[int, int]]:
    """Unresolved queries (open or answered) per age band key and site id: one query."""
    bands = age_bands()
    rows = (
        _scoped(Query, user, study, sites, "record__subject__site_id")
        .filter(status__in=UNRESOLVED)
        .order_by()
        .values("record__subject__site_id")
        .annotate(**{f"b{i}": Count("pk", filter=age_condition(b, now)) for i, b in enumerate(bands)})
    )
    table: dict[str, dict[int, int]] = {b.key: {} for b in bands}
    for row in rows:
        for i, b in enumerate(bands):
            table[b.key][row["record__subject__site_id"]] = row[f"b{i}"]
    return table


def system_queries(user, study, sites, *, code: str = "", prefix: str = ""):
    """Unresolved queries the system raised (edit checks and the rules of the other apps)."""
    qs = _scoped(Query, user, study, sites, "record__subject__site_id").filter(
        status__in=UNRESOLVED, raised_by__isnull=True
    )
    if code:
        qs = qs.filter(check_code=code)
    if prefix:
        qs = qs.filter(check_code__startswith=prefix)
    return qs


def system_queries_by_code(user, study, sites) -> dict[str, dict[int, int]]:
    """Unresolved system queries per check code and site id: one query. The eligibility
    checks after enrollment (one code per criterion) are counted under their prefix."""
    rows = (
        system_queries(user, study, sites)
        .order_by()
        .values_list("check_code", "record__subject__site_id")
        .annotate(n=Count("pk"))
    )
    table: dict[str, dict[int, int]] = defaultdict(dict)
    for code, site_id, n in rows:
        key = ELIGIBILITY_QUERY_PREFIX if code.startswith(ELIGIBILITY_QUERY_PREFIX) else code
        table[key][site_id] = table[key].get(site_id, 0) + n
    return dict(table)


def discordant_responses(user, study, sites) -> dict[int, int]:
    rows = (
        system_queries(user, study, sites, code=DISCORDANCE_QUERY)
        .order_by()
        .values_list("record__subject__site_id")
        .annotate(n=Count("pk"))
    )
    return _by_site(rows)


def eligibility_changed(user, study, sites) -> dict[int, int]:
    """Enrolled subjects with an unresolved query that a criterion no longer holds."""
    rows = (
        system_queries(user, study, sites, prefix=ELIGIBILITY_QUERY_PREFIX)
        .order_by()
        .values_list("record__subject__site_id")
        .annotate(n=Count("record__subject_id", distinct=True))
    )
    return _by_site(rows)


_SYSTEM_RULES = {
    DISCORDANCE_QUERY: gettext_lazy("Derived response differs from the investigator's"),
    ELIGIBILITY_QUERY_PREFIX: gettext_lazy("Eligibility changed after enrollment"),
    SEX_QUERY: gettext_lazy("Sex differs from the screening episode"),
    AGE_QUERY: gettext_lazy("Age differs from the screening episode"),
}


def check_label(protocol, code: str) -> str:
    """What a system query's rule is, in the user's language: the protocol's edit-check
    message, a rule of the form engine, a rule of another app; never the bare code."""
    from trialdesk.crf.rendering import localised, system_rule

    for form in protocol.forms:
        for check in form.edit_checks:
            if check.code == code:
                return localised(check, "message")
    if code in _SYSTEM_RULES:
        return str(_SYSTEM_RULES[code])
    named = system_rule(code)
    if named:
        return named
    return _other_rule(code)


def _other_rule(code: str) -> str:
    from trialdesk.deviations.services import ASSESSMENT_WINDOW_QUERY
    from trialdesk.safety.services import FATAL_CHECK
    from trialdesk.subjects.calendar import SCREENING_WINDOW_QUERY
    from trialdesk.treatment import services as treatment

    names = {
        ASSESSMENT_WINDOW_QUERY: _("Assessment outside its window"),
        SCREENING_WINDOW_QUERY: _("First dose outside the screening window"),
        FATAL_CHECK: _("Fatal adverse event without a date of death"),
        treatment.Q_DEVIATION: _("Dose given away from the prescribed dose"),
        treatment.Q_TOO_EARLY: _("Dose given too early"),
        treatment.Q_LATE: _("Dose given late"),
        treatment.Q_MISSED: _("Missed dose without a new loading dose"),
        treatment.Q_HOLD: _("Dose given during a cardiac hold"),
        treatment.Q_NO_PRESCRIPTION: _("Dose given without a validated prescription"),
    }
    return names.get(code, _("Another rule of the system"))


# --------------------------------------------------------------------------- the monitor's visits


@dataclass(frozen=True)
class LastVisit:
    """When a monitor last visited a site: forms saved after ``since`` are new to them."""

    on: dt.date  # the day, at the site
    since: dt.datetime
    signed_report: bool  # a signed monitoring visit report (else their last SDV mark there)


def _end_of_day(site, day: dt.date) -> dt.datetime:
    try:
        zone = zoneinfo.ZoneInfo(site.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)


def last_visits(user, study, sites) -> dict[int, LastVisit]:
    """Per site id, the user's last visit there: the date of their latest signed monitoring
    visit report (``monitoring.services.last_visit_date``; the forms saved after that day are
    new), else the time of their own last mark of source-data verification there. A site
    never visited is absent. One query for the marks, one per site for the reports."""
    from trialdesk.monitoring.services import last_visit_date

    marks = dict(
        _scoped(SourceVerification, user, study, sites, "record__subject__site_id")
        .filter(verified_by=user)
        .order_by()
        .values_list("record__subject__site_id")
        .annotate(last=Max("verified_at"))
    )
    visits = {}
    for site in sites:
        day = last_visit_date(user, site)
        if day is not None:
            visits[site.pk] = LastVisit(day, _end_of_day(site, day), True)
        elif site.pk in marks:
            visits[site.pk] = LastVisit(site.today(marks[site.pk]), marks[site.pk], False)
    return visits


def changed_since(user, study, site, since: dt.datetime | None):
    """The form records of ``site`` (not voided) saved after ``since`` (all of them when the
    site was never visited)."""
    qs = FormRecord.objects.for_user(user, study).filter(subject__site=site, voided_at__isnull=True)
    if since is not None:
        qs = qs.filter(updated_at__gt=since)
    return qs


def changed_forms(user, study, sites, visits: dict[int, LastVisit]) -> dict[int, int]:
    """Per site id, the forms saved since the user's last visit there: one query."""
    if not sites:
        return {}
    counts = {}
    annotations = {}
    for site in sites:
        condition = Q(subject__site_id=site.pk)
        if site.pk in visits:
            condition &= Q(updated_at__gt=visits[site.pk].since)
        annotations[f"s{site.pk}"] = Count("pk", filter=condition)
    row = (
        FormRecord.objects.for_user(user, study)
        .filter(subject__site_id__in=[s.pk for s in sites], voided_at__isnull=True)
        .aggregate(**annotations)
    )
    for site in sites:
        counts[site.pk] = row[f"s{site.pk}"] or 0
    return counts


# --------------------------------------------------------------------------- safety and holds


def active_holds(user, study, sites) -> dict[int, int]:
    rows = (
        _scoped(CardiacHold, user, study, sites, "subject__site_id")
        .filter(status=HoldStatus.ACTIVE)
        .order_by()
        .values_list("subject__site_id")
        .annotate(n=Count("pk"))
    )
    return _by_site(rows)


def sae_reports(user, study, sites):
    return _scoped(SaeReport, user, study, sites, "record__subject__site_id").filter(
        study=study, record__voided_at__isnull=True
    )


def unacknowledged_saes(user, study, sites) -> dict[int, int]:
    rows = (
        sae_reports(user, study, sites)
        .filter(acknowledged_at__isnull=True)
        .order_by()
        .values_list("record__subject__site_id")
        .annotate(n=Count("pk"))
    )
    return _by_site(rows)


def sae_states(user, study, sites) -> dict[str, int]:
    """The SAEs of the sites by reporting state: one query."""
    return sae_reports(user, study, sites).aggregate(
        total=Count("pk"),
        not_notified=Count("pk", filter=Q(notified_at__isnull=True)),
        unacknowledged=Count("pk", filter=Q(acknowledged_at__isnull=True)),
        unassessed=Count("pk", filter=Q(acknowledged_at__isnull=False, expectedness="")),
    )


# --------------------------------------------------------------------------- locks


def locks(user, study, sites) -> dict[str, dict[int, int]]:
    """Locked subjects and locked form records per site id: two queries."""
    subjects = (
        _scoped(Subject, user, study, sites, "site_id")
        .filter(locked_at__isnull=False)
        .order_by()
        .values_list("site_id")
        .annotate(n=Count("pk"))
    )
    records = (
        _scoped(FormRecord, user, study, sites, "subject__site_id")
        .filter(locked_at__isnull=False)
        .order_by()
        .values_list("subject__site_id")
        .annotate(n=Count("pk"))
    )
    return {"subjects": _by_site(subjects), "records": _by_site(records)}


def now() -> dt.datetime:
    return timezone.now()
