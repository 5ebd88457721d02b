"""`trialdesk stats …`: the statistical analyses, one subcommand each.

``binomial`` (a proportion with its exact or Wilson interval), ``simon`` (Simon's
optimal and minimax two-stage designs), ``km`` (Kaplan–Meier by group with the
log-rank test) and ``forecast`` (the recruitment forecast, Poisson–gamma model of
Anisimov & Fedorov 2007). Exit codes (DESIGN §6): 0 done, 1 a negative verdict (no
Simon design within --nmax), 2 a usage error, 3 bad input data — each with one line
naming the argument or the column.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from trialdesk.cli.errors import UserError
from trialdesk.stats.binomial import METHODS, proportion
from trialdesk.stats.errors import StatsInputError, check_level
from trialdesk.stats.forecast import (
    DEFAULT_DRAWS,
    ForecastError,
    RecruitmentForecast,
    SiteRecruitment,
    forecast_recruitment,
    sites_from_rows,
)
from trialdesk.stats.simon import DEFAULT_NMAX, simon_designs
from trialdesk.stats.survival import SurvivalAnalysis, survival_by_group

CSV_COLUMNS = ("site", "activation_date", "enrollment_date")
DEFAULT_SEED = 0
NEGATIVE = 1
USAGE_ERROR = 2
BAD_INPUT = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    stats = subparsers.add_parser(
        "stats",
        help="statistical analyses (proportion, Simon design, Kaplan-Meier, recruitment forecast)",
        description="Statistical analyses of the trial's data.",
    )
    analyses = stats.add_subparsers(dest="analysis", metavar="ANALYSIS")
    stats.set_defaults(handler=lambda args: _print_help(stats))
    _register_binomial(analyses)
    _register_simon(analyses)
    _register_km(analyses)

    forecast = analyses.add_parser(
        "forecast",
        help="when will recruitment reach its target (Poisson-gamma model)",
        description=(
            "Forecast the date the trial reaches its recruitment target with the Poisson-gamma model "
            "of Anisimov & Fedorov (2007): site rates from a gamma distribution fitted by maximum "
            "likelihood, updated with each site's own recruitment."
        ),
        epilog=(
            "FILE.csv has the columns site,activation_date,enrollment_date (dates YYYY-MM-DD), one row "
            "per enrolled patient; a site without patient appears once with an empty enrollment_date. "
            "Exit status: 0 forecast printed, 2 bad usage, 3 bad data."
        ),
    )
    forecast.add_argument("file", metavar="FILE.csv", help="recruitment so far, one row per patient")
    forecast.add_argument("--target", required=True, metavar="N", help="number of patients to recruit")
    forecast.add_argument("--as-of", metavar="DATE", help="date of the data (default: today, UTC)")
    forecast.add_argument("--planned-end", metavar="DATE", help="planned end of recruitment")
    forecast.add_argument(
        "--seed", metavar="N", default=str(DEFAULT_SEED), help=f"simulation seed (default {DEFAULT_SEED})"
    )
    forecast.add_argument(
        "--draws", metavar="N", default=str(DEFAULT_DRAWS), help=f"simulation draws (default {DEFAULT_DRAWS})"
    )
    forecast.add_argument("--json", action="store_true", help="print the forecast as JSON")
    forecast.set_defaults(handler=run_forecast)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return USAGE_ERROR


def _option_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"{option} {value!r} is not a date (expected YYYY-MM-DD)", USAGE_ERROR) from None


def _option_int(value: str, option: str, minimum: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or number < minimum:
        kind = "a positive whole number" if minimum == 1 else f"a whole number of at least {minimum}"
        raise UserError(f"{option} must be {kind}, not {value!r}", USAGE_ERROR)
    return number


def read_recruitment_csv(path: Path, as_of: date) -> list[SiteRecruitment]:
    """Sites from the CSV file; every problem becomes a one-line ``UserError``."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames
            if not header:
                raise UserError(
                    f"{path}: the file is empty (expected the columns {','.join(CSV_COLUMNS)})", BAD_INPUT
                )
            missing = [c for c in CSV_COLUMNS if c not in {h.strip() for h in header}]
            if missing:
                raise UserError(
                    f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                    f"(expected {','.join(CSV_COLUMNS)})",
                    BAD_INPUT,
                )
            rows, lines = [], []
            for row in reader:
                rows.append({(k or "").strip(): v for k, v in row.items()})
                lines.append(reader.line_num)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file", BAD_INPUT) from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, not a CSV file", BAD_INPUT) from None
    except PermissionError:
        raise UserError(f"{path}: permission denied", BAD_INPUT) from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text", BAD_INPUT) from None
    except csv.Error as exc:
        raise UserError(f"{path}: not a readable CSV file ({exc})", BAD_INPUT) from None
    if not rows:
        raise UserError(f"{path}: no site in the file", BAD_INPUT)
    try:
        return sites_from_rows(rows, as_of=as_of, line_numbers=lines)
    except ForecastError as exc:
        raise UserError(f"{path}, {exc}", BAD_INPUT) from None


def run_forecast(args: argparse.Namespace) -> int:
    target = _option_int(args.target, "--target", 1)
    seed = _option_int(args.seed, "--seed", 0)
    draws = _option_int(args.draws, "--draws", 1000)
    as_of = _option_date(args.as_of, "--as-of") or datetime.now(UTC).date()
    planned_end = _option_date(args.planned_end, "--planned-end")
    sites = read_recruitment_csv(Path(args.file), as_of)
    try:
        result = forecast_recruitment(sites, as_of, target, planned_end, seed=seed, draws=draws)
    except ForecastError as exc:
        raise UserError(f"{args.file}: {exc}", BAD_INPUT) from None
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(render_forecast(result, args.file))
    return 0


def _probability(p: float, draws: int | None) -> str:
    if p == 0.0:
        return f"0 % (none of {draws:,} draws)" if draws else "0 %"
    if p < 0.001:
        return "< 0.1 %"
    if p > 0.999 and p < 1.0:
        return "> 99.9 %"
    return f"{100 * p:.1f} %"


def render_forecast(f: RecruitmentForecast, source: str) -> str:
    """A few lines for a person."""
    lines = [
        f"Recruitment forecast for {source} as of {f.as_of.isoformat()}",
        f"  enrolled      {f.enrolled} of {f.target} at {f.n_sites} site{'s' if f.n_sites != 1 else ''}"
        + (f", {f.remaining} to go" if f.remaining else ""),
        f"  site rates    mean {f.mean_rate_per_site_per_month:.3g} patients per site per month; "
        + (
            f"no variation between sites (alpha capped at {f.alpha:g})"
            if f.alpha_capped
            else f"Gamma(alpha={f.alpha:.4g}, beta={f.beta:.4g} days)"
        ),
    ]
    if f.method == "target_reached":
        lines.append(f"  target        already reached on {f.median_date.isoformat()}")
    else:
        lines += [
            f"  target date   median {f.median_date.isoformat()}",
            f"                80 % interval {f.interval_80[0].isoformat()} to {f.interval_80[1].isoformat()}",
            f"                95 % interval {f.interval_95[0].isoformat()} to {f.interval_95[1].isoformat()}",
        ]
    if f.planned_end is not None and f.probability_by_planned_end is not None:
        lines.append(
            f"  probability   {_probability(f.probability_by_planned_end, f.draws)} of reaching "
            f"{f.target} by the planned end {f.planned_end.isoformat()}"
        )
    if f.method == "simulation":
        lines.append(f"  method        simulation, {f.draws:,} draws, seed {f.seed}")
    elif f.method == "closed_form":
        lines.append("  method        closed form (beta-prime law of the time to target)")
    lines.append("  model         Poisson-gamma, Anisimov & Fedorov (2007), Stat Med 26:4958-4975")
    lines += [f"  note          {note}" for note in f.notes]
    return "\n".join(lines)


# --- binomial, simon, km ---------------------------------------------------------------------------


def _register_binomial(analyses) -> None:
    binomial = analyses.add_parser(
        "binomial",
        help="a proportion with its exact (Clopper-Pearson) or Wilson confidence interval",
        description="The proportion X/N with its two-sided confidence interval: exact (Clopper-Pearson, "
        "as R's binom.test) or Wilson's score interval.",
        epilog="Exit status: 0 done, 2 bad usage, 3 bad input (x > n, a level outside (0, 1)…).",
    )
    binomial.add_argument("--x", required=True, metavar="X", help="number of responders")
    binomial.add_argument("--n", required=True, metavar="N", help="number of subjects")
    binomial.add_argument("--level", default="0.95", metavar="L", help="confidence level (default 0.95)")
    binomial.add_argument("--method", default="exact", choices=METHODS, help="interval (default exact)")
    binomial.add_argument("--json", action="store_true", help="print the result as JSON")
    binomial.set_defaults(handler=run_binomial)


def _register_simon(analyses) -> None:
    simon = analyses.add_parser(
        "simon",
        help="Simon's optimal and minimax two-stage designs",
        description="Simon's two-stage designs (Controlled Clinical Trials 1989;10:1-10) by exact binomial "
        "search: stop after stage 1 if responses <= r1 of n1; reject p0 if responses > r of n.",
        epilog="Exit status: 0 designs printed, 1 no design within --nmax, 2 bad usage, 3 bad input "
        "(p1 <= p0, a probability outside (0, 1)…).",
    )
    simon.add_argument("--p0", required=True, metavar="P0", help="response rate not worth pursuing")
    simon.add_argument("--p1", required=True, metavar="P1", help="response rate worth pursuing")
    simon.add_argument("--alpha", required=True, metavar="A", help="type I error (one-sided)")
    simon.add_argument("--beta", required=True, metavar="B", help="type II error (1 - power)")
    simon.add_argument(
        "--nmax", default=str(DEFAULT_NMAX), metavar="N", help=f"largest n searched (default {DEFAULT_NMAX})"
    )
    simon.add_argument("--json", action="store_true", help="print the designs as JSON")
    simon.set_defaults(handler=run_simon)


def _register_km(analyses) -> None:
    km = analyses.add_parser(
        "km",
        help="Kaplan-Meier curves, median survival with its CI, log-rank test",
        description="Kaplan-Meier estimates with Greenwood variance and log-log confidence intervals, the "
        "median with its Brookmeyer-Crowley interval and, with --group, the log-rank test - as R's "
        'survfit(..., conf.type="log-log") and survdiff print them.',
        epilog="FILE.csv has a header row; --time names a column of times (numbers >= 0), --event a column "
        "of 0 (censored) or 1 (event). Exit status: 0 done, 2 bad usage, 3 bad input data.",
    )
    km.add_argument("file", metavar="FILE.csv", help="one row per subject")
    km.add_argument("--time", required=True, metavar="COL", help="column of the follow-up times")
    km.add_argument(
        "--event", required=True, metavar="COL", help="column of the event indicator (1 event, 0 censored)"
    )
    km.add_argument("--group", metavar="COL", help="column of the groups to compare")
    km.add_argument("--level", default="0.95", metavar="L", help="confidence level (default 0.95)")
    km.add_argument("--json", action="store_true", help="print the result as JSON")
    km.set_defaults(handler=run_km)


def _option_number(value: str, option: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise UserError(f"{option} must be a number, not {value!r}", USAGE_ERROR) from None
    if not math.isfinite(number):
        raise UserError(f"{option} must be a finite number, not {value!r}", USAGE_ERROR)
    return number


def _option_whole(value: str, option: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise UserError(f"{option} must be a whole number, not {value!r}", USAGE_ERROR) from None


def _bad_input(exc: StatsInputError, options: dict[str, str]) -> UserError:
    """The statistic's message, naming the option the user typed."""
    option = options.get(exc.argument, exc.argument)
    message = str(exc)
    if message.startswith(exc.argument + " "):
        message = option + message[len(exc.argument) :]
    elif option not in message:
        message = f"{option}: {message}"
    return UserError(message, BAD_INPUT)


def run_binomial(args: argparse.Namespace) -> int:
    x = _option_whole(args.x, "--x")
    n = _option_whole(args.n, "--n")
    level = _option_number(args.level, "--level")
    if 0 <= x and 1 <= n < x:
        raise UserError(f"--x ({x}) must not exceed --n ({n})", BAD_INPUT)
    try:
        result = proportion(x, n, level=level, method=args.method)
    except StatsInputError as exc:
        raise _bad_input(exc, {"x": "--x", "n": "--n", "level": "--level", "method": "--method"}) from None
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        name = "exact (Clopper-Pearson)" if result.method == "exact" else "Wilson score"
        print(
            f"{result.x} of {result.n}: {100 * result.estimate:.1f} % "
            f"({_percent(result.level)} % CI {100 * result.lower:.1f} to {100 * result.upper:.1f} %, {name})"
        )
    return 0


def _percent(level: float) -> str:
    return f"{100 * level:g}"


def run_simon(args: argparse.Namespace) -> int:
    values = {
        name: _option_number(getattr(args, name), f"--{name}") for name in ("p0", "p1", "alpha", "beta")
    }
    nmax = _option_whole(args.nmax, "--nmax")
    if 0 < values["p0"] < 1 and 0 < values["p1"] < 1 and values["p1"] <= values["p0"]:
        raise UserError(f"--p1 ({values['p1']:g}) must be greater than --p0 ({values['p0']:g})", BAD_INPUT)
    try:
        designs = simon_designs(values["p0"], values["p1"], values["alpha"], values["beta"], nmax=nmax)
    except StatsInputError as exc:
        raise _bad_input(exc, {k: f"--{k}" for k in ("p0", "p1", "alpha", "beta", "nmax")}) from None
    if designs.optimal is None:
        if args.json:
            print(json.dumps({"optimal": None, "minimax": None}, indent=2))
        print(
            f"trialdesk: no two-stage design with n <= {nmax} has a type I error <= {values['alpha']:g} "
            f"and a power >= {1 - values['beta']:g}; raise --nmax",
            file=sys.stderr,
        )
        return NEGATIVE
    if args.json:
        payload = designs.to_dict()
        print(json.dumps({"optimal": payload["optimal"], "minimax": payload["minimax"]}, indent=2))
        return 0
    print(
        f"Simon two-stage designs for p0 = {designs.p0:g}, p1 = {designs.p1:g}, "
        f"alpha = {designs.alpha:g}, beta = {designs.beta:g} (n <= {designs.nmax})"
    )
    print(f"  {'design':<8} {'r1/n1':>7} {'r/n':>7} {'EN(p0)':>7} {'PET(p0)':>8} {'alpha':>7} {'power':>7}")
    for name, d in (("optimal", designs.optimal), ("minimax", designs.minimax)):
        print(
            f"  {name:<8} {f'{d.r1}/{d.n1}':>7} {f'{d.r}/{d.n}':>7} {d.en0:>7.1f} {d.pet0:>8.3f} "
            f"{d.alpha:>7.4f} {d.power:>7.4f}"
        )
    print("  stop after stage 1 if responses <= r1; reject p0 if total responses > r (Simon 1989)")
    return 0


def read_survival_csv(path: Path, time: str, event: str, group: str | None):
    """(times, events, groups or None) from the CSV; every problem a one-line ``UserError`` (exit 3)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in (reader.fieldnames or [])]
            if not header:
                raise UserError(f"{path}: the file is empty (expected a header row)", BAD_INPUT)
            reader.fieldnames = header
            for option, column in (("--time", time), ("--event", event), ("--group", group)):
                if column is not None and column not in header:
                    raise UserError(
                        f"{path}: no column {column!r} (named by {option}); the columns are {', '.join(header)}",
                        BAD_INPUT,
                    )
            times, events, groups = [], [], []
            for row in reader:
                line = reader.line_num
                raw_time = (row.get(time) or "").strip()
                raw_event = (row.get(event) or "").strip()
                if not raw_time and not raw_event and not any((v or "").strip() for v in row.values()):
                    continue  # a blank line
                try:
                    value = float(raw_time)
                except ValueError:
                    value = None
                if value is None or not math.isfinite(value):
                    raise UserError(
                        f"{path}, line {line}: column {time!r}: {raw_time!r} is not a number", BAD_INPUT
                    )
                if value < 0:
                    raise UserError(
                        f"{path}, line {line}: column {time!r}: the time {raw_time} is negative", BAD_INPUT
                    )
                if raw_event not in ("0", "1"):
                    raise UserError(
                        f"{path}, line {line}: column {event!r}: {raw_event!r} is not 0 (censored) or 1 (event)",
                        BAD_INPUT,
                    )
                times.append(value)
                events.append(int(raw_event))
                if group is not None:
                    label = (row.get(group) or "").strip()
                    if not label:
                        raise UserError(f"{path}, line {line}: column {group!r} is empty", BAD_INPUT)
                    groups.append(label)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file", BAD_INPUT) from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, not a CSV file", BAD_INPUT) from None
    except PermissionError:
        raise UserError(f"{path}: permission denied", BAD_INPUT) from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text", BAD_INPUT) from None
    except csv.Error as exc:
        raise UserError(f"{path}: not a readable CSV file ({exc})", BAD_INPUT) from None
    if not times:
        raise UserError(f"{path}: no subject in the file", BAD_INPUT)
    return times, events, (groups if group is not None else None)


def run_km(args: argparse.Namespace) -> int:
    level = _option_number(args.level, "--level")
    try:
        check_level(level, "--level")
    except StatsInputError as exc:
        raise UserError(str(exc), BAD_INPUT) from None
    path = Path(args.file)
    times, events, groups = read_survival_csv(path, args.time, args.event, args.group)
    try:
        analysis = survival_by_group(times, events, groups, level=level)
    except StatsInputError as exc:
        raise _bad_input(
            exc,
            {
                "time": f"column {args.time!r}",
                "event": f"column {args.event!r}",
                "group": f"column {args.group!r}",
            },
        ) from None
    if args.json:
        print(json.dumps(analysis.to_dict(), indent=2))
    else:
        print(render_km(analysis, args.file, level))
    return 0


def _na(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "NA"
    return f"{value:.{digits}f}" if digits else f"{value:g}"


def render_km(analysis: SurvivalAnalysis, source: str, level: float) -> str:
    pct = _percent(level)
    lines = [f"Kaplan-Meier estimates for {source} (log-log {pct} % confidence intervals)", ""]
    width = max(len(name) for name in analysis.groups)
    lines.append(
        f"  {'':<{width}} {'n':>5} {'events':>6} {'median':>7} {pct + '% LCL':>8} {pct + '% UCL':>8}"
    )
    for name, km in analysis.groups.items():
        lines.append(
            f"  {name:<{width}} {km.n:>5} {km.events:>6} {_na(km.median, 0):>7} "
            f"{_na(km.median_lower, 0):>8} {_na(km.median_upper, 0):>8}"
        )
    for name, km in analysis.groups.items():
        lines += [
            "",
            f"  {name}",
            f"  {'time':>8} {'n.risk':>6} {'n.event':>7} {'survival':>8} {'lower':>7} {'upper':>7}",
        ]
        for row in km.table:
            lines.append(
                f"  {row.time:>8g} {row.n_risk:>6} {row.n_event:>7} {row.survival:>8.4f} "
                f"{_na(row.lower):>7} {_na(row.upper):>7}"
            )
        if not km.table:
            lines.append("  (no event)")
    if analysis.logrank is not None:
        test = analysis.logrank
        p = "NA" if test.p is None else f"{test.p:.3g}"
        lines += [
            "",
            f"  log-rank test: chisq = {test.chisq:.2f} on {test.df} degree{'s' if test.df != 1 else ''} "
            f"of freedom, p = {p}",
        ]
    return "\n".join(lines)
