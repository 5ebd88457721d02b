"""The analysis report: every endpoint of the protocol from one StudySnapshot, as HTML (one
self-contained file, its plots embedded) and as PDF (WeasyPrint, from the same HTML).

``report_context`` turns a :class:`trialdesk.analysis.Analysis` into what the templates
show, every value as its label in the active language (choices, categories, Yes/No); the
web pages (``reports.views``) and ``trialdesk report`` render the same body.
"""

from __future__ import annotations

import datetime as dt
import html as html_text
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils import numberformat
from django.utils.formats import get_format, localize, number_format
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from trialdesk.analysis.endpoints import Analysis
from trialdesk.assessments.services import category_label
from trialdesk.clinical.deviations import RULES as DEVIATION_RULES
from trialdesk.clinical.response import ResponseCategory
from trialdesk.crf.display import EMPTY, display_value, yes_no
from trialdesk.reports import analysis_charts as charts
from trialdesk.studies.access import may_read_analysis


def may_read(access, *, safety_only: bool = False) -> bool:
    """Whether a user (their ``StudyAccess``) may read the report (``studies.access.may_read_analysis``)."""
    return may_read_analysis(access, safety_only=safety_only)


#: above this many subjects the per-subject listings and the swimmer plot go to a separate appendix
LARGE_STUDY = 200


def _source(source: str) -> str:
    return {"registry": _("registry"), "operational": _("operational")}.get(source, EMPTY)


def _pct(value: float | None, digits: int = 1) -> str:
    """A share as a percentage in the user's convention (13.3 %, 13,3 % in French)."""
    return EMPTY if value is None else f"{_decimal(value * 100, digits)} %"


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return EMPTY
    if float(value).is_integer():
        return str(int(value))
    return _decimal(value, digits)


#: the active language's decimal separator, grouping and thousand separator, while a report is
#: built (``_numbers_as_read``): the tens of thousands of numbers of a large study's listings are
#: formatted without looking the language and its formats up again for each
_SEPARATORS: ContextVar[tuple[str, Any, str] | None] = ContextVar("report_separators", default=None)


@contextmanager
def _numbers_as_read():
    language = get_language()
    token = _SEPARATORS.set(
        (
            get_format("DECIMAL_SEPARATOR", language, use_l10n=True),
            get_format("NUMBER_GROUPING", language, use_l10n=True),
            get_format("THOUSAND_SEPARATOR", language, use_l10n=True),
        )
    )
    try:
        yield
    finally:
        _SEPARATORS.reset(token)


def _decimal(value: float, digits: int) -> str:
    """Rounded (Django's number_format cuts the digits off), then in the user's convention."""
    separators = _SEPARATORS.get()
    if separators is None:
        return number_format(round(value, digits), decimal_pos=digits)
    decimal, grouping, thousands = separators
    # what number_format does with the formats it looks up
    return numberformat.format(
        round(value, digits),
        decimal,
        decimal_pos=digits,
        grouping=grouping,
        thousand_sep=thousands,
        use_l10n=True,
    )


def _date(day: dt.date | None) -> str:
    return EMPTY if day is None else day.isoformat()


def _choice(protocol, form_field: tuple[str, str] | None, value: Any) -> str:
    if value is None:
        return _("Not recorded")
    if form_field is None:
        return str(value)
    return display_value(protocol.form(form_field[0]), form_field[1], value)


def _sex(code: str) -> str:
    return {"F": _("Female"), "M": _("Male")}.get(code, _("Unknown"))


def _label_list(labels) -> str:
    return ", ".join(labels) if labels else EMPTY


def _no_labels(labels) -> str:
    """A large study's report keeps the counts; where it would name the subjects it says where they are."""
    return _("listed in the appendix") if labels else EMPTY


def _criterion(protocol, code: str) -> str:
    for c in protocol.eligibility.criteria:
        if c.code == code:
            return c.text
    return _("Reason not recorded") if not code else code


def _derivation(d) -> dict[str, str]:
    return {
        "title": d.title,
        "description": d.description,
        "source": _source(d.source),
        "rule": _(d.rule),
    }


def _ci(p) -> str:
    if p is None:
        return EMPTY
    return _("%(x)s of %(n)s, %(estimate)s (%(level)s CI %(lower)s to %(upper)s)") % {
        "x": p.x,
        "n": p.n,
        "estimate": _pct(p.estimate),
        "level": f"{p.level * 100:.0f} %",
        "lower": _pct(p.lower),
        "upper": _pct(p.upper),
    }


def _survival(endpoint, chart_label: str, with_chart: bool, once=None, name: str = "") -> dict[str, Any]:
    km = endpoint.km
    chart = charts.km_chart(endpoint, chart_label) if with_chart else None

    def subjects():
        return [
            {
                "label": s.label,
                "start": _date(s.start),
                "end": _date(s.end),
                "months": _num(s.months),
                "event": _("Event") if s.event else _("Censored"),
            }
            for s in endpoint.subjects
        ]

    rows = subjects() if once is None else once(f"{name}_subjects", subjects)
    return {
        "derivation": _derivation(endpoint.derivation),
        "population": endpoint.population,
        "population_rule": _(endpoint.population.rule),
        "n": len(endpoint.subjects),
        "events": len(endpoint.events),
        "median": _num(km.median if km else None),
        "reached": km is not None and km.median is not None,
        "lower_known": km is not None and km.median_lower is not None,
        "median_lower": _num(km.median_lower if km else None),
        "median_upper": _num(km.median_upper if km else None),
        "chart": chart.img_tag() if chart else None,
        "table": [
            {
                "time": _num(r.time),
                "n_risk": r.n_risk,
                "n_event": r.n_event,
                "survival": _num(r.survival, 3),
                "lower": _num(r.lower, 3),
                "upper": _num(r.upper, 3),
            }
            for r in (km.table if km else ())
        ],
        "subjects": rows,
        "subjects_html": _Rows(rows, _SURVIVAL_ROW),
    }


def _event_row(protocol, e) -> dict[str, Any]:
    return {
        "label": e.label,
        "term": e.term,
        "soc": e.soc,
        "grade": EMPTY if e.grade is None else e.grade,
        "onset": _date(e.onset),
        "serious": yes_no(e.serious),
        "related": yes_no(e.related),
    }


def report_context(
    analysis: Analysis,
    protocol,
    *,
    safety_only: bool = False,
    plots: bool = True,
    list_subjects: bool | None = None,
    progress: Callable[[str], None] | None = None,
    rows: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the report shows (labels in the active language). ``list_subjects``: name the subjects
    behind each count (default: unless the study is large, whose appendix names them). ``rows``:
    the per-subject rows of another context of the same analysis, in the same language, to
    reuse (filled when empty): the report and its appendix list the same subjects."""
    with _numbers_as_read():
        return _report_context(
            analysis,
            protocol,
            safety_only=safety_only,
            plots=plots,
            list_subjects=list_subjects,
            progress=progress,
            rows={} if rows is None else rows,
        )


def _report_context(
    analysis: Analysis,
    protocol,
    *,
    safety_only: bool,
    plots: bool,
    list_subjects: bool | None,
    progress: Callable[[str], None] | None,
    rows: dict[str, Any],
) -> dict[str, Any]:
    def step(what: str) -> None:
        if progress is not None:
            progress(what)

    def once(name: str, build: Callable[[], Any]) -> Any:
        if name not in rows:
            rows[name] = build()
        return rows[name]

    large = len(analysis.subjects) > LARGE_STUDY
    # a large study lists its subjects in the appendix only: the report keeps the counts
    if list_subjects is None:
        list_subjects = not large
    _labels = _label_list if list_subjects else _no_labels
    r = analysis.response
    t = analysis.tolerance
    flow = analysis.flow
    ctx: dict[str, Any] = {
        "analysis": analysis,
        "safety_only": safety_only,
        "large": large,
        "identification": {
            "nct_id": analysis.nct_id,
            "title": analysis.title,
            "cutoff": _date(analysis.cutoff) if analysis.cutoff else _("none (the data as they stand)"),
            "as_of": _date(analysis.as_of),
            "created_at": analysis.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            "sha256": analysis.snapshot_sha256 or EMPTY,
            "protocol_sha256": analysis.protocol_sha256 or EMPTY,
            "pseudonymised": yes_no(analysis.pseudonymised),
            "subjects": analysis.counts.get("subjects", 0),
            "enrolled": analysis.counts.get("enrolled", 0),
            "treated": analysis.counts.get("treated", 0),
            "records": analysis.counts.get("records", 0),
        },
    }
    step(_("safety"))
    soc_rows = []
    for soc in t.by_soc:
        soc_rows.append(
            {
                "soc": soc.soc,
                "events": soc.events,
                "subjects": len(soc.subjects),
                "grades": [len(soc.by_worst_grade.get(g, ())) for g in t.grades],
                "terms": [
                    {
                        "term": term.term,
                        "events": term.events,
                        "subjects": len(term.subjects),
                        "labels": _labels(term.subjects),
                        "grades": [len(term.by_worst_grade.get(g, ())) for g in t.grades],
                        "serious": term.serious,
                    }
                    for term in soc.terms
                ],
            }
        )
    highlights = [
        {
            "label": (h.label_fr if (get_language() or "").startswith("fr") and h.label_fr else h.label),
            "events": h.events,
            "subjects": h.subject_count,
            "serious": h.serious,
            "worst_grade": EMPTY if h.worst_grade is None else h.worst_grade,
            "labels": _labels(t.highlight_subjects.get(code, ())),
        }
        for code, h in t.highlights.highlights.items()
    ]
    lvef = charts.lvef_chart(analysis, protocol) if plots else None
    ctx["safety"] = {
        "derivation": _derivation(t.derivation),
        "population": t.population,
        "population_rule": _(t.population.rule),
        "with_an_event": len(t.with_an_event),
        "with_an_event_labels": _labels(t.with_an_event),
        "events": t.events,
        "grades": list(t.grades),
        "soc_rows": soc_rows,
        "serious": [_event_row(protocol, e) for e in t.serious],
        "leading_to_stop": [_event_row(protocol, e) for e in t.leading_to_stop],
        "highlights": highlights,
        "deaths": [{"label": label, "date": _date(day)} for label, day in t.deaths],
        "infusion_reactions": [
            {"label": label, "date": _date(day), "grade": EMPTY if g is None else g}
            for label, day, g in t.infusion_reactions
        ],
        "lvef_chart": lvef.img_tag() if lvef else None,
        "lvef_rows": once(
            "lvef",
            lambda: [
                {"label": label, "values": ", ".join(f"{_date(d)}: {_num(v)} %" for d, v in points)}
                for label, points in t.lvef.items()
            ],
        ),
    }
    ctx["safety"]["lvef_rows_html"] = _Rows(ctx["safety"]["lvef_rows"], _LVEF_ROW)
    if safety_only:
        return ctx

    step(_("flow and baseline"))
    reason_field = flow.stop_reason_field
    ctx["flow"] = {
        "screened": len(flow.screened),
        "not_eligible": len(flow.not_eligible),
        "not_eligible_by_criterion": [
            {"code": code, "text": _criterion(protocol, code), "n": len(labels), "labels": _labels(labels)}
            for code, labels in flow.not_eligible_by_criterion.items()
        ],
        "not_enrolled_otherwise": len(flow.not_enrolled_otherwise),
        "enrolled": len(flow.enrolled),
        "not_treated": len(flow.not_treated),
        "treated": len(flow.treated),
        "on_treatment": len(flow.on_treatment),
        "stopped": len(flow.stopped),
        "stopped_by_reason": [
            {"reason": _choice(protocol, reason_field, value), "n": len(labels), "labels": _labels(labels)}
            for value, labels in flow.stopped_by_reason.items()
        ],
        "analysed": len(flow.analysed),
    }
    b = analysis.baseline
    concept_names = {
        "age": _("Age (years)"),
        "body_weight": _("Weight (kg)"),
        "body_height": _("Height (cm)"),
        "marrow_blasts": _("Marrow blasts (%)"),
        "her2_positive_blasts": _("HER2-positive blasts (%)"),
        "lvef": _("LVEF (%)"),
        "prior_treatment_lines": _("Prior lines of treatment"),
        "performance_status": _("ECOG performance status"),
        "prior_allogeneic_transplant": _("Prior allogeneic transplant"),
        "philadelphia_chromosome": _("Philadelphia chromosome"),
    }
    n_treated = b.population.n or 1
    ctx["baseline"] = {
        "n": b.population.n,
        "sex": [
            {"label": _sex(code), "n": len(labels), "pct": _pct(len(labels) / n_treated, 0)}
            for code, labels in b.sex.items()
        ],
        "numbers": [
            {
                "name": concept_names.get(concept, concept),
                "n": s.n,
                "median": _num(s.median),
                "range": EMPTY if s.minimum is None else f"{_num(s.minimum)} – {_num(s.maximum)}",
            }
            for concept, s in b.numbers.items()
        ],
        "categories": [
            {
                "name": concept_names.get(concept, concept),
                "values": [
                    {
                        "label": _choice(protocol, b.category_fields.get(concept), value),
                        "n": len(labels),
                        "pct": _pct(len(labels) / n_treated, 0),
                    }
                    for value, labels in sorted(groups.items(), key=lambda kv: str(kv[0]))
                ],
            }
            for concept, groups in b.categories.items()
        ],
        "disease_status": [
            {
                "label": _choice(protocol, b.disease_status_field, value),
                "n": len(labels),
                "pct": _pct(len(labels) / n_treated, 0),
            }
            for value, labels in b.disease_status.items()
        ],
    }
    e = analysis.exposure
    ctx["exposure"] = {
        "rule": _(e.rule),
        "summary": e.summary,
        "median_duration_weeks": _num(
            None if e.summary.median_duration_days is None else e.summary.median_duration_days / 7
        ),
        "median_intensity": _pct(e.summary.median_dose_intensity, 0),
        "cumulative_mg": _num(e.summary.cumulative_mg, 0),
        "rows": once(
            "exposure",
            lambda: [
                {
                    "label": label,
                    "doses": x.doses,
                    "first": _date(x.first_dose_on),
                    "last": _date(x.last_dose_on),
                    "weeks": _num(x.duration_weeks),
                    "mg": _num(x.cumulative_mg, 0),
                    "mg_per_kg": _num(x.cumulative_mg_per_kg),
                    "intensity": _pct(x.dose_intensity, 0),
                    "late": x.late_doses,
                    "missed": x.missed_doses,
                    "reloads": x.reloads,
                }
                for label, x in e.per_subject.items()
            ],
        ),
        "with_cardiac_hold": len(e.with_cardiac_hold),
        "with_cardiac_hold_labels": _labels(e.with_cardiac_hold) if e.with_cardiac_hold else "",
        "doses_during_hold": e.doses_during_hold_total,
        "deviations": [
            {"title": _(DEVIATION_RULES[rule]), "n": len(labels), "labels": _labels(sorted(set(labels)))}
            for rule, labels in e.deviations_by_rule.items()
        ],
    }
    step(_("primary endpoint"))
    categories = [
        ResponseCategory.CR,
        ResponseCategory.CRP,
        ResponseCategory.PR,
        ResponseCategory.NO_RESPONSE,
        ResponseCategory.PROGRESSION,
        None,
    ]
    ctx["response"] = {
        "derivation": _derivation(r.derivation),
        "population_rule": _(r.population.rule),
        "n": r.population.n,
        "responders": len(r.responders),
        "responder_labels": _labels(r.responders),
        "estimate": _ci(r.estimate),
        # machine-readable (data attributes): not in the user's convention
        "lower": f"{r.estimate.lower:.8f}" if r.estimate else "",
        "upper": f"{r.estimate.upper:.8f}" if r.estimate else "",
        "derived": _ci(r.derived_estimate),
        "derived_labels": _labels(r.derived_responders),
        "confirmed_by_investigator": _labels(r.confirmed_by_investigator),
        "has_confirmed": bool(r.confirmed_by_investigator),
        "by_category": [
            {
                "label": category_label(c) if c is not None else _("Not assessed after the baseline"),
                "n": len(r.count(c)),
                "labels": _labels(r.count(c)),
            }
            for c in categories
        ],
        "design_declared": r.design_declared,
        "simon": r.simon,
        "simon_decision": _simon_decision(r.simon),
        "design": r.design,
    }
    step(_("survival"))
    ctx["exposure"]["rows_html"] = _Rows(ctx["exposure"]["rows"], _EXPOSURE_ROW)
    ctx["os"] = _survival(analysis.os, _("Overall survival (Kaplan-Meier)"), plots, once, "os")
    ctx["lfs"] = _survival(analysis.lfs, _("Leukemia-free survival (Kaplan-Meier)"), plots, once, "lfs")
    tr = analysis.transfusions
    products = [("red_cell", _("Red cells")), ("platelet", _("Platelets")), ("all", _("All products"))]
    ctx["transfusions"] = {
        "derivation": _derivation(tr.derivation),
        "n": tr.population.n,
        "period_days": tr.period_days,
        "independence_days": tr.independence_days,
        "tests": [
            {
                "product": name,
                "before": _num(_median([p.before[code] for p in tr.pairs])),
                "on": _num(_median([p.on_treatment[code] for p in tr.pairs])),
                "statistic": _num(tr.tests[code].statistic) if tr.tests.get(code) else EMPTY,
                "p": EMPTY
                if not tr.tests.get(code) or tr.tests[code].p is None
                else f"{tr.tests[code].p:.4f}",
                "method": _method(tr.tests.get(code)),
            }
            for code, name in products
        ],
        "independent": len(tr.independent),
        "independent_labels": _labels(tr.independent),
        "not_independent": len(tr.not_independent),
        "not_assessable": len(tr.not_assessable),
        "rows": once(
            "transfusions",
            lambda: [
                {
                    "label": p.label,
                    "before_rc": p.before_units["red_cell"],
                    "before_pl": p.before_units["platelet"],
                    "on_rc": p.on_treatment_units["red_cell"],
                    "on_pl": p.on_treatment_units["platelet"],
                    "days": p.on_treatment_days,
                    "before_rate": _num(p.before["all"]),
                    "on_rate": _num(p.on_treatment["all"]),
                    "independent": yes_no(p.independent),
                }
                for p in tr.pairs
            ],
        ),
    }
    ctx["transfusions"]["rows_html"] = _Rows(ctx["transfusions"]["rows"], _TRANSFUSION_ROW)
    cy = analysis.cytogenetics
    ctx["cytogenetics"] = {
        "derivation": _derivation(cy.derivation),
        "population_rule": _(cy.population.rule),
        "n": cy.population.n,
        "labels": _labels(cy.population.subjects),
        "estimate": _ci(cy.estimate),
        "responders": _labels(cy.responders),
        "without": len(cy.without_karyotype_on_treatment),
        "without_labels": _labels(cy.without_karyotype_on_treatment),
        "still_abnormal": _labels(cy.still_abnormal),
        "no_baseline": len(cy.no_baseline_karyotype),
        "normal_at_baseline": len(cy.normal_at_baseline),
    }
    step(_("plots"))
    her2 = charts.her2_chart(analysis) if plots else None
    waterfall = charts.waterfall_chart(analysis, protocol) if plots else None
    swimmer = charts.swimmer_chart(analysis) if plots else None
    ctx["her2_chart"] = her2.img_tag() if her2 else None
    ctx["waterfall_chart"] = waterfall.img_tag() if waterfall else None
    ctx["swimmer_chart"] = swimmer.img_tag() if swimmer else None
    ctx["listing"] = once(
        "listing",
        lambda: [
            {
                "label": f.label,
                "site": f.site,
                "first_dose": _date(f.first_dose_on),
                "best": category_label(r.best.get(f.label)) if r.best.get(f.label) else EMPTY,
                "best_derived": category_label(r.best_derived.get(f.label))
                if r.best_derived.get(f.label)
                else EMPTY,
                "responder": yes_no(f.label in r.responders),
                "first_response": _date(f.course.confirmed.first_response_on),
                "failure": _date(f.course.confirmed.failure_on),
                "best_change": _num(charts.best_change(f)),
                "karyotype": yes_no(f.abnormal_baseline_karyotype),
                "os": f"{_num(f.os.months)} ({_('event') if f.os.event else _('censored')})"
                if f.os
                else EMPTY,
            }
            for f in analysis.subjects
            if f.treated
        ],
    )
    ctx["listing_html"] = _Rows(ctx["listing"], _LISTING_ROW)
    return ctx


def _p_value(test) -> str:
    if test is None or test.p is None:
        return EMPTY
    return f"< {number_format(0.0001, decimal_pos=4)}" if test.p < 0.0001 else _decimal(test.p, 4)


def _simon_decision(decision) -> str:
    if decision is None:
        return ""
    labels = {
        "pending": _("Stage %(stage)s: not decided yet (%(x)s responses among %(n)s subjects)."),
        "stop_futility": _("Stage 1: stop for futility (%(x)s responses among %(n)s subjects)."),
        "continue": _("Stage 1 passed: the trial goes on to stage 2 (%(x)s responses among %(n)s subjects)."),
        "reject_p0": _("The null response rate is rejected (%(x)s responses among %(n)s subjects)."),
        "not_rejected": _("The null response rate is not rejected (%(x)s responses among %(n)s subjects)."),
    }
    return labels[decision.decision] % {
        "stage": decision.stage,
        "x": decision.responses,
        "n": decision.evaluated,
    }


def _median(values: list[float]) -> float | None:
    import statistics

    return statistics.median(values) if values else None


def _method(test) -> str:
    if test is None or test.p is None:
        return EMPTY
    return _("exact") if test.method == "exact" else _("normal approximation with continuity correction")


def _cell(value: Any) -> str:
    """A value as a template's ``{{ value }}`` writes it: localized, then escaped."""
    if type(value) is str:
        return html_text.escape(value)  # Django's escape()
    if type(value) is int and -1000 < value < 1000:
        return str(value)  # no digit group to separate
    return conditional_escape(localize(value))


class _Rows:
    """The rows of a listing as one piece of HTML, each row ``template`` (``str.format`` fields
    named by the row's keys) filled with its values escaped as a template escapes them: a study of
    10,000 subjects lists them in a join, not through the template engine cell by cell. Made when a
    template first writes it (``{{ rows_html }}`` calls it), once."""

    def __init__(self, rows: list[dict[str, Any]], template: str):
        self.rows = rows
        self.template = template
        self.html: SafeString | None = None

    def __call__(self) -> SafeString:
        if self.html is None:
            fill = self.template.format_map
            self.html = mark_safe(
                "".join(fill({key: _cell(value) for key, value in row.items()}) for row in self.rows)
            )
        return self.html


_LISTING_ROW = (
    '<tr data-subject="{label}"><td>{label}</td><td>{site}</td><td>{first_dose}</td><td>{best}</td>'
    '<td>{best_derived}</td><td data-col="responder">{responder}</td><td>{first_response}</td>'
    '<td>{failure}</td><td class="num">{best_change}</td><td>{karyotype}</td><td>{os}</td></tr>'
)
_EXPOSURE_ROW = (
    '<tr><td>{label}</td><td class="num">{doses}</td><td>{first}</td><td>{last}</td><td class="num">{weeks}</td>'
    '<td class="num">{mg}</td><td class="num">{mg_per_kg}</td><td class="num">{intensity}</td>'
    '<td class="num">{late}</td><td class="num">{missed}</td><td class="num">{reloads}</td></tr>'
)
_SURVIVAL_ROW = (
    '<tr><td>{label}</td><td>{start}</td><td>{end}</td><td class="num">{months}</td><td>{event}</td></tr>'
)
_TRANSFUSION_ROW = (
    '<tr><td>{label}</td><td class="num">{before_rc}</td><td class="num">{before_pl}</td>'
    '<td class="num">{on_rc}</td><td class="num">{on_pl}</td><td class="num">{days}</td>'
    '<td class="num">{before_rate}</td><td class="num">{on_rate}</td><td>{independent}</td></tr>'
)
_LVEF_ROW = "<tr><td>{label}</td><td>{values}</td></tr>"


def render_report(analysis: Analysis, protocol, **kwargs) -> str:
    """The standalone HTML document (styles inline, images embedded, no network)."""
    return render_to_string("reports/analysis/document.html", report_context(analysis, protocol, **kwargs))


def write_report(
    analysis: Analysis,
    protocol,
    out: Path,
    *,
    safety_only: bool = False,
    pdf: bool = True,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """``report.html`` and ``report.pdf`` in ``out`` (and, for a large study, ``appendix.html``
    and ``appendix.csv`` with the per-subject listings). Written to a temporary name first:
    nothing half-written is left under the final names."""
    rows: dict[str, Any] = {}  # the per-subject rows, made once for the report and its appendix
    context = report_context(analysis, protocol, safety_only=safety_only, progress=progress, rows=rows)
    written = []
    html = render_to_string("reports/analysis/document.html", context)
    target = out / "report.html"
    _atomic_write(target, html.encode("utf-8"))
    written.append(target)
    if context.get("large") and not safety_only:
        listed = report_context(analysis, protocol, plots=False, list_subjects=True, rows=rows)
        listed["swimmer_chart"] = context["swimmer_chart"]
        appendix = render_to_string("reports/analysis/appendix.html", listed)
        _atomic_write(out / "appendix.html", appendix.encode("utf-8"))
        written.append(out / "appendix.html")
        _atomic_write(out / "appendix.csv", _listing_csv(context["listing"]).encode("utf-8"))
        written.append(out / "appendix.csv")
    if pdf:
        if progress is not None:
            progress(_("PDF"))
        from weasyprint import HTML

        data = HTML(string=html, base_url=str(out)).write_pdf()
        _atomic_write(out / "report.pdf", data)
        written.append(out / "report.pdf")
    return written


def _listing_csv(rows: list[dict[str, Any]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def _atomic_write(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_bytes(data)
    temporary.replace(path)
