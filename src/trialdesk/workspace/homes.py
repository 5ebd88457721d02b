"""Each role's home: sections of counts, each count a link to the list behind it.

A home is built for the roles the user holds in the study (several roles: the sections of
each, the role with urgent work first), at the sites where they hold each role (every site
for a study-wide role), narrowed to one site by the home's site filter. Counts come from
``workspace.services`` (SQL) and from the apps that own the rules (the calendar worklist,
the casebooks to sign, the SAE rows, the deviations, the recruitment forecast).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trialdesk.clinical import calendar as cal
from trialdesk.studies.access import Permission, StudyAccess
from trialdesk.studies.models import Role, Site
from trialdesk.workspace import services

#: CTCAE v5.0: grade 3 is "severe"; grade 3 or more is the usual safety signal of a trial
#: (the sponsor's view of tolerance; the AE tables of the report count every grade).
SEVERE_GRADE = 3

INFUSION_KINDS = frozenset({cal.INFUSION, cal.RELOAD})
ASSESSMENT_KINDS = frozenset({cal.ASPIRATE, cal.LVEF, cal.REPEAT_LVEF})
CALL_KINDS = frozenset({cal.FOLLOW_UP_CALL})

#: "Due this week" on the homes: the site's next 7 days (its date and the 6 days after it), the
#: worklist's "Due today" and "This week" together (deviations.services.worklist computes both).
WEEK_DAYS = 7
WEEK_KINDS = ("infusions", "assessments", "calls")


def kind_of(item) -> str:
    """The home's kind of a calendar item ("" for what the home does not count)."""
    if item.kind in INFUSION_KINDS:
        return "infusions"
    if item.kind in ASSESSMENT_KINDS:
        return "assessments"
    if item.kind in CALL_KINDS:
        return "calls"
    return ""


def week_labels() -> list[tuple[str, str]]:
    return [
        ("infusions", _("Infusions due this week")),
        ("assessments", _("Assessments due this week (marrow, LVEF)")),
        ("calls", _("Follow-up calls due this week")),
    ]


def week_entries(work) -> list:
    """The (subject, item) of a site's worklist due in its week: due today or in the 6 days after
    (not the overdue ones: they are late, counted as such)."""
    return [*work.due_today, *work.this_week]


def week_bounds(work) -> tuple[dt.date, dt.date]:
    return work.today, work.today + dt.timedelta(days=WEEK_DAYS - 1)


# The order of the homes of a user who holds several roles, when none has urgent work.
RANK = {
    Role.SAFETY_OFFICER: 0,
    Role.INVESTIGATOR: 1,
    Role.COORDINATOR: 2,
    Role.DATA_MANAGER: 3,
    Role.MONITOR: 4,
    Role.SPONSOR_ADMIN: 5,
    Role.STATISTICIAN: 6,
}


@dataclass
class Cell:
    value: Any  # a count, or a short text (a percentage, a date)
    url: str = ""
    urgent: bool = False


@dataclass
class Line:
    key: str
    label: str
    cells: dict[str, Cell] = field(default_factory=dict)  # column key -> cell
    hint: str = ""


@dataclass
class DetailRow:
    subject: Any
    what: str
    when: dt.date | None
    links: list[tuple[str, str]]  # (label, url)
    urgent: bool = False
    note: str = ""


@dataclass
class Section:
    key: str
    title: str
    columns: list[tuple[str, str]]  # (key, header)
    lines: list[Line] = field(default_factory=list)
    details: list[DetailRow] = field(default_factory=list)
    details_title: str = ""
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (label, url, what it is)
    note: str = ""
    site_table: list | None = None  # the sites' figures (the sponsor's and data manager's view)
    follow_ups: list | None = None  # open follow-ups of the monitoring reports (monitor's home)

    @property
    def urgent(self) -> int:
        return (
            sum(1 for line in self.lines for c in line.cells.values() if c.urgent and c.value)
            + sum(1 for d in self.details if d.urgent)
            + sum(1 for f in self.follow_ups or () if f.overdue)
        )


@dataclass
class RoleHome:
    role: str
    title: str
    sites: list[Site]
    sections: list[Section]

    @property
    def urgent(self) -> int:
        return sum(s.urgent for s in self.sections)


def _url(name: str, *args, **params) -> str:
    url = reverse(name, args=args)
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


def _site_columns(sites: list[Site]) -> list[tuple[str, str]]:
    return [(s.code, s.code) for s in sites]


ALL = "*"


def _dashboards_what() -> str:
    return _("Charts: enrollment and its forecast, responses, LVEF, adverse events by grade.")


class Builder:
    """The homes of one user in one study, on one request (its caches shared by the roles)."""

    def __init__(
        self, user, study, access: StudyAccess, *, site: Site | None = None, now: dt.datetime | None = None
    ):
        self.user, self.study, self.access, self.site = user, study, access, site
        self.now = now or services.now()
        self._worklists: dict[int, Any] = {}
        self._deviations = None
        self._sae_rows = None

    # ------------------------------------------------------------------ helpers

    def sites(self, *roles: str) -> list[Site]:
        sites = services.sites_of(self.access, self.study, set(roles))
        if self.site is not None:
            sites = [s for s in sites if s.pk == self.site.pk]
        return sites

    def per_site(
        self, key, label, sites, counts: dict[int, int], url, *, total_url: str = "", urgent=False, hint=""
    ):
        cells = {s.code: Cell(counts.get(s.pk, 0), url(s), urgent) for s in sites}
        if total_url and len(sites) > 1:
            cells[ALL] = Cell(sum(counts.get(s.pk, 0) for s in sites), total_url, urgent)
        return Line(key, label, cells, hint)

    def columns(self, sites, *, total: bool) -> list[tuple[str, str]]:
        columns = _site_columns(sites)
        if total and len(sites) > 1:
            columns.append((ALL, _("All")))
        return columns

    def worklist(self, site: Site):
        from trialdesk.deviations.services import worklist

        if site.pk not in self._worklists:
            self._worklists[site.pk] = worklist(self.user, self.study, site, now=self.now)
        return self._worklists[site.pk]

    def overdue_by_site(self, sites: list[Site]) -> dict[int, int]:
        """Per site id, the calendar's items overdue (the worklist's "Overdue"): one computation
        of the treatment calendar for every site at once (``deviations.services.treatments``)."""
        from trialdesk.deviations.services import WORK_KINDS_EXCLUDED, treated_subjects, treatments

        ids = {s.pk for s in sites}
        counts: dict[int, int] = {}
        subjects = treated_subjects(self.user, self.study).filter(site_id__in=ids)
        for t in treatments(self.user, self.study, subjects, now=self.now):
            for item in t.calendar:
                if item.kind in WORK_KINDS_EXCLUDED or not item.open or item.due_on is None:
                    continue
                if item.status == cal.OVERDUE:
                    counts[t.subject.site_id] = counts.get(t.subject.site_id, 0) + 1
        return counts

    def deviation_rows(self):
        from trialdesk.deviations.services import deviation_rows

        if self._deviations is None:
            self._deviations = deviation_rows(self.user, self.study, now=self.now)
        return self._deviations

    def sae_rows(self):
        from trialdesk.safety.services import sae_rows

        if self._sae_rows is None:
            self._sae_rows = sae_rows(self.user, self.study) if self.study.protocol.safety is not None else []
        return self._sae_rows

    # ------------------------------------------------------------------ site staff

    def today_section(self, sites: list[Site]) -> Section:
        """The site's day: infusions, assessments, calls (the treatment calendar), screenings,
        queries waiting for the site, incomplete forms."""
        from trialdesk.deviations.labels import item_title
        from trialdesk.treatment.services import infusion_form

        buckets = {key: {} for key in ("inf_today", "inf_late", "ass_today", "ass_late", "calls")}
        week = {kind: {} for kind in WEEK_KINDS}
        details: list[DetailRow] = []
        infusion = infusion_form(self.study.protocol)
        for site in sites:
            work = self.worklist(site)
            for _subject, item in week_entries(work):
                kind = kind_of(item)
                if kind:
                    week[kind][site.pk] = week[kind].get(site.pk, 0) + 1
            for when, entries in (("today", work.due_today), ("late", work.overdue)):
                for subject, item in entries:
                    if item.kind in INFUSION_KINDS:
                        key = "inf_today" if when == "today" else "inf_late"
                        links = [(_("Casebook"), reverse("subject-casebook", args=[subject.pk]))]
                        if infusion:
                            links.insert(
                                0,
                                (
                                    _("Infusion form, with the computed dose"),
                                    reverse("log-form-new", args=[subject.pk, infusion]),
                                ),
                            )
                        details.append(
                            DetailRow(
                                subject,
                                item_title(self.study.protocol, item),
                                item.due_on,
                                links,
                                urgent=when == "late",
                            )
                        )
                    elif item.kind in ASSESSMENT_KINDS:
                        key = "ass_today" if when == "today" else "ass_late"
                    elif item.kind in CALL_KINDS:
                        key = "calls"
                    else:
                        continue
                    buckets[key][site.pk] = buckets[key].get(site.pk, 0) + 1

        def worklist_url(anchor):
            return lambda s: reverse("deviations:worklist", args=[s.code]) + anchor

        today_label = ", ".join(
            f"{s.code} {date_format(s.today(self.now), 'SHORT_DATE_FORMAT')}" for s in sites
        )
        lines = [
            self.per_site(
                "infusions-due",
                _("Infusions due today"),
                sites,
                buckets["inf_today"],
                worklist_url("#worklist-today"),
            ),
            self.per_site(
                "infusions-late",
                _("Infusions late"),
                sites,
                buckets["inf_late"],
                worklist_url("#worklist-overdue"),
                urgent=True,
            ),
            self.per_site(
                "assessments-due",
                _("Assessments due today (marrow, LVEF)"),
                sites,
                buckets["ass_today"],
                worklist_url("#worklist-today"),
            ),
            self.per_site(
                "assessments-overdue",
                _("Assessments overdue"),
                sites,
                buckets["ass_late"],
                worklist_url("#worklist-overdue"),
                urgent=True,
            ),
            self.per_site(
                "calls-due",
                _("Follow-up calls due"),
                sites,
                buckets["calls"],
                worklist_url("#worklist-today"),
            ),
            *(
                self.per_site(
                    f"{kind}-week",
                    label,
                    sites,
                    week[kind],
                    lambda s, kind=kind: _url("workspace:due-this-week", site=s.code, kind=kind),
                    total_url=_url("workspace:due-this-week", kind=kind),
                    hint=_("today and the next 6 days"),
                )
                for kind, label in week_labels()
            ),
            self.per_site(
                "screenings",
                _("Screenings in progress"),
                sites,
                services.screenings_in_progress(self.user, self.study, sites),
                lambda s: reverse("screening-log", args=[s.code]),
            ),
            self.per_site(
                "open-queries",
                _("Open queries addressed to the site"),
                sites,
                services.open_queries(self.user, self.study, sites),
                lambda s: _url("queries:list", view="mine", status="open", site=s.code),
                total_url=_url("queries:list", view="mine", status="open"),
            ),
            self.per_site(
                "incomplete-forms",
                _("Incomplete forms"),
                sites,
                services.incomplete_form_counts(self.user, self.study, sites),
                lambda s: _url("workspace:incomplete-forms", site=s.code),
                total_url=_url("workspace:incomplete-forms"),
            ),
        ]
        details.sort(key=lambda d: (not d.urgent, d.when or dt.date.max, d.subject.label))
        return Section(
            "today",
            _("Today at the site"),
            self.columns(sites, total=True),
            lines,
            details,
            details_title=_("Infusions to give"),
            note=_("The site's date: %(dates)s.") % {"dates": today_label},
        )

    def investigator_section(self, sites: list[Site]) -> Section:
        from trialdesk.signatures.services import casebooks_to_sign

        to_sign: dict[int, int] = {}
        for item in casebooks_to_sign(self.user, self.study):
            if item.subject.site_id in {s.pk for s in sites}:
                to_sign[item.subject.site_id] = to_sign.get(item.subject.site_id, 0) + 1
        lines = [
            self.per_site(
                "to-sign",
                _("Casebooks to sign"),
                sites,
                to_sign,
                lambda s: _url("casebooks-to-sign", site=s.code),
                total_url=reverse("casebooks-to-sign"),
            ),
            self.per_site(
                "saes-to-review",
                _("Serious adverse events not yet acknowledged by the sponsor"),
                sites,
                services.unacknowledged_saes(self.user, self.study, sites),
                lambda s: _url("workspace:saes", show="unacknowledged", site=s.code),
                total_url=_url("safety:sae-list", show="unacknowledged"),
            ),
            self.per_site(
                "discordant",
                _("Discordant responses to confirm"),
                sites,
                services.discordant_responses(self.user, self.study, sites),
                lambda s: _url("workspace:queries", rule="discordance", site=s.code),
                total_url=_url("workspace:queries", rule="discordance"),
                urgent=True,
            ),
            self.per_site(
                "cardiac-holds",
                _("Cardiac holds to decide"),
                sites,
                services.active_holds(self.user, self.study, sites),
                lambda s: _url("cardiac:list", site=s.code),
                total_url=reverse("cardiac:list"),
                urgent=True,
            ),
        ]
        return Section("decide", _("To decide and sign"), self.columns(sites, total=True), lines)

    # ------------------------------------------------------------------ review

    def age_lines(self, sites: list[Site]) -> list[Line]:
        table = services.unresolved_by_age(self.user, self.study, sites, self.now)
        bands = services.age_bands()
        lines = []
        for i, b in enumerate(bands):
            lines.append(
                self.per_site(
                    f"queries-age-{b.key}",
                    _("Open or answered queries, %(age)s old") % {"age": b.label},
                    sites,
                    table[b.key],
                    lambda s, b=b: _url("workspace:queries", age=b.key, site=s.code),
                    total_url=_url("workspace:queries", age=b.key),
                    urgent=i == len(bands) - 1,
                )
            )
        return lines

    def monitor_section(self, sites: list[Site]) -> Section:
        sdv = _sdv_by_site_id(self.user, self.study, sites)
        visits = services.last_visits(self.user, self.study, sites)
        changed = services.changed_forms(self.user, self.study, sites, visits)
        unacknowledged: dict[int, int] = {}
        for row in self.deviation_rows():
            if row.acknowledgement is None:
                unacknowledged[row.subject.site_id] = unacknowledged.get(row.subject.site_id, 0) + 1
        sdv_line = Line("sdv", _("Fields verified against source"))
        visit_line = Line(
            "last-visit",
            _("Your last visit at the site"),
            hint=_("the date of your last signed visit report, else of your last source verification"),
        )
        for s in sites:
            progress = sdv.get(s.pk)
            percent = progress.field_percent if progress else None
            sdv_line.cells[s.code] = Cell(
                "—" if percent is None else f"{percent} %", _url("queries:sdv-progress", site=s.code)
            )
            last = visits.get(s.pk)
            visit_line.cells[s.code] = Cell(
                last.on.strftime("%Y-%m-%d") if last else _("never"),
                _url("monitoring:list", site=s.code)
                if last and last.signed_report
                else _url("queries:sdv-progress", site=s.code),
            )
        lines = [
            sdv_line,
            visit_line,
            self.per_site(
                "changed-forms",
                _("Forms saved since your last visit"),
                sites,
                changed,
                lambda s: _url("workspace:changed-forms", site=s.code),
            ),
            *self.age_lines(sites),
            self.per_site(
                "deviations-to-review",
                _("Deviations to review"),
                sites,
                unacknowledged,
                lambda s: reverse("deviations:site", args=[s.code]),
            ),
        ]
        return Section("monitoring", _("Your sites"), self.columns(sites, total=False), lines)

    def follow_ups_section(self, sites: list[Site]) -> Section:
        """The follow-up actions still open in the sites' signed monitoring reports, oldest
        first, each marked done from here (monitoring.services)."""
        from trialdesk.monitoring.services import open_follow_ups

        rows = open_follow_ups(self.user, self.study, [s.pk for s in sites], now=self.now)
        counts: dict[int, int] = {}
        for row in rows:
            counts[row.visit.site_id] = counts.get(row.visit.site_id, 0) + 1
        line = self.per_site(
            "follow-ups-open",
            _("Follow-up actions still open"),
            sites,
            counts,
            lambda s: _url("home", site=s.code) + "#open-follow-ups",
        )
        return Section(
            "follow-ups",
            _("Follow-up actions of the monitoring reports"),
            self.columns(sites, total=False),
            [line],
            follow_ups=rows,
            note=_("Oldest first: the age is counted from the visit that asked for the action.")
            if rows
            else _("No follow-up action is open."),
        )

    def data_manager_section(self, sites: list[Site]) -> tuple[Section, Section]:
        codes = services.system_queries_by_code(self.user, self.study, sites)
        from trialdesk.subjects.consistency import ELIGIBILITY_QUERY_PREFIX

        check_lines = []
        for code in sorted(codes, key=lambda c: services.check_label(self.study.protocol, c)):
            if code == ELIGIBILITY_QUERY_PREFIX:
                continue  # their own line, per subject
            check_lines.append(
                self.per_site(
                    f"check-{code}",
                    services.check_label(self.study.protocol, code),
                    sites,
                    codes[code],
                    lambda s, code=code: _url("workspace:queries", check=code, site=s.code),
                    total_url=_url("workspace:queries", check=code),
                )
            )
        checks = Section(
            "edit-checks",
            _("Edit-check failures waiting"),
            self.columns(sites, total=True),
            check_lines,
            note="" if check_lines else _("No edit-check failure is open."),
        )
        missing = self.overdue_by_site(sites)
        locks = services.locks(self.user, self.study, sites)
        lines = [
            *self.age_lines(sites),
            self.per_site(
                "eligibility-changed",
                _("Subjects whose eligibility changed after enrollment"),
                sites,
                services.eligibility_changed(self.user, self.study, sites),
                lambda s: reverse("eligibility-changed"),
                total_url=reverse("eligibility-changed"),
                urgent=True,
            ),
            self.per_site(
                "discordant",
                _("Discordant responses not confirmed"),
                sites,
                services.discordant_responses(self.user, self.study, sites),
                lambda s: _url("workspace:queries", rule="discordance", site=s.code),
                total_url=_url("workspace:queries", rule="discordance"),
            ),
            self.per_site(
                "missing-forms",
                _("Assessments and doses missing past their window"),
                sites,
                missing,
                lambda s: reverse("deviations:worklist", args=[s.code]) + "#worklist-overdue",
            ),
            self.per_site(
                "locked-subjects",
                _("Locked casebooks"),
                sites,
                locks["subjects"],
                lambda s: reverse("locks"),
                total_url=reverse("locks"),
            ),
            self.per_site(
                "locked-records",
                _("Locked forms"),
                sites,
                locks["records"],
                lambda s: reverse("locks"),
                total_url=reverse("locks"),
            ),
        ]
        review = Section("data-review", _("Data review"), self.columns(sites, total=True), lines)
        return checks, review

    # ------------------------------------------------------------------ sponsor

    def recruitment_section(self) -> Section:
        from trialdesk.reports.recruitment import recruitment_report
        from trialdesk.studies.models import OperationalStatus
        from trialdesk.studies.services import operational_status

        today = timezone.localdate(self.now)
        report = recruitment_report(self.user, self.study, today)
        link = reverse("recruitment")
        column = [("", _("Study"))]
        lines = [
            Line(
                "status",
                _("Study status"),
                {
                    "": Cell(
                        OperationalStatus(operational_status(self.study, today)).label,
                        reverse("study-status"),
                    )
                },
            ),
            Line("enrolled", _("Enrolled"), {"": Cell(report.overall.enrolled, link)}),
            Line("target", _("Enrollment target"), {"": Cell(report.target.count, link)}),
        ]
        if report.expected_now is not None:
            lines.append(
                Line(
                    "expected",
                    _("Expected by today according to the plan"),
                    {"": Cell(f"{report.expected_now:.0f}", link)},
                )
            )
        forecast = report.forecast
        if report.target.count and report.overall.enrolled >= report.target.count:
            forecast = None  # the target is reached: nothing left to forecast
            lines.append(Line("target-reached", _("Enrollment target reached"), {"": Cell(_("Yes"), link)}))
        if forecast is not None:
            lines.append(
                Line(
                    "forecast-date",
                    _("Forecast: target reached around"),
                    {"": Cell(f"{forecast.median_date:%Y-%m-%d}", link)},
                    hint=_("80 %% of the simulated futures between %(a)s and %(b)s")
                    % {
                        "a": f"{forecast.interval_80[0]:%Y-%m-%d}",
                        "b": f"{forecast.interval_80[1]:%Y-%m-%d}",
                    },
                )
            )
            if forecast.probability_by_planned_end is not None:
                lines.append(
                    Line(
                        "forecast-probability",
                        _("Chance of reaching the target by the planned end"),
                        {"": Cell(f"{forecast.probability_by_planned_end * 100:.0f} %", link)},
                    )
                )
        note = report.forecast_problem if report.forecast is None and report.forecast_problem else ""
        links = [(_("Dashboards"), reverse("dashboards:page"), _dashboards_what())]
        return Section("recruitment", _("Recruitment"), column, lines, note=note, links=links)

    def safety_signals_section(self, sites: list[Site]) -> Section:
        from trialdesk.safety.services import ae_rows

        severe: dict[int, int] = {}
        if self.study.protocol.safety is not None:
            for row in ae_rows(self.user, self.study):
                if row.grade is not None and row.grade >= SEVERE_GRADE:
                    severe[row.subject.site_id] = severe.get(row.subject.site_id, 0) + 1
        saes: dict[str, dict[int, int]] = {k: {} for k in ("all", "unack", "susar", "late")}
        for row in self.sae_rows():
            site_id = row.subject.site_id
            for key, on in (
                ("all", True),
                ("unack", row.report.acknowledged_at is None),
                ("susar", row.susar),
                ("late", row.susar and row.days_left is not None and row.days_left < 0),
            ):
                if on:
                    saes[key][site_id] = saes[key].get(site_id, 0) + 1
        states = services.sae_states(self.user, self.study, sites)
        lines = [
            self.per_site(
                "severe-events",
                _("Adverse events of grade %(g)d or more") % {"g": SEVERE_GRADE},
                sites,
                severe,
                lambda s: _url("workspace:adverse-events", site=s.code),
                total_url=_url("workspace:adverse-events"),
            ),
            self.per_site(
                "saes",
                _("Serious adverse events"),
                sites,
                saes["all"],
                lambda s: _url("workspace:saes", site=s.code),
                total_url=reverse("safety:sae-list"),
            ),
            self.per_site(
                "saes-unacknowledged",
                _("SAEs not yet acknowledged by vigilance"),
                sites,
                saes["unack"],
                lambda s: _url("workspace:saes", show="unacknowledged", site=s.code),
                total_url=_url("safety:sae-list", show="unacknowledged"),
            ),
            self.per_site(
                "susars",
                _("SUSARs"),
                sites,
                saes["susar"],
                lambda s: _url("workspace:saes", show="susar", site=s.code),
                total_url=_url("safety:sae-list", show="susar"),
            ),
            self.per_site(
                "susars-late",
                _("SUSARs past their reporting deadline"),
                sites,
                saes["late"],
                lambda s: _url("workspace:saes", show="late"),
                total_url=_url("workspace:saes", show="late"),
                urgent=True,
            ),
        ]
        if states["not_notified"]:
            lines.append(
                Line(
                    "saes-not-notified",
                    _("SAEs not notified by e-mail yet"),
                    {
                        ALL if len(sites) > 1 else sites[0].code: Cell(
                            states["not_notified"], reverse("safety:sae-list")
                        )
                    },
                )
            )
        return Section("safety-signals", _("Safety signals"), self.columns(sites, total=True), lines)

    def deviations_section(self, sites: list[Site]) -> Section:
        ids = {s.pk for s in sites}
        every: dict[int, int] = {}
        open_: dict[int, int] = {}
        for row in self.deviation_rows():
            site_id = row.subject.site_id
            if site_id not in ids:
                continue
            every[site_id] = every.get(site_id, 0) + 1
            if row.acknowledgement is None:
                open_[site_id] = open_.get(site_id, 0) + 1
        lines = [
            self.per_site(
                "deviations",
                _("Protocol deviations"),
                sites,
                every,
                lambda s: reverse("deviations:site", args=[s.code]),
                total_url=reverse("deviations:list"),
            ),
            self.per_site(
                "deviations-open",
                _("Deviations not yet acknowledged"),
                sites,
                open_,
                lambda s: reverse("deviations:site", args=[s.code]),
                total_url=reverse("deviations:list"),
            ),
        ]
        return Section("deviations", _("Deviations"), self.columns(sites, total=True), lines)

    # ------------------------------------------------------------------ safety officer

    def vigilance_section(self, sites: list[Site]) -> Section:
        ids = {s.pk for s in sites}
        rows = [r for r in self.sae_rows() if r.subject.site_id in ids]
        counts: dict[str, dict[int, int]] = {k: {} for k in ("unack", "assess", "susar", "late", "all")}
        details = []
        for row in rows:
            site_id = row.subject.site_id
            late = row.susar and row.days_left is not None and row.days_left < 0
            for key, on in (
                ("unack", row.report.acknowledged_at is None),
                ("assess", row.report.acknowledged_at is not None and not row.report.expectedness),
                ("susar", row.susar),
                ("late", late),
                ("all", True),
            ):
                if on:
                    counts[key][site_id] = counts[key].get(site_id, 0) + 1
            if row.susar and row.deadline is not None:
                note = (
                    ngettext("%(n)d day late", "%(n)d days late", row.overdue_days) % {"n": row.overdue_days}
                    if late
                    else ngettext("%(n)d day left", "%(n)d days left", row.days_left) % {"n": row.days_left}
                )
                details.append(
                    DetailRow(
                        row.subject,
                        row.term,
                        row.deadline,
                        [
                            (_("The SAE"), reverse("safety:sae", args=[row.report.pk])),
                            (_("CIOMS form"), reverse("safety:cioms", args=[row.report.pk])),
                        ],
                        urgent=late,
                        note=note,
                    )
                )
        details.sort(key=lambda d: (d.when, d.subject.label))
        lines = [
            self.per_site(
                "saes-to-acknowledge",
                _("SAEs to acknowledge"),
                sites,
                counts["unack"],
                lambda s: _url("workspace:saes", show="unacknowledged", site=s.code),
                total_url=_url("safety:sae-list", show="unacknowledged"),
                urgent=True,
            ),
            self.per_site(
                "expectedness",
                _("Expectedness to assess"),
                sites,
                counts["assess"],
                lambda s: _url("workspace:saes", show="expectedness", site=s.code),
                total_url=_url("workspace:saes", show="expectedness"),
            ),
            self.per_site(
                "susars",
                _("SUSARs"),
                sites,
                counts["susar"],
                lambda s: _url("workspace:saes", show="susar", site=s.code),
                total_url=_url("safety:sae-list", show="susar"),
            ),
            self.per_site(
                "susars-late",
                _("SUSARs past their reporting deadline"),
                sites,
                counts["late"],
                lambda s: _url("workspace:saes", show="late", site=s.code),
                total_url=_url("workspace:saes", show="late"),
                urgent=True,
            ),
            self.per_site(
                "cioms",
                _("CIOMS forms (one per SAE)"),
                sites,
                counts["all"],
                lambda s: _url("workspace:saes", site=s.code),
                total_url=_url("workspace:saes"),
            ),
        ]
        return Section(
            "vigilance",
            _("Vigilance"),
            self.columns(sites, total=True),
            lines,
            details,
            details_title=_("SUSAR deadlines"),
        )

    # ------------------------------------------------------------------ statistician

    def analysis_section(self) -> Section:
        from trialdesk.reports.analysis_report import may_read

        links = []
        if may_read(self.access):
            links.append(
                (
                    _("Analysis report"),
                    reverse("analysis_report"),
                    _("Every endpoint of the protocol from today's data, pseudonymised."),
                )
            )
        if may_read(self.access, safety_only=True):
            links.append(
                (_("Safety report"), reverse("safety_report"), _("The tolerance tables of the DSMB."))
            )
        links.append(
            (_("Recruitment"), reverse("recruitment"), _("Enrollment against the plan, with the forecast."))
        )
        if self.access.can(Permission.VIEW_CLINICAL_DATA):
            links.append((_("Dashboards"), reverse("dashboards:page"), _dashboards_what()))
        if self.access.can(Permission.EXPORT):
            links.append(
                (
                    _("Data exports"),
                    reverse("exports:page"),
                    _("CDISC ODM and tidy CSV of the study, pseudonymised for you."),
                )
            )
        return Section(
            "analysis",
            _("Analysis and exports"),
            [],
            links=links,
            note=_("You see subject codes only: no initials, no birth dates, no free text of the sites.")
            if self.access.pseudonymised
            else "",
        )

    # ------------------------------------------------------------------ the homes

    def homes(self) -> list[RoleHome]:
        roles = self.access.roles
        homes = []
        if Role.INVESTIGATOR in roles or Role.COORDINATOR in roles:
            staff = self.sites(Role.INVESTIGATOR, Role.COORDINATOR)
            signing = self.sites(Role.INVESTIGATOR)
            if staff:
                sections = [self.today_section(staff)]
                if signing:
                    sections.append(self.investigator_section(signing))
                role = Role.INVESTIGATOR if signing else Role.COORDINATOR
                homes.append(RoleHome(role, Role(role).label, staff, sections))
        if Role.SAFETY_OFFICER in roles:
            sites = self.sites(Role.SAFETY_OFFICER)
            if sites and self.study.protocol.safety is not None:
                homes.append(
                    RoleHome(
                        Role.SAFETY_OFFICER, Role.SAFETY_OFFICER.label, sites, [self.vigilance_section(sites)]
                    )
                )
        if Role.MONITOR in roles:
            sites = self.sites(Role.MONITOR)
            if sites:
                sections = [self.monitor_section(sites), self.follow_ups_section(sites)]
                homes.append(RoleHome(Role.MONITOR, Role.MONITOR.label, sites, sections))
        if Role.DATA_MANAGER in roles:
            sites = self.sites(Role.DATA_MANAGER)
            if sites:
                checks, review = self.data_manager_section(sites)
                homes.append(RoleHome(Role.DATA_MANAGER, Role.DATA_MANAGER.label, sites, [checks, review]))
        if Role.SPONSOR_ADMIN in roles:
            sites = self.sites(Role.SPONSOR_ADMIN)
            if sites:
                sections = [self.recruitment_section()]
                if self.study.protocol.safety is not None:
                    sections.append(self.safety_signals_section(sites))
                sections.append(self.deviations_section(sites))
                homes.append(RoleHome(Role.SPONSOR_ADMIN, Role.SPONSOR_ADMIN.label, sites, sections))
        if Role.STATISTICIAN in roles:
            homes.append(
                RoleHome(
                    Role.STATISTICIAN,
                    Role.STATISTICIAN.label,
                    self.sites(Role.STATISTICIAN),
                    [self.analysis_section()],
                )
            )
        homes.sort(key=lambda h: (h.urgent == 0, RANK.get(h.role, 99)))
        return homes


def _sdv_by_site_id(user, study, sites) -> dict[int, Any]:
    from trialdesk.queries.services import sdv_progress_by_site

    by_code = sdv_progress_by_site(user, study)
    return {s.pk: by_code.get(s.code) for s in sites}
