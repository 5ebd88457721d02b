"""What the dashboard page says of each chart: its title, caption and the table of its numbers
(the chart's text alternative), in the reader's language, numbers and dates by locale."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from trialdesk.charts.rows import months_between
from trialdesk.dashboards import charts
from trialdesk.dashboards.charts import day_text, grade_name, number, response_name
from trialdesk.dashboards.data import Dashboard


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool = False
    english: bool = False  # verbatim English (the registry's text, a hospital's name): lang="en"


@dataclass
class Section:
    name: str
    title: str
    has_chart: bool
    description: str  # the image's alt text
    caption: list[str]
    headers: list[str]
    rows: list[list[Cell]]
    empty: str = ""
    notes: list[str] = field(default_factory=list)
    src: str = ""  # the chart's image URL (the view sets it)


def _pct(value: float | None, decimals: int = 1) -> str:
    return "—" if value is None else f"{number(value, decimals)} %"


def _signed_pct(value: float) -> str:
    text = _pct(value, 1)
    return f"+{text}" if value > 0 else text


def _months(value: float) -> str:
    return number(value, 1)


def _names(labels) -> str:
    return ", ".join(labels) if labels else "—"


def enrollment_section(data: Dashboard, site_names: dict[str, str]) -> Section:
    e = data.enrollment
    caption = [
        ngettext("%(n)s patient enrolled by %(day)s.", "%(n)s patients enrolled by %(day)s.", e.enrolled)
        % {"n": e.enrolled, "day": day_text(e.as_of)}
        + " "
        + ngettext("%(sites)s site open.", "%(sites)s sites open.", e.open_sites) % {"sites": e.open_sites}
    ]
    notes: list[str] = []
    if not e.whole_study:
        notes.append(_("The trial-wide plan and forecast are shown to users who see every site."))
    else:
        if not e.target.planned:
            notes.append(
                _(
                    "The protocol gives no planned enrollment target: the registry's enrollment "
                    "(%(n)s, actual) stands as the target."
                )
                % {"n": e.target.count}
            )
        if e.plan is not None:
            caption.append(
                _(
                    "Plan: linear from the first site activation (%(start)s) to %(target)s patients on the "
                    "planned end (%(end)s); %(expected)s patients were planned by %(day)s."
                )
                % {
                    "start": day_text(e.plan.start),
                    "target": e.plan.target,
                    "end": day_text(e.plan.end),
                    "expected": number(e.expected_now or 0, 1),
                    "day": day_text(e.as_of),
                }
            )
        elif e.planned_end is not None and e.first_activation is not None:
            notes.append(
                _(
                    "No plan is drawn: the protocol's planned end (%(end)s) is not after the first site "
                    "activation (%(start)s)."
                )
                % {"end": day_text(e.planned_end), "start": day_text(e.first_activation)}
            )
        f = e.forecast
        if e.target_reached_on is not None:
            caption.append(
                _("The target of %(n)s patients was reached on %(day)s: nothing left to forecast.")
                % {"n": e.target.count, "day": day_text(e.target_reached_on)}
            )
        elif f is not None:
            months = e.months_of_recruitment or 0
            whole = max(round(months), 1)
            words = ngettext(
                "Forecast from the %(months)s month of recruitment so far: %(rate)s patients per month per "
                "open site, %(total)s a month over the %(sites)s open sites.",
                "Forecast from the %(months)s months of recruitment so far: %(rate)s patients per month per "
                "open site, %(total)s a month over the %(sites)s open sites.",
                whole,
            ) % {
                "months": whole,
                "rate": number(f.mean_rate_per_site_per_month, 2),
                "total": number(f.mean_rate_per_site_per_month * e.open_sites, 1),
                "sites": e.open_sites,
            }
            caption.append(words)
            values = {
                "low": day_text(f.interval_80[0]),
                "high": day_text(f.interval_80[1]),
                "median": day_text(f.median_date),
                "target": f.target,
                "remaining": f.remaining,
            }
            if f.method == "simulation":
                caption.append(
                    _(
                        "%(remaining)s patients to go: 80 %% of the simulated trials reach the %(target)s patients "
                        "between %(low)s and %(high)s, half of them by %(median)s."
                    )
                    % values
                )
            else:
                caption.append(
                    _(
                        "%(remaining)s patients to go: an 80 %% chance of reaching the %(target)s patients between "
                        "%(low)s and %(high)s, an even chance by %(median)s."
                    )
                    % values
                )
            if f.probability_by_planned_end is not None and e.planned_end and e.planned_end > e.as_of:
                caption.append(
                    _("Chance of reaching the target by the planned end (%(day)s): %(p)s.")
                    % {"day": day_text(e.planned_end), "p": _pct(f.probability_by_planned_end * 100, 0)}
                )
            elif e.plan is not None and e.planned_end is not None and e.planned_end <= e.as_of:
                notes.append(
                    _("The protocol's planned end (%(day)s) has passed.") % {"day": day_text(e.planned_end)}
                )
        elif e.forecast_problem:
            notes.append(
                {
                    "no_site": _("No site is activated yet: no forecast."),
                    "no_patient": _("No patient enrolled yet: no forecast."),
                    "data": _("The forecast cannot be computed from these enrollment dates."),
                }[e.forecast_problem]
            )
    rows = []
    for s in e.sites:
        rows.append(
            [
                Cell(f"{s.code} — {site_names.get(s.code, s.name)}", english=True),
                Cell(day_text(s.activated_on)),
                Cell(str(len(s.dates)), numeric=True),
                Cell(day_text(s.dates[-1] if s.dates else None)),
            ]
        )
    rows.append(
        [
            Cell(_("All sites shown")),
            Cell(day_text(e.first_activation)),
            Cell(str(e.enrolled), True),
            Cell(day_text(e.dates[-1] if e.dates else None)),
        ]
    )
    if e.forecast is not None and e.forecast.remaining > 0:
        f = e.forecast
        for label, (low, high) in (
            (_("%(level)s of the forecasts") % {"level": "80 %"}, f.interval_80),
            (_("%(level)s of the forecasts") % {"level": "95 %"}, f.interval_95),
        ):
            rows.append(
                [
                    Cell(label),
                    Cell(""),
                    Cell(str(f.target), True),
                    Cell(f"{day_text(low)} – {day_text(high)}"),
                ]
            )
        rows.append(
            [Cell(_("Median forecast")), Cell(""), Cell(str(f.target), True), Cell(day_text(f.median_date))]
        )
    return Section(
        "enrollment",
        charts.chart_title("enrollment", data),
        True,
        caption[0],
        caption,
        [_("Site"), _("Activated on"), _("Patients enrolled"), _("Last enrollment")],
        rows,
        notes=notes,
    )


def screen_failures_section(data: Dashboard) -> Section:
    french = (get_language() or "").startswith("fr")
    rows = []
    for r in data.screen_failures:
        if r.code:
            kind = _("Inclusion") if r.kind == "inclusion" else _("Exclusion")
            applied = r.applied_as_fr if french and r.applied_as_fr else r.applied_as
            rows.append(
                [
                    Cell(f"{kind} {r.code}"),
                    Cell(r.text, english=True),
                    Cell(applied, english=not french or not r.applied_as_fr),
                    Cell(str(r.count), numeric=True),
                    Cell(_names(r.subjects)),
                ]
            )
        else:
            rows.append(
                [
                    Cell(_("No criterion recorded")),
                    Cell("—"),
                    Cell("—"),
                    Cell(str(r.count), True),
                    Cell(_names(r.subjects)),
                ]
            )
    caption = [
        ngettext(
            "%(failed)s patient of %(screened)s screened failed screening.",
            "%(failed)s patients of %(screened)s screened failed screening.",
            data.screen_failed,
        )
        % {"failed": data.screen_failed, "screened": data.screened},
        _("A patient who failed several criteria counts under each of them."),
    ]
    return Section(
        "screen_failures",
        charts.chart_title("screen_failures", data),
        charts.has_data("screen_failures", data),
        caption[0],
        caption,
        [_("Criterion"), _("Registry text"), _("Applied as"), _("Patients"), _("Subjects")],
        rows,
        empty=_("No screen failure."),
    )


def waterfall_section(data: Dashboard) -> Section:
    rows = [
        [
            Cell(b.label),
            Cell(b.site),
            Cell(_pct(b.baseline_blasts), True),
            Cell(_pct(b.nadir_blasts), True),
            Cell(_signed_pct(b.change_pct), True),
            Cell(response_name(b.best)),
        ]
        for b in data.waterfall
    ]
    responders = sum(1 for b in data.waterfall if b.best is not None and b.best.is_response)
    caption = [
        _(
            "Each bar is one treated subject: the lowest marrow blast percentage on treatment against the "
            "baseline marrow (a bar below 0 is a fall). Colour, pattern and the letters on the bar give the "
            "best response."
        ),
        ngettext(
            "%(r)s subject of %(n)s with a marrow after the baseline responded.",
            "%(r)s subjects of %(n)s with a marrow after the baseline responded.",
            responders,
        )
        % {"r": responders, "n": len(data.waterfall)},
    ]
    notes = []
    if data.waterfall_missing:
        notes.append(
            _("Treated, without a marrow after the baseline yet: %(names)s.")
            % {"names": _names(data.waterfall_missing)}
        )
    return Section(
        "waterfall",
        charts.chart_title("waterfall", data),
        charts.has_data("waterfall", data),
        caption[0],
        caption,
        [
            _("Subject"),
            _("Site"),
            _("Baseline marrow blasts"),
            _("Lowest on treatment"),
            _("Best change"),
            _("Best response"),
        ],
        rows,
        empty=_("No treated subject has a marrow assessment after the baseline yet."),
        notes=notes,
    )


def swimmer_section(data: Dashboard) -> Section:
    rows = []
    for r in data.swimmer:
        if r.death_on is not None:
            end = _("Died on %(day)s") % {"day": day_text(r.death_on)}
        elif r.ongoing:
            end = _("Still on study")
        else:
            end = _("Off study, last known alive on %(day)s") % {"day": day_text(r.end)}
        rows.append(
            [
                Cell(r.label),
                Cell(day_text(r.first_dose)),
                Cell(day_text(r.last_dose)),
                Cell(str(len(r.doses)), True),
                Cell(_months(r.months_on_study), True),
                Cell(response_name(r.best)),
                Cell(day_text(r.first_response_on) if r.first_response_on else "—"),
                Cell(day_text(r.failure_on) if r.failure_on else "—"),
                Cell(str(len(r.serious_events)), True),
                Cell(end),
            ]
        )
    caption = [
        _(
            "One bar per treated subject from the first dose: dark while on treatment (a white tick per dose), "
            "light in follow-up; a triangle marks the first response, a cross relapse or progression, a diamond "
            "an SAE, a square death, an arrow a subject still on study."
        )
    ]
    notes = []
    if len(data.swimmer) > charts.SWIMMER_ROWS:
        notes.append(
            _("The chart draws the %(shown)s subjects longest on study of %(n)s; the table lists every one.")
            % {"shown": charts.SWIMMER_ROWS, "n": len(data.swimmer)}
        )
    return Section(
        "swimmer",
        charts.chart_title("swimmer", data),
        charts.has_data("swimmer", data),
        ngettext(
            "Time on study of %(n)s treated subject, with doses, responses and events.",
            "Time on study of %(n)s treated subjects, with doses, responses and events.",
            len(data.swimmer),
        )
        % {"n": len(data.swimmer)},
        caption,
        [
            _("Subject"),
            _("First dose"),
            _("Last dose"),
            _("Doses"),
            _("Months on study"),
            _("Best response"),
            _("First response"),
            _("Relapse or progression"),
            _("Serious adverse events"),
            _("End"),
        ],
        rows,
        empty=_("No treated subject yet."),
        notes=notes,
    )


def _series_rows(series) -> list[list[Cell]]:
    rows = []
    for s in series:
        for day, value in s.points:
            rows.append(
                [
                    Cell(s.label),
                    Cell(day_text(day)),
                    Cell(_months(months_between(s.start, day)), True),
                    Cell(_pct(value), True),
                ]
            )
    return rows


def her2_section(data: Dashboard) -> Section:
    return Section(
        "her2",
        charts.chart_title("her2", data),
        charts.has_data("her2", data),
        _("HER2-positive marrow blasts of each treated subject at each marrow assessment."),
        [
            _(
                "One line per treated subject, named at its last assessment; month 0 is the first dose, the "
                "baseline marrow comes just before it."
            )
        ],
        [_("Subject"), _("Date"), _("Months from the first dose"), _("HER2-positive blasts")],
        _series_rows(data.her2),
        empty=_("No HER2 result of a treated subject yet."),
    )


def lvef_section(data: Dashboard, protocol: Any) -> Section:
    caption = [_("One line per treated subject, named at its last measurement; month 0 is the first dose.")]
    if data.lvef_threshold is not None:
        hold = protocol.dose_rules.cardiac_hold
        caption.append(
            _(
                "Dashed line: %(below)s. The study drug is withheld for a drop of %(drop)s points or more from "
                "the baseline, or a value below %(below)s with a drop of %(drop_below)s points or more."
            )
            % {
                "below": _pct(hold.below_pct, 0),
                "drop": number(hold.drop_points, 0),
                "drop_below": number(hold.drop_points_when_below, 0),
            }
        )
    below = sorted(
        {
            s.label
            for s in data.lvef
            for v in s.values
            if data.lvef_threshold is not None and v < data.lvef_threshold
        }
    )
    notes = []
    if data.lvef_threshold is not None and data.lvef:
        if below:
            notes.append(
                _("Below %(pct)s at least once: %(names)s.")
                % {"pct": _pct(data.lvef_threshold, 0), "names": _names(below)}
            )
        else:
            notes.append(_("No LVEF below %(pct)s.") % {"pct": _pct(data.lvef_threshold, 0)})
    return Section(
        "lvef",
        charts.chart_title("lvef", data),
        charts.has_data("lvef", data),
        _(
            "Left ventricular ejection fraction of each treated subject over time, against the protocol's threshold."
        ),
        caption,
        [_("Subject"), _("Date"), _("Months from the first dose"), _("LVEF")],
        _series_rows(data.lvef),
        empty=_("No LVEF of a treated subject yet."),
        notes=notes,
    )


def adverse_events_section(data: Dashboard) -> Section:
    g = data.adverse_events
    rows = [
        [
            Cell(grade_name(r.grade)),
            Cell(str(r.events), True),
            Cell(str(r.serious), True),
            Cell(str(len(r.subjects_at_worst)), True),
            Cell(_names(r.subjects_at_worst)),
        ]
        for r in g.rows
    ]
    caption = [
        ngettext(
            "%(events)s adverse event (CTCAE v5.0 grades).",
            "%(events)s adverse events (CTCAE v5.0 grades).",
            g.events,
        )
        % {"events": g.events}
        + " "
        + ngettext(
            "%(with)s treated subject of %(treated)s had at least one.",
            "%(with)s treated subjects of %(treated)s had at least one.",
            g.with_an_event,
        )
        % {"with": g.with_an_event, "treated": g.treated},
        _("Solid bars count the events; hatched bars the subjects, each once, at their worst grade."),
    ]
    return Section(
        "adverse_events",
        charts.chart_title("adverse_events", data),
        charts.has_data("adverse_events", data),
        caption[0],
        caption,
        [_("Grade"), _("Events"), _("Serious events"), _("Subjects at this worst grade"), _("Subjects")],
        rows,
        empty=_("No adverse event of a treated subject yet."),
    )


def sections(data: Dashboard, protocol: Any, site_names: dict[str, str]) -> list[Section]:
    return [
        enrollment_section(data, site_names),
        screen_failures_section(data),
        waterfall_section(data),
        swimmer_section(data),
        her2_section(data),
        lvef_section(data, protocol),
        adverse_events_section(data),
    ]
